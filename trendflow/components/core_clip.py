from trendflow.components import ArraySpec, ComponentSpec, register

SPEC = register(ComponentSpec(
    name="core_clip",
    version="1.0",
    schema_version=1,
    description="CLIP image embeddings of the sampled frames and E_shot: their mean per shot "
                "(shots from cut_detection). Shots without a sampled frame are NaN and masked.",
    arrays=(
        ArraySpec("frame_indices", "int64", ("n_frames",), "source frame index of each embedded frame",
                  invariants=("sorted_unique", "nonneg")),
        ArraySpec("frame_times_sec", "float32", ("n_frames",), "presentation time of each frame",
                  invariants=("sorted", "nonneg")),
        ArraySpec("frame_embeddings", "float32", ("n_frames", "D"), "L2-normalised CLIP embedding per frame",
                  invariants=("finite",)),
        ArraySpec("frame_shot_index", "int32", ("n_frames",), "shot (row of E_shot) each frame belongs to",
                  invariants=("sorted", "nonneg")),
        ArraySpec("E_shot", "float32", ("n_shots", "D"), "mean frame embedding per shot, NaN where absent",
                  invariants=("no_inf",)),
        ArraySpec("E_shot_present", "bool", ("n_shots",), "shot has at least one embedded frame"),
    ),
    extra_meta={"embed_dim": "D", "image_size": "model input side in pixels", "pooling": "mean"},
))
