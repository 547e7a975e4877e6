"""loudness: ITU-R BS.1770-4 / EBU R 128 loudness of the ORIGINAL channels (pyloudnorm), plus peak and RMS.

Measured on the decoded channels at their own sample rate: a downmix first would change the result
(two identical channels measure +3 dB louder than their mono downmix; opposite-phase channels
cancel). pyloudnorm's "DeMan" filter class is used because it reproduces the BS.1770 K-weighting
coefficients exactly (a full-scale 997 Hz sine in one channel reads -3.01 LUFS; the default RBJ
approximation reads -3.05).

- integrated_lufs: gated integrated loudness (400 ms blocks, absolute -70 LUFS and relative -10 LU gates).
- loudness_range_lu: EBU Tech 3342 LRA (pyloudnorm), p95 - p10 of the gated short-term loudness.
- short_term_lufs: ungated loudness of 3 s windows every `loudness.short_term_hop_s` (digital
  silence floored at -120), and its stats over the windows above the -70 LUFS absolute gate.
- momentary_max_lufs, silence_share: from the 400 ms momentary blocks (100 ms hop); a block under
  `loudness.silence_lufs` is silence.
- sample_peak_dbfs, rms_dbfs (all channels; full-scale sine RMS = -3.01 dBFS), crest_factor_db = peak - RMS,
  plr_db = peak - integrated (peak-to-loudness ratio).
Scalars are NaN where undefined: integrated needs 400 ms, LRA and short-term need 3 s; a silent
track has no finite level.
"""

from __future__ import annotations

import warnings

import numpy as np

from ray_pipelines.audio_config import AudioConfig
from ray_pipelines.stages.audio_extract import DB_FLOOR, LFE_NAMES, AudioTrack

ABSOLUTE_GATE_LUFS = -70.0
SHORT_TERM_S = 3.0
MOMENTARY_S = 0.4
FILTER_CLASS = "DeMan"  # the exact BS.1770 K-weighting coefficients (see module docstring)
# pyloudnorm weights channels by position: [L, R, C, Ls, Rs] with G = [1, 1, 1, 1.41, 1.41].
_POSITION = {"FL": 0, "FR": 1, "FC": 2, "SL": 3, "BL": 3, "SR": 4, "BR": 4}
SCALARS = ("integrated_lufs", "loudness_range_lu", "short_term_mean", "short_term_std", "short_term_min",
           "short_term_max", "short_term_p10", "short_term_p90", "momentary_max_lufs", "sample_peak_dbfs",
           "rms_dbfs", "crest_factor_db", "plr_db", "silence_share", "duration_sec")
META = {"filter": "ITU-R BS.1770-4 K-weighting (pyloudnorm DeMan coefficients)",
        "short_term_window_s": SHORT_TERM_S, "momentary_window_s": MOMENTARY_S,
        "absolute_gate_lufs": ABSOLUTE_GATE_LUFS}


def measurement_channels(track: AudioTrack) -> tuple[np.ndarray | None, str | None]:
    """(N, C) samples in pyloudnorm's channel order without LFE, or (None, why) when BS.1770 weights are unknown."""
    names = track.channel_names
    keep = [i for i, n in enumerate(names) if n not in LFE_NAMES]
    if len(keep) <= 2:
        return np.ascontiguousarray(track.samples[keep].T), None
    positions = [_POSITION.get(names[i]) for i in keep]
    if len(keep) > 5 or None in positions or len(set(positions)) != len(positions):
        return None, f"no BS.1770 channel weights for layout {list(names)} (pyloudnorm handles up to 5.1)"
    # A missing position (e.g. no centre in quad) becomes a silent channel: it adds nothing to the sum.
    data = np.zeros((track.n_samples, max(positions) + 1), np.float32)
    for pos, i in zip(positions, keep):
        data[:, pos] = track.samples[i]
    return data, None


def _blockwise(data: np.ndarray, rate: int, block_s: float, hop_s: float) -> np.ndarray:
    """Ungated loudness of every block (pyloudnorm's gating blocks), -inf for digital silence."""
    import pyloudnorm as pyln

    meter = pyln.Meter(rate, filter_class=FILTER_CLASS, block_size=block_s, overlap=1.0 - hop_s / block_s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        meter.integrated_loudness(data)
    return np.asarray(meter.blockwise_loudness, np.float64)


def _finite_or_nan(x: float) -> float:
    return float(x) if np.isfinite(x) else float("nan")


def compute(track: AudioTrack, cfg: AudioConfig) -> dict[str, np.ndarray]:
    """Arrays of the loudness artifact ({} when there is no audio stream)."""
    if not track.has_stream:
        return {}
    import pyloudnorm as pyln

    rate, n = track.sample_rate, track.n_samples
    out = {k: np.nan for k in SCALARS}
    out["duration_sec"] = track.duration_sec
    st_curve = np.zeros(0)
    if n:
        x = track.samples
        peak = float(np.max(np.abs(x)))
        power = float(np.mean(np.square(x, dtype=np.float64)))
        with np.errstate(divide="ignore"):
            out["sample_peak_dbfs"] = _finite_or_nan(20 * np.log10(peak))
            out["rms_dbfs"] = _finite_or_nan(10 * np.log10(power))
        out["crest_factor_db"] = out["sample_peak_dbfs"] - out["rms_dbfs"]
    data, _ = measurement_channels(track)
    if data is not None and n >= MOMENTARY_S * rate:
        meter = pyln.Meter(rate, filter_class=FILTER_CLASS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["integrated_lufs"] = _finite_or_nan(meter.integrated_loudness(data))
        momentary = np.asarray(meter.blockwise_loudness, np.float64)  # 400 ms blocks, 100 ms hop
        out["silence_share"] = float(np.mean(momentary < cfg.loudness.silence_lufs))
        if np.isfinite(momentary).any():
            out["momentary_max_lufs"] = float(np.max(momentary[np.isfinite(momentary)]))
        out["plr_db"] = out["sample_peak_dbfs"] - out["integrated_lufs"]
    if data is not None and n >= SHORT_TERM_S * rate:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["loudness_range_lu"] = _finite_or_nan(pyln.Meter(rate, filter_class=FILTER_CLASS).loudness_range(data))
        st_curve = _blockwise(data, rate, SHORT_TERM_S, cfg.loudness.short_term_hop_s)
        gated = st_curve[st_curve >= ABSOLUTE_GATE_LUFS]
        if len(gated):
            out.update(short_term_mean=gated.mean(), short_term_std=gated.std(), short_term_min=gated.min(),
                       short_term_max=gated.max(), short_term_p10=np.percentile(gated, 10),
                       short_term_p90=np.percentile(gated, 90))
    arrays = {k: np.float32(v) for k, v in out.items()}
    hop = cfg.loudness.short_term_hop_s
    arrays["short_term_lufs"] = np.maximum(st_curve, DB_FLOOR).astype(np.float32)
    arrays["short_term_times_sec"] = (np.arange(len(st_curve)) * hop + SHORT_TERM_S / 2).astype(np.float32)
    return arrays


def meta(track: AudioTrack) -> dict[str, object]:
    """extra_meta: the fixed measurement settings and which channels were measured."""
    data, why = measurement_channels(track) if track.has_stream else (None, "no audio stream")
    return {**META, "channels_measured": None if data is None else int(data.shape[1]), "not_measured_reason": why}
