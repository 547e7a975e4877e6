"""A tiny sweep end to end on a real local Ray cluster: trials are Ray Train runs of the real recipe, the
data is read once, the outputs are complete and consistent, and `trendflow train` accepts best.yaml."""

import contextlib
import csv
import glob
import io
import json
import math
import os
import shutil
import time

import pytest
from ray.tune import Callback

from tests.tune.conftest import TINY_MODEL, write_sweep_config
from train.config import load_train_config
from train.model_dir import read_card
from trendflow.cli import main
from tune.sweep import run_sweep


class DeleteDataWhenTheFirstTrialStarts(Callback):
    """Removes TRAIN_DIR once the sweep driver has read it: the trials must not need it any more."""

    def __init__(self, train_dir: str):
        self.train_dir = train_dir

    def on_trial_start(self, iteration, trials, trial, **info):
        shutil.rmtree(self.train_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def sweep(ray_cluster, train_dir, tmp_path_factory):
    """One sweep of v2: 3 trials (the first the default config), 3 epochs, 2 at a time, ASHA; then the best
    trial and the default config re-ranked over 2 seeds."""
    root = tmp_path_factory.mktemp("sweep")
    data = str(root / "data")
    shutil.copytree(train_dir, data)
    config = write_sweep_config(root / "sweep.yaml", tune={"rerank_top": 1, "rerank_seeds": 2, "space": {
        "lr": {"dist": "loguniform", "low": 1e-3, "high": 1e-2},
        "d_model": {"dist": "choice", "values": [16, 32]},
        "head_weights": {"views_14": {"dist": "uniform", "low": 0.5, "high": 2.0}}}},
        train={"wandb_mode": "offline"})
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # the progress lines of the Tune callbacks on this driver
        outcome = run_sweep("v2", data, str(root / "out"), samples=3, config_path=config,
                            callbacks=[DeleteDataWhenTheFirstTrialStarts(data)])
    return {"outcome": outcome, "out": str(root / "out"), "config": config, "data": data,
            "printed": printed.getvalue(), "free_cpus": _free_cpus_once_settled(ray_cluster)}


def _free_cpus_once_settled(ray, timeout_s: float = 30.0) -> float:
    """Free CPUs once the stopped trials' actors are gone (their deaths are asynchronous)."""
    deadline, total = time.time() + timeout_s, ray.cluster_resources()["CPU"]
    while (free := ray.available_resources().get("CPU", 0.0)) < total and time.time() < deadline:
        time.sleep(0.5)
    return free


def _rows(out: str) -> list[dict]:
    with open(os.path.join(out, "trials.csv"), newline="") as f:
        return list(csv.DictReader(f))


def test_every_trial_trained_on_shared_data_and_reported_each_epoch(sweep):
    assert not os.path.exists(sweep["data"])  # deleted when the first trial started: no trial read it
    rows = _rows(sweep["out"])
    assert len(rows) == 3
    for r in rows:
        assert math.isfinite(float(r["val_head_loss"])), r
        assert 1 <= int(r["epochs"]) <= 3 and 1 <= int(r["best_epoch"]) <= int(r["epochs"])
        assert r["ended"] in ("budget", "asha", "patience")
        assert 0.0 <= float(r["val_head_loss"]) and -1.0 <= float(r["val_spearman_views_14"]) <= 1.0
    assert sweep["outcome"].concurrency == 2  # 2 × (0.05 + 0.9 CPU) on the 2-CPU test cluster
    # Every trial's Ray Train worker group was released: the sweep holds no CPU once it has returned.
    assert sweep["free_cpus"] == pytest.approx(2.0)
    # The first trial is the default config: the train section's values and the model's defaults.
    default = [r for r in rows if r["default"] == "True"]
    assert len(default) == 1 and float(default[0]["lr"]) == load_train_config(sweep["config"]).lr
    assert int(default[0]["d_model"]) == TINY_MODEL["d_model"] and float(default[0]["head_weights.views_14"]) == 1.0


def test_trials_are_sorted_by_the_metric_and_the_best_is_first(sweep):
    rows = _rows(sweep["out"])
    losses = [float(r["val_head_loss"]) for r in rows]
    assert losses == sorted(losses)
    table = open(os.path.join(sweep["out"], "trials.md")).read().splitlines()
    assert table[0].startswith("| rank | trial | val_head_loss |") and len(table) == 2 + len(rows)
    assert rows[0]["trial_id"] in table[2]
    with open(os.path.join(sweep["out"], "trials.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(sweep["out"], "summary.json")) as f:
        summary = json.load(f)
    assert summary["trials"] == 3 and summary["epochs"] == sum(int(r["epochs"]) for r in rows)
    assert summary["best"]["trial_id"] == rows[0]["trial_id"] and summary["chosen"] == sweep["outcome"].best["trial_id"]
    assert summary["default"]["trial_id"] == next(r["trial_id"] for r in rows if r["default"] == "True")
    assert 0 < summary["trial_span_s"] <= summary["driver_wall_s"] + 1 and summary["trials_per_hour"] > 0


def test_the_best_trial_and_the_default_are_reranked_over_seeds_and_the_best_mean_is_chosen(sweep):
    rows = {r["trial_id"]: r for r in _rows(sweep["out"])}
    best_single = min(rows.values(), key=lambda r: float(r["val_head_loss"]))
    default = next(r for r in rows.values() if r["default"] == "True")
    with open(os.path.join(sweep["out"], "rerank.csv"), newline="") as f:
        runs = list(csv.DictReader(f))
    with open(os.path.join(sweep["out"], "summary.json")) as f:
        candidates = json.load(f)["rerank"]["candidates"]
    assert {c["trial_id"] for c in candidates} == {best_single["trial_id"], default["trial_id"]}
    assert len(runs) == 2 * len(candidates) and {int(r["seed"]) for r in runs} == {100, 101}
    for c in candidates:  # every candidate trained once per seed, and its mean is over those runs
        assert c["seeds"] == 2
    means = [c["val_head_loss_mean"] for c in candidates]
    assert means == sorted(means)
    chosen = sweep["outcome"].best
    assert chosen["trial_id"] == candidates[0]["trial_id"] and chosen["val_head_loss"] == pytest.approx(means[0])
    per_seed = {(int(r["candidate"]), int(r["seed"])): float(r["val_head_loss"]) for r in runs}
    assert any(math.isclose(means[0], (per_seed[(i, 100)] + per_seed[(i, 101)]) / 2) for i in range(len(candidates)))
    assert float(chosen["lr"]) == float(rows[chosen["trial_id"]]["lr"])  # best.yaml is that trial's config
    lines = [x for x in sweep["printed"].splitlines() if x.startswith("[rerank")]
    assert sum(" | start " in x for x in lines) == len(runs) and "rerank finished" in lines[-1]
    table = open(os.path.join(sweep["out"], "rerank.md")).read()
    assert "seed 100" in table and "(default)" in table


def test_progress_and_offline_wandb_runs_of_every_trial(sweep):
    lines = [x for x in sweep["printed"].splitlines() if x.startswith("[tune")]
    assert sum(" | start " in x for x in lines) == 3 and sum(" | done " in x for x in lines) == 3
    assert "sweep finished" in lines[-1] and "3 done" in lines[-1]
    best_trial = min(float(r["val_head_loss"]) for r in _rows(sweep["out"]))
    assert f"best val_head_loss {best_trial:.4f}" in lines[-1]
    trial_dirs = glob.glob(os.path.join(sweep["out"], "ray_results", "sweep", "run_trial_*"))
    assert len(trial_dirs) == 3
    for d in trial_dirs:  # rank 0 of each trial's Ray Train run logged offline; synced with the trial
        assert glob.glob(os.path.join(d, "model", "logs", "wandb", "offline-run-*")), d


def test_trendflow_train_accepts_best_yaml_unchanged(sweep, train_dir, tmp_path, capsys):
    best_yaml = os.path.join(sweep["out"], "best.yaml")
    best = sweep["outcome"].best
    cfg = load_train_config(best_yaml)
    assert cfg.lr == pytest.approx(float(best["lr"])) and cfg.max_epochs == 3
    assert cfg.model["d_model"] == int(best["d_model"])
    assert cfg.head_weights["views_14"] == pytest.approx(float(best["head_weights.views_14"]))
    model_dir = str(tmp_path / "best_v2")
    assert main(["train", "--model", "v2", "--data", train_dir, "--out", model_dir, "--config", best_yaml]) == 0
    card = read_card(model_dir)
    assert card["config"]["lr"] == pytest.approx(cfg.lr) and card["config"]["model"] == cfg.model
    assert card["validation_metrics"]["val_head_loss"] > 0
