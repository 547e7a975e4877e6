"""Evaluation (metrics.json layout, ablations) and the comparison report, through the CLI."""

import json
import os
import pathlib
import shutil

import pytest

from trendflow.cli import main

HEADS = [f"{t}_{h}" for t in ("views", "likes") for h in (7, 14, 21)]
BUCKETS = ("all", "lt_24h", "d1_30", "gt_30d")


@pytest.fixture(scope="module")
def models(train_dir, neural_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    for name in ("baseline", "v0_content"):
        assert main(["train", "--model", name, "--data", train_dir, "--out", str(root / name)]) == 0
    shutil.copytree(neural_models["v1_late_fusion"]["dir"], root / "v1")  # the session's real Ray Train run
    return pathlib.Path(root)


def test_evaluate_writes_every_metric_for_every_head_and_bucket(models, train_dir):
    out = models / "v0_content" / "metrics.json"
    assert main(["evaluate", "--model", str(models / "v0_content"), "--data", train_dir, "--split", "test",
                 "--out", str(out), "--bootstrap", "30"]) == 0
    doc = json.loads(out.read_text())
    assert doc["split"] == "test" and doc["model"]["model_name"] == "v0_content"
    assert sorted(doc["metrics"]) == sorted(HEADS)
    for head in HEADS:
        for bucket in BUCKETS:
            m = doc["metrics"][head][bucket]
            assert {"mae", "rmse", "spearman", "ndcg@10", "n"} <= set(m)
            if m["n"] >= 2:
                lo, hi = m["mae_ci"]
                assert lo <= m["mae"] <= hi
    assert doc["metrics"]["views_7"]["all"]["n"] < doc["metrics"]["views_14"]["all"]["n"]  # 7-day labels masked
    assert sum(doc["metrics"]["views_14"][b]["n"] for b in BUCKETS[1:]) == doc["metrics"]["views_14"]["all"]["n"]
    assert "ablations" not in doc  # tabular models have no modalities to hide
    assert set(doc["intervals"]) == set(HEADS)  # conformal interval coverage next to MAE, per head
    for head, iv in doc["intervals"].items():
        assert iv["level"] == 0.8 and 0 < iv["coverage"] <= 1 and iv["mean_width"] > 0
        assert iv["n"] == doc["metrics"][head]["all"]["n"]
    assert os.path.exists(models / "v0_content" / "metrics.predictions.parquet")


def test_neural_evaluation_includes_the_modality_ablation(models, train_dir):
    out = models / "v1" / "metrics.json"
    assert main(["evaluate", "--model", str(models / "v1"), "--data", train_dir, "--out", str(out),
                 "--bootstrap", "0"]) == 0
    doc = json.loads(out.read_text())
    assert set(doc["ablations"]) == {"no_visual", "no_audio", "meta_only", "temporal_only"}
    full = doc["metrics"]["views_14"]["all"]["mae"]
    no_visual = doc["ablations"]["no_visual"]["metrics"]["views_14"]["all"]["mae"]
    assert no_visual != full  # hiding the planted visual signal changes the predictions
    meta_only = doc["ablations"]["meta_only"]["metrics"]["views_14"]["all"]["mae"]
    temporal_only = doc["ablations"]["temporal_only"]["metrics"]["views_14"]["all"]["mae"]
    assert temporal_only != meta_only  # the content aggregates are hidden too


def test_report_compares_models_in_a_table_and_plots(models, train_dir, tmp_path, capsys):
    for name in ("baseline", "v0_content", "v1"):
        out = models / name / "metrics.json"
        if not out.exists():
            assert main(["evaluate", "--model", str(models / name), "--data", train_dir, "--out", str(out),
                         "--bootstrap", "10"]) == 0
    report_dir = tmp_path / "report"
    assert main(["report", "--models", str(models / "baseline"), str(models / "v0_content"), str(models / "v1"),
                 "--out", str(report_dir)]) == 0
    printed = capsys.readouterr().out
    assert "| model |" in printed and "v0_content" in printed
    md = (report_dir / "report.md").read_text()
    for section in ("## Overall", "## Per age bucket", "## Modality ablation", "bootstrap", "## Prediction intervals",
                    "coverage (80% interval)"):
        assert section in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "**" in line]
    order = [r.split("|")[1].strip() for r in rows]
    assert order.index("v0_content") < order.index("baseline")  # sorted by mean MAE; content beats the median
    for png in ("pred_vs_actual.png", "mae_by_bucket.png", "ablation.png"):
        assert (report_dir / png).stat().st_size > 5000


def test_report_without_metrics_is_a_clear_error(models, tmp_path, capsys):
    empty = tmp_path / "untrained"
    empty.mkdir()
    assert main(["report", "--models", str(empty), "--out", str(tmp_path / "r")]) == 2
    assert "no metrics.json" in capsys.readouterr().err


def test_train_rejects_unknown_targets_with_a_message(train_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRENDFLOW__TRAIN__TARGETS", "[views, comments]")
    assert main(["train", "--model", "baseline", "--data", train_dir, "--out", str(tmp_path / "m")]) == 2
    assert "comments" in capsys.readouterr().err
