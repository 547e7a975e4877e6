"""Evaluate a trained model on a split: metrics per target × horizon × age bucket, with bootstrap CIs.

    trendflow evaluate --model MODEL_DIR --data TRAIN_DIR --split test --out metrics.json

metrics.json:
    {"model": {...card summary...}, "split": "test", "n": N,
     "metrics": {"<target>_<h>": {"all"|"lt_24h"|"d1_30"|"gt_30d":
                 {"n", "mae", "rmse", "spearman", "ndcg@10", "mae_ci": [lo, hi], ...}}},
     "intervals": {"<target>_<h>": {"level", "coverage", "mean_width", "n"}}   (the model's conformal intervals)
     "ablations": {"no_visual"|"no_audio"|"meta_only": {"metrics": {...}}}   (neural models only)}
Metrics come from `trendflow.metrics` (masked; channel-grouped bootstrap; NDCG@10 within category
when the data has one). Predictions are written next to it as `<out stem>.predictions.parquet`
(ids, bucket, labels and predictions) for the report's plots. Every path may be s3://.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from train.data import SHOT_COLUMNS, TrainDir, as_train_dir, read_split, target_arrays
from train.model_dir import ModelDir, Predictor, load_predictor

ABLATION_SETS = {"no_visual": ("visual",), "no_audio": ("audio",), "meta_only": ("visual", "audio"),
                 "temporal_only": ("visual", "audio", "aggregates")}


def _metrics(table: pa.Table, preds: np.ndarray, targets, horizons, n_boot: int, seed: int) -> dict:
    from trendflow.metrics import evaluate_predictions
    pred_map = {f"{t}_{h}": preds[:, i, j] for i, t in enumerate(targets) for j, h in enumerate(horizons)}
    cols = [c for c in table.column_names if c not in SHOT_COLUMNS]
    frame = table.select(cols).to_pandas()
    group = "category" if "category" in cols else None
    return evaluate_predictions(frame, pred_map, n_boot=n_boot, seed=seed, ndcg_group_col=group)


def predict_split(predictor: Predictor, train_dir: "str | TrainDir", split: str) -> tuple[pa.Table, np.ndarray]:
    """(the split's rows, (N, T, H) predictions); tabular models read no shot columns."""
    columns = None if predictor.uses_shots else _tabular_columns(as_train_dir(train_dir), split)
    table = read_split(train_dir, split, columns)
    return table, predictor.predict(table)


def interval_coverage(predictor: Predictor, table: pa.Table, preds: np.ndarray) -> dict[str, Any] | None:
    """Per head: empirical coverage and mean width of the model's intervals on these rows (None without)."""
    from train.intervals import coverage
    if predictor.intervals is None:
        return None
    y, mask = target_arrays(table, predictor.targets, predictor.horizons)
    heads = [f"{t}_{h}" for t in predictor.targets for h in predictor.horizons]
    return coverage(y, preds, mask, table["age_bucket"].to_pylist(), heads, predictor.intervals)


def evaluate_model(model_dir: "str | ModelDir", train_dir: "str | TrainDir", split: str = "test", *,
                   n_boot: int = 200, seed: int = 0, ablations: bool = True,
                   log: Callable[[str], Any] | None = None) -> tuple[dict[str, Any], pa.Table]:
    """(metrics document, predictions table) for one model on one split. `log` hears each step."""
    log = log or (lambda _msg: None)
    predictor = load_predictor(model_dir)
    table, preds = predict_split(predictor, train_dir, split)  # (N, T, H)
    targets, horizons = predictor.targets, predictor.horizons
    card = predictor.card
    log(f"evaluate on {split} ({len(table)} videos)" + (f", bootstrap {n_boot} replicates" if n_boot else ""))
    doc: dict[str, Any] = {
        "model": {k: card.get(k) for k in ("model_name", "model_version", "kind", "training_data_version",
                                           "code_commit", "seed", "dataprocessor_version")},
        "model_dir": predictor.model_dir, "data": as_train_dir(train_dir).uri, "split": split,
        "n": len(table), "bootstrap": n_boot,
        "metrics": _metrics(table, preds, targets, horizons, n_boot, seed),
    }
    intervals = interval_coverage(predictor, table, preds)
    if intervals is not None:
        doc["intervals"] = intervals
    if ablations and predictor.uses_shots:
        log(f"ablation ({', '.join(ABLATION_SETS)})")
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


def _tabular_columns(train_dir: TrainDir, split: str) -> list[str]:
    return [c for c in train_dir.dataset(split).schema.names if c not in SHOT_COLUMNS]


def write_metrics(doc: dict[str, Any], predictions: pa.Table | None, out_path: str,
                  storage_options: dict | None = None) -> str:
    """Write metrics.json (and its predictions Parquet beside it), local or s3://; returns the JSON's URI."""
    import pyarrow.parquet as pq

    from train.uris import write_file
    uri = write_file(out_path, json.dumps(_nan_to_none(doc), indent=2).encode(), storage_options)
    if predictions is not None:
        buf = io.BytesIO()
        pq.write_table(predictions, buf)
        write_file(predictions_path(uri), buf.getvalue(), storage_options)
    return uri


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
