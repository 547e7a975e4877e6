"""Synthetic audio with known tempo and loudness, for test videos and audio-accuracy tests.

Every generator returns float32 audio shaped (channels, n_samples) — the layout `write_video`
and torchaudio use — for any sample rate and 1 or 2 channels (stereo = the same signal on both
channels, except `noise`, which draws each channel independently). Loudness is integrated
loudness in LUFS (ITU-R BS.1770 via pyloudnorm; needs >= 0.4 s of audio).

    from trendflow.synth import audio
    x = audio.drum_pattern(120, 8.0, 22050, channels=2, lufs=-18)   # beats at audio.beat_times(120, 8.0)
    audio.integrated_lufs(x, 22050)                                  # ≈ -18.0
    audio.sine(440, 2.0, 16000, lufs=-23); audio.noise(2.0, 16000, lufs=-30, color="pink")
    audio.click_track(90, 4.0, 44100); audio.silence(3.0, 48000, channels=2)

`lufs=None` leaves the natural level. Normalising to a level the signal cannot reach without
clipping (peak > 1) raises unless `on_clip="reduce"` (lower the gain to peak 0.99; measure the
result with `integrated_lufs`) or `on_clip="allow"`.
"""

from __future__ import annotations

import numpy as np

MIN_LOUDNESS_SECONDS = 0.4  # one BS.1770 gating block


def _n(duration_s: float, sample_rate: int) -> int:
    if duration_s <= 0 or sample_rate <= 0:
        raise ValueError(f"duration_s and sample_rate must be > 0, got {duration_s}, {sample_rate}")
    return int(round(duration_s * sample_rate))


def _channels(mono: np.ndarray, channels: int) -> np.ndarray:
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    return np.repeat(mono[None, :].astype(np.float32), channels, axis=0)  # (C, S)


def integrated_lufs(wave: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (LUFS) of (channels, n) or (n,) audio; -inf for digital silence."""
    import pyloudnorm

    x = np.asarray(wave, dtype=np.float64)
    x = x[None, :] if x.ndim == 1 else x
    if x.shape[1] < MIN_LOUDNESS_SECONDS * sample_rate:
        raise ValueError(f"loudness needs at least {MIN_LOUDNESS_SECONDS}s of audio, got "
                         f"{x.shape[1] / sample_rate:.3f}s")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(x.T))  # pyloudnorm wants (n, channels)


def peak(wave: np.ndarray) -> float:
    return float(np.max(np.abs(wave))) if np.size(wave) else 0.0


def normalize_lufs(wave: np.ndarray, sample_rate: int, target_lufs: float, *, on_clip: str = "raise") -> np.ndarray:
    """Scale `wave` to `target_lufs`. on_clip: "raise" | "reduce" (peak 0.99) | "allow"."""
    if on_clip not in ("raise", "reduce", "allow"):
        raise ValueError(f"on_clip must be raise/reduce/allow, got {on_clip!r}")
    current = integrated_lufs(wave, sample_rate)
    if not np.isfinite(current):
        raise ValueError("cannot normalise silence to a loudness")
    out = wave * np.float32(10.0 ** ((target_lufs - current) / 20.0))
    p = peak(out)
    if p > 1.0:
        if on_clip == "raise":
            raise ValueError(f"{target_lufs} LUFS needs peak {p:.2f} > 1 (clipping); choose a lower target "
                             "or on_clip='reduce'")
        if on_clip == "reduce":
            out = out * np.float32(0.99 / p)
    return out.astype(np.float32)


def _level(x: np.ndarray, sample_rate: int, lufs: float | None, on_clip: str) -> np.ndarray:
    return x.astype(np.float32) if lufs is None else normalize_lufs(x, sample_rate, lufs, on_clip=on_clip)


def silence(duration_s: float, sample_rate: int = 16000, channels: int = 1) -> np.ndarray:
    return _channels(np.zeros(_n(duration_s, sample_rate)), channels)


def sine(freq_hz: float, duration_s: float, sample_rate: int = 16000, channels: int = 1, *,
         amplitude: float = 0.5, lufs: float | None = None, on_clip: str = "raise") -> np.ndarray:
    if not 0 < freq_hz < sample_rate / 2:
        raise ValueError(f"freq_hz must be in (0, {sample_rate / 2}) for sample_rate {sample_rate}")
    t = np.arange(_n(duration_s, sample_rate)) / sample_rate
    return _level(_channels(amplitude * np.sin(2 * np.pi * freq_hz * t), channels), sample_rate, lufs, on_clip)


def noise(duration_s: float, sample_rate: int = 16000, channels: int = 1, *, color: str = "white",
          amplitude: float = 0.1, lufs: float | None = None, seed: int = 0, on_clip: str = "raise") -> np.ndarray:
    """White or pink (1/f power) Gaussian noise; RMS = amplitude before normalisation."""
    if color not in ("white", "pink"):
        raise ValueError(f"color must be white or pink, got {color!r}")
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    n = _n(duration_s, sample_rate)
    x = np.random.default_rng(seed).standard_normal((channels, n))
    if color == "pink":
        spec = np.fft.rfft(x, axis=1)
        f = np.fft.rfftfreq(n)
        spec /= np.sqrt(np.maximum(f, f[1] if n > 1 else 1.0))
        x = np.fft.irfft(spec, n=n, axis=1)
    x = amplitude * x / (x.std(axis=1, keepdims=True) + 1e-12)
    return _level(x, sample_rate, lufs, on_clip)


def beat_times(bpm: float, duration_s: float, offset_s: float = 0.0) -> np.ndarray:
    """Times (s) of the beats of a steady pulse: offset, offset + 60/bpm, ... < duration."""
    if bpm <= 0:
        raise ValueError(f"bpm must be > 0, got {bpm}")
    return np.arange(offset_s, duration_s - 1e-9, 60.0 / bpm)


def _place(out: np.ndarray, hit: np.ndarray, times: np.ndarray, sample_rate: int, gain: float = 1.0) -> None:
    n = out.size
    for t in times:
        i = int(round(t * sample_rate))
        if i >= n:
            break
        m = min(hit.size, n - i)
        out[i:i + m] += gain * hit[:m]


def click_track(bpm: float, duration_s: float, sample_rate: int = 16000, channels: int = 1, *,
                click_hz: float = 1000.0, click_s: float = 0.02, accent_every: int = 4, offset_s: float = 0.0,
                amplitude: float = 0.8, lufs: float | None = None, on_clip: str = "raise") -> np.ndarray:
    """A metronome: a decaying sine click on every beat, louder (and an octave up) on each bar's first."""
    n = _n(duration_s, sample_rate)
    t = np.arange(int(click_s * sample_rate)) / sample_rate
    env = np.exp(-t / (click_s / 4))
    click = np.sin(2 * np.pi * click_hz * t) * env
    accent = np.sin(2 * np.pi * 2 * click_hz * t) * env
    out = np.zeros(n)
    beats = beat_times(bpm, duration_s, offset_s)
    is_accent = (np.arange(beats.size) % accent_every == 0) if accent_every else np.zeros(beats.size, bool)
    _place(out, accent, beats[is_accent], sample_rate, amplitude)
    _place(out, click, beats[~is_accent], sample_rate, amplitude * 0.6)
    return _level(_channels(out, channels), sample_rate, lufs, on_clip)


def _drum_hits(sample_rate: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.arange(int(0.35 * sample_rate)) / sample_rate
    # Kick: a pitch sweep 110 -> 45 Hz with a fast decay.
    freq = 45 + 65 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sample_rate) * np.exp(-t / 0.12)
    ts = t[: int(0.2 * sample_rate)]
    snare = (0.6 * rng.standard_normal(ts.size) + 0.5 * np.sin(2 * np.pi * 185 * ts)) * np.exp(-ts / 0.05)
    th = t[: int(0.06 * sample_rate)]
    hat = np.diff(rng.standard_normal(th.size + 1)) * np.exp(-th / 0.012)  # differenced noise: bright
    return {"kick": kick, "snare": snare, "hat": hat}


def drum_pattern(bpm: float, duration_s: float, sample_rate: int = 16000, channels: int = 1, *,
                 offset_s: float = 0.0, seed: int = 0, pad: float = 0.15, lufs: float | None = None,
                 on_clip: str = "raise") -> np.ndarray:
    """Four-on-the-floor: kick and closed hi-hat on every beat, a light snare on beats 2 and 4,
    over a quiet sustained chord of amplitude `pad` (0 = drums only).

    Every beat has the same strong hit, so the pulse is unambiguous at `bpm` (beats at
    `beat_times(bpm, duration_s, offset_s)`); librosa's beat tracker finds it within ~3% for
    70..175 BPM. A soft limiter keeps the crest factor musical: up to about -14 LUFS fits
    without clipping at any tempo in that range (louder on faster tempi).
    """
    rng = np.random.default_rng(seed)
    hits = _drum_hits(sample_rate, rng)
    out = np.zeros(_n(duration_s, sample_rate))
    beats = beat_times(bpm, duration_s, offset_s)
    _place(out, hits["kick"], beats, sample_rate, 0.8)
    _place(out, hits["hat"], beats, sample_rate, 0.3)
    _place(out, hits["snare"], beats[1::2], sample_rate, 0.25)
    if pad:  # a sustained chord, as in real music: raises the loudness reachable without clipping
        t = np.arange(out.size) / sample_rate
        out += pad * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    out = np.tanh(2.0 * out)  # soft limiter, as in mastered music
    return _level(_channels(out, channels), sample_rate, lufs, on_clip)
