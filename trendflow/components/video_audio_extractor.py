from trendflow.components import ArraySpec, ComponentSpec, register

SPEC = register(ComponentSpec(
    name="video_audio_extractor",
    version="1.0",
    schema_version=1,
    description="The video's audio track, decoded once (PyAV): duration, original sample rate and channels, the "
                "rate of the mono analysis waveform (torchaudio resampling) and a low-rate RMS envelope. The "
                "waveform itself is not stored. No audio stream or a silent track gives status empty with the "
                "reason (then only has_audio_stream is required).",
    arrays=(
        ArraySpec("has_audio_stream", "bool", (), "the container has an audio stream"),
        ArraySpec("duration_sec", "float32", (), "decoded audio duration", invariants=("nonneg", "finite")),
        ArraySpec("sample_rate", "int32", (), "original sample rate (Hz)", invariants=("nonneg",)),
        ArraySpec("n_channels", "int32", (), "original channel count", invariants=("nonneg",)),
        ArraySpec("n_samples", "int64", (), "decoded samples per channel (after aligning to t=0)",
                  invariants=("nonneg",)),
        ArraySpec("analysis_sample_rate", "int32", (), "rate of the mono waveform used by CLAP and tempo",
                  invariants=("nonneg",)),
        ArraySpec("start_offset_sec", "float32", (), "time of the first decoded sample relative to the video's "
                                                     "first frame; the waveform was shifted by it so that sample 0 "
                                                     "is t=0 of the shots", invariants=("finite",)),
        ArraySpec("truncated", "bool", (), "the track was longer than audio.max_duration_s and was cut"),
        ArraySpec("envelope_hz", "float32", (), "frames per second of the RMS envelope", invariants=("nonneg",)),
        ArraySpec("envelope_rms_dbfs", "float32", ("n_env",), "RMS over all channels per 1/envelope_hz frame, "
                                                              "dBFS (full-scale sine = -3.01), floored at -120",
                  invariants=("finite",)),
    ),
    tier=0,
    extra_meta={"codec": "audio codec name", "channel_layout": "FFmpeg channel layout",
                "channel_names": "channel names (FL, FR, ...)", "decode_warning": "why decoding stopped early, "
                "if it did", "truncated": "the track was cut at audio.max_duration_s"},
))
