"""The sampling policy: which frames each component gets, chosen in time, returned as frame indices.

SPEC §7. For every budgeted component the policy has a frame budget (min/target/max) that grows
with the video's duration (square root: a 20-minute video needs more frames than a 1-minute one,
but not 20 times more). Times are laid on an *analysis timeline* of `analysis_fps` points per
second (every k-th of them for videos over `max_timeline_points`) and mapped to the source frame
shown at that time (real timestamps, so VFR works).

Strategies:
- `per_shot` (core_clip, shot_quality): every shot gets at least one frame (a shot is a model
  token and needs an embedding), the rest of the budget is shared in proportion to shot duration,
  spread at the centres of equal slices of each shot.
- `cut_boundaries` (cut_detection): the last frame before and the first frame after each cut
  (most confident cuts first), then an even spread over the video up to the budget: the frames on
  which every shot boundary can be reviewed, plus coverage for pacing statistics.

Only the union of all components' frames is decoded; per-component arrays index into it
(`SamplingPlan`). `sampling_policy_version` is a hash of every setting that can change the output
plus `SAMPLING_CODE_VERSION`, bumped whenever this code's output changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sampling.cuts import CutDetectionConfig
from trendflow.config import Section
from trendflow.ids import config_hash

# Bump when a code change can change sampled frames or shots for the same settings.
# 2 (issue #16): timelines capped at max_timeline_points (decode once for long videos too).
SAMPLING_CODE_VERSION = 2
BUDGETED_COMPONENTS = ("cut_detection", "core_clip", "shot_quality")
# Settings that change speed and memory, never the output: they stay out of the policy version.
RUNTIME_FIELDS = ("decode_chunk_frames", "seek_gap_sec", "frame_cache_mb", "hw_decode")


class ComponentBudget(Section):
    """Frames one component may get: target at `reference_duration_sec`, scaled by sqrt(duration),
    clamped to [min_frames, max_frames] and to the frames the analysis timeline has."""

    min_frames: int = Field(ge=1, description="Fewest frames (if the video has them).")
    target_frames: int = Field(ge=1, description="Frames at reference_duration_sec.")
    max_frames: int = Field(ge=1, description="Most frames, for the longest videos.")
    reference_duration_sec: float = Field(300.0, gt=0, description="Duration at which target_frames applies.")
    strategy: Literal["per_shot", "cut_boundaries"] = Field(
        "per_shot", description="per_shot: >=1 frame per shot, rest by duration; cut_boundaries: the "
                                "frames around each cut, then an even spread.")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.min_frames <= self.target_frames <= self.max_frames:
            raise ValueError(f"need min_frames <= target_frames <= max_frames, got "
                             f"{self.min_frames}, {self.target_frames}, {self.max_frames}")
        return self

    def frames_for(self, duration_sec: float, n_available: int) -> int:
        scaled = self.target_frames * np.sqrt(max(duration_sec, 0.0) / self.reference_duration_sec)
        return int(min(n_available, np.clip(round(scaled), self.min_frames, self.max_frames)))


class Budgets(Section):
    """SPEC §7 starting budgets: cut_detection 400-1500, core_clip 200-800, shot_quality 200-1000."""

    cut_detection: ComponentBudget = ComponentBudget(
        min_frames=400, target_frames=800, max_frames=1500, strategy="cut_boundaries")
    core_clip: ComponentBudget = ComponentBudget(min_frames=200, target_frames=400, max_frames=800)
    shot_quality: ComponentBudget = ComponentBudget(min_frames=200, target_frames=500, max_frames=1000)


class SamplingPolicy(Section):
    """The `sampling` config section (trendflow.config.load_section(path, "sampling", SamplingPolicy))."""

    analysis_fps: float = Field(12.0, gt=0, le=120, description="Points per second of the analysis "
                                "timeline that sampled times snap to.")
    analysis_width: int = Field(400, ge=16, description="Width of the box decoded frames are fitted into "
                                "(aspect ratio kept; the box turns for portrait videos; never upscaled).")
    analysis_height: int = Field(224, ge=16, description="Height of that box.")
    max_timeline_points: int = Field(2000, ge=1, description="Longest analysis timeline: a video longer "
                                     "than max_timeline_points / analysis_fps seconds (167 s) keeps every "
                                     "k-th point only (k the smallest integer that fits), so the scan can keep "
                                     "every timeline frame in memory (decode once) at any length. With 2000 "
                                     "a timeline never has fewer points than any default budget asks for.")
    color_space: Literal["RGB"] = Field("RGB", description="Decoded frames are always RGB.")
    signal_width: int = Field(64, ge=16, description="Width of the pass-1 thumbnails (cut signals).")
    signal_height: int = Field(36, ge=9, description="Height of the pass-1 thumbnails.")
    budgets: Budgets = Budgets()
    cuts: CutDetectionConfig = CutDetectionConfig()
    decode_chunk_frames: int = Field(32, ge=1, description="Frames per decoded chunk (bounds memory).")
    seek_gap_sec: float = Field(2.0, gt=0, description="Seek instead of decoding through gaps longer "
                                "than this (when the container has a keyframe index).")
    frame_cache_mb: int = Field(600, ge=0, description="Decode once: keep the analysis-timeline frames "
                                "of the pass-1 scan (RGB, analysis size) up to this many MB, so the sampled "
                                "frames are not decoded a second time; longer videos are decoded again "
                                "sparsely. 0 = always decode again (sampling/frame_cache.py).")
    hw_decode: Literal["none", "cuda"] = Field("none", description="Video decoder: none = CPU (default); "
                                               "cuda = NVDEC through PyAV on GPU nodes, falling back to "
                                               "the CPU decoder for streams or machines it cannot take.")

    @property
    def sampling_policy_version(self) -> str:
        settings = self.model_dump(mode="json", exclude=set(RUNTIME_FIELDS))
        return f"sp{SAMPLING_CODE_VERSION}-{config_hash(settings, length=10)}"


# ---------------------------------------------------------------- the plan

@dataclass
class SamplingPlan:
    """Union of sampled frames and, per component, indices into that union."""

    union_frame_indices: np.ndarray  # (n_union,) int64 source frame indices, sorted unique
    union_timestamps_sec: np.ndarray  # (n_union,) float64 their presentation times
    union_shot_index: np.ndarray  # (n_union,) int32 shot of each union frame
    component_union_idx: dict[str, np.ndarray]  # name -> (k,) int32 positions in the union
    analysis_width: int
    analysis_height: int
    analysis_fps: float
    color_space: str
    rotation_degrees: int
    source_n_frames: int
    source_fps: float
    duration_sec: float
    sampling_policy_version: str

    @property
    def n_union(self) -> int:
        return len(self.union_frame_indices)

    def source_frames(self, component: str) -> np.ndarray:
        """Source frame indices of one component (round trip through the union)."""
        return self.union_frame_indices[self.component_union_idx[component]]

    def arrays(self) -> dict[str, np.ndarray]:
        """The `sampling_plan` artifact arrays (see trendflow/components/sampling_plan.py)."""
        out = {
            "union_frame_indices": self.union_frame_indices,
            "union_timestamps_sec": self.union_timestamps_sec,
            "union_shot_index": self.union_shot_index,
            "analysis_width": np.int32(self.analysis_width),
            "analysis_height": np.int32(self.analysis_height),
            "analysis_fps": np.float64(self.analysis_fps),
            "color_space": np.str_(self.color_space),
            "rotation_degrees": np.int32(self.rotation_degrees),
            "source_n_frames": np.int64(self.source_n_frames),
            "source_fps": np.float64(self.source_fps),
            "duration_sec": np.float64(self.duration_sec),
        }
        for name in BUDGETED_COMPONENTS:
            out[f"{name}_union_idx"] = self.component_union_idx[name]
        return out


def video_duration(frame_times_sec: np.ndarray) -> float:
    """Duration from real timestamps: last frame's time plus one typical frame interval."""
    t = np.asarray(frame_times_sec, dtype=np.float64)
    if t.size < 2:
        return 1.0 / 25 if t.size else 0.0
    step = np.median(np.diff(t))
    return float(t[-1] - t[0] + step)


def timeline_step(duration_sec: float, analysis_fps: float, max_points: int) -> int:
    """Keep every k-th point of the analysis timeline: the smallest k giving at most max_points."""
    n = max(1, int(np.floor(duration_sec * analysis_fps - 1e-9)) + 1)
    return max(1, int(np.ceil(n / max_points)))


def analysis_grid(frame_times_sec: np.ndarray, analysis_fps: float, step: int = 1) -> np.ndarray:
    """Times of the analysis timeline: t0, t0 + step/fps, ... up to the video's end."""
    t = np.asarray(frame_times_sec, dtype=np.float64)
    n = max(1, int(np.floor(video_duration(t) * analysis_fps - 1e-9)) + 1)
    grid = t[0] + (np.arange(0, n, step) * 1.0) / analysis_fps
    return grid[grid < t[0] + video_duration(t)] if n > 1 else grid


def frame_at(frame_times_sec: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Source frame shown at each time: the last frame whose timestamp is <= t (clamped)."""
    idx = np.searchsorted(frame_times_sec, np.asarray(times) + 1e-9, side="right") - 1
    return np.clip(idx, 0, len(frame_times_sec) - 1).astype(np.int64)


def plan_sampling(policy: SamplingPolicy, frame_times_sec: np.ndarray, shot_start_frame: np.ndarray,
                  cut_confidence: np.ndarray | None = None, rotation_degrees: int = 0,
                  analysis_size: tuple[int, int] | None = None) -> SamplingPlan:
    """Choose every budgeted component's frames and build the union.

    frame_times_sec: (n_frames,) timestamps of all source frames (from the pass-1 scan).
    shot_start_frame: (n_shots,) first frame of each shot, starting with 0.
    cut_confidence: (n_shots-1,) confidence of each cut (orders boundary frames when the budget is
    short); analysis_size: the (width, height) frames will be decoded at (recorded in the plan).
    """
    t = np.asarray(frame_times_sec, dtype=np.float64)
    if t.size == 0:
        raise ValueError("a sampling plan needs at least one frame")
    starts = np.asarray(shot_start_frame, dtype=np.int64)
    if starts.size == 0 or starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= t.size:
        raise ValueError("shot_start_frame must start at 0, be strictly increasing and < n_frames")
    duration = video_duration(t)
    step = timeline_step(duration, policy.analysis_fps, policy.max_timeline_points)
    grid = analysis_grid(t, policy.analysis_fps, step)
    conf = np.ones(len(starts) - 1) if cut_confidence is None else np.asarray(cut_confidence, float)

    chosen: dict[str, np.ndarray] = {}
    for name in BUDGETED_COMPONENTS:
        budget: ComponentBudget = getattr(policy.budgets, name)
        n = budget.frames_for(duration, len(grid))
        if budget.strategy == "per_shot":
            chosen[name] = _per_shot(t, grid, starts, duration, n)
        else:
            chosen[name] = _cut_boundaries(t, grid, starts, conf, n)

    union = np.unique(np.concatenate(list(chosen.values())))
    shot_of = (np.searchsorted(starts, union, side="right") - 1).astype(np.int32)
    aw, ah = analysis_size or (policy.analysis_width, policy.analysis_height)
    return SamplingPlan(
        union_frame_indices=union, union_timestamps_sec=t[union], union_shot_index=shot_of,
        component_union_idx={k: np.searchsorted(union, v).astype(np.int32) for k, v in chosen.items()},
        analysis_width=int(aw), analysis_height=int(ah), analysis_fps=policy.analysis_fps / step,
        color_space=policy.color_space, rotation_degrees=int(rotation_degrees), source_n_frames=int(t.size),
        source_fps=float(1.0 / np.median(np.diff(t))) if t.size > 1 else 0.0, duration_sec=duration,
        sampling_policy_version=policy.sampling_policy_version,
    )


def _per_shot(t: np.ndarray, grid: np.ndarray, starts: np.ndarray, duration: float, n: int) -> np.ndarray:
    """>= 1 frame per shot; the rest of n by duration (largest remainder), at slice centres."""
    bounds_sec = np.append(t[starts], t[0] + duration)  # (n_shots+1,)
    dur = np.diff(bounds_sec)
    n_shots = len(starts)
    # Grid points inside each shot bound how many distinct frames a shot can give.
    room = np.maximum(1, np.searchsorted(grid, bounds_sec[1:]) - np.searchsorted(grid, bounds_sec[:-1]))
    extra = max(0, n - n_shots)
    share = extra * dur / dur.sum()
    k = 1 + np.floor(share).astype(np.int64)
    leftover = extra - int(np.floor(share).sum())
    if leftover > 0:
        k[np.argsort(-(share - np.floor(share)), kind="stable")[:leftover]] += 1
    k = np.minimum(k, room)
    out = []
    for s in range(n_shots):
        inside = grid[(grid >= bounds_sec[s]) & (grid < bounds_sec[s + 1])]
        if inside.size:
            # Centres of k equal slices of the shot's timeline points: distinct, and shared with
            # the other components' picks where they coincide.
            centres = inside[((np.arange(k[s]) + 0.5) * inside.size / k[s]).astype(np.int64)]
        else:  # a shot shorter than one timeline step still gets its middle frame
            centres = np.array([bounds_sec[s] + dur[s] / 2])
        frames = frame_at(t, centres)
        end = starts[s + 1] if s + 1 < n_shots else len(t)
        out.append(np.clip(frames, starts[s], end - 1))  # never leak into the next shot
    return np.unique(np.concatenate(out))


def _cut_boundaries(t: np.ndarray, grid: np.ndarray, starts: np.ndarray, conf: np.ndarray, n: int) -> np.ndarray:
    """Frame pairs around the most confident cuts, then an even spread over the grid, n in all."""
    cuts = starts[1:]
    order = np.argsort(-conf, kind="stable")[: n // 2]
    pairs = np.unique(np.concatenate([cuts[order] - 1, cuts[order]])) if order.size else np.empty(0, np.int64)
    # Spread over timeline frames not already taken, so the total is exactly n when the video has them.
    free = np.setdiff1d(np.unique(frame_at(t, grid)), pairs)
    rest = min(n - len(pairs), len(free))
    spread = free[np.round(np.linspace(0, len(free) - 1, rest)).astype(np.int64)] if rest > 0 else free[:0]
    return np.unique(np.concatenate([pairs, spread]).astype(np.int64))
