"""The Segmenter: cheap cut candidates, cut_detection (shots) and the frame-sampling policy.

Entry point for the pipeline: `segment_video(path, policy) -> SegmentResult` (sampling/segment.py).
Modules: decode (PyAV scan and sparse decode), candidates (pass 1 signals), cuts (pass 2, shots),
policy (budgets, union of frames), frame_cache (the scan keeps the timeline frames: decode once),
cli (`trendflow shots VIDEO_FILE`).
"""

from sampling.cuts import CutDetectionConfig, Shots, detect_shots
from sampling.decode import VideoDecodeError, VideoInfo, probe
from sampling.policy import SamplingPlan, SamplingPolicy, plan_sampling
from sampling.segment import FrameChunk, SegmentResult, segment_video

__all__ = [
    "CutDetectionConfig", "FrameChunk", "SamplingPlan", "SamplingPolicy", "SegmentResult", "Shots",
    "VideoDecodeError", "VideoInfo", "detect_shots", "plan_sampling", "probe", "segment_video",
]
