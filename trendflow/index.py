"""Artifact index in the store: (platform_id, video_id, config_hash, sampling_policy_version,
dataprocessor_version) → latest successful run, so a repeated request reuses heavy compute.

One small JSON pointer object per key, next to the artifacts (same code locally and on S3):

    <store>/_index/<config_hash>/<sampling_policy_version>/<dataprocessor_version>/<platform_id>/<video_id>.json
        = {"run_id", "finished_at", key fields..., "written_at"}

- Every driver and node sees the same state; a lookup is one read, and the cache check of a
  whole corpus is one listing of a key prefix (pages of 1000 on S3), not one read per video.
- Written (one PUT, a complete object) only after the run's manifest says ok, so concurrent
  writers are safe: the last PUT wins and both runs it may name are valid.
- The manifests are the source of truth: `rebuild()` recreates the pointers from them.
- Nothing is deleted by default (`capacity=None`). With a capacity (a serving cache) the least
  recently used pointers go first: a hit rewrites its pointer (its mtime is the last use), and
  eviction deletes the pointer, then only the one run folder that pointer named.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from trendflow.artifacts import INDEX_DIR, ArtifactError, ArtifactStore, RunKey, now_iso
from trendflow.ids import validate_id, validate_platform_id, validate_video_id

POINTER_VERSION = 1
READ_THREADS = 16  # rebuild reads manifests in parallel: S3 latency, not CPU, bounds it


@dataclass(frozen=True)
class IndexKey:
    platform_id: str
    video_id: str
    config_hash: str
    sampling_policy_version: str
    dataprocessor_version: str

    @property
    def prefix(self) -> str:
        return key_prefix(self.config_hash, self.sampling_policy_version, self.dataprocessor_version)

    @property
    def pointer(self) -> str:
        validate_platform_id(self.platform_id)
        validate_video_id(self.video_id)
        return f"{self.prefix}/{self.platform_id}/{self.video_id}.json"

    def run_key(self, run_id: str) -> RunKey:
        return RunKey(self.platform_id, self.video_id, run_id, self.config_hash, self.sampling_policy_version)


def key_prefix(config_hash: str, sampling_policy_version: str, dataprocessor_version: str) -> str:
    """`_index/<config_hash>/<spv>/<dpv>`: each part validated as a safe path component."""
    parts = (validate_id(config_hash, "config_hash"), validate_id(sampling_policy_version, "sampling_policy_version"),
             validate_id(dataprocessor_version, "dataprocessor_version"))
    return "/".join((INDEX_DIR, *parts))


@dataclass(frozen=True)
class Entry:
    """One pointer as a listing shows it (no read): its key and its last use (mtime)."""
    key: IndexKey
    last_used: float


@dataclass
class Evicted:
    key: IndexKey
    run_id: str | None  # None: the pointer was unreadable, only the pointer was removed
    deleted: str | None  # the run folder deleted


@dataclass
class RebuildReport:
    manifests: int = 0
    written: list[tuple[IndexKey, str]] = field(default_factory=list)  # (key, run_id) pointers (re)written
    unchanged: int = 0
    removed: list[IndexKey] = field(default_factory=list)  # pointers to runs that are gone
    skipped: dict[str, str] = field(default_factory=dict)  # run_dir -> why it is not indexable
    evicted: list[Evicted] = field(default_factory=list)


class ArtifactIndex:
    def __init__(self, store: ArtifactStore, capacity: int | None = None):
        self.store = store
        self.storage = store.storage
        self.capacity = capacity

    @property
    def eviction(self) -> bool:
        return self.capacity is not None

    def close(self) -> None:
        """Nothing to close (kept for callers of the former SQLite index)."""

    # ------------------------------------------------------------ queries
    def read_pointer(self, key: IndexKey) -> dict | None:
        try:
            return json.loads(self.storage.read_bytes(key.pointer))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # a damaged pointer is a miss; `rebuild` rewrites it

    def lookup(self, key: IndexKey, verify: bool = True) -> str | None:
        """run_id of the latest successful run for `key`, or None (one read). With `verify`, the run's
        manifest and files are checked first (a manifest read and one listing of the run folder); a
        pointer to a run that is gone is removed. With eviction on, a hit rewrites the pointer (LRU)."""
        pointer = self.read_pointer(key)
        if pointer is None:
            return None
        run_id = pointer["run_id"]
        if verify and self._run_problems(key.run_key(run_id)):
            self.storage.remove(key.pointer)  # the index entry only: the run's files are already gone
            return None
        if self.eviction:
            self._put(key, pointer)  # touch: the pointer's mtime is its last use
        return run_id

    def hits(self, config_hash: str, sampling_policy_version: str, dataprocessor_version: str) -> set[tuple[str, str]]:
        """Every (platform_id, video_id) with a pointer under one key prefix: one listing, no reads."""
        return {(e.key.platform_id, e.key.video_id)
                for e in self._list(key_prefix(config_hash, sampling_policy_version, dataprocessor_version))}

    def touch(self, keys: list[IndexKey]) -> None:
        """Mark hits found by `hits()` as used (only matters with eviction on: one rewrite each)."""
        if self.eviction:
            for key in keys:
                pointer = self.read_pointer(key)
                if pointer is not None:
                    self._put(key, pointer)

    def entries(self) -> list[Entry]:
        """Every pointer in the store, least recently used first (one listing of `_index/`)."""
        return sorted(self._list(INDEX_DIR), key=lambda e: (e.last_used, e.key.pointer))

    def __len__(self) -> int:
        return len(self._list(INDEX_DIR))

    def videos(self) -> list[tuple[str, str]]:
        """Indexed (platform_id, video_id), least recently used first."""
        return list(dict.fromkeys((e.key.platform_id, e.key.video_id) for e in self.entries()))

    # ------------------------------------------------------------ updates
    def record_success(self, key: IndexKey, run_id: str, finished_at: str | None = None) -> None:
        """Point `key` at `run_id` (one PUT). Call it after the run's manifest says ok."""
        self._put(key, {"run_id": run_id, "finished_at": finished_at})

    def evict(self, dry_run: bool = False) -> list[Evicted]:
        """With a capacity: delete the least recently used pointers beyond it, each followed by the one
        run folder it names (never other runs or configs of the video). Without one: nothing."""
        if not self.eviction:
            return []
        entries = self.entries()
        victims = entries[:max(0, len(entries) - self.capacity)]
        return [self._evict(e.key, dry_run) for e in victims]

    def _evict(self, key: IndexKey, dry_run: bool) -> Evicted:
        pointer = self.read_pointer(key)
        run_id = pointer["run_id"] if pointer else None
        run_dir = key.run_key(run_id).run_dir if run_id else None
        if not dry_run:
            # Pointer first: a crash in between leaves an unindexed run (rebuild re-adds it), never a
            # pointer to deleted files.
            self.storage.remove(key.pointer)
            if run_dir:
                self.storage.remove(run_dir)
        return Evicted(key, run_id, run_dir)

    def rebuild(self) -> RebuildReport:
        """Recreate the pointers from the store's manifests: each key points at its latest ok run
        whose files are all there. Pointers to runs that no longer exist are removed; no artifact is
        ever deleted unless eviction is on (then `evict()` runs at the end)."""
        report = RebuildReport()
        best: dict[IndexKey, tuple[str, str]] = {}  # key -> (finished_at, run_id)
        for run_dir, run_key, manifest, folder in self._manifests():
            report.manifests += 1
            if manifest is None:
                report.skipped[run_dir] = "manifest unreadable"
                continue
            why = self._not_indexable(manifest, folder)
            if why:
                report.skipped[run_dir] = why
                continue
            key = IndexKey(run_key.platform_id, run_key.video_id, run_key.config_hash,
                           run_key.sampling_policy_version, manifest["dataprocessor_version"])
            candidate = (manifest.get("finished_at") or "", run_key.run_id)
            if key not in best or candidate > best[key]:
                best[key] = candidate
        existing = {e.key for e in self.entries()}
        for key, (finished_at, run_id) in sorted(best.items(), key=lambda kv: kv[0].pointer):
            current = self.read_pointer(key) if key in existing else None
            if current and current.get("run_id") == run_id:
                report.unchanged += 1
            else:
                self.record_success(key, run_id, finished_at or None)
                report.written.append((key, run_id))
        for key in sorted(existing - set(best), key=lambda k: k.pointer):
            self.storage.remove(key.pointer)
            report.removed.append(key)
        report.evicted = self.evict()
        return report

    def stats(self, next_n: int = 10) -> dict:
        """Counts per key prefix, capacity, and (eviction on) the next entries eviction would delete."""
        entries = self.entries()
        by_prefix = Counter(e.key.prefix.removeprefix(INDEX_DIR + "/") for e in entries)
        out = {"store": self.storage.root_url, "entries": len(entries),
               "videos": len({(e.key.platform_id, e.key.video_id) for e in entries}),
               "capacity": self.capacity, "eviction": "on" if self.eviction else "off (nothing is ever deleted)",
               "by_key": dict(sorted(by_prefix.items()))}
        if self.eviction:
            over = max(0, len(entries) - self.capacity)
            out["over_capacity"] = over
            out["next_to_evict"] = [
                {"platform_id": e.key.platform_id, "video_id": e.key.video_id, "key": e.key.prefix,
                 "run_id": (self.read_pointer(e.key) or {}).get("run_id"), "last_used": e.last_used,
                 "beyond_capacity": i < over}
                for i, e in enumerate(entries[:max(next_n, over)])]
        return out

    # ------------------------------------------------------------ internals
    def _put(self, key: IndexKey, pointer: dict) -> None:
        doc = {**asdict(key), "run_id": pointer["run_id"], "finished_at": pointer.get("finished_at"),
               "pointer_version": POINTER_VERSION, "written_at": now_iso()}
        self.storage.write_bytes(key.pointer, (json.dumps(doc, indent=1) + "\n").encode())

    def _list(self, prefix: str) -> list[Entry]:
        out = []
        for rel, info in self.storage.find(prefix).items():
            parts = rel.split("/")
            if len(parts) != 6 or parts[0] != INDEX_DIR or not parts[5].endswith(".json"):
                continue  # not a pointer (a stray file under _index/)
            out.append(Entry(IndexKey(parts[4], parts[5][:-len(".json")], *parts[1:4]), info.mtime))
        return out

    def _manifests(self):
        """(run_dir, RunKey, manifest, RunFolder) of every finished run: one listing of the whole store
        (pages of 1000 on S3), then the manifests read in parallel."""
        from trendflow.artifacts import MANIFEST, RunFolder

        folders: dict[tuple[str, str, str], RunFolder] = {}
        for rel, info in self.storage.find().items():
            parts = rel.split("/", 3)
            if len(parts) == 4 and not parts[0].startswith("_"):
                folders.setdefault(tuple(parts[:3]), RunFolder(parts[2])).files[parts[3]] = info
        finished = [ids for ids, folder in sorted(folders.items()) if folder.has_manifest]

        def read(ids: tuple[str, str, str]):
            folder = folders[ids]
            try:
                m = json.loads(self.storage.read_bytes("/".join((*ids, MANIFEST))))
                return "/".join(ids), RunKey(*ids, m["config_hash"], m["sampling_policy_version"]), m, folder
            except (json.JSONDecodeError, KeyError, FileNotFoundError, UnicodeDecodeError, ValueError):
                return "/".join(ids), None, None, folder  # unreadable, or an unsafe id: not ours to index

        with ThreadPoolExecutor(READ_THREADS) as pool:
            yield from pool.map(read, finished)

    def _not_indexable(self, manifest: dict, folder) -> str | None:
        if manifest.get("status") != "ok":
            return f"status {manifest.get('status')}"
        problems = self.store.listing_problems(manifest, folder)
        return "; ".join(problems) if problems else None

    def _run_problems(self, run_key: RunKey) -> list[str]:
        try:
            manifest = self.store.manifest(run_key)
        except (ArtifactError, json.JSONDecodeError) as e:
            return [str(e)]
        if manifest.get("status") != "ok":
            return [f"status {manifest.get('status')}"]
        return self.store.listing_problems(manifest, self.store.list_run(run_key))
