from trendflow.components import ArraySpec, ComponentSpec, register

SPEC = register(ComponentSpec(
    name="scene_classification",
    version="1.0",
    schema_version=1,
    description="CLIP zero-shot scene labels: per-shot label distribution (mean over its frames), top label "
                "and entropy, plus the whole-video distribution. Label set from extract.scene_labels.",
    arrays=(
        ArraySpec("labels", "str", ("n_labels",), "label texts"),
        ArraySpec("shot_label_probs", "float32", ("n_shots", "n_labels"), "label distribution per shot (NaN where "
                  "absent)", invariants=("no_inf",)),
        ArraySpec("shot_top_label", "int32", ("n_shots",), "argmax label per shot, -1 where absent"),
        ArraySpec("shot_entropy", "float32", ("n_shots",), "entropy (nats) of each shot's distribution"),
        ArraySpec("shot_present", "bool", ("n_shots",), "shot had at least one frame"),
        ArraySpec("video_label_probs", "float32", ("n_labels",), "duration-weighted mean over shots"),
    ),
    required=False,
))
