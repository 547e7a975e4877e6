"""`trendflow summarize` (or `python -m serve_apps.summary`): the summary of
one video of a TRAIN_DIR split, without the service — for analysts, the demo, and to read what the service
would answer.

    trendflow summarize --model runs/v1_late_fusion --video vid00014 --locale en [--detail full]

The model folder answers (any model `trendflow train` wrote); the v0 contributions come from --v0, else
from a `v0_content` or `v0` folder next to the model (the layout `trendflow compare` writes), else from
the model itself when it is a v0. The training data defaults to the model card's `training_data_uri`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SHOT_COLUMNS = ("E_shot", "E_mask", "A_shot", "A_mask")


def row_predict_many(predictor, row: pa.Table):
    """predict_many over one training-data row: each feature dict replaces the row's meta columns (its
    shots stay), and all variants go through one `Predictor.predict` call."""
    def predict_many(rows: list[dict[str, Any]]) -> list[dict[str, float]]:
        table = row.take(pa.array(np.zeros(len(rows), np.int64)))
        for name in predictor.meta_features:
            col = pa.array([np.nan if r.get(name) is None else float(r[name]) for r in rows], pa.float64())
            i = table.column_names.index(name) if name in table.column_names else -1
            table = table.set_column(i, name, col) if i >= 0 else table.append_column(name, col)
        preds = predictor.predict(table)  # (N, T, H)
        return [{f"{t}_{h}": float(p[i, j]) for i, t in enumerate(predictor.targets)
                 for j, h in enumerate(predictor.horizons)} for p in preds]
    return predict_many


def _v0_for(model_dir: str, explicit: str | None, predictor):
    from serve_apps.summary.contributions import boosters_of
    from train.model_dir import load_predictor
    from train.uris import join
    if explicit:
        return load_predictor(explicit)
    parent = os.path.dirname(model_dir.rstrip("/"))
    for name in ("v0_content", "v0"):
        sibling = join(parent, name)
        if sibling.rstrip("/") != model_dir.rstrip("/") and os.path.exists(os.path.join(sibling, "model_card.json")):
            return load_predictor(sibling)
    return predictor if boosters_of(predictor) else None


def summarize_video(model_dir: str, video_id: str, data: str | None = None, split: str = "test",
                    v0_dir: str | None = None, locale: str = "ru", detail: str = "short", config=None) -> dict:
    from serve_apps.summary import Summarizer, SummaryConfig
    from train.data import TrainingDataError, read_split
    from train.forecast import forecast_video
    from train.model_dir import load_predictor
    predictor = load_predictor(model_dir)
    data = data or predictor.card.get("training_data_uri")
    if not data:
        raise TrainingDataError(f"{model_dir}: the model card has no training_data_uri; give --data TRAIN_DIR")
    table = read_split(data, split)
    row = table.filter(pc.equal(table["video_id"], video_id))
    if len(row) == 0:
        raise TrainingDataError(f"video {video_id!r} is not in the {split!r} split of {data}")
    row = row.slice(0, 1)
    features = {k: v for k, v in row.to_pylist()[0].items() if k not in SHOT_COLUMNS}
    predict_many = row_predict_many(predictor, row)
    forecast = forecast_video(predictor.card, predictor.intervals, predict_many([features])[0], features,
                              features.get("age_bucket"))
    s = Summarizer.load(data, models={"v0": _v0_for(model_dir, v0_dir, predictor)}, config=config or SummaryConfig())
    out = s.summarize(features=features, category=features.get("category"), predict_many=predict_many,
                      forecast=forecast, card=predictor.card, locale=locale, detail=detail,
                      cache_key=(video_id, features.get("content_run_id"), "cli"))
    return {"video_id": video_id, "forecast": forecast, "summary": out}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model folder that answers (written by `trendflow train`)")
    p.add_argument("--video", required=True, help="video_id of a row of the split")
    p.add_argument("--data", help="TRAIN_DIR (default: the model card's training_data_uri)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"), help="split holding the video")
    p.add_argument("--v0", help="v0 model folder for the contributions (default: v0_content/ or v0/ beside --model)")
    p.add_argument("--locale", default="ru", choices=("ru", "en"))
    p.add_argument("--detail", default="short", choices=("short", "full"),
                   help="full adds the per-feature and per-shot tables")
    p.add_argument("--json", action="store_true", help="print the whole answer as JSON instead of the text")


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from train.data import TrainingDataError
    from train.model_dir import ModelDirError
    try:
        out = summarize_video(args.model, args.video, args.data, args.split, args.v0, args.locale, args.detail)
    except (ModelDirError, TrainingDataError, ValidationError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2, ensure_ascii=False, default=str) if args.json else out["summary"]["text"], end="")
    if args.json:
        print()
    return 0


def register(subparsers) -> None:
    """`trendflow summarize` (registered in pyproject's trendflow.commands entry points)."""
    p = subparsers.add_parser("summarize", help="the grounded summary of one video of a TRAIN_DIR split",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m serve_apps.summary", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return run(p.parse_args(argv))
