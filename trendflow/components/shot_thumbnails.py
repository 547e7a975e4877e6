from trendflow.components import ArraySpec, ComponentSpec, register

THUMBNAIL_WIDTH = 160  # px; the height keeps the analysis frame's (display) aspect

SPEC = register(ComponentSpec(
    name="shot_thumbnails",
    version="1.0",
    schema_version=1,
    description="One small JPEG per shot for the author page's shot timeline: the decoded analysis frame "
                "nearest the middle of the shot (any sampled frame of the union, no second decode), "
                f"resized to {THUMBNAIL_WIDTH} px wide with its aspect kept. The JPEGs are concatenated in "
                "jpeg_bytes; shot i is jpeg_bytes[jpeg_offsets[i] : jpeg_offsets[i] + jpeg_sizes[i]] "
                "(size 0 and thumbnail_present false when no frame of the shot was decoded). "
                "Status empty with empty_reason when the video has no decoded frames.",
    arrays=(
        ArraySpec("jpeg_bytes", "uint8", ("n_bytes",), "every shot's JPEG file, concatenated in shot order"),
        ArraySpec("jpeg_offsets", "int64", ("n_shots",), "start of each shot's JPEG in jpeg_bytes",
                  invariants=("sorted", "nonneg")),
        ArraySpec("jpeg_sizes", "int64", ("n_shots",), "length of each shot's JPEG in bytes (0 = none)",
                  invariants=("nonneg",)),
        ArraySpec("width", "int32", ("n_shots",), "thumbnail width in px (0 = none)", invariants=("nonneg",)),
        ArraySpec("height", "int32", ("n_shots",), "thumbnail height in px (0 = none)", invariants=("nonneg",)),
        ArraySpec("frame_time_sec", "float32", ("n_shots",), "time of the frame shown (NaN = none)",
                  invariants=("no_inf",)),
        ArraySpec("thumbnail_present", "bool", ("n_shots",), "a frame of this shot was decoded"),
    ),
    required=False,  # presentation only: a failure never fails the video's run
    extra_meta={"thumbnail_width": "target width in px", "jpeg_quality": "JPEG quality (1..95)"},
))
