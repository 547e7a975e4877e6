"""Per-run artifacts: NPZ files with a mandatory meta block, and a manifest per run.

Layout (SPEC §6):
    <store>/<platform_id>/<video_id>/<run_id>/manifest.json
    <store>/<platform_id>/<video_id>/<run_id>/<component>/<component>.npz
    <store>/<platform_id>/<video_id>/<run_id>/<component>/entry.json   (this component's manifest entry)
    <store>/<platform_id>/<video_id>/<run_id>/run.json                 (run-level status, once finished)

NPZ is the source of truth. Each write validates the arrays against the component's contract
(`trendflow.components`), writes the NPZ atomically, then its `entry.json`, then rebuilds
`manifest.json` from all entries under a lock. Entries are per component, so concurrent writers to
one run folder never overwrite each other's records; the manifest can always be rebuilt from them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

import numpy as np
from filelock import FileLock

from trendflow import DATAPROCESSOR_VERSION
from trendflow.components import (
    ArtifactValidationError,
    coerce_arrays,
    get_spec,
    validate_arrays,
    validate_meta,
)
from trendflow.ids import validate_platform_id, validate_run_id, validate_video_id
from trendflow.storage import Storage

META_KEY = "meta"
MANIFEST = "manifest.json"
RUN_FILE = "run.json"
ENTRY_FILE = "entry.json"


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


class ArtifactStore:
    """Reads and writes the per-run result store (local path or s3://...)."""

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None):
        self.storage = Storage(root, storage_options)

    # ------------------------------------------------------------ paths
    @staticmethod
    def artifact_path(key: RunKey, component: str) -> str:
        return f"{key.run_dir}/{component}/{component}.npz"

    # ------------------------------------------------------------ write
    def write(
        self,
        key: RunKey,
        component: str,
        arrays: Mapping[str, Any] | None = None,
        *,
        status: str = "ok",
        empty_reason: str | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
        weights: str | None = None,
        extra_meta: Mapping[str, Any] | None = None,
        timing_s: float | None = None,
    ) -> str:
        """Validate, write the NPZ atomically, record it in the manifest; return its relative path."""
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
            **dict(extra_meta or {}),
        }
        try:
            validate_arrays(spec, arrays, status)
            validate_meta(spec, meta)
        except ArtifactValidationError as e:
            raise ArtifactError(f"{key.video_id}/{component}: {e}") from e
        data = encode_npz(arrays, meta)
        rel = self.artifact_path(key, component)
        self.storage.write_bytes(rel, data)
        entry = {
            "component": component,
            "artifact": f"{component}/{component}.npz",
            "status": status,
            "empty_reason": empty_reason,
            "required": spec.required,
            "producer_version": spec.version,
            "schema_version": spec.schema_version,
            "model_name": model_name,
            "model_version": model_version,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "timing_s": timing_s,
            "written_at": meta["created_at"],
        }
        self.storage.write_bytes(f"{key.run_dir}/{component}/{ENTRY_FILE}", _json_bytes(entry))
        self.rebuild_manifest(key)
        return rel

    def finish_run(self, key: RunKey, status: str, error: str | None = None,
                   timings: Mapping[str, float] | None = None) -> dict:
        """Mark a run finished (status ok or error) and return the rebuilt manifest."""
        if status not in ("ok", "error"):
            raise ValueError(f"run status must be ok or error, got {status!r}")
        run = {"status": status, "error": error, "finished_at": now_iso(), "timings": dict(timings or {})}
        self.storage.write_bytes(f"{key.run_dir}/{RUN_FILE}", _json_bytes(run))
        return self.rebuild_manifest(key)

    def rebuild_manifest(self, key: RunKey) -> dict:
        """Regenerate manifest.json from the run's entry files (the records of truth)."""
        with self._run_lock(key):
            components = {}
            for name in self.storage.listdir(key.run_dir):
                rel = f"{key.run_dir}/{name}/{ENTRY_FILE}"
                if self.storage.exists(rel):
                    components[name] = json.loads(self.storage.read_bytes(rel))
            run_rel = f"{key.run_dir}/{RUN_FILE}"
            run = json.loads(self.storage.read_bytes(run_rel)) if self.storage.exists(run_rel) else {}
            manifest = {
                **asdict(key),
                "dataprocessor_version": DATAPROCESSOR_VERSION,
                "status": run.get("status", "running"),
                "error": run.get("error"),
                "finished_at": run.get("finished_at"),
                "timings": run.get("timings", {}),
                "updated_at": now_iso(),
                "components": dict(sorted(components.items())),
            }
            self.storage.write_bytes(f"{key.run_dir}/{MANIFEST}", _json_bytes(manifest))
            return manifest

    def _run_lock(self, key: RunKey):
        # Local stores lock across processes; object stores have no cheap lock, and the pipeline
        # gives each run folder a single writer there, so a per-process lock is enough.
        if self.storage.is_local:
            return FileLock(self.storage.path(key.run_dir, ".manifest.lock"))
        digest = hashlib.sha1(self.storage.url(key.run_dir).encode()).hexdigest()
        return FileLock(os.path.join(tempfile.gettempdir(), f"trendflow-{digest}.lock"))

    # ------------------------------------------------------------ read
    def read(self, key: RunKey, component: str, validate: bool = True) -> Artifact:
        rel = self.artifact_path(key, component)
        if not self.storage.exists(rel):
            raise ArtifactError(f"{key.run_dir}: no {component} artifact at {rel}")
        art = decode_npz(self.storage.read_bytes(rel), where=rel)
        if validate:
            spec = get_spec(component)
            try:
                validate_meta(spec, art.meta)
                validate_arrays(spec, art.arrays, art.meta["status"])
            except ArtifactValidationError as e:
                raise ArtifactError(f"{rel}: {e}") from e
        return art

    def manifest(self, key: RunKey) -> dict:
        rel = f"{key.run_dir}/{MANIFEST}"
        if not self.storage.exists(rel):
            raise ArtifactError(f"{key.run_dir}: no manifest")
        return json.loads(self.storage.read_bytes(rel))

    def verify_run(self, key: RunKey) -> list[str]:
        """Problems that make a finished run unusable: missing/corrupt artifacts, checksum drift."""
        problems = []
        try:
            manifest = self.manifest(key)
        except (ArtifactError, json.JSONDecodeError) as e:
            return [str(e)]
        for name, entry in manifest["components"].items():
            rel = f"{key.run_dir}/{entry['artifact']}"
            if not self.storage.exists(rel):
                problems.append(f"{name}: manifest points to missing file {rel}")
                continue
            data = self.storage.read_bytes(rel)
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

    def runs(self) -> Iterator[RunKey]:
        """Every run folder that has a manifest (the manifests are the source of truth)."""
        for rel in self.storage.glob(f"*/*/*/{MANIFEST}"):
            try:
                m = json.loads(self.storage.read_bytes(rel))
                yield RunKey(m["platform_id"], m["video_id"], m["run_id"], m["config_hash"],
                             m["sampling_policy_version"])
            except (json.JSONDecodeError, KeyError, ValueError):
                continue  # unreadable manifests are reported by `verify_run`, not fatal to a scan

    def run_ids(self, platform_id: str, video_id: str) -> list[str]:
        validate_platform_id(platform_id)
        validate_video_id(video_id)
        return [r for r in self.storage.listdir(f"{platform_id}/{video_id}")
                if self.storage.exists(f"{platform_id}/{video_id}/{r}/{MANIFEST}")]

    def key_for(self, platform_id: str, video_id: str, run_id: str) -> RunKey:
        """The full RunKey of an existing run, read from its manifest."""
        m = self.manifest(RunKey(platform_id, video_id, run_id))
        return RunKey(platform_id, video_id, run_id, m["config_hash"], m["sampling_policy_version"])

    def delete_video(self, platform_id: str, video_id: str) -> None:
        validate_platform_id(platform_id)
        validate_video_id(video_id)
        self.storage.remove(f"{platform_id}/{video_id}")


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode()
