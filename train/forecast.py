"""From a model's log1p prediction to the forecast a person reads: `{delta, total, low, high}` per head.

    total = count(t0) + expm1(ŷ)                       (SPEC §3; ŷ = predicted log1p growth, clipped at 0)
    low   = count(t0) + expm1(max(ŷ − q, 0))           q = the head's split-conformal half-width for the
    high  = count(t0) + expm1(ŷ + q)                       video's age bucket (train.intervals)

`delta` is the predicted growth itself, expm1(ŷ). The batch command (`trendflow predict`) and the
online service call the same `forecast_head`, so online and batch numbers cannot differ. Targets,
horizons and the snapshot-1 count column of each target come from the model card, never from code.

    from train.forecast import forecast_video
    forecast_video(predictor.card, predictor.intervals, predictor.predict_video(features), features, "d1_30")
    # {"views": {"7": {"delta": 812.0, "total": 10812.0, "low": 10240.0, "high": 13002.0}, ...}, ...}
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

FORECAST_FIELDS = ("delta", "total", "low", "high")


def forecast_head(pred_log1p, count_t0, half_width) -> dict[str, Any]:
    """One head. Scalars in → floats out (None where unknown: no count, no interval, unbounded);
    equal-length arrays in → float arrays out (NaN / inf where unknown). count_t0 NaN/None = unknown."""
    scalar = np.ndim(pred_log1p) == 0
    pred = np.maximum(np.asarray(pred_log1p, dtype=np.float64), 0.0)
    count = np.asarray(np.nan if count_t0 is None else count_t0, dtype=np.float64)
    q = np.asarray(np.nan if half_width is None else half_width, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        delta = np.expm1(pred)
        low = count + np.expm1(np.maximum(pred - q, 0.0))
        high = count + np.expm1(pred + q)
    out = {"delta": delta, "total": count + delta, "low": low, "high": high}
    if scalar:
        return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in out.items()}
    return out


def counts_t0(card: Mapping[str, Any], features: Mapping[str, Any]) -> dict[str, float | None]:
    """{target: snapshot-1 count} read from `features` through the card's `count_t0_columns`."""
    cols = card.get("count_t0_columns") or {}
    return {t: finite_number(features.get(cols[t])) if t in cols else None for t in card["targets"]}


def forecast_video(card: Mapping[str, Any], intervals, predictions: Mapping[str, float],
                   features: Mapping[str, Any], age_bucket: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """{target: {"<h>": {delta, total, low, high}}} for one video. `predictions`: {"views_7": ŷ, ...}
    (`Predictor.predict_video`); `features`: the video's feature values by name (for the snapshot-1
    counts); `intervals`: the model's `train.intervals.Intervals` (None: no interval)."""
    counts = counts_t0(card, features)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for t in card["targets"]:
        out[t] = {}
        for h in card["horizons"]:
            head = f"{t}_{h}"
            q = intervals.half_width(head, age_bucket) if intervals is not None else None
            out[t][str(h)] = forecast_head(predictions[head], counts[t], q)
    return out


def forecast_columns(card: Mapping[str, Any], intervals, preds: np.ndarray, counts: Mapping[str, np.ndarray],
                     buckets: Sequence[str | None]) -> dict[str, np.ndarray]:
    """Every head of N videos as columns `pred_log1p_<head>`, `delta_<head>`, `total_<head>`, `low_<head>`,
    `high_<head>`. preds: (N, T, H) log1p; counts: {target: (N,) snapshot-1 counts, NaN = unknown}."""
    n = len(preds)
    cols: dict[str, np.ndarray] = {}
    for i, t in enumerate(card["targets"]):
        count = np.asarray(counts.get(t, np.full(n, np.nan)), dtype=np.float64)
        for j, h in enumerate(card["horizons"]):
            head = f"{t}_{h}"
            q = intervals.half_widths(head, buckets) if intervals is not None else np.full(n, np.nan)
            cols[f"pred_log1p_{head}"] = np.maximum(preds[:, i, j].astype(np.float64), 0.0)
            for name, values in forecast_head(preds[:, i, j], count, q).items():
                cols[f"{name}_{head}"] = values
    return cols


def finite_number(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
