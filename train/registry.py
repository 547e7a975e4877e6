"""Models registered by name (timm style): `@register_model("v2_transformer")`, `create_model(name, **kw)`.

Two kinds of model live here:
- "torch": an `nn.Module` trained by the Ray Train recipe; `forward(batch) -> (B, T, H)` predictions.
- "tabular": an object with `fit(train_df, val_df, schema)`, `predict(df) -> (N, T, H)`, `save(dir)`
  and `load(dir)`; trained in-process (naive baselines, LightGBM).

Short names used on the command line are aliases: `v1` → `v1_late_fusion`, `v2` → `v2_transformer`.
Defaults are declared next to the model (`defaults=`); `create_model(name, config, **overrides)`
merges defaults < config < keyword overrides, so keyword overrides always win.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

Kind = Literal["torch", "tabular"]

# Modules that register models when imported; imported lazily so `import train.registry` is cheap.
_MODEL_MODULES = ("train.baselines", "train.models.v1_late_fusion", "train.models.v2_transformer")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., Any]
    kind: Kind
    version: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""


_REGISTRY: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}
_LOADED = False


def register_model(name: str, *, kind: Kind = "torch", version: str = "1", defaults: Mapping[str, Any] | None = None,
                   aliases: tuple[str, ...] = (), description: str = "") -> Callable:
    """Decorator registering a model factory under `name` (and its aliases)."""
    def wrap(factory: Callable[..., Any]) -> Callable[..., Any]:
        doc_line = (factory.__doc__ or "").strip().split("\n")[0]
        entry = ModelEntry(name, factory, kind, version, dict(defaults or {}), tuple(aliases),
                           description or doc_line)
        for key in (name, *aliases):
            owner = _ALIASES.get(key)
            if owner is not None and owner != name:
                raise ValueError(f"model name {key!r} already registered for {owner!r}")
        _REGISTRY[name] = entry
        for key in (name, *aliases):
            _ALIASES[key] = name
        return factory
    return wrap


def _load_all() -> None:
    global _LOADED
    if not _LOADED:
        for mod in _MODEL_MODULES:
            importlib.import_module(mod)
        _LOADED = True


def get_entry(name: str) -> ModelEntry:
    _load_all()
    try:
        return _REGISTRY[_ALIASES[name]]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {list_models(with_aliases=True)}") from None


def list_models(kind: Kind | None = None, with_aliases: bool = False) -> list[str]:
    _load_all()
    names = sorted(n for n, e in _REGISTRY.items() if kind is None or e.kind == kind)
    if with_aliases:
        names += sorted(a for n in names for a in _REGISTRY[n].aliases)
    return names


def canonical_name(name: str) -> str:
    return get_entry(name).name


def model_kwargs(name: str, config: Mapping[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """Effective constructor arguments: registered defaults < config < keyword overrides."""
    return {**get_entry(name).defaults, **dict(config or {}), **overrides}


def create_model(name: str, config: Mapping[str, Any] | None = None, **overrides: Any) -> Any:
    """Build a registered model; keyword overrides win over `config`, which wins over the defaults."""
    entry = get_entry(name)
    return entry.factory(**model_kwargs(name, config, **overrides))
