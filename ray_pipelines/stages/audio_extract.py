"""video_audio_extractor: decode a video's audio track once, for every audio component.

`extract_audio(path, cfg)` decodes the best audio stream with PyAV and returns an `AudioTrack`:
the ORIGINAL channels at the ORIGINAL sample rate (loudness must be measured on those: a downmix
changes BS.1770 loudness) and a mono waveform resampled with torchaudio to `cfg.sample_rate`
(CLAP windows, tempo). A video without an audio stream, or with a silent one, is not an error: the
track says `status == "empty"` and why. A file that cannot be decoded at all raises
`AudioDecodeError`; a track that breaks half-way keeps what was decoded and says so in
`decode_warning`.

`compute(track)` gives the arrays of the artifact: metadata and a low-rate RMS envelope, never the
waveform itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ray_pipelines.audio_config import AudioConfig

DB_FLOOR = -120.0  # dBFS reported for digital silence (log of 0 is -inf; artifacts hold no inf)
LFE_NAMES = ("LFE", "LFE2", "LOW_FREQUENCY")


class AudioDecodeError(RuntimeError):
    """The file's audio could not be decoded at all (not a media file, corrupt stream)."""


@dataclass
class AudioTrack:
    path: str
    samples: np.ndarray  # (C, N) float32, original channels at sample_rate
    sample_rate: int
    channel_names: tuple[str, ...]
    mono: np.ndarray  # (M,) float32 at analysis_rate: mean of the non-LFE channels, resampled
    analysis_rate: int
    codec: str | None = None
    layout: str | None = None
    start_offset_sec: float = 0.0  # first decoded sample's time relative to the video's t = 0 (already applied)
    truncated: bool = False
    decode_warning: str | None = None
    empty_reason: str | None = None

    @property
    def status(self) -> str:
        return "ok" if self.empty_reason is None else "empty"

    @property
    def has_stream(self) -> bool:
        return self.sample_rate > 0

    @property
    def n_channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_sec(self) -> float:
        return self.n_samples / self.sample_rate if self.sample_rate else float("nan")

    @classmethod
    def missing(cls, path: str, reason: str, cfg: AudioConfig) -> "AudioTrack":
        return cls(path=path, samples=np.zeros((0, 0), np.float32), sample_rate=0, channel_names=(),
                   mono=np.zeros(0, np.float32), analysis_rate=cfg.sample_rate, empty_reason=reason)


def from_array(samples: np.ndarray, sample_rate: int, cfg: AudioConfig, *,
               channel_names: tuple[str, ...] | None = None, path: str = "<array>", **fields) -> AudioTrack:
    """An AudioTrack from a waveform (C, N) or (N,) in [-1, 1]: the decoder's last step, also used by tests."""
    x = np.asarray(samples, np.float32)
    x = x[None, :] if x.ndim == 1 else x
    if x.ndim != 2:
        raise ValueError(f"samples must be (N,) or (C, N), got shape {np.shape(samples)}")
    if channel_names is None:
        channel_names = {1: ("FC",), 2: ("FL", "FR")}.get(x.shape[0], tuple(f"C{i}" for i in range(x.shape[0])))
    mono = resample(downmix(x, channel_names), sample_rate, cfg.sample_rate) if x.shape[1] else np.zeros(0, np.float32)
    track = AudioTrack(path=path, samples=x, sample_rate=int(sample_rate), channel_names=tuple(channel_names),
                       mono=mono, analysis_rate=cfg.sample_rate, **fields)
    if track.empty_reason is None:
        track.empty_reason = _silence_reason(x, cfg)
    return track


def downmix(x: np.ndarray, channel_names: tuple[str, ...]) -> np.ndarray:
    """(C, N) → (N,): mean of the non-LFE channels (all channels if every one is LFE)."""
    keep = [i for i, name in enumerate(channel_names) if name not in LFE_NAMES] or list(range(x.shape[0]))
    return x[keep].mean(axis=0)


def mono_at(track: AudioTrack, rate: int) -> np.ndarray:
    """The mono mix at `rate`, resampled from the original samples (one resampling step, not two)."""
    if rate == track.analysis_rate:
        return track.mono
    if not track.n_samples:
        return np.zeros(0, np.float32)
    return resample(downmix(track.samples, track.channel_names), track.sample_rate, rate)


def _silence_reason(x: np.ndarray, cfg: AudioConfig) -> str | None:
    if x.shape[1] == 0:
        return "audio stream has no samples"
    peak = max(float(x.max()), -float(x.min()))  # no |x| copy of a long track
    peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
    if peak_db < cfg.silent_peak_dbfs:
        return f"silent audio track (sample peak {peak_db:.1f} dBFS < {cfg.silent_peak_dbfs} dBFS)"
    return None


RESAMPLE_BLOCK_SEC = 30.0  # input seconds per resampling block (bounds memory, see `resample`)


def resample(x: np.ndarray, orig_rate: int, new_rate: int, block_sec: float = RESAMPLE_BLOCK_SEC) -> np.ndarray:
    """(N,) float32 → (≈ N·new/orig,) float32, band-limited sinc resampling (torchaudio), with the
    length and values of one torchaudio call.

    Done in blocks of ~block_sec with enough real neighbouring samples on each side that every
    output sample sees the same inputs as a one-shot call (same result): one call on a 20-minute
    track makes torch's conv1d unfold the whole signal (~2 GB at 16 → 48 kHz)."""
    x = np.ascontiguousarray(x, np.float32)
    if orig_rate == new_rate:
        return x
    import torch
    import torchaudio.functional as AF

    g = math.gcd(int(orig_rate), int(new_rate))
    o, n = orig_rate // g, new_rate // g  # o input samples give n output samples
    width = math.ceil(6 * o / (min(o, n) * 0.99))  # torchaudio's kernel half-width (lowpass_filter_width=6)
    ctx = o * (width // o + 2)  # context on each side, a whole number of o-sample groups
    block = max(1, int(block_sec * orig_rate) // o) * o
    # The output length a one-shot call gives: torchaudio's own float32 ceil, which can be one sample off
    # the exact ceil(n·len/o). The last block gets o zero samples appended (torchaudio pads with zeros
    # past the end anyway, so values do not change) and gives exactly the samples still missing.
    total = int(torch.ceil(torch.as_tensor(n * len(x) / o)))
    out = np.empty(total, np.float32)
    with torch.inference_mode():
        for a in range(0, len(x), block):
            b = min(len(x), a + block)
            lo, hi = max(0, a - ctx), min(len(x), b + ctx)
            seg = x[lo:hi] if hi < len(x) else np.concatenate([x[lo:], np.zeros(o, np.float32)])
            y = AF.resample(torch.from_numpy(seg), orig_rate, new_rate).numpy()
            first = (a - lo) // o * n  # a - lo is a multiple of o
            start = a // o * n
            count = (b - a) // o * n if b < len(x) else total - start
            out[start:start + count] = y[first:first + count]
    return out


def extract_audio(path: str | Path, cfg: AudioConfig, time_offset_sec: float | None = None) -> AudioTrack:
    """Decode the best audio stream of `path` (see the module docstring for what comes back).

    time_offset_sec: container time of the video's first frame, which is t = 0 for shots and frames
    (sampling's `time_offset_sec`); None reads the video stream's start time from the container.
    The waveform is shifted so that its sample 0 is that instant.
    """
    import av

    path = str(path)
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise AudioDecodeError(f"{path}: cannot open as media: {e}") from None
    with container:
        stream = container.streams.best("audio")
        if stream is None:
            return AudioTrack.missing(path, "no audio stream", cfg)
        codec = stream.codec_context.name
        if time_offset_sec is None:
            video = container.streams.video[0] if container.streams.video else None
            has_start = video is not None and video.start_time is not None and video.time_base is not None
            time_offset_sec = float(video.start_time * video.time_base) if has_start else 0.0
        chunks: list[np.ndarray] = []
        n, rate, names, layout, start, resampler = 0, 0, (), None, None, None
        truncated, warning = False, None
        try:
            for frame in container.decode(stream):
                if resampler is None:
                    rate, layout = frame.sample_rate, frame.layout.name
                    names = tuple(ch.name for ch in frame.layout.channels)
                    start = frame.time
                    # Planar float at the stream's own rate and layout: a format change, never a remix.
                    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())  # (C, n) float32
                    n += chunks[-1].shape[1]
                if n >= cfg.max_duration_s * rate:
                    truncated = True
                    break
            if resampler is not None and not truncated:
                chunks.extend(out.to_ndarray() for out in resampler.resample(None))
        except (av.FFmpegError, ValueError) as e:  # keep what was decoded; say why it stopped
            warning = f"audio decoding stopped at {n / rate if rate else 0:.2f}s: {e}"
            if not chunks:
                raise AudioDecodeError(f"{path}: audio stream could not be decoded: {e}") from None
    if resampler is None:
        return AudioTrack.missing(path, "audio stream has no decodable frames", cfg)
    x = np.concatenate(chunks, axis=1) if chunks else np.zeros((len(names), 0), np.float32)
    del chunks  # the decoded pieces: a second copy of the track
    start_offset = (start if start is not None else time_offset_sec) - time_offset_sec
    x = _align_to_zero(x, start_offset, rate)
    if truncated:
        x = x[:, :int(cfg.max_duration_s * rate)]
    return from_array(x, rate, cfg, channel_names=names, path=path, codec=codec, layout=layout,
                      start_offset_sec=float(start_offset), truncated=truncated, decode_warning=warning)


def _align_to_zero(x: np.ndarray, start_sec: float, rate: int) -> np.ndarray:
    """Shift samples so index 0 is t = 0 (the video's first frame): pad when audio starts later, cut when earlier."""
    shift = int(round(start_sec * rate))
    if shift > 0:
        return np.concatenate([np.zeros((x.shape[0], shift), np.float32), x], axis=1)
    return x[:, -shift:] if shift < 0 else x


def rms_envelope_dbfs(x: np.ndarray, rate: int, hz: float) -> np.ndarray:
    """(C, N) → (ceil(N·hz/rate),) RMS over channels in consecutive 1/hz frames, in dBFS (full-scale sine: -3.01)."""
    if x.shape[1] == 0:
        return np.zeros(0, np.float32)
    hop = max(1, int(round(rate / hz)))
    n_frames = -(-x.shape[1] // hop)
    power = np.square(x, dtype=np.float64).mean(axis=0)  # (N,)
    power = np.pad(power, (0, n_frames * hop - len(power)))
    frame_power = power.reshape(n_frames, hop).mean(axis=1)
    last = x.shape[1] - (n_frames - 1) * hop  # the last frame is partial: average over its real samples only
    frame_power[-1] *= hop / last
    with np.errstate(divide="ignore"):
        return np.maximum(10 * np.log10(frame_power), DB_FLOOR).astype(np.float32)


def compute(track: AudioTrack, cfg: AudioConfig) -> dict[str, np.ndarray]:
    """Arrays of the video_audio_extractor artifact (only has_audio_stream when there is no stream)."""
    if not track.has_stream:
        return {"has_audio_stream": np.array(False)}
    return {
        "has_audio_stream": np.array(True),
        "duration_sec": np.float32(track.duration_sec),
        "sample_rate": np.int32(track.sample_rate),
        "n_channels": np.int32(track.n_channels),
        "n_samples": np.int64(track.n_samples),
        "analysis_sample_rate": np.int32(track.analysis_rate),
        "start_offset_sec": np.float32(track.start_offset_sec),
        "truncated": np.array(track.truncated),
        "envelope_hz": np.float32(cfg.envelope_hz),
        "envelope_rms_dbfs": rms_envelope_dbfs(track.samples, track.sample_rate, cfg.envelope_hz),
    }


def meta(track: AudioTrack) -> dict[str, object]:
    """extra_meta of the artifact: what the arrays cannot say."""
    return {"codec": track.codec, "channel_layout": track.layout, "channel_names": list(track.channel_names),
            "decode_warning": track.decode_warning, "truncated": track.truncated}
