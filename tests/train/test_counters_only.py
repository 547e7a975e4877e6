"""Counters-only datasets (no video files, no store) end to end: validate → temporal → build-dataset →
compare, with the horizons 1/3/5 days said once, in the `targets:` section of one config file.

Two datasets, as the data side builds them (tests/trendflow/test_dataset_counters_only.py): `trendflow
synth --no-video-files --minimal-metadata --snapshot-days 0,1,3,5`, and `trendflow import-counters` of
its long table with planted bad rows.
"""

import contextlib
import io
import json

import pyarrow.parquet as pq
import pytest
import yaml

from tests.trendflow.test_dataset_counters_only import (
    HORIZONS,
    counters_config,
    long_table_from,
    synth_counters_only,
)
from trendflow.cli import main

BAD_ROWS = [{"video_id": "bad..id", "collected_at": "2025-03-03T09:00:00Z", "viewCount": "5",
             "publishedAt": "2025-03-01T00:00:00Z", "channelTitle": "x"}]


def _run(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0, argv
    return out.getvalue()


def _to_training_data(dataset: str, root, cfg: str) -> str:
    """validate → temporal → build-dataset (no --store: counters-only); returns build-dataset's output."""
    text = _run(["validate-dataset", dataset])
    assert "counters-only dataset" in text
    _run(["temporal", "--dataset", dataset, "--out", str(root / "temporal.parquet"), "--config", cfg])
    return _run(["build-dataset", "--temporal", str(root / "temporal.parquet"), "--out", str(root / "train_data"),
                 "--config", cfg])


@pytest.fixture(scope="module")
def counters_only(tmp_path_factory):
    root = tmp_path_factory.mktemp("counters_only")
    cfg = counters_config(root / "cfg.yaml")  # the only place the horizons are said; no `train:` section
    out = _to_training_data(synth_counters_only(root / "synth"), root, cfg)
    return root, cfg, out


def test_build_dataset_without_a_store_is_counters_only_and_says_so_once(counters_only):
    root, cfg, out = counters_only
    assert out.count("counters-only") == 1 and "with problems" not in out
    card = json.loads((root / "train_data" / "dataset_card.json").read_text())
    assert card["content"] == "none" and card["content_features"] == [] and card["problems"] == []
    assert card["horizons"] == HORIZONS and card["targets"] == ["views", "likes"]
    assert card["count_t0_columns"] == {"views": "views_s1", "likes": "likes_s1"}
    assert card["coverage"]["visual"] == card["coverage"]["audio"] == 0
    assert "duration_seconds" in card["temporal_features"]  # optional metadata: NaN + mask, still a feature


def test_compare_trains_what_the_data_supports_and_skips_the_rest(counters_only, capsys):
    root, cfg, _ = counters_only
    capsys.readouterr()
    assert main(["compare", "--data", str(root / "train_data"), "--out", str(root / "models"),
                 "--config", cfg, "--bootstrap", "10"]) == 0
    out = capsys.readouterr().out
    skipped = {line.split("skipping ")[1].split(":")[0]: line for line in out.splitlines() if "skipping" in line}
    assert set(skipped) == {"v0_content", "v1_late_fusion", "v2_transformer"}  # one line each, with the reason
    assert "needs content aggregates" in skipped["v0_content"] and "counters-only" in skipped["v0_content"]
    assert "needs per-shot embeddings" in skipped["v2_transformer"]
    for step in ("train", "evaluate on test"):
        assert f"compare [3/3] v0: {step}" in out  # which model and which step is running
    for name in ("baseline", "szabo_huberman", "v0"):
        card = json.loads((root / "models" / name / "model_card.json").read_text())
        assert card["horizons"] == HORIZONS  # from the data card: never repeated in a train section
        assert (root / "models" / name / "intervals.json").exists()
    report = (root / "models" / "report" / "report.md").read_text()
    assert "## Skipped models" in report and "MAE views_5" in report


def test_imported_counters_through_compare(counters_only, tmp_path):
    root, cfg, _ = counters_only
    table = long_table_from(root / "synth", tmp_path / "long.parquet", BAD_ROWS)
    text = _run(["import-counters", "--table", table, "--out", str(tmp_path / "imported"), "--every-collection"])
    assert "unsafe video_id" in text  # the planted bad row is reported, the rest imported
    out = _to_training_data(str(tmp_path / "imported"), tmp_path, cfg)
    assert out.count("counters-only") == 1
    out = _run(["compare", "--data", str(tmp_path / "train_data"), "--out", str(tmp_path / "models"),
                "--config", cfg, "--bootstrap", "0"])
    assert "skipping v1_late_fusion" in out
    metrics = json.loads((tmp_path / "models" / "v0" / "metrics.json").read_text())
    assert sorted(metrics["metrics"]) == sorted(f"{t}_{h}" for t in ("views", "likes") for h in HORIZONS)


def test_a_train_section_chooses_a_subset_and_a_missing_one_is_named(counters_only, tmp_path, capsys):
    root, _, _ = counters_only
    data = root / "train_data"
    sub = tmp_path / "sub.yaml"
    sub.write_text(yaml.safe_dump({"train": {"horizons": [3], "targets": ["views"]}}))
    assert main(["train", "--model", "v0", "--data", str(data), "--out", str(tmp_path / "v0"), "--config", str(sub)]) == 0
    card = json.loads((tmp_path / "v0" / "model_card.json").read_text())
    assert card["targets"] == ["views"] and card["horizons"] == [3]
    assert main(["predict", "--model", str(tmp_path / "v0"), "--data", str(data), "--out", str(tmp_path / "p.parquet")]) == 0
    assert [c for c in pq.read_table(tmp_path / "p.parquet").column_names if c.startswith("total_")] == ["total_views_3"]

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"train": {"horizons": [7]}}))
    capsys.readouterr()
    assert main(["train", "--model", "v0", "--data", str(data), "--out", str(tmp_path / "x"), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error: the training data has no horizon 7" in err and "[1, 3, 5]" in err


def test_neural_models_refuse_counters_only_data(counters_only, tmp_path, capsys):
    root, _, _ = counters_only
    assert main(["train", "--model", "v2", "--data", str(root / "train_data"), "--out", str(tmp_path / "v2")]) == 2
    assert "v2_transformer needs per-shot embeddings" in capsys.readouterr().err
