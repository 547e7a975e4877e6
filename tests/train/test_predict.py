"""`trendflow predict` (batch forecasts) through the CLI, and every training command on s3:// paths."""

import io
import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from train.data import TrainDir, float_column, read_split
from train.forecast import forecast_video
from train.model_dir import ModelDir, load_predictor
from train.synthetic_data import write_synthetic_training_data
from trendflow.cli import main

HEADS = [f"{t}_{h}" for t in ("views", "likes") for h in (7, 14, 21)]


def test_predict_writes_every_head_of_every_video(neural_models, train_dir, tmp_path, capsys):
    model_dir = neural_models["v1_late_fusion"]["dir"]
    out = tmp_path / "preds.parquet"
    assert main(["predict", "--model", model_dir, "--data", train_dir, "--split", "test", "--out", str(out)]) == 0
    assert "predict:" in capsys.readouterr().out
    table = pq.read_table(out)
    test = read_split(train_dir, "test")
    assert table["video_id"].to_pylist() == test["video_id"].to_pylist()  # one row per video, same order
    assert set(table["model_name"].to_pylist()) == {"v1_late_fusion"}
    assert set(table["model_version"].to_pylist()) == {"1"}
    meta = json.loads(table.schema.metadata[b"trendflow.predict"])
    assert meta["interval_level"] == 0.8 and meta["horizons"] == [7, 14, 21]

    predictor = load_predictor(model_dir)
    preds = predictor.predict(test)
    views_t0 = float_column(test, "views_t0")
    for i, head in enumerate(HEADS):
        t = head.split("_")[0]
        p = table[f"pred_log1p_{head}"].to_numpy()
        np.testing.assert_allclose(p, preds.reshape(len(test), -1)[:, i], rtol=1e-6)
        delta, total = table[f"delta_{head}"].to_numpy(), table[f"total_{head}"].to_numpy()
        np.testing.assert_allclose(delta, np.expm1(p), rtol=1e-9)
        count = table[f"count_t0_{t}"].to_numpy()
        np.testing.assert_allclose(total, count + delta, rtol=1e-9)
        low, high = table[f"low_{head}"].to_numpy(), table[f"high_{head}"].to_numpy()
        assert (low <= total + 1e-6).all() and (total <= high + 1e-6).all() and (low >= count - 1e-6).all()
    np.testing.assert_allclose(table["count_t0_views"].to_numpy(), views_t0)

    # A row equals the online forecast of the same video (the same function, one video at a time).
    row = test.slice(5, 1).to_pylist()[0]
    features = {k: v for k, v in row.items() if k not in ("E_shot", "E_mask", "A_shot", "A_mask")}
    dims = (len(row["E_shot"][0]), len(row["A_shot"][0]) if row["A_shot"] else 4)
    one = predictor.predict_video(features, np.asarray(row["E_shot"], np.float32).reshape(-1, dims[0]), row["E_mask"],
                                  np.asarray(row["A_shot"], np.float32).reshape(-1, dims[1]), row["A_mask"])
    online = forecast_video(predictor.card, predictor.intervals, one, features, row["age_bucket"])
    for head in HEADS:
        t, h = head.split("_")
        for k in ("delta", "total", "low", "high"):
            assert online[t][h][k] == pytest.approx(table[f"{k}_{head}"][5].as_py(), rel=1e-5)


def test_every_training_command_on_s3(s3_server, tmp_path, capsys):
    opts = s3_server["storage_options"]
    cfg = tmp_path / "s3.yaml"
    cfg.write_text(yaml.safe_dump({"storage": {"storage_options": opts}}))
    data, model = "s3://trendflow/cli/train_data", "s3://trendflow/cli/models/v0"
    write_synthetic_training_data(TrainDir(data, opts), n=160)
    c = ["--config", str(cfg)]
    assert main(["train", "--model", "v0", "--data", data, "--out", model, *c]) == 0
    assert main(["evaluate", "--model", model, "--data", data, "--out", f"{model}/metrics.json", "--bootstrap", "5",
                 *c]) == 0
    assert main(["predict", "--model", model, "--data", data, "--out", "s3://trendflow/cli/preds.parquet", *c]) == 0
    assert main(["report", "--models", model, "--out", "s3://trendflow/cli/report", *c]) == 0
    printed = capsys.readouterr().out
    assert "s3://trendflow/cli/report/report.md" in printed

    md = ModelDir(model, opts)
    card = json.loads(md.read_bytes("model_card.json"))
    assert card["training_data_uri"] == data
    assert md.exists("intervals.json") and md.exists("metrics.predictions.parquet")
    metrics = json.loads(md.read_bytes("metrics.json"))
    assert set(metrics["intervals"]) == set(HEADS) and metrics["data"] == data
    preds = pq.read_table(io.BytesIO(ModelDir("s3://trendflow/cli", opts).read_bytes("preds.parquet")))
    assert preds.num_rows == metrics["n"] and all(math.isfinite(v) for v in preds["total_views_14"].to_pylist())
    report = ModelDir("s3://trendflow/cli/report", opts)
    assert b"## Prediction intervals" in report.read_bytes("report.md") and report.exists("mae_by_bucket.png")
