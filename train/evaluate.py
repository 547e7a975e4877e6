"""Evaluate a trained model on a split: metrics per target × horizon × age bucket, with bootstrap CIs.

    trendflow evaluate --model MODEL_DIR --data TRAIN_DIR --split test --out metrics.json

metrics.json:
    {"model": {...card summary...}, "split": "test", "n": N,
     "metrics": {"<target>_<h>": {"all"|"lt_24h"|"d1_30"|"gt_30d":
                 {"n", "mae", "rmse", "spearman", "ndcg@10", "mae_ci": [lo, hi], ...}}},
     "ablations": {"no_visual"|"no_audio"|"meta_only": {"metrics": {...}}}   (neural models only)}
Metrics come from `trendflow.metrics` (masked; channel-grouped bootstrap; NDCG@10 within category
when the data has one). Predictions are written next to it as `<out stem>.predictions.parquet`
(ids, bucket, labels and predictions) for the report's plots.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import pyarrow as pa

from train.data import SHOT_COLUMNS, read_split
from train.model_dir import load_predictor

ABLATION_SETS = {"no_visual": ("visual",), "no_audio": ("audio",), "meta_only": ("visual", "audio"),
                 "temporal_only": ("visual", "audio", "aggregates")}


def _metrics(table: pa.Table, preds: np.ndarray, targets, horizons, n_boot: int, seed: int) -> dict:
    from trendflow.metrics import evaluate_predictions
    pred_map = {f"{t}_{h}": preds[:, i, j] for i, t in enumerate(targets) for j, h in enumerate(horizons)}
    cols = [c for c in table.column_names if c not in SHOT_COLUMNS]
    frame = table.select(cols).to_pandas()
    group = "category" if "category" in cols else None
    return evaluate_predictions(frame, pred_map, n_boot=n_boot, seed=seed, ndcg_group_col=group)


def evaluate_model(model_dir: str, train_dir: str, split: str = "test", *, n_boot: int = 200, seed: int = 0,
                   ablations: bool = True) -> tuple[dict[str, Any], pa.Table]:
    """(metrics document, predictions table) for one model on one split."""
    predictor = load_predictor(model_dir)
    columns = None if predictor.uses_shots else _tabular_columns(train_dir, split)
    table = read_split(train_dir, split, columns)
    preds = predictor.predict(table)  # (N, T, H)
    targets, horizons = predictor.targets, predictor.horizons
    card = predictor.card
    doc: dict[str, Any] = {
        "model": {k: card.get(k) for k in ("model_name", "model_version", "kind", "training_data_version",
                                           "code_commit", "seed", "dataprocessor_version")},
        "model_dir": os.path.abspath(model_dir), "data": os.path.abspath(train_dir), "split": split,
        "n": len(table), "bootstrap": n_boot,
        "metrics": _metrics(table, preds, targets, horizons, n_boot, seed),
    }
    if ablations and predictor.uses_shots:
        doc["ablations"] = {name: {"metrics": _metrics(table, predictor.predict(table, ablate=drop), targets,
                                                       horizons, 0, seed)}
                            for name, drop in ABLATION_SETS.items()}
    keep = [c for c in ("platform_id", "video_id", "channel_key", "age_bucket", "category") if c in table.column_names]
    out = table.select(keep)
    for i, t in enumerate(targets):
        for j, h in enumerate(horizons):
            out = out.append_column(f"y_{t}_{h}", table[f"y_{t}_{h}"])
            out = out.append_column(f"pred_{t}_{h}", pa.array(preds[:, i, j].astype(np.float64)))
    return doc, out


def _tabular_columns(train_dir: str, split: str) -> list[str]:
    import pyarrow.dataset as pads

    from train.data import split_files
    names = pads.dataset(split_files(train_dir, split), format="parquet").schema.names
    return [c for c in names if c not in SHOT_COLUMNS]


def write_metrics(doc: dict[str, Any], predictions: pa.Table | None, out_path: str) -> str:
    import pyarrow.parquet as pq
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(_nan_to_none(doc), f, indent=2)
    if predictions is not None:
        pq.write_table(predictions, predictions_path(out_path))
    return out_path


def predictions_path(metrics_path: str) -> str:
    stem = metrics_path[:-5] if metrics_path.endswith(".json") else metrics_path
    return stem + ".predictions.parquet"


def head_summary(metrics: dict[str, Any], bucket: str = "all") -> dict[str, dict[str, float]]:
    """{head: {mae, rmse, spearman, ndcg@10, n}} for one bucket (used in model cards and tables)."""
    return {head: {k: v for k, v in by_bucket[bucket].items() if not k.endswith("_ci")}
            for head, by_bucket in metrics.items()}


def _nan_to_none(x: Any) -> Any:
    # JSON has no NaN: an undefined metric (empty bucket) is null.
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_to_none(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return _nan_to_none(x.item())
    return x
