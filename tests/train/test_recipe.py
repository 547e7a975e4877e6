"""The Ray Train recipe on a real local Ray cluster: a full run (card, metrics, W&B, checkpoint round trip),
console progress, a killed worker on S3 storage, options rejected up front."""

import csv
import io
import json
import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

import trendflow
from tests.train.conftest import SESSION_EPOCHS, tiny_train_section
from train.config import RecipeConfigError, TrainConfig
from train.data import TrainDir, iter_local_batches, load_schema, read_split
from train.lightning_module import ForecastModule
from train.model_dir import ModelDir, load_torch_model, read_card
from train.recipe import CKPT_NAME, EVENTS_FILE, RayTrainRecipe
from train.synthetic_data import write_synthetic_training_data
from train.uris import SharedStorageError, require_shared


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_ray_train_run_writes_card_metrics_and_a_round_trippable_model(neural_models, train_dir):
    model_dir = neural_models["v2_transformer"]["dir"]
    card = read_card(model_dir)
    data_card = load_schema(train_dir).card
    assert card["model_name"] == "v2_transformer" and card["model_version"] == "1"
    assert card["training_data_version"] == data_card["training_data_version"]
    assert card["training_data_uri"] == train_dir
    assert card["targets"] == ["views", "likes"] and card["horizons"] == [7, 14, 21]  # from the data card
    assert card["feature_schema_versions"] == data_card["feature_schema_versions"]
    assert card["sampling_policy_version"] == "synthetic"
    assert card["dataprocessor_version"] == trendflow.DATAPROCESSOR_VERSION
    assert card["code_commit"] and card["seed"] == 0 and card["config"]["max_epochs"] == SESSION_EPOCHS
    assert card["validation_metrics"]["val_loss"] > 0 and "epoch" in card["validation_metrics"]
    assert card["restarts"] == 0 and len(card["attempts"]) == 1
    assert os.path.exists(os.path.join(model_dir, "intervals.json"))

    # Every epoch once in metrics.csv (collected by the driver from the run's storage), and an offline W&B run.
    with open(os.path.join(model_dir, "metrics.csv"), "rb") as f:
        rows = _csv_rows(f.read())
    assert {"val_loss", "train_loss", "val_mae", "epoch", "attempt"} <= set(rows[0])
    assert [int(r["epoch"]) for r in rows] == list(range(SESSION_EPOCHS))
    assert all(float(r["val_loss"]) > 0 for r in rows)
    with open(os.path.join(model_dir, EVENTS_FILE)) as f:
        assert sum(json.loads(x)["event"] == "epoch_end" for x in f) == SESSION_EPOCHS
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


def test_train_shows_each_epoch_and_its_validation_loss_on_the_console(neural_models):
    out = neural_models["v1_late_fusion"]["output"]  # what `trendflow train --model v1 ...` printed
    assert "train v1_late_fusion: 1 Ray Train worker(s)" in out
    for epoch in range(1, SESSION_EPOCHS + 1):
        line = next((x for x in out.splitlines() if f"v1_late_fusion epoch {epoch}/{SESSION_EPOCHS}:" in x), None)
        assert line is not None, f"no progress line for epoch {epoch} in:\n{out}"
        assert "val_loss" in line and "train_loss" in line
    assert "trained v1_late_fusion" in out and "val MAE" in out


def _registered_checkpoints(fs, results: str) -> int:
    """Checkpoints the Ray Train controller has registered (its snapshot file on S3), not merely uploaded."""
    fs.invalidate_cache()
    for snap in fs.glob(f"{results}/*/checkpoint_manager_snapshot.json"):
        try:
            return len(json.loads(fs.cat_file(snap)).get("checkpoint_results") or [])
        except (json.JSONDecodeError, FileNotFoundError):
            return 0  # being rewritten
    return 0


def _train_worker_pids() -> list[int]:
    # Ray's GCS actor table of this test's cluster (ray.util.state needs the dashboard, which tests disable).
    from ray._private import state
    return [a["Pid"] for a in state.actors().values()
            if a.get("ActorClassName") == "RayTrainWorker" and a.get("State") == "ALIVE" and a.get("Pid")]


def _kill_a_worker_after_first_checkpoint(fs, results: str, killed: dict) -> None:
    deadline = time.time() + 400
    while time.time() < deadline:
        if _registered_checkpoints(fs, results):
            pids = _train_worker_pids()
            if pids:
                os.kill(pids[-1], signal.SIGKILL)
                killed["pid"] = pids[-1]
                return
        time.sleep(0.2)


def test_two_workers_on_s3_resume_from_the_s3_checkpoint_after_a_worker_is_killed(ray_cluster, s3_server):
    import fsspec
    opts = s3_server["storage_options"]
    train_dir = TrainDir("s3://trendflow/kill/train_data", opts)
    write_synthetic_training_data(train_dir)
    model_dir = ModelDir("s3://trendflow/kill/models/v1", opts)
    fs = fsspec.filesystem("s3", client_kwargs={"endpoint_url": opts["endpoint_url"]}, key=opts["key"],
                           secret=opts["secret"], skip_instance_cache=True)
    killed: dict = {}
    killer = threading.Thread(target=_kill_a_worker_after_first_checkpoint,
                              args=(fs, "trendflow/kill/models/v1/ray_results", killed), daemon=True)
    killer.start()
    epochs = 12  # still training when the first checkpoint is registered (the controller polls every few s)
    cfg = TrainConfig(**tiny_train_section(max_epochs=epochs, num_workers=2, cpus_per_worker=0.5, max_failures=2))
    lines: list[str] = []
    from train.pipeline import train_model
    card = train_model("v1", train_dir, model_dir, cfg, log=lines.append)
    killer.join(timeout=5)

    assert killed.get("pid"), "no worker was killed"
    assert card["restarts"] == 1, "\n".join(lines)
    first, second = card["attempts"]
    assert first["start_epoch"] == 0 and second["start_epoch"] >= 1, "the new worker group began from scratch"
    assert any("restarted (attempt 2)" in x for x in lines)
    assert card["best_checkpoint"].startswith("s3://trendflow/kill/models/v1/ray_results/")
    assert card["num_workers"] == 2 and card["training_data_uri"] == "s3://trendflow/kill/train_data"
    # metrics.csv on S3 is complete: every epoch exactly once, the resumed ones from the second attempt.
    rows = _csv_rows(model_dir.read_bytes("metrics.csv"))
    assert [int(r["epoch"]) for r in rows] == list(range(epochs))
    assert {r["attempt"] for r in rows if int(r["epoch"]) >= second["start_epoch"]} == {"1"}
    assert all(int(r["world_size"]) == 2 for r in rows)
    assert np.isfinite([float(r["val_loss"]) for r in rows]).all()
    assert model_dir.exists("model.pt") and model_dir.exists("intervals.json")


def test_a_local_storage_path_is_refused_on_a_multi_node_cluster():
    require_shared("s3://bucket/ray_results", "storage_path", n_nodes=3)  # shared: fine
    require_shared("/tmp/ray_results", "storage_path", n_nodes=1)  # one node: fine
    with pytest.raises(SharedStorageError, match="use shared storage"):
        require_shared("/tmp/ray_results", "Ray Train storage_path", n_nodes=2)


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
    recipe = RayTrainRecipe("v2", train_dir, str(tmp_path / "m"), TrainConfig(**tiny_train_section(**overrides)))
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
