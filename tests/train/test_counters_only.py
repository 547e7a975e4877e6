"""A counters-only dataset (no video files, no store) through temporal → build-dataset → compare, with the
horizons said once in `targets:` and nowhere else.

The data helper is making the synthetic corpus and the temporal step accept short horizons (1/3/5 days)
and optional metadata; until then this test uses the weekly snapshots of `trendflow synth` (7/14 days).
"""

import contextlib
import io
import json

import pyarrow.parquet as pq
import pytest
import yaml

from trendflow.cli import main

HORIZONS = [7, 14]


@pytest.fixture(scope="module")
def counters_only(tmp_path_factory):
    root = tmp_path_factory.mktemp("counters_only")
    cfg = root / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"targets": {"horizons_days": HORIZONS}}))  # said once; no `train:` section
    assert main(["synth", "--out", str(root / "dataset"), "--videos", "160", "--seed", "3", "--no-video-files"]) == 0
    assert main(["temporal", "--dataset", str(root / "dataset"), "--out", str(root / "temporal.parquet"),
                 "--config", str(cfg)]) == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # no --store and no storage.store: counters-only data
        assert main(["build-dataset", "--temporal", str(root / "temporal.parquet"), "--out",
                     str(root / "train_data"), "--config", str(cfg)]) == 0
    return root, cfg, out.getvalue()


def test_build_dataset_without_a_store_is_counters_only_and_says_so_once(counters_only):
    root, cfg, out = counters_only
    assert out.count("counters-only") == 1 and "with problems" not in out
    card = json.loads((root / "train_data" / "dataset_card.json").read_text())
    assert card["content"] == "none" and card["content_features"] == [] and card["problems"] == []
    assert card["horizons"] == HORIZONS and card["targets"] == ["views", "likes"]
    assert card["count_t0_columns"] == {"views": "views_s1", "likes": "likes_s1"}
    assert card["coverage"]["visual"] == card["coverage"]["audio"] == 0


def test_compare_trains_what_the_data_supports_and_skips_the_rest(counters_only, capsys):
    root, cfg, _ = counters_only
    capsys.readouterr()
    assert main(["compare", "--data", str(root / "train_data"), "--out", str(root / "models"),
                 "--config", str(cfg), "--bootstrap", "10"]) == 0
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
    assert "## Skipped models" in report and "MAE views_14" in report


def test_a_train_section_chooses_a_subset_and_a_missing_one_is_named(counters_only, tmp_path, capsys):
    root, _, _ = counters_only
    data = root / "train_data"
    sub = tmp_path / "sub.yaml"
    sub.write_text(yaml.safe_dump({"train": {"horizons": [14], "targets": ["views"]}}))
    assert main(["train", "--model", "v0", "--data", str(data), "--out", str(tmp_path / "v0"), "--config", str(sub)]) == 0
    card = json.loads((tmp_path / "v0" / "model_card.json").read_text())
    assert card["targets"] == ["views"] and card["horizons"] == [14]
    assert main(["predict", "--model", str(tmp_path / "v0"), "--data", str(data), "--out", str(tmp_path / "p.parquet")]) == 0
    assert [c for c in pq.read_table(tmp_path / "p.parquet").column_names if c.startswith("total_")] == ["total_views_14"]

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"train": {"horizons": [21]}}))
    capsys.readouterr()
    assert main(["train", "--model", "v0", "--data", str(data), "--out", str(tmp_path / "x"), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error: the training data has no horizon 21" in err and "[7, 14]" in err


def test_neural_models_refuse_counters_only_data(counters_only, tmp_path, capsys):
    root, _, _ = counters_only
    data = root / "train_data"
    assert main(["train", "--model", "v2", "--data", str(data), "--out", str(tmp_path / "v2")]) == 2
    assert "v2_transformer needs per-shot embeddings" in capsys.readouterr().err
