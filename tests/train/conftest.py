"""Fixtures for the training tests: a small synthetic training set, and v1/v2 trained once per session
through the real path (`trendflow train` → `train.pipeline.train_model` → Ray Train recipe)."""

import contextlib
import io

import pytest
import yaml

from train.synthetic_data import write_synthetic_training_data

TINY = {"d_model": 16, "hidden": 32}  # keyword overrides for v1/v2: fast on 2 CPU cores
SESSION_EPOCHS = 4


@pytest.fixture(scope="session")
def train_dir(tmp_path_factory):
    """TRAIN_DIR with 240 synthetic videos (train/val/test by channel), 8-d visual and 4-d audio shots."""
    d = tmp_path_factory.mktemp("train_data")
    write_synthetic_training_data(str(d))
    return str(d)


def tiny_train_section(**kw) -> dict:
    return {"model": TINY, "max_epochs": SESSION_EPOCHS, "batch_size": 32, "early_stopping_patience": 50,
            "wandb_mode": "disabled", **kw}


@pytest.fixture(scope="session")
def neural_models(ray_cluster, train_dir, tmp_path_factory):
    """{canonical name: {"dir": MODEL_DIR, "output": console text}} for v1 and v2, each one short real run.

    v1 goes through the CLI exactly as a user types it (its console output is kept for the progress
    test); v2 through `train_model` with an offline W&B run (the W&B test reads it).
    """
    from train.config import TrainConfig
    from train.pipeline import train_model
    from trendflow.cli import main

    root = tmp_path_factory.mktemp("neural_models")
    cfg_path = root / "train.yaml"
    cfg_path.write_text(yaml.safe_dump({"train": tiny_train_section()}))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["train", "--model", "v1", "--data", train_dir, "--out", str(root / "v1"),
                     "--config", str(cfg_path)]) == 0
    lines: list[str] = []
    train_model("v2", train_dir, str(root / "v2"), TrainConfig(**tiny_train_section(wandb_mode="offline")),
                log=lines.append)
    return {"v1_late_fusion": {"dir": str(root / "v1"), "output": out.getvalue()},
            "v2_transformer": {"dir": str(root / "v2"), "output": "\n".join(lines)}}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models on a shared 2-core box: 2 OpenMP threads fighting other processes made steps ~100×
    slower than 1 thread (measured); Ray Train workers get 1 thread per CPU the same way."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
