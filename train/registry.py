"""Models registered by name (timm style): `@register_model("v2_transformer")`, `create_model(name, **kw)`.

Two kinds of model live here:
- "torch": an `nn.Module` trained by the Ray Train recipe; `forward(batch) -> (B, T, H)` predictions.
- "tabular": an object with `fit(train_df, val_df, schema)`, `predict(df) -> (N, T, H)`, `save(dir)`
  and `load(dir)`; trained in-process (naive baselines, LightGBM).

Short names used on the command line are aliases: `v1` → `v1_late_fusion`, `v2` → `v2_transformer`.
Defaults are declared next to the model (`defaults=`); `create_model(name, config, **overrides)`
merges defaults < config < keyword overrides, so keyword overrides always win.

What a model needs from the training data is declared with it too (`needs=`, names from `DATA_NEEDS`);
`unsupported_reason(name, schema)` compares that with what the dataset card says the data has, so
`compare` skips what a counters-only dataset cannot train without a list of model names anywhere.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

Kind = Literal["torch", "tabular"]

# What training data can provide (`train.data.DatasetSchema.capabilities`), and how a user gets it.
DATA_NEEDS = {
    "content_aggregates": "content aggregates (build-dataset --store STORE of an extraction)",
    "shot_embeddings": "per-shot embeddings E_shot/A_shot (build-dataset --store STORE of an extraction)",
    "views_t0": "a snapshot-1 views column (views_s1 in the temporal table)",
}

# Modules that register models when imported; imported lazily so `import train.registry` is cheap.
_MODEL_MODULES = ("train.baselines", "train.models.v1_late_fusion", "train.models.v2_transformer")


class UnknownModelError(KeyError, ValueError):
    """A model name that is not registered (the message lists the registered ones)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., Any]
    kind: Kind
    version: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""
    needs: tuple[str, ...] = ()
    serve_tier: str | None = None  # the online fallback chain: "v2" → "v1" → "v0" (`serving_chain`)
    serve_order: int | None = None  # position in that chain (lower answers first); None: not served


_REGISTRY: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}
_LOADED = False


def register_model(name: str, *, kind: Kind = "torch", version: str = "1", defaults: Mapping[str, Any] | None = None,
                   aliases: tuple[str, ...] = (), description: str = "", needs: tuple[str, ...] = (),
                   serve_tier: str | None = None, serve_order: int | None = None) -> Callable:
    """Decorator registering a model factory under `name` (and its aliases); `needs` ⊆ DATA_NEEDS.
    `serve_tier`/`serve_order` place the model in the service's fallback chain (SPEC §4)."""
    unknown = set(needs) - set(DATA_NEEDS)
    if unknown:
        raise ValueError(f"model {name!r} needs unknown data {sorted(unknown)}; known: {list(DATA_NEEDS)}")

    def wrap(factory: Callable[..., Any]) -> Callable[..., Any]:
        doc_line = (factory.__doc__ or "").strip().split("\n")[0]
        entry = ModelEntry(name, factory, kind, version, dict(defaults or {}), tuple(aliases),
                           description or doc_line, tuple(needs), serve_tier, serve_order)
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
        raise UnknownModelError(f"unknown model {name!r}; registered: {list_models(with_aliases=True)}") from None


def list_models(kind: Kind | None = None, with_aliases: bool = False) -> list[str]:
    _load_all()
    names = sorted(n for n, e in _REGISTRY.items() if kind is None or e.kind == kind)
    if with_aliases:
        names += sorted(a for n in names for a in _REGISTRY[n].aliases)
    return names


def serving_chain() -> list[ModelEntry]:
    """The models the online service may answer with, best first (SPEC §4: v2 → v1 → v0; within a tier
    the model with more inputs first, e.g. v0 with content aggregates before v0 on counters only)."""
    _load_all()
    return sorted((e for e in _REGISTRY.values() if e.serve_order is not None), key=lambda e: e.serve_order)


def unsupported_reason(name: str, schema) -> str | None:
    """Why the training data described by `schema` (a `train.data.DatasetSchema`) cannot train `name`,
    or None when it can."""
    lacking = [need for need in get_entry(name).needs if need not in schema.capabilities()]
    if not lacking:
        return None
    counters_only = " (counters-only data)" if schema.card.get("content") == "none" else ""
    return f"needs {' and '.join(DATA_NEEDS[n] for n in lacking)}; the training data has none{counters_only}"


def canonical_name(name: str) -> str:
    return get_entry(name).name


def model_kwargs(name: str, config: Mapping[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """Effective constructor arguments: registered defaults < config < keyword overrides."""
    return {**get_entry(name).defaults, **dict(config or {}), **overrides}


def create_model(name: str, config: Mapping[str, Any] | None = None, **overrides: Any) -> Any:
    """Build a registered model; keyword overrides win over `config`, which wins over the defaults."""
    entry = get_entry(name)
    return entry.factory(**model_kwargs(name, config, **overrides))
