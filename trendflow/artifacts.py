"""Per-run artifacts: NPZ files with a mandatory meta block, and one manifest per run.

Layout (SPEC §6; every store-level name is a constant here):
    <store>/<platform_id>/<video_id>/<run_id>/<component>/<component>.npz   NPZ + meta (source of truth)
    <store>/<platform_id>/<video_id>/<run_id>/manifest.json                  written once, when the run ends
    <store>/_index/...                                                        pointers (trendflow.index)
    <store>/_tables/aggregates/<run_id>/*.parquet                             per-run table parts (trendflow.tables)
    <store>/_runs/<run_id>/summary.json                                       extraction run summaries

A run has one writer, `RunWriter`: each component is one NPZ PUT (validated against its contract
first), its manifest entry is kept in memory, and `finish()` writes `manifest.json` once. The
extraction pipeline's writers in different processes hand their entries over in memory (the
CPU stage's travel on its status row), so a video costs one storage call per object it owns.
A folder with NPZs but no manifest is an unfinished run (a crash): the next extraction adopts it.
Every manifest entry can be recomputed from its NPZ (`rebuild_manifest`): the meta is complete.

`ArtifactStore.write` / `finish_run` are the one-off versions (they read and rewrite the
manifest on every call: for tools and tests, not for the pipeline).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

import numpy as np

from trendflow import DATAPROCESSOR_VERSION
from trendflow.components import (
    ArtifactValidationError,
    coerce_arrays,
    get_spec,
    validate_arrays,
    validate_meta,
)
from trendflow.ids import validate_platform_id, validate_run_id, validate_video_id
from trendflow.storage import FileInfo, Storage

META_KEY = "meta"
MANIFEST = "manifest.json"
MANIFEST_VERSION = 2  # 2: written once per run by its writer; no entry.json / run.json files
INDEX_DIR = "_index"
TABLES_DIR = "_tables"
AGGREGATES_DIR = f"{TABLES_DIR}/aggregates"
LEGACY_AGGREGATES_TABLES = (f"{TABLES_DIR}/aggregates.parquet", "tables/aggregates.parquet")  # before part files
RUNS_DIR = "_runs"


class ArtifactError(RuntimeError):
    """An artifact is missing, unreadable or does not match its contract."""


@dataclass(frozen=True)
class RunKey:
    platform_id: str
    video_id: str
    run_id: str
    config_hash: str = "none"
    sampling_policy_version: str = "none"

    def __post_init__(self):
        # Validated here so no unsafe id can reach a path built from a RunKey.
        validate_platform_id(self.platform_id)
        validate_video_id(self.video_id)
        validate_run_id(self.run_id)

    @property
    def run_dir(self) -> str:
        return f"{self.platform_id}/{self.video_id}/{self.run_id}"


@dataclass
class Artifact:
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @property
    def status(self) -> str:
        return self.meta["status"]


@dataclass
class RunFolder:
    """What one listing shows of a run folder: its files (relative to the folder) and sizes."""
    run_id: str
    files: dict[str, FileInfo] = field(default_factory=dict)

    @property
    def has_manifest(self) -> bool:
        return MANIFEST in self.files

    def artifact_files(self) -> dict[str, FileInfo]:
        """component -> file info, for every `<component>/<component>.npz` present."""
        out = {}
        for rel, info in self.files.items():
            parts = rel.split("/")
            if len(parts) == 2 and parts[1] == f"{parts[0]}.npz":
                out[parts[0]] = info
        return out


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_npz(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{META_KEY: np.array(json.dumps(meta, sort_keys=True))}, **arrays)
    return buf.getvalue()


def decode_npz(data: bytes, where: str = "artifact") -> Artifact:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise ArtifactError(f"{where}: corrupt or truncated NPZ ({type(e).__name__}: {e})") from e
    if META_KEY not in arrays:
        raise ArtifactError(f"{where}: NPZ has no '{META_KEY}' block")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except json.JSONDecodeError as e:
        raise ArtifactError(f"{where}: meta block is not JSON ({e})") from e
    return Artifact(meta=meta, arrays=arrays)


def artifact_rel(component: str) -> str:
    """Path of a component's NPZ inside its run folder."""
    return f"{component}/{component}.npz"


def entry_of(component: str, meta: Mapping[str, Any], data: bytes) -> dict[str, Any]:
    """The manifest entry of an NPZ, from its meta and bytes alone (so a manifest can be rebuilt)."""
    spec = get_spec(component)
    return {
        "component": component,
        "artifact": artifact_rel(component),
        "status": meta["status"],
        "empty_reason": meta.get("empty_reason"),
        "required": spec.required,
        "producer_version": meta.get("producer_version"),
        "schema_version": meta.get("schema_version"),
        "model_name": meta.get("model_name"),
        "model_version": meta.get("model_version"),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "timing_s": meta.get("timing_s"),
        "written_at": meta.get("created_at"),
    }


class ArtifactStore:
    """Reads and writes the per-run result store (local path or s3://...)."""

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None, call_log: str | None = None):
        self.storage = Storage(root, storage_options, call_log)

    @classmethod
    def from_config(cls, cfg) -> "ArtifactStore":
        """From a `trendflow.config.StorageConfig`."""
        return cls(cfg.store, cfg.storage_options, cfg.call_log)

    # ------------------------------------------------------------ paths
    @staticmethod
    def artifact_path(key: RunKey, component: str) -> str:
        return f"{key.run_dir}/{artifact_rel(component)}"

    # ------------------------------------------------------------ encode (no IO)
    @staticmethod
    def encode(key: RunKey, component: str, arrays: Mapping[str, Any] | None = None, *, status: str = "ok",
               empty_reason: str | None = None, model_name: str | None = None, model_version: str | None = None,
               weights: str | None = None, extra_meta: Mapping[str, Any] | None = None,
               timing_s: float | None = None) -> tuple[bytes, dict, dict[str, np.ndarray]]:
        """Validate and encode one artifact: (NPZ bytes, manifest entry, arrays as stored)."""
        spec = get_spec(component)
        arrays = coerce_arrays(spec, arrays or {})
        meta = {
            "producer": component,
            "producer_version": spec.version,
            "schema_version": spec.schema_version,
            "created_at": now_iso(),
            "platform_id": key.platform_id,
            "video_id": key.video_id,
            "run_id": key.run_id,
            "config_hash": key.config_hash,
            "sampling_policy_version": key.sampling_policy_version,
            "dataprocessor_version": DATAPROCESSOR_VERSION,
            "status": status,
            "empty_reason": empty_reason,
            "model_name": model_name,
            "model_version": model_version,
            "weights": weights,
            "timing_s": None if timing_s is None else float(timing_s),
            **dict(extra_meta or {}),
        }
        try:
            validate_arrays(spec, arrays, status)
            validate_meta(spec, meta)
        except ArtifactValidationError as e:
            raise ArtifactError(f"{key.video_id}/{component}: {e}") from e
        data = encode_npz(arrays, meta)
        return data, entry_of(component, meta, data), arrays

    # ------------------------------------------------------------ one-off writes (read-modify-write)
    def write(self, key: RunKey, component: str, arrays: Mapping[str, Any] | None = None, **kwargs) -> str:
        """Write one artifact and record it in the run's manifest (2-3 calls: for tools and tests;
        the pipeline uses a RunWriter). Returns its path relative to the store."""
        current = self._manifest_or_none(key)
        writer = RunWriter(self, key, (current or {}).get("components"))
        writer.write(component, arrays, **kwargs)
        writer.save_manifest(**_run_fields(current))
        return self.artifact_path(key, component)

    def finish_run(self, key: RunKey, status: str, error: str | None = None,
                   timings: Mapping[str, float] | None = None) -> dict:
        """Mark a run finished (status ok or error) and return its manifest."""
        current = self._manifest_or_none(key)
        return RunWriter(self, key, (current or {}).get("components")).finish(status, error, timings)

    def rebuild_manifest(self, key: RunKey) -> dict:
        """Regenerate manifest.json from the NPZs in the run folder (their meta is complete),
        keeping the run-level status: the repair after artifacts were removed or added by hand."""
        current = self._manifest_or_none(key)
        writer = RunWriter(self, key)
        for component in self.list_run(key).artifact_files():
            data = self.storage.read_bytes(self.artifact_path(key, component))
            writer.entries[component] = entry_of(component, decode_npz(data).meta, data)
        return writer.save_manifest(**_run_fields(current))

    # ------------------------------------------------------------ read
    def read(self, key: RunKey, component: str, validate: bool = True) -> Artifact:
        return self.read_with_entry(key, component, validate)[0]

    def read_with_entry(self, key: RunKey, component: str, validate: bool = True) -> tuple[Artifact, dict]:
        """The artifact and its manifest entry recomputed from the bytes read (one GET)."""
        rel = self.artifact_path(key, component)
        try:
            data = self.storage.read_bytes(rel)
        except FileNotFoundError:
            raise ArtifactError(f"{key.run_dir}: no {component} artifact at {rel}") from None
        art = decode_npz(data, where=rel)
        if validate:
            spec = get_spec(component)
            try:
                validate_meta(spec, art.meta)
                validate_arrays(spec, art.arrays, art.meta["status"])
            except ArtifactValidationError as e:
                raise ArtifactError(f"{rel}: {e}") from e
        return art, entry_of(component, art.meta, data)

    def manifest(self, key: RunKey) -> dict:
        try:
            return json.loads(self.storage.read_bytes(f"{key.run_dir}/{MANIFEST}"))
        except FileNotFoundError:
            raise ArtifactError(f"{key.run_dir}: no manifest") from None

    def _manifest_or_none(self, key: RunKey) -> dict | None:
        try:
            return self.manifest(key)
        except ArtifactError:
            return None

    def verify_run(self, key: RunKey) -> list[str]:
        """Problems that make a finished run unusable: missing/corrupt artifacts, checksum drift."""
        problems = []
        try:
            manifest = self.manifest(key)
        except (ArtifactError, json.JSONDecodeError) as e:
            return [str(e)]
        for name, entry in manifest["components"].items():
            rel = f"{key.run_dir}/{entry['artifact']}"
            try:
                data = self.storage.read_bytes(rel)
            except FileNotFoundError:
                problems.append(f"{name}: manifest points to missing file {rel}")
                continue
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                problems.append(f"{name}: checksum mismatch for {rel}")
                continue
            try:
                self.read(key, name)
            except ArtifactError as e:
                problems.append(f"{name}: {e}")
            except KeyError as e:  # written by a component this code does not know: cannot validate
                problems.append(f"{name}: {e.args[0]}")
        return problems

    @staticmethod
    def listing_problems(manifest: Mapping[str, Any], folder: RunFolder) -> list[str]:
        """Cheap check of a finished run against one listing of its folder: every artifact the
        manifest names is there with its recorded size (no reads; `verify_run` reads and hashes)."""
        problems = []
        for name, entry in manifest.get("components", {}).items():
            info = folder.files.get(entry["artifact"])
            if info is None:
                problems.append(f"{name}: manifest points to missing file {entry['artifact']}")
            elif entry.get("bytes") is not None and info.size != entry["bytes"]:
                problems.append(f"{name}: {entry['artifact']} is {info.size} bytes, manifest says {entry['bytes']}")
        return problems

    # ------------------------------------------------------------ listings
    def list_video(self, platform_id: str, video_id: str) -> dict[str, RunFolder]:
        """Every run folder of a video with its files: one recursive listing."""
        validate_platform_id(platform_id)
        validate_video_id(video_id)
        folders: dict[str, RunFolder] = {}
        for rel, info in self.storage.find(f"{platform_id}/{video_id}").items():
            parts = rel.split("/", 3)
            if len(parts) >= 4:
                folders.setdefault(parts[2], RunFolder(parts[2])).files[parts[3]] = info
        return folders

    def list_run(self, key: RunKey) -> RunFolder:
        folder = RunFolder(key.run_id)
        prefix = key.run_dir + "/"
        for rel, info in self.storage.find(key.run_dir).items():
            folder.files[rel[len(prefix):]] = info
        return folder

    def runs(self) -> Iterator[RunKey]:
        """Every run folder that has a manifest (the manifests are the source of truth)."""
        for rel in self.storage.glob(f"*/*/*/{MANIFEST}"):
            try:
                m = json.loads(self.storage.read_bytes(rel))
                yield RunKey(m["platform_id"], m["video_id"], m["run_id"], m["config_hash"],
                             m["sampling_policy_version"])
            except (json.JSONDecodeError, KeyError, ValueError, FileNotFoundError):
                continue  # unreadable manifests are reported by `verify_run`, not fatal to a scan

    def run_ids(self, platform_id: str, video_id: str) -> list[str]:
        """Finished runs (with a manifest) of a video."""
        return sorted(r for r, f in self.list_video(platform_id, video_id).items() if f.has_manifest)

    def key_for(self, platform_id: str, video_id: str, run_id: str) -> RunKey:
        """The full RunKey of an existing run, read from its manifest."""
        m = self.manifest(RunKey(platform_id, video_id, run_id))
        return RunKey(platform_id, video_id, run_id, m["config_hash"], m["sampling_policy_version"])

    def delete_run(self, key: RunKey) -> None:
        self.storage.remove(key.run_dir)

    def delete_video(self, platform_id: str, video_id: str) -> None:
        validate_platform_id(platform_id)
        validate_video_id(video_id)
        self.storage.remove(f"{platform_id}/{video_id}")


class RunWriter:
    """The single writer of one run folder: one PUT per artifact, entries kept in memory,
    `manifest.json` written by `finish()` (or `save_manifest()`) once.

    `entries` may start with the entries of artifacts written elsewhere (another process of the
    same run, or a previous attempt that was validated): they go into the manifest unchanged."""

    def __init__(self, store: ArtifactStore, key: RunKey, entries: Mapping[str, dict] | None = None):
        self.store, self.key = store, key
        self.entries: dict[str, dict] = dict(entries or {})

    def write(self, component: str, arrays: Mapping[str, Any] | None = None, **kwargs) -> dict[str, np.ndarray]:
        """Validate and PUT one artifact; returns its arrays as stored (contract dtypes).
        kwargs: status, empty_reason, model_name, model_version, weights, extra_meta, timing_s."""
        data, entry, stored = self.store.encode(self.key, component, arrays, **kwargs)
        self.store.storage.write_bytes(self.store.artifact_path(self.key, component), data)
        self.entries[component] = entry
        return stored

    def finish(self, status: str, error: str | None = None, timings: Mapping[str, float] | None = None,
               nodes: Mapping[str, str] | None = None) -> dict:
        """Write manifest.json (status ok or error). `nodes`: where each stage ran (Ray node ids)."""
        if status not in ("ok", "error"):
            raise ValueError(f"run status must be ok or error, got {status!r}")
        return self.save_manifest(status=status, error=error, finished_at=now_iso(), timings=timings, nodes=nodes)

    def save_manifest(self, status: str = "running", error: str | None = None, finished_at: str | None = None,
                      timings: Mapping[str, float] | None = None, nodes: Mapping[str, str] | None = None) -> dict:
        manifest = {
            **asdict(self.key),
            "dataprocessor_version": DATAPROCESSOR_VERSION,
            "manifest_version": MANIFEST_VERSION,
            "status": status,
            "error": error,
            "finished_at": finished_at,
            "timings": dict(timings or {}),
            "nodes": dict(nodes or {}),
            "updated_at": now_iso(),
            "components": dict(sorted(self.entries.items())),
        }
        self.store.storage.write_bytes(f"{self.key.run_dir}/{MANIFEST}", _json_bytes(manifest))
        return manifest


def _run_fields(manifest: Mapping[str, Any] | None) -> dict:
    """The run-level fields of an existing manifest, to keep them when its entries change."""
    if not manifest:
        return {}
    return {"status": manifest.get("status", "running"), "error": manifest.get("error"),
            "finished_at": manifest.get("finished_at"), "timings": manifest.get("timings")}


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode()
