"""The `train` config section: what is trained, on which data, with which resources.

    # train.yaml                       # used by: trendflow train --model v2 --data T --out M --config train.yaml
    train:
      max_epochs: 60
      model: {d_model: 64, n_layers: 2}   # keyword overrides for the registered model
      num_workers: 1                      # Ray Train workers; set use_gpu: true on a GPU cluster

Loaded with `trendflow.config.load_section(path, "train", TrainConfig)`; environment overrides
such as `TRENDFLOW__TRAIN__MAX_EPOCHS=5` apply. Defaults are sized for a few hundred videos on a
laptop CPU: a small model, dropout and weight decay, and early stopping on validation loss.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

from pydantic import Field, field_validator

from trendflow.config import Section

MAX_SHOTS_LIMIT = 256  # SPEC §4: one token per shot, at most 256 shots per modality


class RecipeConfigError(ValueError):
    """Options that cannot work together; the message says how to fix them."""


class TrainConfig(Section):
    # ---------------------------------------------------------------- what is predicted
    targets: list[str] | None = Field(
        None, description="A subset of the training data's targets (default: all of them). Targets and "
                          "horizons are declared once, in the `targets:` section; the dataset card carries them.")
    horizons: list[int] | None = Field(
        None, description="A subset of the training data's horizons in days, ascending (default: all of them).")
    seed: int = Field(0, description="Seed for weights, data order and bootstrap.")

    # ---------------------------------------------------------------- inputs
    max_shots: int = Field(MAX_SHOTS_LIMIT, ge=1, le=MAX_SHOTS_LIMIT,
                           description="Shots per modality fed to the neural models (≤ 256).")
    use_content_aggregates: bool = Field(
        True, description="Feed the content aggregates (quality, pacing, loudness...) to v1/v2 through their "
                          "own narrow branch, next to the temporal meta features.")
    categorical_features: bool = Field(
        False, description="Feed the one-hot category/language/country columns to v1/v2 (off by default: "
                           "they let small-data networks memorise channels). v0 always sees them.")

    # ---------------------------------------------------------------- optimisation (v1/v2)
    model: dict[str, Any] = Field(default_factory=dict, description="Keyword overrides for the registered "
                                  "model (e.g. d_model, n_layers, dropout); they win over its defaults.")
    batch_size: int = Field(32, ge=1, description="Batch size per worker.")
    max_epochs: int = Field(200, ge=1, description="Upper bound on epochs; early stopping usually ends sooner.")
    early_stopping_patience: int = Field(25, ge=1, description="Epochs without val_loss improvement "
                                                               "before stopping.")
    lr: float = Field(2e-3, gt=0, description="AdamW learning rate.")
    weight_decay: float = Field(0.05, ge=0, description="AdamW weight decay (regularises the small data regime).")
    loss: Literal["huber", "mse"] = Field("huber", description="Per-head regression loss on log1p targets.")
    huber_delta: float = Field(1.0, gt=0, description="Huber transition point (log1p units).")
    head_weights: dict[str, float] = Field(
        default_factory=dict, description="Loss weight per head '<target>_<h>' (default 1 for each).")
    monotonic_penalty: float = Field(
        0.1, ge=0, description="Weight of the soft penalty when a shorter horizon's prediction exceeds a "
                               "longer one's (growth deltas are cumulative).")

    # ---------------------------------------------------------------- Ray Train resources
    num_workers: int = Field(1, ge=1, description="Ray Train workers (data-parallel).")
    use_gpu: bool = Field(False, description="One GPU per worker; rejected up front when the cluster has none.")
    cpus_per_worker: float = Field(1.0, gt=0, description="CPUs reserved per worker; keep spare CPUs for "
                                                          "Ray Data on small machines.")
    max_failures: int = Field(2, ge=0, description="Worker-group restarts allowed; training resumes from "
                                                   "the last checkpoint.")
    checkpoints_to_keep: int = Field(2, ge=1, description="Checkpoints kept (best by val_loss).")
    storage_path: str | None = Field(None, description="Ray Train storage (local path or s3://); default "
                                                       "<MODEL_DIR>/ray_results.")
    ray_address: str | None = Field(None, description="Ray cluster address; default starts a local one.")

    # ---------------------------------------------------------------- prediction intervals
    interval_level: float = Field(0.8, gt=0, lt=1, description="Coverage of every head's split-conformal "
                                  "interval, calibrated on the validation split (train.intervals).")
    interval_min_bucket_rows: int = Field(
        30, ge=1, description="Labelled validation videos an age bucket needs for its own interval width; "
                              "smaller buckets use the head's global width. At 30 rows and 80% the width is the "
                              "25th smallest residual, whose coverage has a std of ~0.07 (Beta(25, 6)); at 10 "
                              "rows ~0.11.")

    # ---------------------------------------------------------------- tracking
    wandb_mode: Literal["auto", "offline", "online", "disabled"] = Field(
        "auto", description="Weights & Biases mode. auto: $WANDB_MODE if set, else online when WANDB_API_KEY "
                            "is set, else offline. 'online' needs WANDB_API_KEY.")
    wandb_project: str = Field("trendflow", description="W&B project name.")

    # ---------------------------------------------------------------- gradient boosting (v0)
    lightgbm: dict[str, Any] = Field(
        default_factory=dict, description="LGBMRegressor parameters for v0/v0_content, over the defaults in "
                                          "train.baselines.DEFAULT_LGBM_PARAMS (early stopping on val: 50 rounds).")

    @field_validator("horizons")
    @classmethod
    def _ascending(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or sorted(set(v)) != list(v)):
            raise ValueError(f"horizons must be non-empty, unique and ascending, got {v}")
        return v

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or len(set(v)) != len(v)):
            raise ValueError(f"targets must be non-empty and unique, got {v}")
        return v

    def head_weight_matrix(self, targets: Sequence[str], horizons: Sequence[int]) -> list[list[float]]:
        """(T, H) loss weights for the heads of the data (`targets` × `horizons`, from its card)."""
        heads = [f"{t}_{h}" for t in targets for h in horizons]
        unknown = set(self.head_weights) - set(heads)
        if unknown:
            raise ValueError(f"head_weights has unknown heads {sorted(unknown)}; heads: {heads}")
        return [[float(self.head_weights.get(f"{t}_{h}", 1.0)) for h in horizons] for t in targets]


def load_train_config(path: str | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The `train` section of `path` (defaults when None), env overrides, then `overrides`."""
    from trendflow.config import load_section
    return load_section(path, "train", TrainConfig, overrides)


def resolve_wandb_mode(mode: str, environ=None) -> str:
    """The W&B mode to run with: offline unless the user configured a key (or chose a mode)."""
    import os
    env = os.environ if environ is None else environ
    if mode != "auto":
        return mode
    if env.get("WANDB_MODE") in ("offline", "online", "disabled"):
        return env["WANDB_MODE"]
    return "online" if env.get("WANDB_API_KEY") else "offline"
