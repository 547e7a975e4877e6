"""Batch forecasts for analysts: one row per video with every head's forecast and interval.

    trendflow predict --model MODEL_DIR --data TRAIN_DIR [--split test] --out preds.parquet

Columns: platform_id, video_id, channel_key, age_bucket, category (when present), model_name,
model_version, training_data_version, `count_t0_<target>` (the snapshot-1 count), and for every head
`<target>_<h>`: pred_log1p_<head> (the model's output), delta_<head>, total_<head>, low_<head>,
high_<head> (`train.forecast.forecast_head`, the code the online service uses too). The Parquet
metadata key `trendflow.predict` holds the interval level and the model card's identity fields.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pyarrow as pa

from train.data import TrainDir, float_column
from train.evaluate import predict_split
from train.forecast import forecast_columns
from train.model_dir import ModelDir, load_predictor

ID_COLUMNS = ("platform_id", "video_id", "channel_key", "age_bucket", "category")
META_KEY = b"trendflow.predict"


def predict_table(model_dir: "str | ModelDir", train_dir: "str | TrainDir", split: str = "test") -> pa.Table:
    """The forecasts of one model for every video of a split, as an Arrow table."""
    predictor = load_predictor(model_dir)
    table, preds = predict_split(predictor, train_dir, split)  # (N, T, H)
    card = predictor.card
    counts = {t: float_column(table, col) for t, col in (card.get("count_t0_columns") or {}).items()
              if col in table.column_names}
    n = len(table)
    cols: dict[str, Any] = {c: table[c] for c in ID_COLUMNS if c in table.column_names}
    for key in ("model_name", "model_version", "training_data_version"):
        cols[key] = pa.array([str(card[key])] * n, pa.string())
    for t in card["targets"]:
        cols[f"count_t0_{t}"] = pa.array(counts.get(t, np.full(n, np.nan)), pa.float64())
    cols.update({k: pa.array(v, pa.float64())
                 for k, v in forecast_columns(card, predictor.intervals, preds, counts,
                                              table["age_bucket"].to_pylist()).items()})
    meta = {"split": split, "model_dir": predictor.model_dir,
            "interval_level": predictor.intervals.level if predictor.intervals else None,
            **{k: card.get(k) for k in ("model_name", "model_version", "training_data_version", "training_data_uri",
                                        "targets", "horizons")}}
    return pa.table(cols).replace_schema_metadata({META_KEY: json.dumps(meta).encode()})


def predict_to_parquet(model_dir: "str | ModelDir", train_dir: "str | TrainDir", split: str, out_path: str,
                       storage_options: dict | None = None) -> dict[str, Any]:
    """Write `predict_table` to out_path (local or s3://); returns {path, rows, heads, model}."""
    import pyarrow.parquet as pq

    from train.uris import write_file
    table = predict_table(model_dir, train_dir, split)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    meta = json.loads(table.schema.metadata[META_KEY])
    return {"path": write_file(out_path, buf.getvalue(), storage_options), "rows": len(table),
            "heads": [f"{t}_{h}" for t in meta["targets"] for h in meta["horizons"]], "model": meta["model_name"]}
