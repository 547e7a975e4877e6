"""Per-video audio scalars for fusion_aggregates (SPEC §8): loudness, dynamics, tempo, CLAP coverage.

`audio_scalars(loudness, tempo, clap)` takes the arrays of those artifacts (None when a component is
missing or empty) and returns every name of `AUDIO_SCALAR_NAMES`, NaN where absent — never zero.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

# name -> (source artifact, array); the order here is the column order of the aggregates table.
_SOURCES = {
    "audio_integrated_lufs": ("loudness", "integrated_lufs"),
    "audio_lra": ("loudness", "loudness_range_lu"),
    "audio_short_term_mean": ("loudness", "short_term_mean"),
    "audio_short_term_std": ("loudness", "short_term_std"),
    "audio_short_term_max": ("loudness", "short_term_max"),
    "audio_momentary_max_lufs": ("loudness", "momentary_max_lufs"),
    "audio_sample_peak_dbfs": ("loudness", "sample_peak_dbfs"),
    "audio_rms_dbfs": ("loudness", "rms_dbfs"),
    "audio_dynamics_db": ("loudness", "crest_factor_db"),
    "audio_plr_db": ("loudness", "plr_db"),
    "audio_silence_share": ("loudness", "silence_share"),
    "audio_bpm": ("tempo", "bpm"),
    "audio_bpm_confidence": ("tempo", "bpm_confidence"),
}
AUDIO_SCALAR_NAMES = (*_SOURCES, "audio_bpm_local_std", "audio_clap_present_share")

Arrays = Mapping[str, np.ndarray] | None


def _scalar(arrays: Arrays, name: str) -> float:
    if not arrays or name not in arrays:
        return float("nan")
    v = float(np.asarray(arrays[name]))
    return v if np.isfinite(v) else float("nan")


def audio_scalars(loudness: Arrays, tempo: Arrays, clap: Arrays) -> dict[str, float]:
    """Stable-named audio scalars; NaN for anything absent."""
    src = {"loudness": loudness, "tempo": tempo}
    out = {name: _scalar(src[comp], key) for name, (comp, key) in _SOURCES.items()}
    local = np.asarray(tempo["local_bpm"], np.float64) if tempo and "local_bpm" in tempo else np.zeros(0)
    local = local[np.isfinite(local)]
    out["audio_bpm_local_std"] = float(local.std()) if len(local) else float("nan")
    present = np.asarray(clap["A_shot_present"], bool) if clap and "A_shot_present" in clap else np.zeros(0, bool)
    out["audio_clap_present_share"] = float(present.mean()) if len(present) else float("nan")
    return out
