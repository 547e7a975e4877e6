"""`segment_video`: the Segmenter's one entry point, called once per video by the extraction pipeline.

    from sampling import SamplingPolicy, segment_video
    result = segment_video("video.mp4", SamplingPolicy())
    store.write(key, "cut_detection", result.cut_detection_arrays(), extra_meta=result.cut_detection_meta())
    store.write(key, "sampling_plan", result.sampling_plan_arrays())
    for chunk in result.iter_frames():         # bounded memory: <= decode_chunk_frames frames at a time
        clip_in = chunk.frames[chunk.mask("core_clip")]   # (B', H, W, 3) uint8 RGB

Steps: pass-1 scan (every frame, tiny thumbnails; it also keeps the analysis-timeline frames when
they fit `frame_cache_mb`, sampling/frame_cache.py) -> pass-2 cut detection -> sampling plan. The
sampled frames are served only when asked (`iter_frames` / `load_frames`), at the analysis size, from
that cache or decoded.
Errors: `VideoDecodeError` with `.reason` (missing_file, empty_file, invalid_data, no_video_stream,
no_frames, corrupt, frames_missing), for the pipeline to record on the video's row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from sampling.candidates import compute_signals
from sampling.cuts import Shots, detect_shots
from sampling.decode import VideoInfo, analysis_size, iter_frames, probe
from sampling.frame_cache import GridFrameCache
from sampling.policy import SamplingPlan, SamplingPolicy, plan_sampling, timeline_step


@dataclass
class FrameChunk:
    """A run of decoded union frames: union positions (B,) and RGB frames (B, H, W, 3) uint8."""

    union_positions: np.ndarray
    frames: np.ndarray
    plan: SamplingPlan = field(repr=False)

    def mask(self, component: str) -> np.ndarray:
        """(B,) bool: which frames of this chunk belong to `component`."""
        return np.isin(self.union_positions, self.plan.component_union_idx[component])

    @property
    def shot_index(self) -> np.ndarray:
        """(B,) int32 shot of each frame."""
        return self.plan.union_shot_index[self.union_positions]


@dataclass
class SegmentResult:
    """Shots and sampling plan of one video, plus lazy access to its union frames."""

    path: str
    info: VideoInfo
    policy: SamplingPolicy
    shots: Shots
    plan: SamplingPlan
    frame_times_sec: np.ndarray  # (n_frames,) times of all source frames, since the first frame
    time_offset_sec: float
    timing_s: dict[str, float]
    decode_warning: str | None = None  # partial decode (damaged/truncated file); shots cover what decoded
    frame_cache: GridFrameCache | None = field(default=None, repr=False)  # frames kept by the scan

    @property
    def sampling_policy_version(self) -> str:
        return self.plan.sampling_policy_version

    def cut_detection_arrays(self) -> dict[str, np.ndarray]:
        return self.shots.arrays()

    def cut_detection_meta(self) -> dict:
        c = self.policy.cuts
        return {"max_len_shots": c.max_len_shots, "min_shot_sec": c.min_shot_sec,
                "max_shot_sec": c.max_shot_sec, "decode_warning": self.decode_warning}

    def sampling_plan_arrays(self) -> dict[str, np.ndarray]:
        return self.plan.arrays()

    def iter_frames(self, chunk_size: int | None = None, components: tuple[str, ...] | None = None
                    ) -> Iterator[FrameChunk]:
        """The union frames in order (only those of `components` when given: the CPU stage reads
        core_clip and shot_quality frames, so it need not decode cut_detection's), at most chunk_size
        (default: policy) at a time. Frames the scan kept come from its cache; the rest are decoded."""
        p = self.plan
        size = chunk_size or self.policy.decode_chunk_frames
        positions = (np.arange(p.n_union) if components is None
                     else np.unique(np.concatenate([p.component_union_idx[c] for c in components])))
        wanted = p.union_frame_indices[positions]
        cache = self.frame_cache
        cached = np.array([f in cache for f in wanted], bool) if cache is not None else np.zeros(len(wanted), bool)
        if not cached.any():  # no cache: stream the sparse decode (bounded memory)
            for pos, frames in self._decode(wanted, size):
                yield FrameChunk(positions[pos], frames, p)
            return
        # Uncached frames (a shot shorter than one timeline step) are few: decode them first.
        decoded = dict(zip(wanted[~cached].tolist(), (f for _, fr in self._decode(wanted[~cached], size) for f in fr)))
        for a in range(0, len(wanted), size):
            idx = wanted[a:a + size]
            yield FrameChunk(positions[a:a + size],
                             np.stack([cache.take(f) if f in cache else decoded[int(f)] for f in idx]), p)

    def _decode(self, frame_indices: np.ndarray, chunk_size: int):
        p = self.plan
        return iter_frames(self.path, frame_indices, self.frame_times_sec, width=p.analysis_width,
                           height=p.analysis_height, rotation=p.rotation_degrees, chunk_size=chunk_size,
                           seek_gap_sec=self.policy.seek_gap_sec, time_offset_sec=self.time_offset_sec,
                           hw_decode=self.policy.hw_decode)

    def load_frames(self) -> np.ndarray:
        """All union frames at once, (n_union, H, W, 3) uint8. For short videos and tests;
        long videos should use iter_frames."""
        p = self.plan
        out = np.empty((p.n_union, p.analysis_height, p.analysis_width, 3), np.uint8)
        for chunk in self.iter_frames():
            out[chunk.union_positions] = chunk.frames
        return out


def segment_video(path, policy: SamplingPolicy | None = None) -> SegmentResult:
    """Scan, detect shots and plan the sampled frames of one video; the scan keeps the timeline
    frames when they fit `policy.frame_cache_mb` (decode once), the others are decoded when asked."""
    policy = policy or SamplingPolicy()
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    info = probe(path)
    size = analysis_size(*info.display_size, policy.analysis_width, policy.analysis_height)
    cache = _frame_cache(policy, info, size)
    sig = compute_signals(path, width=policy.signal_width, height=policy.signal_height,
                          on_frame=cache.offer if cache else None, hw_decode=policy.hw_decode)
    if cache:
        cache.finish()
    timing["scan"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    shots = detect_shots(sig, policy.cuts)
    timing["cut_detection"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    plan = plan_sampling(policy, sig.times_sec, shots.start_frame, shots.cut_confidence,
                         rotation_degrees=info.rotation, analysis_size=size)
    timing["plan"] = time.perf_counter() - t2
    return SegmentResult(path=str(path), info=info, policy=policy, shots=shots, plan=plan,
                         frame_times_sec=sig.times_sec, time_offset_sec=sig.time_offset_sec, timing_s=timing,
                         decode_warning=sig.decode_warning, frame_cache=cache if cache and cache.enabled else None)


def _frame_cache(policy: SamplingPolicy, info: VideoInfo, size: tuple[int, int]) -> GridFrameCache | None:
    """A cache for the scan when the video's timeline frames fit the budget (duration from the container)."""
    max_bytes = policy.frame_cache_mb * 2**20
    duration = info.duration_sec or ((info.n_frames_hint or 0) / info.fps if info.fps else None)
    if not max_bytes or duration is None:
        return None
    step = timeline_step(duration, policy.analysis_fps, policy.max_timeline_points)
    need = (duration * policy.analysis_fps / step + 2) * size[0] * size[1] * 3
    if need > max_bytes:
        return None
    return GridFrameCache(policy.analysis_fps, size[0], size[1], info.rotation, max_bytes, step)
