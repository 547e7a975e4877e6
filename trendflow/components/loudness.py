from trendflow.components import ArraySpec, ComponentSpec, register

SCALARS = {
    "integrated_lufs": "ITU-R BS.1770-4 gated integrated loudness of the original channels (LUFS)",
    "loudness_range_lu": "EBU Tech 3342 loudness range (LU); NaN under 3 s",
    "short_term_mean": "mean of the gated (>= -70 LUFS) short-term loudness (LUFS)",
    "short_term_std": "std of the gated short-term loudness (LU)",
    "short_term_min": "min of the gated short-term loudness (LUFS)",
    "short_term_max": "max of the gated short-term loudness (LUFS)",
    "short_term_p10": "10th percentile of the gated short-term loudness (LUFS)",
    "short_term_p90": "90th percentile of the gated short-term loudness (LUFS)",
    "momentary_max_lufs": "loudest 400 ms block (LUFS)",
    "sample_peak_dbfs": "largest absolute sample over all channels (dBFS)",
    "rms_dbfs": "RMS over all channels (dBFS; full-scale sine = -3.01)",
    "crest_factor_db": "sample_peak_dbfs - rms_dbfs",
    "plr_db": "peak-to-loudness ratio: sample_peak_dbfs - integrated_lufs",
    "silence_share": "share of 400 ms blocks quieter than audio.loudness.silence_lufs (0..1)",
    "duration_sec": "measured duration",
}

SPEC = register(ComponentSpec(
    name="loudness",
    version="1.0",
    schema_version=1,
    description="Loudness of the audio track measured on its original channels and sample rate (pyloudnorm, "
                "ITU-R BS.1770-4 K-weighting and gating; EBU Tech 3342 loudness range), a short-term (3 s) "
                "loudness curve with statistics, sample peak, RMS, crest factor, PLR and silence share. Scalars "
                "are NaN where undefined (integrated needs 400 ms, LRA and short-term 3 s).",
    arrays=(
        *(ArraySpec(name, "float32", (), desc, invariants=("no_inf",)) for name, desc in SCALARS.items()),
        ArraySpec("short_term_lufs", "float32", ("n_st",), "ungated 3 s loudness per window (LUFS, floored at -120)",
                  invariants=("finite",)),
        ArraySpec("short_term_times_sec", "float32", ("n_st",), "centre of each 3 s window",
                  invariants=("sorted", "nonneg")),
    ),
    tier=0,
    extra_meta={"filter": "weighting filter", "short_term_window_s": "3", "momentary_window_s": "0.4",
                "absolute_gate_lufs": "-70", "channels_measured": "channels in the BS.1770 sum (LFE excluded)",
                "not_measured_reason": "why loudness could not be measured (e.g. unsupported layout)"},
))
