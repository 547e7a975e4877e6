"""A user's mistake on the training commands: `error: ...` naming the problem, exit 2, no traceback."""

import json
import os
import subprocess
import sys

import pytest

from trendflow.cli import main


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def baseline_dir(train_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_baseline") / "baseline"
    assert main(["train", "--model", "baseline", "--data", train_dir, "--out", str(d)]) == 0
    return d


def test_evaluate_on_a_card_without_its_fields(baseline_dir, train_dir, tmp_path, capsys):
    card = json.loads((baseline_dir / "model_card.json").read_text())
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in baseline_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model_card.json").write_text(json.dumps({k: v for k, v in card.items()
                                                        if k not in ("targets", "horizons")}))
    assert main(["evaluate", "--model", str(broken), "--data", train_dir, "--out", str(tmp_path / "m.json")]) == 2
    err = _err(capsys)
    assert err.startswith("error: ") and "lacks ['targets', 'horizons']" in err


def test_evaluate_on_a_missing_model_or_data_folder(baseline_dir, train_dir, tmp_path, capsys):
    assert main(["evaluate", "--model", str(baseline_dir), "--data", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "m.json")]) == 2
    assert f"training data {tmp_path / 'nope'} does not exist" in _err(capsys)
    assert main(["evaluate", "--model", str(tmp_path / "no_model"), "--data", train_dir,
                 "--out", str(tmp_path / "m.json")]) == 2
    assert "model folder" in _err(capsys)


def test_compare_on_a_missing_data_folder_fails_before_ray_starts(tmp_path):
    # A fresh process, so that nothing else has started Ray: the check must come before ray.init.
    env = {**os.environ, "RAY_ADDRESS": ""}
    proc = subprocess.run([sys.executable, "-m", "trendflow.cli", "compare", "--data", str(tmp_path / "missing"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "error: training data" in proc.stderr and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr and "Ray instance" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


def test_build_dataset_with_a_missing_temporal_table(tmp_path, capsys):
    missing = tmp_path / "missing.parquet"
    assert main(["build-dataset", "--temporal", str(missing), "--out", str(tmp_path / "t")]) == 2
    err = _err(capsys)
    assert f"temporal table {missing} not found" in err


@pytest.mark.parametrize("flag, field", [("--max-epochs", "max_epochs"), ("--num-workers", "num_workers")])
def test_train_with_zero_epochs_or_workers(train_dir, tmp_path, capsys, flag, field):
    assert main(["train", "--model", "v1", "--data", train_dir, "--out", str(tmp_path / "m"), flag, "0"]) == 2
    err = _err(capsys)
    assert f"train.{field}" in err and "greater than or equal to 1" in err


def test_train_an_unknown_model(train_dir, tmp_path, capsys):
    assert main(["train", "--model", "v3", "--data", train_dir, "--out", str(tmp_path / "m")]) == 2
    err = _err(capsys)
    assert "unknown model 'v3'" in err and "v0_content" in err  # the registered names are listed


def test_models_lists_the_registry(capsys):
    from train.registry import list_models
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in list_models():
        assert name in out
    assert "needs per-shot embeddings" in out
