from trendflow.components import ArraySpec, ComponentSpec, register

SPEC = register(ComponentSpec(
    name="tempo",
    version="1.0",
    schema_version=1,
    description="Tempo of the audio track (librosa): global BPM from the autocorrelation tempogram of a "
                "low-band onset envelope with an octave check against librosa's 120 BPM prior, a 0..1 "
                "confidence (normalised onset autocorrelation at the beat period), and a local BPM curve "
                "(8 s tempogram windows) over time. NaN when the track is too short or has no onsets.",
    arrays=(
        ArraySpec("bpm", "float32", (), "global tempo (beats per minute)", invariants=("no_inf", "nonneg")),
        ArraySpec("bpm_confidence", "float32", (), "0..1, how periodic the onsets are at that tempo",
                  invariants=("unit_interval",)),
        ArraySpec("duration_sec", "float32", (), "analysed duration", invariants=("nonneg", "finite")),
        ArraySpec("local_bpm", "float32", ("n_tw",), "local tempo per time step", invariants=("no_inf", "nonneg")),
        ArraySpec("local_bpm_times_sec", "float32", ("n_tw",), "time of each local tempo",
                  invariants=("sorted", "nonneg")),
    ),
    tier=0,
    extra_meta={"method": "tempo estimator", "onset_fmax_hz": "upper frequency of the onset envelope",
                "octave_double_ratio": "half-period/period onset autocorrelation ratio above which the "
                                       "estimate is doubled"},
))
