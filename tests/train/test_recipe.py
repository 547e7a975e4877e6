"""The Ray Train recipe on a real local Ray cluster: a full run, a killed worker, options rejected up front."""

import csv
import json
import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

import trendflow
from tests.train.conftest import TINY
from train.config import TrainConfig
from train.data import iter_local_batches, load_schema, read_split
from train.lightning_module import ForecastModule
from train.model_dir import load_torch_model, read_card
from train.recipe import CKPT_NAME, EVENTS_FILE, RayTrainRecipe, RecipeConfigError


def _cfg(**kw) -> TrainConfig:
    base = {"max_epochs": 4, "model": TINY, "batch_size": 32, "early_stopping_patience": 50}
    return TrainConfig(**{**base, **kw})


def _run(name, train_dir, model_dir, cfg):
    recipe = RayTrainRecipe(name, train_dir, model_dir, cfg)
    try:
        recipe.setup()
        return recipe, recipe.train()
    finally:
        recipe.cleanup()


def test_ray_train_run_writes_card_logs_and_a_round_trippable_model(ray_cluster, train_dir, tmp_path):
    model_dir = str(tmp_path / "v2")
    _, outcome = _run("v2", train_dir, model_dir, _cfg(wandb_mode="offline"))

    card = read_card(model_dir)
    data_card = load_schema(train_dir).card
    assert card["model_name"] == "v2_transformer" and card["model_version"] == "1"
    assert card["training_data_version"] == data_card["training_data_version"]
    assert card["feature_schema_versions"] == data_card["feature_schema_versions"]
    assert card["sampling_policy_version"] == "synthetic"
    assert card["dataprocessor_version"] == trendflow.DATAPROCESSOR_VERSION
    assert card["code_commit"] and card["seed"] == 0 and card["config"]["max_epochs"] == 4
    assert card["validation_metrics"]["val_loss"] > 0 and "epoch" in card["validation_metrics"]
    assert card["restarts"] == 0

    # Local CSV metrics for every epoch, and an offline W&B run.
    with open(os.path.join(model_dir, "metrics.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"val_loss", "train_loss", "epoch", "attempt"} <= set(rows[0])
    assert {int(r["epoch"]) for r in rows} == {0, 1, 2, 3}
    wandb_dir = os.path.join(model_dir, "logs", "wandb")
    assert any(d.startswith("offline-run-") for d in os.listdir(wandb_dir))

    # The saved model predicts exactly like the best Ray Train checkpoint it came from.
    with open(os.path.join(card["best_checkpoint"], CKPT_NAME), "rb") as f:
        ckpt_module = ForecastModule.load_from_checkpoint(f, map_location="cpu").eval()
    saved, meta_features = load_torch_model(model_dir)
    schema = load_schema(train_dir)
    batch = next(iter_local_batches(read_split(train_dir, "test"), schema, meta_features, batch_size=64))
    with torch.inference_mode():
        assert torch.equal(ckpt_module(batch), saved(batch))
    assert outcome.best_metrics["val_loss"] == pytest.approx(card["validation_metrics"]["val_loss"])


def _registered_checkpoints(results_dir: str) -> int:
    """Checkpoints the Ray Train controller has registered (its snapshot file), not merely uploaded."""
    if not os.path.isdir(results_dir):
        return 0
    for run in os.listdir(results_dir):
        snap = os.path.join(results_dir, run, "checkpoint_manager_snapshot.json")
        if os.path.exists(snap):
            try:
                with open(snap) as f:
                    return len(json.load(f).get("checkpoint_results") or [])
            except json.JSONDecodeError:
                return 0  # being rewritten
    return 0


def _kill_rank0_after_first_checkpoint(model_dir: str, killed: dict) -> None:
    """Wait until the first checkpoint is registered, then SIGKILL the training worker (its pid is logged)."""
    events = os.path.join(model_dir, "logs", EVENTS_FILE)
    deadline = time.time() + 240
    while time.time() < deadline:
        pid = None
        if os.path.exists(events):
            with open(events) as f:
                lines = [json.loads(x) for x in f if x.strip()]
            pid = lines[0]["pid"] if lines else None
        if pid and _registered_checkpoints(os.path.join(model_dir, "ray_results")):
            os.kill(pid, signal.SIGKILL)
            killed["pid"] = pid
            return
        time.sleep(0.05)


def test_killed_worker_resumes_from_the_last_checkpoint(ray_cluster, train_dir, tmp_path):
    model_dir = str(tmp_path / "v1")
    killed: dict = {}
    killer = threading.Thread(target=_kill_rank0_after_first_checkpoint, args=(model_dir, killed), daemon=True)
    killer.start()
    # Enough epochs that training is still running when the first checkpoint gets registered (the
    # controller registers reports when it polls, every 2 s).
    cfg = _cfg(max_epochs=25, max_failures=2, wandb_mode="disabled")
    _, outcome = _run("v1", train_dir, model_dir, cfg)
    killer.join(timeout=5)

    assert killed.get("pid"), "the worker was never killed"
    with open(os.path.join(model_dir, "logs", EVENTS_FILE)) as f:
        events = [json.loads(x) for x in f if x.strip()]
    starts = [e for e in events if e["event"] == "train_start"]
    assert len(starts) == 2
    assert starts[0]["start_epoch"] == 0 and starts[0]["pid"] == killed["pid"]
    assert starts[1]["start_epoch"] >= 1, "the restarted worker began from scratch instead of the checkpoint"
    assert starts[1]["pid"] != killed["pid"]
    card = read_card(model_dir)
    assert card["restarts"] == 1
    # Training finished every epoch across the two attempts; the CSV log keeps both attempts.
    with open(os.path.join(model_dir, "metrics.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    after = {int(r["epoch"]) for r in rows if r["attempt"] == "1"}
    before = {int(r["epoch"]) for r in rows if r["attempt"] == "0"}
    assert 0 in before and max(before) >= starts[1]["start_epoch"] - 1  # resumed where attempt 0 had got to
    assert after == set(range(starts[1]["start_epoch"], 25))
    assert np.isfinite(outcome.best_metrics["val_loss"])


@pytest.mark.parametrize("overrides, message", [
    ({"use_gpu": True}, "GPU"),
    ({"num_workers": 8}, "CPUs"),
    ({"max_shots": 8}, "max-shots"),
    ({"wandb_mode": "online"}, "WANDB_API_KEY"),
    ({"head_weights": {"views_99": 2.0}}, "unknown heads"),
    ({"batch_size": 1000}, "batch_size"),
])
def test_incompatible_options_are_rejected_up_front(ray_cluster, train_dir, tmp_path, monkeypatch, overrides, message):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    recipe = RayTrainRecipe("v2", train_dir, str(tmp_path / "m"), _cfg(**overrides))
    with pytest.raises(RecipeConfigError, match=message):
        recipe.setup()


def test_tabular_models_are_not_ray_train_models(train_dir, tmp_path):
    with pytest.raises(RecipeConfigError, match="tabular"):
        RayTrainRecipe("v0", train_dir, str(tmp_path / "m")).setup()


def test_wandb_is_offline_unless_a_key_or_mode_is_configured():
    from train.config import resolve_wandb_mode
    assert resolve_wandb_mode("auto", {}) == "offline"
    assert resolve_wandb_mode("auto", {"WANDB_API_KEY": "k"}) == "online"
    assert resolve_wandb_mode("auto", {"WANDB_API_KEY": "k", "WANDB_MODE": "offline"}) == "offline"
    assert resolve_wandb_mode("disabled", {"WANDB_API_KEY": "k"}) == "disabled"
