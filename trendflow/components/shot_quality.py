from trendflow.components import ArraySpec, ComponentSpec, register

PER_SHOT = ("sharpness", "exposure", "contrast", "colorfulness", "noise", "quality_score")

SPEC = register(ComponentSpec(
    name="shot_quality",
    version="1.1",  # 1.1 (issue #16): noise and colorfulness estimated on a pixel subsample
    schema_version=1,
    description="Technical quality per shot, from the sampled frames at analysis resolution: sharpness "
                "(variance of the Laplacian), exposure (mean luma 0..1), contrast (luma std), colorfulness "
                "(Hasler–Süsstrunk), noise (MAD of the high-pass residual), a 0..1 quality_score and a "
                "bad-shot flag. NaN + mask for shots without a sampled frame.",
    arrays=(
        *(ArraySpec(name, "float32", ("n_shots",), f"{name} per shot (NaN where absent)", invariants=("no_inf",))
          for name in PER_SHOT),
        ArraySpec("bad_shot", "bool", ("n_shots",), "quality_score below the bad-shot threshold"),
        ArraySpec("quality_present", "bool", ("n_shots",), "shot had at least one sampled frame"),
        ArraySpec("frames_per_shot", "int32", ("n_shots",), "sampled frames used per shot", invariants=("nonneg",)),
    ),
))
