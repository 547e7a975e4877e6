"""Train/val/test split by publish time with channel grouping (SPEC §3): no channel in two splits.

Each channel is placed at the median publish time of its videos; channels are ordered by that
time (ties broken by a seeded shuffle, so the split is reproducible from the seed) and filled
into train, then val, then test until each holds its share of videos. The latest channels are
the test set, so the test set is "later" than train as far as channel grouping allows.
"""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def channel_time_split(channel_keys: np.ndarray, published_s: np.ndarray, *, val_fraction: float = 0.15,
                       test_fraction: float = 0.15, seed: int = 0) -> np.ndarray:
    """(N,) channel keys + (N,) publish times (epoch s) -> (N,) split names ("train"/"val"/"test")."""
    keys = np.asarray(channel_keys, dtype=object)
    t = np.asarray(published_s, dtype=np.float64)
    n = len(keys)
    if n == 0:
        return np.array([], dtype=object)
    uniq, codes = np.unique(keys.astype(str), return_inverse=True)
    n_ch = len(uniq)
    # Median publish time per channel: sort by (channel, time) and take the middle element(s).
    order = np.lexsort((t, codes))
    counts = np.bincount(codes, minlength=n_ch)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    t_sorted = t[order]
    median = 0.5 * (t_sorted[starts + (counts - 1) // 2] + t_sorted[starts + counts // 2])
    tiebreak = np.random.default_rng(seed).permutation(n_ch)
    ch_order = np.lexsort((tiebreak, median))
    # A channel goes where the middle of its block of videos falls on the cumulative time axis.
    cum = np.cumsum(counts[ch_order])
    mid = (cum - counts[ch_order] / 2.0) / n
    train_end, val_end = 1.0 - val_fraction - test_fraction, 1.0 - test_fraction
    ch_split = np.empty(n_ch, dtype=object)
    ch_split[ch_order] = np.where(mid < train_end, "train", np.where(mid < val_end, "val", "test"))
    return ch_split[codes]
