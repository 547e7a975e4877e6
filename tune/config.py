"""The `tune` config section: the search space of a sweep and how the sweep runs.

    # sweep.yaml     used by: trendflow tune --model v2 --data T --samples 16 --out S --config sweep.yaml
    tune:
      max_epochs: 40               # ASHA's max_t; every trial trains at most this many epochs
      space:
        lr: {dist: loguniform, low: 3.0e-4, high: 1.0e-2}
        d_model: {dist: choice, values: [32, 64, 96]}
        head_weights: {views_14: {dist: uniform, low: 0.5, high: 2.0}}
    train:                         # the base config every trial starts from (a normal `train` section)
      cpus_per_worker: 0.9

A dimension is one of `{dist: loguniform|uniform, low, high}` or `{dist: choice, values: [...]}`; a field
left out of `space` keeps the value of the `train` section (or the model's default) in every trial.
Loaded with `load_tune_config(path)`; environment overrides `TRENDFLOW__TUNE__<FIELD>=value` apply.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from trendflow.config import Section

FIXED_METRICS = {"val_head_loss": "min", "val_loss": "min", "val_mae": "min"}
SPEARMAN_METRIC = re.compile(r"^val_spearman_(\w+_\d+)$")


class _Range(Section):
    low: float = Field(description="Lower bound (inclusive).")
    high: float = Field(description="Upper bound; must be above `low`.")

    @model_validator(mode="after")
    def _not_empty(self):
        if not self.low < self.high:
            raise ValueError(f"empty range: low={self.low} must be below high={self.high}")
        return self


class Uniform(_Range):
    """Uniform between low and high."""
    dist: Literal["uniform"]


class LogUniform(_Range):
    """Log-uniform between low and high (both > 0): for rates and decays that span orders of magnitude."""
    dist: Literal["loguniform"]

    @model_validator(mode="after")
    def _positive(self):
        if self.low <= 0:
            raise ValueError(f"loguniform needs low > 0, got {self.low}")
        return self


class Choice(Section):
    """One of the listed values, uniformly."""
    dist: Literal["choice"]
    values: list[Any] = Field(description="Candidate values (at least one, no duplicates).")

    @field_validator("values")
    @classmethod
    def _non_empty(cls, v: list[Any]) -> list[Any]:
        if not v:
            raise ValueError("empty choice: give at least one value")
        if len({repr(x) for x in v}) != len(v):
            raise ValueError(f"duplicate values in {v}")
        return v


Dimension = Annotated[Union[Uniform, LogUniform, Choice], Field(discriminator="dist")]


class SearchSpace(Section):
    """What a sweep varies: exactly the fields given (the others keep the `train` section's value, or the
    model's default). Optimisation fields are `train` fields; the others are keyword arguments of the
    registered model (`train.model`), checked against it before any trial starts."""
    lr: Dimension | None = Field(None, description="AdamW learning rate.")
    weight_decay: Dimension | None = Field(None, description="AdamW weight decay.")
    batch_size: Dimension | None = Field(None, description="Batch size per worker.")
    d_model: Dimension | None = Field(None, description="Model width (token / pooled embedding size).")
    hidden: Dimension | None = Field(None, description="Width of the MLPs (meta encoder, fusion, heads).")
    n_layers: Dimension | None = Field(None, description="Transformer layers (v2 only).")
    n_heads: Dimension | None = Field(None, description="Attention heads (v2 only); must divide every d_model.")
    dropout: Dimension | None = Field(None, description="Dropout.")
    modality_dropout: Dimension | None = Field(None, description="Share of training videos whose visual or audio "
                                               "shots are hidden (robustness to a missing modality).")
    head_weights: dict[str, Dimension] = Field(
        default_factory=dict, description="Loss weight per head '<target>_<h>' (e.g. views_14); heads left out "
                                          "keep their `train.head_weights` value (default 1).")

    def dimensions(self) -> dict[str, Any]:
        """Flat {name: dimension} of what is searched; head weights as 'head_weights.<head>'."""
        dims = {name: getattr(self, name) for name in type(self).model_fields
                if name != "head_weights" and getattr(self, name) is not None}
        dims.update({f"head_weights.{head}": dim for head, dim in self.head_weights.items()})
        return dims


def default_space() -> SearchSpace:
    """The space searched when a config has no `tune.space`: what both v1 and v2 take."""
    return SearchSpace.model_validate({
        "lr": {"dist": "loguniform", "low": 3e-4, "high": 1e-2},
        "weight_decay": {"dist": "loguniform", "low": 1e-3, "high": 0.2},
        "batch_size": {"dist": "choice", "values": [16, 32, 64]},
        "d_model": {"dist": "choice", "values": [32, 64, 96]},
        "dropout": {"dist": "uniform", "low": 0.0, "high": 0.4},
        "modality_dropout": {"dist": "uniform", "low": 0.0, "high": 0.3},
    })


class TuneConfig(Section):
    space: SearchSpace = Field(default_factory=default_space, description="The search space (see SearchSpace); "
                               "default: `default_space()`.")
    metric: str = Field("val_head_loss", description="Validation metric that ranks trials: val_head_loss (the "
                        "masked loss of each head averaged over heads, unweighted), val_loss (the training "
                        "objective, weighted by head_weights), val_mae, or val_spearman_<head> (maximised), "
                        "e.g. val_spearman_views_14.")
    num_samples: int = Field(8, ge=1, description="Trials (`--samples` overrides it).")
    include_default: bool = Field(True, description="Make the first trial the `train` section as it is (the "
                                  "default config), so the sweep compares against it under the same budget.")
    search_seed: int = Field(0, description="Seed of the random search (which configs are drawn).")

    # ---------------------------------------------------------------- ASHA early stopping
    max_epochs: int = Field(40, ge=1, description="Epochs a trial may train (ASHA max_t; also train.max_epochs "
                                                  "of every trial and of best.yaml).")
    grace_period: int = Field(5, ge=1, description="Epochs every trial trains before ASHA may stop it.")
    reduction_factor: int = Field(3, ge=2, description="ASHA keeps the best 1/reduction_factor at each rung.")

    # ---------------------------------------------------------------- re-ranking (tune.rerank)
    rerank_top: int = Field(3, ge=0, description="After the sweep, the best this-many trials and the default "
                            "config train again with `rerank_seeds` seeds each (full budget, no ASHA), and "
                            "the best mean becomes best.yaml: single runs are noisy. 0: best.yaml is the "
                            "sweep's best single trial.")
    rerank_seeds: int = Field(3, ge=1, description="Seeds per re-ranked config.")
    rerank_seed: int = Field(100, description="First seed of the re-ranking runs (then +1, +2, ...); keep it "
                             "apart from the seeds you evaluate the chosen config with.")

    # ---------------------------------------------------------------- resources
    max_concurrent_trials: int | None = Field(
        None, ge=1, description="Trials running at once; default: as many as the cluster's CPUs (GPUs) hold. "
                                "More than fit is an error before any trial starts.")
    trial_driver_cpus: float = Field(0.05, ge=0, description="CPUs of each trial's driver (it only waits for its "
                                                            "Ray Train run, whose workers reserve their own).")
    data_cpus: float = Field(0.0, ge=0, description="CPUs kept free of trials for Ray Data work inside them. The "
                                                    "sweep shares already-read data, so trials launch no read "
                                                    "tasks; raise it if your trials do (ray#41603).")
    max_failures: int = Field(1, ge=0, description="Times a failed trial is retried (its Ray Train run resumes "
                                                   "from its last checkpoint).")

    # ---------------------------------------------------------------- storage
    storage_path: str | None = Field(None, description="Where Tune and the trials' Ray Train runs keep results "
                                     "and checkpoints: a local folder or s3://bucket/prefix (shared storage on a "
                                     "multi-node cluster). Default: <OUT>/ray_results.")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="fsspec options for storage_path, "
                                            "e.g. {endpoint_url: http://minio:9000, key: ..., secret: ...}.")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if v not in FIXED_METRICS and not SPEARMAN_METRIC.match(v):
            raise ValueError(f"unknown metric {v!r}; one of {sorted(FIXED_METRICS)} or val_spearman_<head>")
        return v

    @model_validator(mode="after")
    def _grace_within_budget(self):
        if self.grace_period > self.max_epochs:
            raise ValueError(f"grace_period={self.grace_period} > max_epochs={self.max_epochs}")
        return self

    @property
    def mode(self) -> str:
        return FIXED_METRICS.get(self.metric, "max")

    def spearman_head(self) -> str | None:
        m = SPEARMAN_METRIC.match(self.metric)
        return m.group(1) if m else None


def load_tune_config(path: str | None = None, overrides: dict[str, Any] | None = None) -> TuneConfig:
    """The `tune` section of `path` (defaults when None), env overrides, then `overrides`."""
    from trendflow.config import load_section
    return load_section(path, "tune", TuneConfig, overrides)
