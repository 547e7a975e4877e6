"""Fixtures for the sweep tests: the small synthetic training set and a tiny sweep config."""

import yaml

# The small synthetic training set and the tiny model sizes of the training tests (one definition).
from tests.train.conftest import TINY as TINY_MODEL
from tests.train.conftest import train_dir  # noqa: F401  (a fixture)


def write_sweep_config(path, tune: dict | None = None, train: dict | None = None) -> str:
    """A sweep YAML: a tiny v1/v2 base config and a small space, no re-ranking (overridable per test)."""
    base_tune = {"max_epochs": 3, "grace_period": 1, "reduction_factor": 2, "rerank_top": 0,
                 "space": {"lr": {"dist": "loguniform", "low": 1e-3, "high": 1e-2},
                           "dropout": {"dist": "uniform", "low": 0.0, "high": 0.3}}}
    base_train = {"model": TINY_MODEL, "cpus_per_worker": 0.9, "wandb_mode": "disabled"}
    doc = {"tune": {**base_tune, **(tune or {})}, "train": {**base_train, **(train or {})}}
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    return str(path)
