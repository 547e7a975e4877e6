"""Pass 2, the `cut_detection` component: confirm cut candidates and turn them into shots.

From the pass-1 candidates (`sampling.candidates`) this keeps:
- hard cuts whose score is both large and large *relative to its neighbourhood* (so steady fast
  motion does not read as a cut), unless the frame before and two after match (a flash);
- fades: dark valleys between brighter content, cut at the darkest point;
- dissolves: bumps of the wide-window difference not explained by a hard cut or a fade, cut at the
  bump's centre;
then enforces a minimum shot length (the most confident cut wins), splits over-long shots into
equal parts (kind "split", confidence 0), and merges adjacent shots, shortest and most similar
first, until at most `max_len_shots` remain (SPEC §4: token = shot), recording which detected
shot went into which final shot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from sampling.candidates import (
    Candidates,
    FrameSignals,
    cut_score,
    find_candidates,
    frame_distance,
    hist_distance,
    wide_score,
)
from trendflow.config import Section


class CutDetectionConfig(Section):
    """Thresholds of cut detection. Any change here changes `sampling_policy_version`."""

    cut_threshold: float = Field(0.09, gt=0, le=1, description="Minimum hard-cut score (content distance "
                                 "between consecutive frames, 0..1).")
    adaptive_ratio: float = Field(2.5, ge=1, description="A hard cut's score must exceed this multiple of "
                                  "the median score around it (rejects steady fast motion).")
    static_cut_threshold: float = Field(0.05, gt=0, le=1, description="Lower minimum score accepted when "
                                        "the surroundings are still (see static_ratio): a cut between "
                                        "two similar static shots is a small but isolated jump.")
    static_ratio: float = Field(5.0, ge=1, description="Multiple of the surrounding median a score below "
                                "cut_threshold must exceed.")
    adaptive_window_sec: float = Field(1.0, gt=0, description="Half-width of that neighbourhood.")
    dark_luma: float = Field(0.12, gt=0, lt=1, description="Mean luma (0..1) below which a frame is dark "
                             "(fade detection; video black is 16/255 = 0.063).")
    fade_max_sec: float = Field(3.0, gt=0, description="Longest dark stretch still read as one fade.")
    dissolve_widths_sec: tuple[float, ...] = Field((0.2, 0.5), description="Half-windows of the wide "
                                                   "difference used to find dissolves.")
    dissolve_threshold: float = Field(0.2, gt=0, le=1, description="Minimum wide-window distance of a dissolve.")
    dissolve_ratio: float = Field(2.0, ge=1, description="A dissolve's wide distance must exceed this "
                                  "multiple of the wide distance further away on both sides.")
    min_shot_sec: float = Field(0.3, ge=0, description="Shorter shots are not created: of two cuts closer "
                                "than this, the more confident one stays.")
    max_shot_sec: float = Field(15.0, gt=0, description="Longer shots are split into equal parts.")
    max_len_shots: int = Field(256, ge=1, description="At most this many shots; more are merged.")


@dataclass
class Shots:
    """Final shots of a video. Shot k covers frames [start_frame[k], end_frame[k])."""

    start_frame: np.ndarray  # (n_shots,) int64
    end_frame: np.ndarray  # (n_shots,) int64, exclusive
    start_sec: np.ndarray  # (n_shots,) float64
    end_sec: np.ndarray  # (n_shots,) float64 (next shot's start; the video's end for the last)
    motion_mean: np.ndarray  # (n_shots,) float32 mean motion proxy inside the shot
    cut_frame: np.ndarray  # (n_shots-1,) int64 first frame of shot k+1
    cut_kind: np.ndarray  # (n_shots-1,) str: cut | fade | dissolve | split
    cut_confidence: np.ndarray  # (n_shots-1,) float32 in [0, 1]; 0 for splits
    detected_start_frame: np.ndarray  # (n_detected,) int64 shots before merging to max_len_shots
    detected_to_shot: np.ndarray  # (n_detected,) int32 final shot that each detected shot went into
    n_frames: int
    fps: float

    @property
    def n_shots(self) -> int:
        return len(self.start_frame)

    def arrays(self) -> dict[str, np.ndarray]:
        """The `cut_detection` artifact arrays (see trendflow/components/cut_detection.py)."""
        return {
            "shot_start_sec": self.start_sec, "shot_end_sec": self.end_sec,
            "shot_start_frame": self.start_frame, "shot_end_frame": self.end_frame,
            "shot_motion_mean": self.motion_mean,
            "cut_frame": self.cut_frame, "cut_time_sec": self.start_sec[1:],
            "cut_kind": self.cut_kind, "cut_confidence": self.cut_confidence,
            "detected_shot_start_frame": self.detected_start_frame,
            "detected_to_shot": self.detected_to_shot,
            "n_frames": np.int64(self.n_frames), "fps": np.float64(self.fps),
        }


@dataclass
class _Event:
    frame: int
    kind: str
    confidence: float


def detect_shots(sig: FrameSignals, cfg: CutDetectionConfig | None = None) -> Shots:
    """Pass 1 candidates -> confirmed cuts -> shots (min length, splits, <= max_len_shots)."""
    cfg = cfg or CutDetectionConfig()
    cand = find_candidates(sig, min_cut_score=min(cfg.cut_threshold, cfg.static_cut_threshold) * 0.9,
                           dark_luma=cfg.dark_luma,
                           fade_max_sec=cfg.fade_max_sec, dissolve_widths_sec=cfg.dissolve_widths_sec,
                           min_wide_score=cfg.dissolve_threshold)
    events = confirm(sig, cand, cfg)
    events = _enforce_min_length(sig, events, cfg.min_shot_sec)
    events = _split_long(sig, events, cfg.max_shot_sec)
    return _merge_to_limit(sig, events, cfg.max_len_shots)


# ---------------------------------------------------------------- confirmation

def confirm(sig: FrameSignals, cand: Candidates, cfg: CutDetectionConfig) -> list[_Event]:
    fps, n = sig.fps, sig.n_frames
    events: list[_Event] = []
    cs = cut_score(sig)
    half = max(2, int(round(cfg.adaptive_window_sec * fps)))
    fades = cand.kind == "fade"
    fade_spans = []
    for i, first, last, depth in zip(cand.frame[fades], cand.start[fades], cand.end[fades], cand.score[fades]):
        events.append(_Event(int(i), "fade", float(min(1.0, depth / 0.3))))
        fade_spans.append((int(first), int(last)))

    hard = cand.kind == "cut"
    flashes: list[int] = []
    for i, s in zip(cand.frame[hard], cand.score[hard]):
        around = np.concatenate([cs[max(1, i - half):i], cs[i + 1:i + 1 + half]])
        ref = max(float(np.median(around)) if around.size else 0.0, 0.01)
        strong = s >= cfg.cut_threshold and s >= cfg.adaptive_ratio * ref
        isolated = s >= cfg.static_cut_threshold and s >= cfg.static_ratio * ref
        if not (strong or isolated):
            continue
        if any(first <= i <= last + 1 for first, last in fade_spans):
            continue  # the jump into or out of black is part of the fade, already one boundary
        if _is_flash(sig, i, s):
            flashes.append(int(i))
            # A flash can hide a real cut (music-video "flash cuts"): compare across it instead.
            s = float(frame_distance(sig, np.array([i - 1]), np.array([min(i + 2, n - 1)]))[0])
            if not (s >= cfg.cut_threshold and s >= cfg.adaptive_ratio * ref):
                continue
        events.append(_Event(int(i), "cut", _confidence(s, ref, full=0.4)))

    hard_frames = np.array([e.frame for e in events if e.kind == "cut"], dtype=np.int64)
    wide: dict[int, np.ndarray] = {}
    dis = cand.kind == "dissolve"
    for i, start, end, s in zip(cand.frame[dis], cand.start[dis], cand.end[dis], cand.score[dis]):
        w = int(i - start)
        # A hard cut or a fade inside the window explains the bump already.
        if hard_frames.size and np.any(np.abs(hard_frames - i) <= w):
            continue
        if any(first - w <= i <= last + w for first, last in fade_spans):
            continue
        # A flash frame at i-w or i+w makes a one-frame spike, not a bump.
        if any(abs(abs(f - i) - w) <= 1 for f in flashes):
            continue
        if w not in wide:
            wide[w] = wide_score(sig, w)
        ws = wide[w]
        if _bump_width(ws, i, 0.5 * s) < w:  # a transition is as wide as the window, a spike is not
            continue
        outside = np.concatenate([ws[max(0, i - 4 * w):max(0, i - 2 * w)], ws[i + 2 * w + 1:i + 4 * w + 1]])
        ref = max(float(np.median(outside)) if outside.size else 0.0, 0.02)
        if s < cfg.dissolve_ratio * ref:
            continue
        # Centre of the bump's top: robust where a long dissolve gives a flat plateau.
        lo, hi = max(0, i - w), min(n, i + w + 1)
        top = np.flatnonzero(ws[lo:hi] >= 0.9 * s) + lo
        centre = int(round(top.mean()))
        events.append(_Event(centre, "dissolve", _confidence(s, ref, full=0.5)))
    return sorted(events, key=lambda e: e.frame)


def _bump_width(x: np.ndarray, i: int, level: float) -> int:
    """Length of the contiguous run around i where x >= level."""
    lo = i
    while lo > 0 and x[lo - 1] >= level:
        lo -= 1
    hi = i
    while hi + 1 < len(x) and x[hi + 1] >= level:
        hi += 1
    return hi - lo + 1


def _confidence(score: float, ref: float, full: float) -> float:
    """Strength (score relative to an unmistakable cut) times contrast to the surroundings."""
    return float(np.clip(min(1.0, score / full) * (1.0 - ref / max(score, 1e-9)), 0.0, 1.0))


def _is_flash(sig: FrameSignals, i: int, score: float) -> bool:
    """A flash or a single corrupt frame: the frames around the spike look alike again."""
    n = sig.n_frames
    if i < 1 or i + 2 >= n:
        return False
    back = frame_distance(sig, np.array([i - 1, i - 1]), np.array([i + 1, i + 2]))
    return bool(back.min() < 0.35 * score)


# ---------------------------------------------------------------- shot-length rules

def _video_end_sec(sig: FrameSignals) -> float:
    return float(sig.times_sec[-1] + 1.0 / sig.fps)


def _enforce_min_length(sig: FrameSignals, events: list[_Event], min_shot_sec: float) -> list[_Event]:
    """Keep the most confident cuts first; drop any that would make a shot shorter than the minimum."""
    t = sig.times_sec
    start, end = float(t[0]), _video_end_sec(sig)
    kept: list[_Event] = []
    for e in sorted(events, key=lambda e: (-e.confidence, e.frame)):
        te = float(t[e.frame])
        if te - start < min_shot_sec or end - te < min_shot_sec or e.frame <= 0:
            continue
        if any(abs(te - float(t[k.frame])) < max(min_shot_sec, 1e-9) or k.frame == e.frame for k in kept):
            continue
        kept.append(e)
    return sorted(kept, key=lambda e: e.frame)


def _split_long(sig: FrameSignals, events: list[_Event], max_shot_sec: float) -> list[_Event]:
    t = sig.times_sec
    bounds = [0] + [e.frame for e in events] + [sig.n_frames]
    end_sec = _video_end_sec(sig)
    out = list(events)
    for a, b in zip(bounds[:-1], bounds[1:]):
        t0, t1 = float(t[a]), (float(t[b]) if b < sig.n_frames else end_sec)
        parts = int(np.ceil((t1 - t0) / max_shot_sec - 1e-9))
        for p in range(1, parts):
            f = int(np.searchsorted(t, t0 + p * (t1 - t0) / parts))
            if a < f < b:
                out.append(_Event(f, "split", 0.0))
    return sorted(out, key=lambda e: e.frame)


def _merge_to_limit(sig: FrameSignals, events: list[_Event], max_len: int) -> Shots:
    """Build shots from cut events; merge adjacent shots until at most max_len remain.

    The boundary merged next is the one with the lowest cost = (distance between the two shots'
    mean colour histograms + 0.05) * (length of the shorter shot / mean shot length): short,
    similar neighbours go first; split boundaries (same content) are undone before real cuts.
    """
    n, t = sig.n_frames, sig.times_sec
    end_sec = _video_end_sec(sig)
    starts = [0] + [e.frame for e in events]
    kinds = [e.kind for e in events]
    confs = [e.confidence for e in events]
    detected_start = np.asarray(starts, dtype=np.int64)
    ends = starts[1:] + [n]
    hist = np.stack([sig.hist[a:b].mean(axis=0) for a, b in zip(starts, ends)])  # (n_shots, 48)
    frames = np.diff(np.append(detected_start, n)).astype(np.float64)  # (n_shots,)
    dur = np.diff(np.append(t[detected_start], end_sec))  # (n_shots,) seconds
    members = [[k] for k in range(len(starts))]
    while len(starts) > max_len:
        dist = hist_distance(hist[:-1], hist[1:])  # (n_shots-1,)
        shorter = np.minimum(dur[:-1], dur[1:]) / dur.mean()
        j = int(np.argmin((dist + 0.05) * shorter))
        hist[j] = (hist[j] * frames[j] + hist[j + 1] * frames[j + 1]) / (frames[j] + frames[j + 1])
        frames[j] += frames[j + 1]
        dur[j] += dur[j + 1]
        hist, frames, dur = np.delete(hist, j + 1, 0), np.delete(frames, j + 1), np.delete(dur, j + 1)
        ends[j] = ends[j + 1]
        members[j] += members[j + 1]
        del starts[j + 1], kinds[j], confs[j], ends[j + 1], members[j + 1]  # boundary j joined j, j+1
    detected_to_shot = np.empty(len(detected_start), np.int32)
    for shot, ks in enumerate(members):
        detected_to_shot[ks] = shot
    start_frame = np.asarray(starts, dtype=np.int64)
    end_frame = np.asarray(ends, dtype=np.int64)
    start_sec = t[start_frame].astype(np.float64)
    end_sec_arr = np.append(start_sec[1:], end_sec)
    motion = np.array([sig.motion[a + 1:b].mean() if b - a > 1 else 0.0
                       for a, b in zip(start_frame, end_frame)], dtype=np.float32)
    return Shots(
        start_frame=start_frame, end_frame=end_frame, start_sec=start_sec, end_sec=end_sec_arr,
        motion_mean=motion, cut_frame=start_frame[1:].copy(), cut_kind=np.asarray(kinds, dtype=str),
        cut_confidence=np.asarray(confs, dtype=np.float32), detected_start_frame=detected_start,
        detected_to_shot=detected_to_shot, n_frames=n, fps=sig.fps,
    )
