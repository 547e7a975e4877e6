"""Typed configuration: one YAML file, one section per package, env overrides, clear errors.

    # cfg.yaml                          # used by: trendflow extract --config cfg.yaml
    storage: {store: s3://bucket/result_store, storage_options: {endpoint_url: http://minio:9000}}
    sampling: {analysis_fps: 4}

Each section is a pydantic model owned by the package that uses it (core sections below; e.g.
`sampling` lives in sampling/, `train` in train/). Packages register their sections under the
`trendflow.config_sections` entry-point group (pyproject.toml: `name = "module:Model"`), so the core
never imports the packages above it. Whenever a file is read, *every* section in it is validated
against its registered model (a typo under `tune:` fails even for `trendflow temporal`); a section
with no registered model is an error too. `load_section(path, name, Model)` reads one section with
defaults, then applies environment overrides `TRENDFLOW__<SECTION>__<FIELD>[__<SUB>]` (values
parsed as YAML, so `true`, `3`, `[1, 2]` are typed). Errors name the file and the field.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ENV_PREFIX = "TRENDFLOW__"
# The registry of sections: the only top-level keys a config file may hold.
SECTIONS_GROUP = "trendflow.config_sections"

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file or an override is malformed; the message names the file and field."""


class Section(BaseModel):
    """Base of every config section: unknown fields are errors, so typos never pass silently."""
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(Section):
    store: str = Field("result_store", description="Result store root: a local path or s3://bucket/prefix.")
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="fsspec options for the store, e.g. {endpoint_url: http://127.0.0.1:9000} for MinIO.")
    index_path: str | None = Field(
        None, description="SQLite artifact index file. Default: <store>/index.sqlite for local stores, "
                          "~/.cache/trendflow/index-<hash>.sqlite for object stores.")


class IndexConfig(Section):
    capacity: int = Field(10_000, ge=1, description="Unique videos kept; least recently used are evicted "
                                                    "with their artifacts.")


class RetentionConfig(Section):
    """SPEC §11: raw comment/OCR text is not kept unless enabled, and then only for a bounded time."""
    retain_raw_comments: bool = Field(False, description="Keep raw comment text artifacts.")
    retain_raw_ocr_text: bool = Field(False, description="Keep raw OCR text artifacts.")
    retention_days: int | None = Field(None, ge=0, description="Days raw text is kept; required when any "
                                                               "retain_* flag is true.")
    hard_cap_days: int = Field(30, ge=0, description="Upper bound for retention_days.")

    @model_validator(mode="after")
    def _bounded(self):
        if (self.retain_raw_comments or self.retain_raw_ocr_text) and self.retention_days is None:
            raise ValueError("retention_days is required when retain_raw_comments or retain_raw_ocr_text is true")
        if self.retention_days is not None and self.retention_days > self.hard_cap_days:
            raise ValueError(f"retention_days={self.retention_days} exceeds hard_cap_days={self.hard_cap_days}")
        return self


class RunConfig(Section):
    platform_id: str = Field("youtube", description="Default platform of videos without one.")


@lru_cache(maxsize=1)
def _registry() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=SECTIONS_GROUP)}


def registered_sections() -> list[str]:
    """Names of the sections some installed package registered (entry-point group SECTIONS_GROUP)."""
    return sorted(_registry())


def section_model(name: str, path: str | os.PathLike | None = None) -> type[BaseModel]:
    """The model registered for section `name`; ConfigError naming the file when there is none."""
    where = f"{path}: " if path else ""
    ep = _registry().get(name)
    if ep is None:
        raise ConfigError(f"{where}unknown section {name!r}: no installed package registers a model for it "
                          f"(entry-point group {SECTIONS_GROUP!r} in pyproject.toml); "
                          f"registered: {registered_sections()}")
    try:
        model = ep.load()
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{where}section {name!r}: its model {ep.value} cannot be loaded: {e}") from None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigError(f"{where}section {name!r}: {ep.value} is not a pydantic model")
    return model


def _read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping of sections, got {type(data).__name__}")
    return data


def read_config_file(path: str | os.PathLike | None) -> dict[str, Any]:
    """The whole YAML file as a dict ({} when path is None), every section checked against its model."""
    if path is None:
        return {}
    data = _read_yaml(path)
    for name in data:
        section_model(name, path)  # unknown or unregistered sections first: one clear message
    for name, raw in data.items():
        _validate(path, name, section_model(name, path), raw)
    return data


def env_overrides(section: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Nested dict from TRENDFLOW__<SECTION>__A__B=value variables."""
    environ = os.environ if environ is None else environ
    prefix = f"{ENV_PREFIX}{section.upper()}__"
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(prefix):
            continue
        path = [p.lower() for p in name[len(prefix):].split("__") if p]
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        try:
            node[path[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise ConfigError(f"environment {name}: not a valid value: {e}") from None
    return out


def _merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _validate(path: str | os.PathLike | None, section: str, model: type[M], raw: Any,
              overrides: Mapping[str, Any] | None = None) -> M:
    """`raw` (the file's section) + env + explicit overrides, validated; errors name file and field."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: section {section!r} must be a mapping")
    data = _merge(_merge(raw, env_overrides(section)), overrides or {})
    try:
        return model.model_validate(data)
    except ValidationError as e:
        where = f"{path}: " if path else ""
        lines = [f"{where}{section}.{'.'.join(str(p) for p in err['loc']) or '(section)'}: {err['msg']}"
                 for err in e.errors()]
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines)) from None


def load_section(path: str | os.PathLike | None, section: str, model: type[M],
                 overrides: Mapping[str, Any] | None = None) -> M:
    """Validated section `section` of the config at `path` (+ env, + explicit overrides)."""
    section_model(section)  # a section nobody registered is a bug in the caller, named here
    raw = read_config_file(path).get(section)
    return _validate(path, section, model, raw, overrides)
