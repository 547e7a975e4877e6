"""Map timed samples (frames, audio windows) to shots and pool them per shot.

Every per-shot artifact (E_shot, A_shot, shot quality, scene labels) uses these two functions, so
"which shot does a sample at time t belong to" has one answer everywhere.
"""

from __future__ import annotations

import numpy as np


def assign_to_shots(times_sec: np.ndarray, shot_start_sec: np.ndarray) -> np.ndarray:
    """Index of the shot containing each time (shots tile the video, sorted by start)."""
    if len(shot_start_sec) == 0:
        return np.full(len(times_sec), -1, np.int32)
    idx = np.searchsorted(shot_start_sec, times_sec, side="right") - 1
    return np.clip(idx, 0, len(shot_start_sec) - 1).astype(np.int32)


def pool_per_shot(values: np.ndarray, shot_index: np.ndarray, n_shots: int,
                  weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of `values` (N, ...) per shot → (pooled (n_shots, ...), present (n_shots,), counts).

    Shots without samples get NaN rows and present=False (a missing value is never a zero).
    `weights` (N,) turns the mean into a weighted mean (e.g. audio window overlap).
    """
    values = np.asarray(values, np.float64)
    w = np.ones(len(values)) if weights is None else np.asarray(weights, np.float64)
    flat = values.reshape(len(values), -1)  # (N, F)
    sums = np.zeros((n_shots, flat.shape[1]))
    wsum = np.zeros(n_shots)
    counts = np.zeros(n_shots, np.int32)
    ok = (shot_index >= 0) & (shot_index < n_shots)
    np.add.at(sums, shot_index[ok], flat[ok] * w[ok, None])
    np.add.at(wsum, shot_index[ok], w[ok])
    np.add.at(counts, shot_index[ok], 1)
    present = wsum > 0
    pooled = np.full_like(sums, np.nan)
    pooled[present] = sums[present] / wsum[present, None]
    return pooled.reshape((n_shots, *values.shape[1:])).astype(np.float32), present, counts
