"""Pass 1 of the Segmenter: cheap per-frame signals and cut candidates (no model, no full frames).

One streaming scan decodes every frame and keeps only tiny signals per frame (SPEC §7):
- colour-histogram difference to the previous frame (Y, U, V, 16 bins each),
- brightness (mean luma),
- a motion proxy (mean absolute luma difference to the previous frame at 64x36),
- a 16x9 YUV thumbnail, so that frames further apart can be compared later (dissolves).
For 72,000 frames this is ~45 MB (thumbnails 31 MB, histograms 14 MB), whatever the resolution.

Candidates are recall-oriented: every local peak that might be a cut, every dark valley that
might be a fade, every bump of the wide-window difference that might be a dissolve. Pass 2
(`sampling.cuts`) decides which are real.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sampling.decode import DecodeStatus, iter_small_yuv

HIST_BINS = 16
THUMB_H, THUMB_W = 9, 16
_BLOCK = 4096  # frames per block when comparing frames


@dataclass
class FrameSignals:
    """Per-frame signals of the whole video. Index = source frame index."""

    times_sec: np.ndarray  # (n,) float64 presentation time, seconds since the first frame
    luma: np.ndarray  # (n,) float32 mean Y in [0, 1]
    hist: np.ndarray  # (n, 3*HIST_BINS) float32, each channel's 16 bins sum to 1
    thumbs: np.ndarray  # (n, 3, THUMB_H, THUMB_W) uint8 planar YUV
    hist_diff: np.ndarray  # (n,) float32 in [0, 1]; 0 for frame 0
    motion: np.ndarray  # (n,) float32 mean |dY| / 255 to the previous frame; 0 for frame 0
    time_offset_sec: float = 0.0  # container time of frame 0; times_sec start at 0
    decode_warning: str | None = None  # set when the video decoded only partly (damaged/truncated)
    cache: dict = field(default_factory=dict, repr=False)  # derived scores, computed once

    @property
    def n_frames(self) -> int:
        return len(self.times_sec)

    @property
    def fps(self) -> float:
        """Median frame rate from the real timestamps (robust to VFR jitter)."""
        if self.n_frames < 2:
            return 25.0
        d = np.diff(self.times_sec)
        d = d[d > 0]
        return float(1.0 / np.median(d)) if d.size else 25.0


def _hist(yuv: np.ndarray) -> np.ndarray:
    """(B, 3, h, w) float32 planar YUV -> (B, 3*HIST_BINS) histograms normalised per channel."""
    B = yuv.shape[0]
    q = yuv.reshape(B, 3, -1).astype(np.uint8) >> 4  # 256 levels -> 16 bins; (B, 3, P)
    offsets = (np.arange(B)[:, None, None] * 3 + np.arange(3)[None, :, None]) * HIST_BINS
    counts = np.bincount((q + offsets).ravel(), minlength=B * 3 * HIST_BINS)
    return counts.reshape(B, 3 * HIST_BINS).astype(np.float32) / q.shape[2]


def _thumb(yuv: np.ndarray) -> np.ndarray:
    """(B, 3, h, w) float32 -> (B, 3, THUMB_H, THUMB_W) uint8 block means."""
    B, _, h, w = yuv.shape
    by, bx = max(1, h // THUMB_H), max(1, w // THUMB_W)
    x = yuv[:, :, : by * THUMB_H, : bx * THUMB_W].reshape(B, 3, THUMB_H, by, THUMB_W * bx)
    x = x.sum(axis=3).reshape(B, 3, THUMB_H, THUMB_W, bx).sum(axis=4)
    return (x * (1.0 / (by * bx)) + 0.5).astype(np.uint8)


def hist_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Earth mover's distance between histograms (L1 of the cumulative sums), mean over Y, U, V.

    0 = same, 1 = all mass moved from the lowest to the highest bin. Unlike a bin-by-bin
    distance it grows with how far colours move, so a fade or a dissolve that slides a flat
    background across bins gives small steps instead of a full-scale jump at every frame.
    """
    shape = np.broadcast_shapes(a.shape, b.shape)[:-1]
    d = (a - b).reshape(*shape, 3, HIST_BINS)
    return np.abs(np.cumsum(d, axis=-1)[..., :-1]).sum(axis=(-2, -1)) / (3 * (HIST_BINS - 1))


def compute_signals(path, *, width: int = 64, height: int = 36, chunk_size: int = 64, on_frame=None,
                    hw_decode: str = "none") -> FrameSignals:
    """Scan every frame of `path` once and return its FrameSignals (raises VideoDecodeError).
    on_frame(frame, time_sec) sees every decoded frame (see `iter_small_yuv`)."""
    times, luma, hists, thumbs, motion = [], [], [], [], []
    prev_y = None
    status = DecodeStatus()
    for t, yuv in iter_small_yuv(path, width=width, height=height, chunk_size=chunk_size, status=status,
                                 on_frame=on_frame, hw_decode=hw_decode):
        y = yuv[:, 0]  # (B, h, w)
        times.append(t)
        luma.append(y.mean(axis=(1, 2)) / 255.0)
        hists.append(_hist(yuv))
        thumbs.append(_thumb(yuv))
        prev = np.concatenate([y[:1] if prev_y is None else prev_y[None], y[:-1]])
        motion.append(np.abs(y - prev).mean(axis=(1, 2)) / 255.0)
        prev_y = y[-1]
    times_abs = np.concatenate(times).astype(np.float64)
    hist = np.concatenate(hists).astype(np.float32)
    hist_diff = np.zeros(len(hist), np.float32)
    hist_diff[1:] = hist_distance(hist[1:], hist[:-1])
    return FrameSignals(
        times_sec=times_abs - times_abs[0], time_offset_sec=float(times_abs[0]),
        luma=np.concatenate(luma).astype(np.float32), hist=hist, thumbs=np.concatenate(thumbs),
        hist_diff=hist_diff, motion=np.concatenate(motion).astype(np.float32),
        decode_warning=status.warning(),
    )


# ---------------------------------------------------------------- candidate search

def frame_distance(sig: FrameSignals, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Content distance between frames i and j (arrays of indices), in [0, 1].

    Mixes colour distribution (histogram) and layout (16x9 thumbnail): either alone misses cuts
    between shots that share one of them (two noise shots of the same palette, a recoloured layout).
    """
    i, j = np.asarray(i), np.asarray(j)
    out = np.empty(i.shape, np.float32)
    # Blocks of frames: float copies of all 72,000 thumbnails would take 250 MB at once.
    for a in range(0, i.size, _BLOCK):
        bi, bj = i.ravel()[a:a + _BLOCK], j.ravel()[a:a + _BLOCK]
        h = hist_distance(sig.hist[bi], sig.hist[bj])
        ti = sig.thumbs[bi].astype(np.int16)
        tj = sig.thumbs[bj].astype(np.int16)
        layout = np.abs(ti - tj).mean(axis=(-3, -2, -1)) / 64.0  # a 64-level mean change saturates
        out.ravel()[a:a + _BLOCK] = 0.5 * h + 0.5 * np.minimum(layout, 1.0)
    return out


def cut_score(sig: FrameSignals) -> np.ndarray:
    """(n,) score of a hard cut between frame i-1 and i (0 for frame 0). Cached on `sig`."""
    if "cut" not in sig.cache:
        n = sig.n_frames
        s = np.zeros(n, np.float32)
        if n > 1:
            i = np.arange(1, n)
            s[1:] = frame_distance(sig, i - 1, i)
        sig.cache["cut"] = s
    return sig.cache["cut"]


def wide_score(sig: FrameSignals, w: int) -> np.ndarray:
    """(n,) distance between frames i-w and i+w (clamped at the ends): a gradual transition
    centred on i shows as a bump several frames wide. Cached on `sig`."""
    if ("wide", w) not in sig.cache:
        n = sig.n_frames
        i = np.arange(n)
        sig.cache[("wide", w)] = frame_distance(sig, np.clip(i - w, 0, n - 1), np.clip(i + w, 0, n - 1))
    return sig.cache[("wide", w)]


@dataclass
class Candidates:
    """Possible shot boundaries from pass 1, sorted by frame. kind: cut | fade | dissolve."""

    frame: np.ndarray  # (k,) int64 first frame of the new shot (centre of a gradual transition)
    kind: np.ndarray  # (k,) str
    score: np.ndarray  # (k,) float32 raw strength of the signal that proposed it
    start: np.ndarray  # (k,) int64 first frame of the transition (== frame for cuts)
    end: np.ndarray  # (k,) int64 last frame of the transition (== frame for cuts)

    def __len__(self) -> int:
        return len(self.frame)


def local_peaks(x: np.ndarray, min_value: float, radius: int = 1) -> np.ndarray:
    """Indices where x >= min_value and x is the maximum of [i-radius, i+radius] (first of ties)."""
    n = len(x)
    if n == 0:
        return np.empty(0, np.int64)
    pad = np.pad(x, radius, constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * radius + 1)  # (n, 2r+1)
    is_max = (x >= windows.max(axis=1)) & (x >= min_value)
    # Break plateaus: keep i only when no earlier equal value is in its window.
    earlier = windows[:, :radius]
    is_first = ~np.any(earlier == x[:, None], axis=1)
    return np.flatnonzero(is_max & is_first)


def find_candidates(sig: FrameSignals, *, min_cut_score: float = 0.05, dark_luma: float = 0.12,
                    fade_max_sec: float = 3.0, dissolve_widths_sec: tuple[float, ...] = (0.2, 0.5),
                    min_wide_score: float = 0.12) -> Candidates:
    """All plausible boundaries: peaks of the cut score, dark valleys, bumps of the wide score."""
    fps = sig.fps
    frames, kinds, scores, starts, ends = [], [], [], [], []

    cs = cut_score(sig)
    for i in local_peaks(cs, min_cut_score):
        if i > 0:
            frames.append(i), kinds.append("cut"), scores.append(cs[i]), starts.append(i), ends.append(i)

    for centre, first, last, depth in _dark_valleys(sig.luma, dark_luma, int(fade_max_sec * fps)):
        frames.append(centre), kinds.append("fade"), scores.append(depth)
        starts.append(first), ends.append(last)

    for width_sec in dissolve_widths_sec:
        w = max(2, int(round(width_sec * fps)))
        ws = wide_score(sig, w)
        for i in local_peaks(ws, min_wide_score, radius=w):
            if w <= i < sig.n_frames - w:
                frames.append(i), kinds.append("dissolve"), scores.append(ws[i])
                starts.append(i - w), ends.append(i + w)

    order = np.argsort(np.asarray(frames, dtype=np.int64), kind="stable")
    return Candidates(
        frame=np.asarray(frames, dtype=np.int64)[order], kind=np.asarray(kinds, dtype=str)[order],
        score=np.asarray(scores, dtype=np.float32)[order], start=np.asarray(starts, dtype=np.int64)[order],
        end=np.asarray(ends, dtype=np.int64)[order],
    )


def _dark_valleys(luma: np.ndarray, dark: float, max_len: int):
    """Runs of dark frames (luma < dark) with brighter content on both sides within max_len.

    Yields (centre, first, last, depth): a fade out and back in has its boundary at the darkest
    point; first..last cover the whole fade, the dark run plus the ramps where the brightness
    falls into it and climbs out of it. A video that starts or ends dark is not a cut.
    """
    n = len(luma)
    is_dark = luma < dark
    i = 0
    while i < n:
        if not is_dark[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and is_dark[j + 1]:
            j += 1
        if i > 0 and j < n - 1 and j - i + 1 <= max_len:
            before = luma[max(0, i - max_len):i].max()
            after = luma[j + 1:j + 1 + max_len].max()
            low = luma[i:j + 1].min()
            depth = float(min(before, after) - low)
            if depth > dark:  # content on both sides is clearly brighter than the valley
                lows = np.flatnonzero(luma[i:j + 1] <= low + 0.01) + i
                first, last = _ramp(luma, i, -1, max_len), _ramp(luma, j, +1, max_len)
                yield int(round(lows.mean())), first, last, depth
        i = j + 1


def _ramp(luma: np.ndarray, k: int, step: int, max_len: int) -> int:
    """Walk from the dark run's edge k while the brightness keeps rising (a fade's ramp)."""
    end = k
    while 0 <= end + step < len(luma) and abs(end + step - k) <= max_len // 2 \
            and luma[end + step] > luma[end] + 0.002:
        end += step
    return end
