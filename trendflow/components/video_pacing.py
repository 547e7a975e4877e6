from trendflow.components import ArraySpec, ComponentSpec, register

SCALARS = ("n_shots", "shots_per_min", "shot_len_mean", "shot_len_median", "shot_len_std", "shot_len_min",
           "shot_len_max", "fast_shot_share", "long_shot_share", "motion_mean", "motion_std", "motion_p90",
           "static_share")

SPEC = register(ComponentSpec(
    name="video_pacing",
    version="1.0",
    schema_version=1,
    description="Editing rhythm and motion: shot-length statistics, shots per minute, shares of fast "
                "(< fast_shot_sec) and long (> long_shot_sec) shots, and a motion-energy curve over time "
                "(mean absolute luma change per second between sampled frames) with its statistics.",
    arrays=(
        ArraySpec("shot_lengths_sec", "float32", ("n_shots",), "length of each shot", invariants=("nonneg",)),
        ArraySpec("motion_times_sec", "float32", ("n_motion",), "time of each motion sample",
                  invariants=("sorted", "nonneg")),
        ArraySpec("motion_energy", "float32", ("n_motion",), "luma change per second (0..255 scale)",
                  invariants=("nonneg", "finite")),
        *(ArraySpec(name, "float32", (), name.replace("_", " ")) for name in SCALARS),
    ),
    extra_meta={"fast_shot_sec": "threshold of a fast shot", "long_shot_sec": "threshold of a long shot",
                "static_threshold": "motion energy under which a sample counts as static"},
))
