"""Forecast metrics (SPEC §5): MAE, RMSE, Spearman, NDCG@k within groups, masked, per target ×
horizon × age bucket, with channel-grouped bootstrap confidence intervals.

    from trendflow.metrics import evaluate_predictions
    m = evaluate_predictions(table, {"views_7": p7, "views_14": p14}, ndcg_group_col="category", n_boot=200)
    m["views_7"]["lt_24h"]["mae"], m["views_7"]["all"]["ndcg@10"], m["views_7"]["all"]["mae_ci"]

Targets are log1p increases, so MAE/RMSE are in log1p units. Every metric ignores masked rows.
Implemented with numpy only (ties as scipy's average ranks and sklearn's tie-averaged NDCG; the
tests compare against both). An undefined value (no rows, a constant input) is NaN, never 0.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

BUCKETS = ("lt_24h", "d1_30", "gt_30d")


def _masked(y_true, y_pred, mask) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} differ in shape")
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        t, p = t[m], p[m]
    return t, p


def mae(y_true, y_pred, mask=None) -> float:
    t, p = _masked(y_true, y_pred, mask)
    return float(np.mean(np.abs(t - p))) if t.size else float("nan")


def rmse(y_true, y_pred, mask=None) -> float:
    t, p = _masked(y_true, y_pred, mask)
    return float(np.sqrt(np.mean((t - p) ** 2))) if t.size else float("nan")


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (scipy.stats.rankdata 'average')."""
    x = np.asarray(x)
    sorter = np.argsort(x, kind="mergesort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size)
    xs = x[sorter]
    first = np.r_[True, xs[1:] != xs[:-1]]
    dense = np.cumsum(first)[inv]
    bounds = np.r_[np.nonzero(first)[0], first.size]
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)


def spearman(y_true, y_pred, mask=None) -> float:
    """Spearman rank correlation; NaN with fewer than 2 rows or a constant input."""
    t, p = _masked(y_true, y_pred, mask)
    if t.size < 2:
        return float("nan")
    rt, rp = average_ranks(t), average_ranks(p)
    rt, rp = rt - rt.mean(), rp - rp.mean()
    den = np.sqrt((rt @ rt) * (rp @ rp))
    return float(rt @ rp / den) if den > 0 else float("nan")


def _dcg_tie_averaged(gain: np.ndarray, score: np.ndarray, discount: np.ndarray) -> float:
    """DCG where items with equal scores share the mean discount of the positions they occupy."""
    order = np.argsort(-score, kind="mergesort")
    s, g = score[order], gain[order]
    first = np.r_[True, s[1:] != s[:-1]]
    group = np.cumsum(first) - 1
    n_groups = group[-1] + 1
    disc_sum = np.bincount(group, weights=discount[: len(s)], minlength=n_groups)
    size = np.bincount(group, minlength=n_groups)
    gain_sum = np.bincount(group, weights=g, minlength=n_groups)
    return float(np.sum(gain_sum * disc_sum / size))


def ndcg_at_k(y_true, y_pred, k: int = 10, groups=None, mask=None) -> float:
    """Mean NDCG@k over groups (linear gain = y_true, log2 discount, ties in y_pred averaged).

    Groups with fewer than 2 rows or with all gains 0 have no defined NDCG and are skipped;
    NaN when no group is left. y_true must be >= 0 (log1p increases are).
    """
    t, p = _masked(y_true, y_pred, mask)
    g = np.zeros(t.size, dtype=np.intp) if groups is None else _codes(groups, mask)
    if t.size and t.min() < 0:
        raise ValueError("NDCG needs non-negative gains (y_true >= 0)")
    order = np.argsort(g, kind="mergesort")
    t, p, g = t[order], p[order], g[order]
    cuts = np.flatnonzero(np.diff(g)) + 1
    scores = []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, t.size]):
        if hi - lo < 2:
            continue
        gt, gp = t[lo:hi], p[lo:hi]
        discount = np.zeros(hi - lo)
        kk = min(k, hi - lo)
        discount[:kk] = 1.0 / np.log2(np.arange(2, kk + 2))
        ideal = float(np.sort(gt)[::-1] @ discount)
        if ideal <= 0:
            continue
        scores.append(_dcg_tie_averaged(gt, gp, discount) / ideal)
    return float(np.mean(scores)) if scores else float("nan")


def _codes(values, mask=None) -> np.ndarray:
    v = np.asarray(values)
    if mask is not None:
        v = v[np.asarray(mask, dtype=bool)]
    return np.unique(v.astype(str) if v.dtype == object else v, return_inverse=True)[1].reshape(-1)


def bootstrap_ci(statistic: Callable[[np.ndarray], float], clusters, *, n_boot: int = 1000, ci: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile CI of `statistic(row_indices)` when whole clusters (channels) are resampled.

    Each replicate draws as many clusters as there are, with replacement, and passes the indices
    of all their rows (a cluster drawn twice appears twice). NaN replicates are ignored.
    """
    codes = _codes(clusters)
    n_cl = int(codes.max()) + 1 if codes.size else 0
    if n_cl == 0:
        return float("nan"), float("nan")
    rows = np.arange(codes.size)
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        times_drawn = np.bincount(rng.integers(0, n_cl, n_cl), minlength=n_cl)  # (n_clusters,)
        stats[b] = statistic(np.repeat(rows, times_drawn[codes]))
    stats = stats[~np.isnan(stats)]
    if not stats.size:
        return float("nan"), float("nan")
    a = (1.0 - ci) / 2.0
    return float(np.quantile(stats, a)), float(np.quantile(stats, 1.0 - a))


def _column(table, name: str) -> np.ndarray | None:
    if hasattr(table, "column_names"):  # pyarrow.Table
        return table[name].to_numpy() if name in table.column_names else None
    if isinstance(table, Mapping):
        return np.asarray(table[name]) if name in table else None
    if hasattr(table, "columns"):  # pandas.DataFrame
        return table[name].to_numpy() if name in table.columns else None
    raise TypeError(f"table must be a pandas DataFrame, a pyarrow Table or a mapping, got {type(table).__name__}")


def _pred_arrays(preds, targets: Sequence[str] | None) -> dict[str, np.ndarray]:
    if hasattr(preds, "columns") and not isinstance(preds, Mapping):
        preds = {c: preds[c].to_numpy() for c in preds.columns}
    out = {}
    for name, values in preds.items():
        key = name[5:] if name.startswith("pred_") else name[2:] if name.startswith("y_") else name
        out[key] = np.asarray(values, dtype=np.float64)
    if targets is not None:
        missing = [t for t in targets if t not in out]
        if missing:
            raise KeyError(f"no predictions for {missing}; have {sorted(out)}")
        out = {t: out[t] for t in targets}
    return out


def evaluate_predictions(table, preds, *, targets: Sequence[str] | None = None, k: int = 10,
                         ndcg_group_col: str | None = None, bucket_col: str = "age_bucket",
                         channel_col: str = "channel_key", n_boot: int = 0, ci: float = 0.95,
                         seed: int = 0) -> dict[str, dict[str, dict[str, Any]]]:
    """Metrics per target key × bucket ("all" + each age bucket), masked.

    table: pandas DataFrame, pyarrow Table or mapping of arrays (N rows) with `y_<key>`, the mask
      `has_y_<key>` (else `has_horizon_<h>`, else finite y), `bucket_col`, and `channel_col` when
      n_boot > 0 (and `ndcg_group_col` when given).
    preds: mapping (or DataFrame) key -> (N,) predictions in log1p units; keys are "<metric>_<h>"
      ("views_7"); "y_"/"pred_" prefixes are accepted. Predictions on labelled rows must be finite.
    Returns {key: {bucket: {"n", "mae", "rmse", "spearman", f"ndcg@{k}"[, "<metric>_ci": [lo, hi]]}}}.
    """
    pred = _pred_arrays(preds, targets)
    buckets = _column(table, bucket_col)
    channels = _column(table, channel_col) if n_boot else None
    if n_boot and channels is None:
        raise KeyError(f"bootstrap needs the channel column {channel_col!r}")
    groups = _column(table, ndcg_group_col) if ndcg_group_col else None
    if ndcg_group_col and groups is None:
        raise KeyError(f"no NDCG group column {ndcg_group_col!r}")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for key, p in pred.items():
        y = _column(table, f"y_{key}")
        if y is None:
            raise KeyError(f"table has no target column y_{key}")
        y = y.astype(np.float64)
        mask = _column(table, f"has_y_{key}")
        if mask is None:
            mask = _column(table, f"has_horizon_{key.rsplit('_', 1)[-1]}")
        mask = (np.isfinite(y) if mask is None else mask.astype(bool) & np.isfinite(y))
        if p.shape != y.shape:
            raise ValueError(f"predictions for {key} have shape {p.shape}, table has {y.shape[0]} rows")
        bad = mask & ~np.isfinite(p)
        if bad.any():
            raise ValueError(f"{int(bad.sum())} labelled rows have a non-finite prediction for {key}")
        out[key] = {}
        slices = {"all": mask}
        if buckets is not None:
            slices.update({b: mask & (buckets == b) for b in BUCKETS})
        for name, m in slices.items():
            out[key][name] = _slice_metrics(y, p, m, groups, channels, k, n_boot, ci, seed)
    return out


def _slice_metrics(y, p, m, groups, channels, k, n_boot, ci, seed) -> dict[str, Any]:
    idx = np.flatnonzero(m)
    yy, pp = y[idx], p[idx]
    gg = None if groups is None else groups[idx]
    fns: dict[str, Callable[[np.ndarray], float]] = {
        "mae": lambda i: mae(yy[i], pp[i]),
        "rmse": lambda i: rmse(yy[i], pp[i]),
        "spearman": lambda i: spearman(yy[i], pp[i]),
        f"ndcg@{k}": lambda i: ndcg_at_k(yy[i], pp[i], k=k, groups=None if gg is None else gg[i]),
    }
    everything = np.arange(idx.size)
    res: dict[str, Any] = {"n": int(idx.size)}
    res.update({name: fn(everything) for name, fn in fns.items()})
    if n_boot and idx.size:
        cl = channels[idx]
        for name, fn in fns.items():
            res[f"{name}_ci"] = list(bootstrap_ci(fn, cl, n_boot=n_boot, ci=ci, seed=seed))
    return res


def flatten_metrics(nested: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """{"views_7": {"all": {"mae": x}}} -> {"views_7/all/mae": x} (for experiment trackers)."""
    flat: dict[str, float] = {}
    for name, value in nested.items():
        path = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, path + "/"))
        elif isinstance(value, (list, tuple)):
            flat.update({f"{path}_lo": value[0], f"{path}_hi": value[1]})
        else:
            flat[path] = value
    return flat
