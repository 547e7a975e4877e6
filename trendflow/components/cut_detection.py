"""Contract of `cut_detection`: the video's shots, the cuts between them, and the merge mapping.

Shot k covers frames [shot_start_frame[k], shot_end_frame[k]) and seconds [shot_start_sec[k],
shot_end_sec[k]); shots tile the video. At most `max_len_shots` (256) shots: when more were
detected, adjacent ones were merged and `detected_to_shot` says where each detected shot went.
Written by `sampling.segment_video` (algorithm in sampling/candidates.py and sampling/cuts.py).
"""

from trendflow.components import ArraySpec, ComponentSpec, register

SPEC = register(ComponentSpec(
    name="cut_detection",
    version="1.0",
    schema_version=1,
    description="Shots (start/end in seconds and frames, seconds since the first frame) from a "
                "two-pass cut detector (hard cuts, fades, dissolves; min shot length; long shots "
                "split; at most max_len_shots), with per-cut kind and confidence.",
    arrays=(
        ArraySpec("shot_start_sec", "float64", ("n_shots",), "start time of each shot",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("shot_end_sec", "float64", ("n_shots",), "end time (next shot's start; video end for the last)",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("shot_start_frame", "int64", ("n_shots",), "first source frame of each shot",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("shot_end_frame", "int64", ("n_shots",), "one past the last source frame of each shot",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("shot_motion_mean", "float32", ("n_shots",),
                  "mean motion proxy inside the shot (mean |dY|/255 between consecutive frames)",
                  invariants=("nonneg", "finite")),
        ArraySpec("cut_frame", "int64", ("n_cuts",), "first frame of the shot after each cut",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("cut_time_sec", "float64", ("n_cuts",), "time of each cut",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("cut_kind", "str", ("n_cuts",),
                  "cut | fade | dissolve | split (an over-long shot cut in parts)"),
        ArraySpec("cut_confidence", "float32", ("n_cuts",), "confidence in [0, 1]; 0 for splits",
                  invariants=("unit_interval", "finite")),
        ArraySpec("detected_shot_start_frame", "int64", ("n_detected",),
                  "first frame of each shot before merging to max_len_shots",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("detected_to_shot", "int32", ("n_detected",), "final shot each detected shot was merged into",
                  invariants=("sorted", "nonneg")),
        ArraySpec("n_frames", "int64", (), "frames in the video"),
        ArraySpec("fps", "float64", (), "median frame rate from real timestamps"),
    ),
    extra_meta={"max_len_shots": "shot limit used", "min_shot_sec": "minimum shot length used",
                "max_shot_sec": "over-long shot length used",
                "decode_warning": "null, or why the video decoded only partly (shots cover the decoded part)"},
))
