"""Contract of the Segmenter's frame plan: the union of sampled frames and each component's share.

Only the union frames are decoded (RGB, analysis size); a component's `<name>_union_idx` are
positions in the union (0..n_union-1), and `union_frame_indices` / `union_timestamps_sec` map them
back to the source video. Written by `sampling.segment_video` (see sampling/policy.py).
"""

from trendflow.components import ArraySpec, ComponentSpec, register

SPEC = register(ComponentSpec(
    name="sampling_plan",
    version="1.0",
    schema_version=1,
    description="Frames sampled for every budgeted component: the union of their frames (source "
                "frame indices and times) and, per component, indices into that union. Times are "
                "seconds since the first video frame.",
    arrays=(
        ArraySpec("union_frame_indices", "int64", ("n_union",), "source frame index of each union frame",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("union_timestamps_sec", "float64", ("n_union",), "presentation time of each union frame",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("union_shot_index", "int32", ("n_union",), "cut_detection shot each union frame lies in",
                  invariants=("sorted", "nonneg")),
        ArraySpec("cut_detection_union_idx", "int32", ("n_cut_detection",),
                  "cut_detection's frames (boundary pairs + even spread), as positions in the union",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("core_clip_union_idx", "int32", ("n_core_clip",),
                  "core_clip's frames (>=1 per shot), as positions in the union",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("shot_quality_union_idx", "int32", ("n_shot_quality",),
                  "shot_quality's frames (>=1 per shot), as positions in the union",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("analysis_width", "int32", (), "width of decoded union frames (after rotation)"),
        ArraySpec("analysis_height", "int32", (), "height of decoded union frames (after rotation)"),
        ArraySpec("analysis_fps", "float64", (), "points per second of the analysis timeline"),
        ArraySpec("color_space", "str", (), "colour space of decoded frames: always RGB"),
        ArraySpec("rotation_degrees", "int32", (), "counter-clockwise display rotation applied when decoding"),
        ArraySpec("source_n_frames", "int64", (), "frames in the source video"),
        ArraySpec("source_fps", "float64", (), "median source frame rate from real timestamps"),
        ArraySpec("duration_sec", "float64", (), "video duration from real timestamps"),
    ),
))
