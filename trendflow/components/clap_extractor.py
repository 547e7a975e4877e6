from trendflow.components import ArraySpec, ComponentSpec, register

SPEC = register(ComponentSpec(
    name="clap_extractor",
    version="1.0",
    schema_version=1,
    description="CLAP (LAION-CLAP HTSAT audio branch) embeddings of mono 48 kHz audio windows (audio.window_s "
                "every audio.hop_s) and A_shot: their mean per shot (shots from cut_detection), each window "
                "weighted by its overlap in seconds with the shot. Shots with no audio under them are NaN rows "
                "with A_shot_present=false. Offline default: random-init weights, said in meta.",
    arrays=(
        ArraySpec("window_start_sec", "float32", ("n_windows",), "start of each window",
                  invariants=("sorted", "nonneg")),
        ArraySpec("window_end_sec", "float32", ("n_windows",), "end of each window (the track's end for a "
                                                               "repeat-padded short track)", invariants=("nonneg",)),
        ArraySpec("window_embeddings", "float32", ("n_windows", "D"), "L2-normalised CLAP audio embedding per "
                                                                      "window", invariants=("finite",)),
        ArraySpec("window_shot_index", "int32", ("n_windows",), "shot under the window's centre (-1: no shots)",
                  invariants=("sorted",)),
        ArraySpec("A_shot", "float32", ("n_shots", "D"), "overlap-weighted mean window embedding per shot, NaN "
                                                         "where the shot has no audio", invariants=("no_inf",)),
        ArraySpec("A_shot_present", "bool", ("n_shots",), "some audio window overlaps the shot"),
        ArraySpec("A_shot_coverage", "float32", ("n_shots",), "share of the shot's duration covered by audio",
                  invariants=("unit_interval",)),
    ),
    tier=0,
    extra_meta={"window_s": "window length (s)", "hop_s": "window step (s)", "sample_rate": "window sample rate",
                "embed_dim": "D", "pooling": "how windows become A_shot", "padding": "short-window handling"},
))
