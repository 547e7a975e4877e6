"""The per-shot arrays of one extraction run, for the summary's `detail=full` shot table.

    shots = shots_from_store(ArtifactStore(root), RunKey("youtube", "abc", run_id, config_hash, spv))
    # {"shot_start_sec": (n,), "shot_end_sec": (n,), "shot_motion_mean": (n,), "quality_score": (n,), ...,
    #  "loudness_lufs": (n,)}   or None when the run has no cut_detection artifact

Columns come from `cut_detection` (times, motion), `shot_quality` (quality, sharpness, exposure, contrast,
colourfulness, bad-shot flag) and `loudness` (the energy mean of the 3 s short-term loudness windows whose
centre lies inside the shot; NaN for a shot without a window). A component that is missing or not `ok` adds
no column: its values are absent, never filled in.
"""

from __future__ import annotations

import numpy as np

from trendflow.artifacts import ArtifactError, ArtifactStore, RunKey

CUT_COLUMNS = ("shot_start_sec", "shot_end_sec", "shot_motion_mean")
QUALITY_COLUMNS = ("quality_score", "sharpness", "exposure", "contrast", "colorfulness", "bad_shot")


def _ok_arrays(store: ArtifactStore, key: RunKey, component: str) -> dict[str, np.ndarray] | None:
    try:
        art = store.read(key, component)
    except (ArtifactError, KeyError):
        return None
    return art.arrays if art.status == "ok" else None


def shot_loudness(start: np.ndarray, end: np.ndarray, times: np.ndarray, lufs: np.ndarray) -> np.ndarray:
    """(n,) loudness per shot: 10·log10 of the mean power of the windows centred in [start, end); NaN if none."""
    out = np.full(len(start), np.nan)
    for k, (a, b) in enumerate(zip(start, end)):
        inside = (times >= a) & (times < b)
        if inside.any():
            out[k] = 10.0 * np.log10(np.mean(10.0 ** (lufs[inside].astype(np.float64) / 10.0)))
    return out


def shots_from_store(store: ArtifactStore, key: RunKey) -> dict[str, np.ndarray] | None:
    cuts = _ok_arrays(store, key, "cut_detection")
    if cuts is None:
        return None
    out = {c: np.asarray(cuts[c], np.float64) for c in CUT_COLUMNS}
    n = len(out["shot_start_sec"])
    quality = _ok_arrays(store, key, "shot_quality")
    if quality is not None and len(quality["quality_score"]) == n:
        present = np.asarray(quality["quality_present"], bool)
        for c in QUALITY_COLUMNS:  # a shot without a sampled frame has no quality values
            out[c] = np.where(present, np.asarray(quality[c], np.float64), np.nan)
    loud = _ok_arrays(store, key, "loudness")
    if loud is not None and len(loud["short_term_lufs"]):
        out["loudness_lufs"] = shot_loudness(out["shot_start_sec"], out["shot_end_sec"],
                                             np.asarray(loud["short_term_times_sec"]), np.asarray(loud["short_term_lufs"]))
    return out
