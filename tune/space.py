"""Search space ↔ Ray Tune ↔ train config: what a trial's sampled parameters mean for training.

A trial's parameters are a flat dict such as `{"lr": 0.003, "d_model": 64, "head_weights.views_14": 1.5}`.
`trial_train_config(base, params)` turns them into the `TrainConfig` that trial trains with: `train` fields
(lr, weight_decay, batch_size) replace the base values, `head_weights.<head>` entries go into
`head_weights`, anything else is a keyword argument of the registered model (`train.model`).
`check_space` rejects a space the model or the data cannot take, before any trial starts.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable

from train.config import TrainConfig
from tune.config import Choice, LogUniform, SearchSpace, TuneConfig, Uniform

HEAD_PREFIX = "head_weights."
MAX_COMBINATIONS = 512  # model shapes built by check_space (corner values of every model dimension)


class SweepConfigError(ValueError):
    """A sweep setting that cannot work; the message names the key and says how to fix it."""


def ray_space(space: SearchSpace) -> dict[str, Any]:
    """The Tune `param_space` of a search space."""
    from ray import tune
    out = {}
    for name, dim in space.dimensions().items():
        if isinstance(dim, Choice):
            out[name] = tune.choice(dim.values)
        elif isinstance(dim, LogUniform):
            out[name] = tune.loguniform(dim.low, dim.high)
        else:
            out[name] = tune.uniform(dim.low, dim.high)
    return out


def trial_train_config(base: TrainConfig, params: dict[str, Any], max_epochs: int | None = None) -> TrainConfig:
    """The `train` config of one trial: `base` with the trial's parameters (and the sweep's epoch budget)."""
    data = base.model_dump()
    model, heads = dict(base.model), dict(base.head_weights)
    for name, value in params.items():
        if name.startswith(HEAD_PREFIX):
            heads[name[len(HEAD_PREFIX):]] = float(value)
        elif name in TrainConfig.model_fields:
            data[name] = value
        else:
            model[name] = value
    data.update(model=model, head_weights=heads)
    if max_epochs is not None:
        data["max_epochs"] = max_epochs
    return TrainConfig.model_validate(data)


def default_point(space: SearchSpace, base: TrainConfig, model_name: str) -> dict[str, Any]:
    """The base config's own value of every searched dimension (the "default" trial)."""
    from train.registry import model_kwargs
    kwargs = model_kwargs(model_name, base.model)
    point = {}
    for name in space.dimensions():
        if name.startswith(HEAD_PREFIX):
            point[name] = float(base.head_weights.get(name[len(HEAD_PREFIX):], 1.0))
        elif name in TrainConfig.model_fields:
            point[name] = getattr(base, name)
        elif name in kwargs:
            point[name] = kwargs[name]
        else:
            raise SweepConfigError(f"tune.space.{name}: the model {model_name!r} has no default for {name!r}; "
                                   f"give it in train.model or set tune.include_default: false")
    return point


def _corners(dim) -> list[Any]:
    return list(dim.values) if isinstance(dim, Choice) else [dim.low, dim.high]


def check_space(cfg: TuneConfig, base: TrainConfig, model_name: str, build_kwargs: dict[str, Any],
                head_names: Iterable[str], n_train: int) -> None:
    """Reject, naming the key, a space the model, the data or the resources of a trial cannot take.

    Every combination of the corner values of the model's dimensions (all choices, range ends) builds the
    model once, so an unknown keyword or an impossible shape (d_model not divisible by n_heads) fails here.
    `build_kwargs` are the data-derived constructor arguments (meta_dim, e_dim, ...).
    """
    dims = cfg.space.dimensions()
    heads = list(head_names)
    for name, dim in dims.items():
        if name.startswith(HEAD_PREFIX) and name[len(HEAD_PREFIX):] not in heads:
            raise SweepConfigError(f"tune.space.{name}: the data has no head {name[len(HEAD_PREFIX):]!r}; "
                                   f"heads: {heads}")
        if name.startswith(HEAD_PREFIX) and any(v < 0 for v in _corners(dim)):
            raise SweepConfigError(f"tune.space.{name}: loss weights must be ≥ 0")
    for name in ("lr",):
        if name in dims and any(v <= 0 for v in _corners(dims[name])):
            raise SweepConfigError(f"tune.space.{name}: must be > 0")
    if "batch_size" in dims:
        too_big = [b for b in _corners(dims["batch_size"]) if int(b) * base.num_workers > n_train]
        if too_big:
            raise SweepConfigError(f"tune.space.batch_size: {too_big} × {base.num_workers} worker(s) exceeds the "
                                   f"{n_train} training rows")
    spearman = cfg.spearman_head()
    if spearman and spearman not in heads:
        raise SweepConfigError(f"tune.metric: the data has no head {spearman!r}; heads: {heads}")

    model_dims = {n: d for n, d in dims.items() if not n.startswith(HEAD_PREFIX) and n not in TrainConfig.model_fields}
    for name, dim in model_dims.items():  # one dimension at a time first, to name the culprit
        for value in _corners(dim):
            _build(model_name, base, {name: value}, build_kwargs, f"tune.space.{name}")
    names = list(model_dims)
    combos = itertools.product(*(_corners(model_dims[n]) for n in names))
    for values in itertools.islice(combos, MAX_COMBINATIONS):
        _build(model_name, base, dict(zip(names, values)), build_kwargs, ", ".join(f"tune.space.{n}" for n in names))


def _build(model_name: str, base: TrainConfig, point: dict[str, Any], build_kwargs: dict[str, Any], keys: str) -> None:
    from train.registry import create_model
    try:
        create_model(model_name, trial_train_config(base, point).model, **build_kwargs)
    except (TypeError, ValueError) as e:
        raise SweepConfigError(f"{keys}: {model_name} cannot be built with {point}: {e}") from None
