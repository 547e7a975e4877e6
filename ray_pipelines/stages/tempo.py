"""tempo: global BPM, a confidence, and a local BPM curve over time (librosa).

The mono mix is resampled from the original samples to `tempo.sample_rate`; librosa's onset
strength (mel spectral flux) feeds `librosa.feature.tempo` (autocorrelation tempogram with its
default log-normal prior around 120 BPM). Two choices matter for accuracy:
- hop 256 at 22.05 kHz (`tempo.hop_length`): the tempogram's lag resolution is one hop, and at
  hop 512 a 120 BPM pulse reads 117.5 (-2.1%);
- the onset envelope only looks below ONSET_FMAX_HZ (2 kHz): kick and snare bodies carry the
  beat, while bright hi-hats on every eighth note otherwise pull an 80 BPM rock beat to 160.

librosa's prior sits at 120 BPM, half-way (in octaves) between 85 and 170, so a 170 BPM beat with
a snare on 2 and 4 reads 85. `resolve_octave` doubles an estimate when the onsets repeat at half
its period nearly as strongly as at the period itself (the pulse is the faster one); a slow beat
with eighth-note hats stays slow because the envelope ignores the hats' band.

bpm_confidence is the autocorrelation of the mean-removed onset envelope at the beat period,
normalised by its value at lag 0 (a Pearson-like 0..1: ~1 for a metronome, ~0 for noise).
Tracks shorter than `tempo.min_duration_s` or without onsets get NaN.
"""

from __future__ import annotations

import numpy as np

from ray_pipelines.audio_config import AudioConfig
from ray_pipelines.stages.audio_extract import AudioTrack, mono_at

ONSET_FMAX_HZ = 2000.0
AC_SIZE_S = 8.0  # tempogram window (librosa.feature.tempo default)
MAX_BPM = 200.0  # never double past this
# Double when autocorr(half period) >= this x autocorr(period). Synthetic beats read at half their
# tempo measure 0.75-1.1; beats read at their true tempo at most 0.72 (eighth-note hi-hats).
DOUBLE_RATIO = 0.8
META = {"method": "librosa onset_strength (mel flux < 2 kHz) + feature.tempo (autocorrelation tempogram, "
                  "log-normal prior at 120 BPM) + octave check", "onset_fmax_hz": ONSET_FMAX_HZ,
        "octave_double_ratio": DOUBLE_RATIO}


N_FFT = 2048  # librosa's onset_strength default
BLOCK_FRAMES = 8192  # onset frames per block (~95 s at hop 256, 22.05 kHz): bounds STFT and tempogram memory


def onset_envelope(y: np.ndarray, sr: int, hop_length: int) -> np.ndarray:
    """librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop_length, fmax=ONSET_FMAX_HZ), with the
    mel spectrogram computed block by block: in one call, the STFT of a 20-minute track at hop 256
    holds ~1 GB and its copies ~3 GB. Same framing (centred, zero padding) and same result."""
    import librosa

    y_pad = np.pad(np.asarray(y, np.float32), N_FFT // 2)  # center=True with librosa's zero padding
    n_frames = 1 + len(y) // hop_length
    mel = []
    for f0 in range(0, n_frames, BLOCK_FRAMES):
        f1 = min(n_frames, f0 + BLOCK_FRAMES)
        block = y_pad[f0 * hop_length:(f1 - 1) * hop_length + N_FFT]
        mel.append(librosa.feature.melspectrogram(y=block, sr=sr, n_fft=N_FFT, hop_length=hop_length, center=False,
                                                  fmax=ONSET_FMAX_HZ))  # (n_mels, f1 - f0)
    del y_pad
    log_mel = librosa.power_to_db(np.abs(np.concatenate(mel, axis=-1)))  # global top_db clip, as in one call
    return librosa.onset.onset_strength(S=log_mel, sr=sr, n_fft=N_FFT, hop_length=hop_length)


def tempogram_summary(oenv: np.ndarray, sr: int, hop_length: int, win_length: int,
                      frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean over time of the centred autocorrelation tempogram (win, 1), its columns at `frames` (win, F)),
    computed block by block instead of holding the (win, n_frames) tempogram (~0.6 GB for 20 minutes)."""
    import librosa

    n = len(oenv)
    padded = np.pad(oenv, win_length // 2, mode="linear_ramp", end_values=0)  # librosa's center=True padding
    total = np.zeros(win_length, np.float64)
    cols = []
    for c0 in range(0, n, BLOCK_FRAMES):
        c1 = min(n, c0 + BLOCK_FRAMES)
        tg = librosa.feature.tempogram(onset_envelope=padded[c0:c1 + win_length - 1], sr=sr, hop_length=hop_length,
                                       win_length=win_length, center=False)  # (win, c1 - c0): columns c0..c1-1
        total += tg.sum(axis=1)
        cols.append(tg[:, frames[(frames >= c0) & (frames < c1)] - c0])
    return (total / n)[:, None], np.concatenate(cols, axis=1)


def onset_autocorrelation(oenv: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation of the mean-removed onset envelope, lags 0..max_lag."""
    import librosa

    return librosa.autocorrelate(oenv - oenv.mean(), max_size=max_lag + 1)


def _at_lag(ac: np.ndarray, lag: float) -> float:
    """Best value within one frame of a fractional lag (the tempogram's lag grid is one hop)."""
    lo, hi = max(1, int(np.floor(lag)) - 1), int(np.ceil(lag)) + 1
    return float(ac[lo:hi + 1].max())


def resolve_octave(ac: np.ndarray, bpm: float, frames_per_sec: float) -> float:
    """2·bpm when the onsets repeat at half the beat period about as strongly as at the period."""
    if not np.isfinite(bpm) or 2 * bpm > MAX_BPM:
        return bpm
    lag = 60.0 * frames_per_sec / bpm
    at_period = _at_lag(ac, lag)
    return 2 * bpm if at_period > 0 and _at_lag(ac, lag / 2) >= DOUBLE_RATIO * at_period else bpm


def beat_confidence(ac: np.ndarray, bpm: float, frames_per_sec: float) -> float:
    """Autocorrelation at the beat lag normalised by lag 0: 0..1."""
    if ac[0] <= 0 or not np.isfinite(bpm):
        return float("nan")
    return float(np.clip(_at_lag(ac, 60.0 * frames_per_sec / bpm) / ac[0], 0.0, 1.0))


def compute(track: AudioTrack, cfg: AudioConfig) -> dict[str, np.ndarray]:
    """Arrays of the tempo artifact ({} when there is no audio stream)."""
    if not track.has_stream:
        return {}
    import librosa

    tc = cfg.tempo
    sr, hop = tc.sample_rate, tc.hop_length
    y = mono_at(track, sr)
    bpm = conf = np.nan
    local_bpm = local_t = np.zeros(0)
    if len(y) >= tc.min_duration_s * sr and np.any(y):
        oenv = onset_envelope(y, sr, hop)
        if oenv.max() > 0:
            fps = sr / hop
            win = int(librosa.time_to_frames(AC_SIZE_S, sr=sr, hop_length=hop))  # feature.tempo's own window
            # the local tempo at one frame per window_hop_s
            local_t = np.arange(0.0, len(y) / sr, tc.window_hop_s) if tc.windowed else np.zeros(0)
            frames = np.minimum((local_t * fps).round().astype(int), len(oenv) - 1)
            tg_mean, tg_local = tempogram_summary(oenv, sr, hop, win, frames)  # (lags, 1), (lags, F)
            prior_bpm = float(librosa.feature.tempo(tg=tg_mean, sr=sr, hop_length=hop)[0])
            ac = onset_autocorrelation(oenv, int(60.0 * fps / prior_bpm) + 3)
            bpm = resolve_octave(ac, prior_bpm, fps)
            conf = beat_confidence(ac, bpm, fps)
            if tc.windowed:
                local_bpm = librosa.feature.tempo(tg=tg_local, sr=sr, hop_length=hop, aggregate=None)
                if bpm != prior_bpm:  # the same octave correction where the local tempo agrees with the prior's
                    local_bpm = np.where(np.abs(local_bpm / prior_bpm - 1) < 0.03, 2 * local_bpm, local_bpm)
    return {
        "bpm": np.float32(bpm),
        "bpm_confidence": np.float32(conf),
        "duration_sec": np.float32(track.duration_sec),
        "local_bpm": np.asarray(local_bpm, np.float32),
        "local_bpm_times_sec": np.asarray(local_t, np.float32),
    }


def meta() -> dict[str, object]:
    return dict(META)
