"""`python -m tune.study`: configs retrained over seeds through the real `train_model`, rows kept as they
finish (a rerun trains nothing twice), and the paired comparison by seed."""

import csv
import os

import pytest
import yaml

from tests.tune.conftest import TINY_MODEL
from tune.study import main, summary


def test_runs_train_once_per_seed_and_a_rerun_only_rewrites_the_summary(ray_cluster, train_dir, tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({"train": {"model": TINY_MODEL, "max_epochs": 2, "wandb_mode": "disabled",
                                                "cpus_per_worker": 0.9}}))
    out = tmp_path / "study"
    args = ["--data", train_dir, "--out", str(out), "--seeds", "0", "1", "--run", f"tiny=v1:{config}"]
    assert main(args) == 0
    with open(out / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["seed"]) for r in rows) == [0, 1] and all(r["run"] == "tiny" for r in rows)
    for r in rows:  # a trained model per seed, evaluated on val and test
        assert os.path.exists(out / "tiny" / f"seed{r['seed']}" / "model_card.json")
        assert float(r["val_mae"]) > 0 and float(r["test_mae"]) > 0 and float(r["val_head_loss"]) > 0
    capsys.readouterr()
    assert main(args) == 0  # everything is in runs.csv already: nothing is trained again
    assert "[study" not in capsys.readouterr().out
    assert len(list(csv.DictReader(open(out / "runs.csv")))) == 2
    assert "| tiny | 2 |" in (out / "study.md").read_text()


def test_summary_pairs_runs_by_seed():
    rows = [{"run": run, "seed": seed, "val_mae": v, "test_mae": t, "val_head_loss": 0.1, "best_epoch": 3}
            for run, seed, v, t in [("a", 0, 0.40, 0.70), ("a", 1, 0.50, 0.80), ("a", 2, 0.45, 0.90),
                                    ("b", 0, 0.50, 0.60), ("b", 1, 0.50, 0.90), ("b", 2, 0.55, 1.00)]]
    text = summary(rows, ["a", "b"], [("a", "b")])
    assert "| a | 3 | 0.450 ± 0.050 | 0.800 ± 0.100 |" in text
    val = next(line for line in text.splitlines() if line.startswith("| val |"))
    # a − b per seed: -0.10, 0.00, -0.10 → mean -0.067; a better on 2 of 3
    assert "| -0.100 | +0.000 | -0.100 | -0.067 ± 0.058 | 2/3 |" in val
    test = next(line for line in text.splitlines() if line.startswith("| test |"))
    assert "| +0.100 | -0.100 | -0.100 |" in test and "| 2/3 |" in test


@pytest.mark.parametrize("args, message", [
    (["--run", "nomodel="], "expected NAME=MODEL"),
    (["--run", "a=v1", "--pair", "a:zz"], "unknown runs ['zz']"),
])
def test_bad_runs_and_pairs_exit_2(tmp_path, capsys, args, message):
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "o"), *args]) == 2
    assert message in capsys.readouterr().err
