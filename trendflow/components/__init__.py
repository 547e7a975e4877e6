"""Artifact contracts: what each component writes, declared once, in code.

Each module in this package declares one component's artifact with `register(ComponentSpec(...))`.
From these declarations come the JSON schemas in `schemas/` (`trendflow schemas generate`) and
the runtime validator (`validate_arrays`) that runs after every component write. Components are
implemented elsewhere (sampling/, ray_pipelines/); they import their spec from here, so the
contract has a single home and canonical names only.

Shapes are tuples of symbolic dimensions ("n_shots", "D") or ints; a symbol must bind to the same
size in every array of one artifact, which is how "E_shot has one row per shot" is checked.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool", "str")  # uint8: raw bytes (JPEG thumbnails)
# Checks a validator knows how to run on one array; see `_check_invariant`.
INVARIANTS = ("sorted", "sorted_unique", "nonneg", "finite", "unit_interval", "no_inf")

# Mandatory meta block of every NPZ (SPEC §6). Values may be null where noted in the schema.
META_FIELDS: dict[str, str] = {
    "producer": "component name that wrote the artifact",
    "producer_version": "version of the producing code",
    "schema_version": "version of this artifact's schema",
    "created_at": "ISO-8601 UTC time of the write",
    "platform_id": "platform of the video",
    "video_id": "video id (validated)",
    "run_id": "run that produced it",
    "config_hash": "hash of the effective extraction config",
    "sampling_policy_version": "version of the sampling policy whose frames were used",
    "dataprocessor_version": "version of the extraction stack",
    "status": "ok | empty | error",
    "empty_reason": "why status is empty or error (null when ok)",
    "model_name": "model that ran (null when none)",
    "model_version": "model version; 'random-init' when no pretrained weights were configured",
    "weights": "where the weights came from: a path/tag, 'random-init', or null",
}
STATUSES = ("ok", "empty", "error")


class ArtifactValidationError(ValueError):
    """An artifact does not match its component's contract."""


@dataclass(frozen=True)
class ArraySpec:
    name: str
    dtype: str
    shape: tuple = ()
    description: str = ""
    optional: bool = False
    invariants: tuple[str, ...] = ()

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"{self.name}: dtype {self.dtype!r} not in {DTYPES}")
        unknown = set(self.invariants) - set(INVARIANTS)
        if unknown:
            raise ValueError(f"{self.name}: unknown invariants {sorted(unknown)}")


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    version: str
    schema_version: int
    description: str
    arrays: tuple[ArraySpec, ...]
    required: bool = True  # required components fail the video's run; optional ones are best-effort
    tier: int = 0
    # "comments" or "ocr" when the artifact holds raw text covered by the retention policy (SPEC §11)
    raw_text_kind: str | None = None
    extra_meta: Mapping[str, str] = field(default_factory=dict)  # component-specific meta keys

    def array(self, name: str) -> ArraySpec:
        for a in self.arrays:
            if a.name == name:
                return a
        raise KeyError(f"{self.name} declares no array {name!r}")


_REGISTRY: dict[str, ComponentSpec] = {}
_DISCOVERED = False


def register(spec: ComponentSpec) -> ComponentSpec:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] != spec:
        raise ValueError(f"component {spec.name!r} registered twice with different specs")
    _REGISTRY[spec.name] = spec
    return spec


def _discover() -> None:
    global _DISCOVERED
    if not _DISCOVERED:
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
        _DISCOVERED = True


def get_spec(name: str) -> ComponentSpec:
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown component {name!r}; known: {sorted(_REGISTRY)}") from None


def all_specs() -> list[ComponentSpec]:
    _discover()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


# ---------------------------------------------------------------- validation

def coerce_arrays(spec: ComponentSpec, arrays: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Cast declared arrays to their declared dtype; reject undeclared names."""
    out: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        a = spec.array(name)
        if a.dtype == "str":
            out[name] = np.asarray(value, dtype=np.str_)
        else:
            out[name] = np.asarray(value, dtype=np.dtype(a.dtype))
    return out


def validate_arrays(spec: ComponentSpec, arrays: Mapping[str, np.ndarray], status: str) -> None:
    """Check keys, dtypes, shapes (with consistent symbolic dims) and invariants.

    When status is not ok, required arrays may be missing, but those present must still be valid.
    """
    if status not in STATUSES:
        raise ArtifactValidationError(f"{spec.name}: status {status!r} not in {STATUSES}")
    declared = {a.name for a in spec.arrays}
    extra = set(arrays) - declared
    if extra:
        raise ArtifactValidationError(f"{spec.name}: undeclared arrays {sorted(extra)}")
    dims: dict[str, int] = {}
    for a in spec.arrays:
        if a.name not in arrays:
            if status == "ok" and not a.optional:
                raise ArtifactValidationError(f"{spec.name}: required array {a.name!r} is missing")
            continue
        x = np.asarray(arrays[a.name])
        _check_dtype(spec.name, a, x)
        _check_shape(spec.name, a, x, dims)
        for inv in a.invariants:
            _check_invariant(spec.name, a, x, inv)


def _check_dtype(comp: str, a: ArraySpec, x: np.ndarray) -> None:
    ok = x.dtype.kind == "U" if a.dtype == "str" else x.dtype == np.dtype(a.dtype)
    if not ok:
        raise ArtifactValidationError(f"{comp}.{a.name}: dtype {x.dtype} != declared {a.dtype}")


def _check_shape(comp: str, a: ArraySpec, x: np.ndarray, dims: dict[str, int]) -> None:
    if x.ndim != len(a.shape):
        raise ArtifactValidationError(
            f"{comp}.{a.name}: {x.ndim}-d array, declared shape {a.shape}")
    for size, dim in zip(x.shape, a.shape):
        if isinstance(dim, int):
            if size != dim:
                raise ArtifactValidationError(f"{comp}.{a.name}: shape {x.shape} != {a.shape}")
        elif dims.setdefault(dim, size) != size:
            raise ArtifactValidationError(
                f"{comp}.{a.name}: dimension {dim!r} is {size} here but {dims[dim]} elsewhere")


def _check_invariant(comp: str, a: ArraySpec, x: np.ndarray, inv: str) -> None:
    if x.size == 0:
        return
    flat = x.reshape(-1) if inv in ("sorted", "sorted_unique") else x
    bad = {
        "sorted": lambda: np.any(np.diff(flat) < 0),
        "sorted_unique": lambda: np.any(np.diff(flat) <= 0),
        "nonneg": lambda: np.any(x[~np.isnan(x)] < 0) if x.dtype.kind == "f" else np.any(x < 0),
        "finite": lambda: not np.all(np.isfinite(x)),
        "no_inf": lambda: np.any(np.isinf(x)),
        "unit_interval": lambda: np.any((x[~np.isnan(x)] < 0) | (x[~np.isnan(x)] > 1)),
    }[inv]()
    if bad:
        raise ArtifactValidationError(f"{comp}.{a.name}: violates invariant {inv!r}")


def validate_meta(spec: ComponentSpec, meta: Mapping[str, object]) -> None:
    missing = [k for k in META_FIELDS if k not in meta]
    if missing:
        raise ArtifactValidationError(f"{spec.name}: meta lacks {missing}")
    if meta["producer"] != spec.name:
        raise ArtifactValidationError(f"{spec.name}: meta.producer is {meta['producer']!r}")
    if int(meta["schema_version"]) != spec.schema_version:
        raise ArtifactValidationError(
            f"{spec.name}: schema_version {meta['schema_version']} != current {spec.schema_version}")
    if meta["status"] not in STATUSES:
        raise ArtifactValidationError(f"{spec.name}: meta.status {meta['status']!r}")
    if meta["status"] != "ok" and not meta.get("empty_reason"):
        raise ArtifactValidationError(f"{spec.name}: status {meta['status']} needs empty_reason")


# ---------------------------------------------------------------- JSON schema

def json_schema(spec: ComponentSpec) -> dict:
    """Machine-readable schema of one component's NPZ (meta block + arrays)."""
    meta_props = {k: {"description": d} for k, d in {**META_FIELDS, **spec.extra_meta}.items()}
    meta_props["status"]["enum"] = list(STATUSES)
    meta_props["schema_version"]["const"] = spec.schema_version
    meta_props["producer"]["const"] = spec.name
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"trendflow/{spec.name}.schema.json",
        "title": spec.name,
        "description": spec.description,
        "x-component-version": spec.version,
        "x-schema-version": spec.schema_version,
        "x-required-component": spec.required,
        "x-tier": spec.tier,
        "type": "object",
        "properties": {
            "meta": {"type": "object", "properties": meta_props, "required": list(META_FIELDS)},
            "arrays": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    a.name: {
                        "description": a.description,
                        "x-dtype": a.dtype,
                        "x-shape": list(a.shape),
                        "x-invariants": list(a.invariants),
                    }
                    for a in spec.arrays
                },
                "required": [a.name for a in spec.arrays if not a.optional],
            },
        },
        "required": ["meta", "arrays"],
    }

