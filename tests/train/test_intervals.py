"""Split-conformal intervals and the forecast of one head: the arithmetic, per-bucket calibration, and the
coverage reached on synthetic training data (through `train_model` + `evaluate`, as a user runs them)."""

import math

import numpy as np
import pytest

from train.config import TrainConfig
from train.evaluate import evaluate_model
from train.forecast import forecast_head, forecast_video
from train.intervals import Intervals, calibrate, conformal_quantile, coverage
from train.model_dir import load_predictor
from train.pipeline import train_model
from train.synthetic_data import write_synthetic_training_data


def test_the_conformal_quantile_is_the_finite_sample_one():
    r = np.arange(1.0, 10.0)  # 9 residuals
    assert conformal_quantile(r, 0.8) == 8.0  # ⌈10 · 0.8⌉ = 8th smallest
    assert conformal_quantile(r, 0.5) == 5.0
    assert conformal_quantile(np.array([1.0, 2.0, 3.0]), 0.8) is None  # ⌈4 · 0.8⌉ = 4 > 3: no finite bound
    assert conformal_quantile(np.array([]), 0.8) is None


def test_buckets_with_enough_rows_get_their_own_width_the_others_the_global_one():
    rng = np.random.default_rng(0)
    n_big, n_small = 60, 10
    buckets = ["d1_30"] * n_big + ["lt_24h"] * n_small
    y = np.abs(rng.normal(5, 1, size=(n_big + n_small, 1, 1)))
    pred = y.copy()
    pred[:n_big, 0, 0] += rng.normal(0, 0.1, n_big)  # a well predicted bucket...
    pred[n_big:, 0, 0] += rng.normal(0, 2.0, n_small)  # ... and a badly predicted small one
    mask = np.ones_like(y, bool)
    iv = calibrate(y, pred, mask, buckets, ["views_7"], level=0.8, min_bucket_rows=30)
    assert set(iv.heads["views_7"]) == {"all", "d1_30"} and iv.heads["views_7"]["all"]["n"] == 70
    assert iv.half_width("views_7", "d1_30") < iv.half_width("views_7", "all")
    assert iv.half_width("views_7", "lt_24h") == iv.half_width("views_7", "all")  # 10 rows < 30: global
    assert iv.half_width("views_7", "gt_30d") == iv.half_width("views_7", "all")  # never seen: global
    cov = coverage(y, pred, mask, buckets, ["views_7"], iv)["views_7"]
    assert cov["n"] == 70 and cov["mean_width"] > 0
    # On its own calibration rows a bucket's interval covers ≥ level (the k-th smallest of n, k ≥ level · n).
    own = coverage(y[:n_big], pred[:n_big], mask[:n_big], buckets[:n_big], ["views_7"], iv)["views_7"]
    assert own["coverage"] >= 0.8
    assert Intervals.from_json(iv.to_json()) == iv


def test_forecast_of_one_head():
    f = forecast_head(math.log1p(100.0), 1000.0, 0.5)
    assert f["delta"] == pytest.approx(100.0) and f["total"] == pytest.approx(1100.0)
    assert f["low"] == pytest.approx(1000 + math.expm1(math.log1p(100) - 0.5))
    assert f["high"] == pytest.approx(1000 + math.expm1(math.log1p(100) + 0.5))
    low = forecast_head(0.1, 50.0, 1.0)
    assert low["low"] == 50.0  # clipped at zero growth, never below the snapshot-1 count
    unknown = forecast_head(2.0, None, math.inf)
    assert unknown["total"] is None and unknown["high"] is None and unknown["delta"] == pytest.approx(math.expm1(2))
    assert forecast_head(-0.3, 10.0, 0.2)["delta"] == 0.0  # a negative prediction is no growth
    # The array form (batch predictions) gives the same numbers as the scalar form (one online request).
    preds, counts, q = np.array([4.6, 0.1, 2.0]), np.array([1000.0, 50.0, np.nan]), np.array([0.5, 1.0, 0.3])
    arrays = forecast_head(preds, counts, q)
    for i in range(3):
        one = forecast_head(preds[i], counts[i], q[i])
        for k in ("delta", "total", "low", "high"):
            assert (one[k] is None and np.isnan(arrays[k][i])) or one[k] == pytest.approx(arrays[k][i])


@pytest.fixture(scope="module")
def large_synthetic(tmp_path_factory):
    """Synthetic training data large enough to measure coverage: ~300 val and ~600 test videos."""
    d = tmp_path_factory.mktemp("coverage_data")
    card = write_synthetic_training_data(str(d), n=3000, max_shots=4, seed=1)
    assert card["splits"]["val"] > 250 and card["splits"]["test"] > 500
    return str(d)


@pytest.mark.parametrize("name", ["szabo_huberman", "v0"])
def test_test_coverage_is_within_5_points_of_the_level(name, large_synthetic, tmp_path):
    model_dir = str(tmp_path / name)
    card = train_model(name, large_synthetic, model_dir, TrainConfig(), log=lambda *_: None)
    assert card["intervals"]["calibration_split"] == "val"
    doc, _ = evaluate_model(model_dir, large_synthetic, "test", n_boot=0)
    cov = {h: v["coverage"] for h, v in doc["intervals"].items()}
    assert abs(np.mean(list(cov.values())) - 0.8) <= 0.05, cov
    assert all(abs(c - 0.8) <= 0.08 for c in cov.values()), cov  # each head, with its own sampling noise


def test_forecast_video_uses_the_card_heads_and_the_age_bucket(large_synthetic, tmp_path):
    model_dir = str(tmp_path / "v0")
    train_model("v0", large_synthetic, model_dir, TrainConfig(interval_level=0.9), log=lambda *_: None)
    predictor = load_predictor(model_dir)
    assert predictor.intervals.level == 0.9
    features = {"views_t0": 5000.0, "likes_t0": 150.0, "video_age_hours_at_snapshot1": 48.0,
                "duration_seconds": 120.0, "subscriberCount": None, "subscriberCount_present": 0.0,
                "quality_mean": 0.1, "shots_per_min": 10.0, "loudness_lufs": -14.0, "age_bucket": "d1_30"}
    preds = predictor.predict_video(features)
    out = forecast_video(predictor.card, predictor.intervals, preds, features, "d1_30")
    assert list(out) == ["views", "likes"] and list(out["views"]) == ["7", "14", "21"]
    views_14 = out["views"]["14"]
    assert views_14["total"] == pytest.approx(5000 + math.expm1(preds["views_14"]), rel=1e-9)
    assert views_14["low"] <= views_14["total"] <= views_14["high"]
    q = predictor.intervals.half_width("views_14", "d1_30")
    assert views_14["high"] == pytest.approx(5000 + math.expm1(preds["views_14"] + q), rel=1e-9)
