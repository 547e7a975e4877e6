"""Artifact index: (platform_id, video_id, config_hash, sampling_policy_version,
dataprocessor_version) → latest successful run, so a repeated request reuses heavy compute.

An embedded SQLite file. It holds at most `capacity` unique videos; the least recently used are
evicted together with their artifacts. Manifests are the source of truth: `rebuild()` recreates
the index from them, and `lookup()` verifies that a hit still has its files (a run deleted by hand
is dropped from the index, not returned).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from trendflow.artifacts import ArtifactStore, RunKey

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    platform_id TEXT NOT NULL, video_id TEXT NOT NULL, config_hash TEXT NOT NULL,
    sampling_policy_version TEXT NOT NULL, dataprocessor_version TEXT NOT NULL,
    run_id TEXT NOT NULL, finished_at TEXT,
    PRIMARY KEY (platform_id, video_id, config_hash, sampling_policy_version, dataprocessor_version));
CREATE TABLE IF NOT EXISTS videos (
    platform_id TEXT NOT NULL, video_id TEXT NOT NULL, last_used REAL NOT NULL,
    PRIMARY KEY (platform_id, video_id));
CREATE INDEX IF NOT EXISTS videos_lru ON videos (last_used);
"""


@dataclass(frozen=True)
class IndexKey:
    platform_id: str
    video_id: str
    config_hash: str
    sampling_policy_version: str
    dataprocessor_version: str


def default_index_path(store_root: str) -> str:
    if "://" not in store_root or store_root.startswith("file://"):
        return os.path.join(store_root.removeprefix("file://"), "index.sqlite")
    digest = hashlib.sha1(store_root.encode()).hexdigest()[:12]
    return str(Path.home() / ".cache" / "trendflow" / f"index-{digest}.sqlite")


class ArtifactIndex:
    def __init__(self, store: ArtifactStore, path: str | None = None, capacity: int = 10_000):
        self.store = store
        self.capacity = capacity
        self.path = path or default_index_path(store.storage.root_url)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ queries
    def lookup(self, key: IndexKey, verify: bool = True) -> str | None:
        """run_id of the latest successful run for `key`, or None. Touches the video (LRU)."""
        row = self._db.execute(
            "SELECT run_id FROM runs WHERE platform_id=? AND video_id=? AND config_hash=? "
            "AND sampling_policy_version=? AND dataprocessor_version=?", _tuple(key)).fetchone()
        if row is None:
            return None
        run_id = row[0]
        if verify:
            run_key = RunKey(key.platform_id, key.video_id, run_id, key.config_hash, key.sampling_policy_version)
            if self.store.verify_run(run_key):
                self._forget(key)  # its files are gone or broken: repair the index, recompute
                return None
        self._touch(key.platform_id, key.video_id)
        return run_id

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM videos").fetchone()[0]

    def videos(self) -> list[tuple[str, str]]:
        """Indexed videos, least recently used first."""
        return [tuple(r) for r in self._db.execute(
            "SELECT platform_id, video_id FROM videos ORDER BY last_used, rowid")]

    # ------------------------------------------------------------ updates
    def record_success(self, key: IndexKey, run_id: str, finished_at: str | None = None) -> list[tuple[str, str]]:
        """Point `key` at `run_id`; evict beyond capacity. Returns the evicted videos."""
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?)", (*_tuple(key), run_id, finished_at))
        self._touch(key.platform_id, key.video_id)
        return self.evict()

    def evict(self) -> list[tuple[str, str]]:
        excess = len(self) - self.capacity
        if excess <= 0:
            return []
        victims = self.videos()[:excess]
        for platform_id, video_id in victims:
            # Index rows first: a crash after this leaves orphan files (rebuild re-adds them),
            # never an index row pointing at deleted files.
            with self._tx():
                self._db.execute("DELETE FROM runs WHERE platform_id=? AND video_id=?", (platform_id, video_id))
                self._db.execute("DELETE FROM videos WHERE platform_id=? AND video_id=?", (platform_id, video_id))
            self.store.delete_video(platform_id, video_id)
        return victims

    def rebuild(self) -> int:
        """Recreate the index from the store's manifests; returns the number of runs indexed."""
        with self._tx():
            self._db.execute("DELETE FROM runs")
            self._db.execute("DELETE FROM videos")
        n = 0
        for run_key in self.store.runs():
            m = self.store.manifest(run_key)
            if m.get("status") != "ok" or self.store.verify_run(run_key):
                continue
            key = IndexKey(run_key.platform_id, run_key.video_id, run_key.config_hash,
                           run_key.sampling_policy_version, m["dataprocessor_version"])
            current = self._db.execute(
                "SELECT finished_at FROM runs WHERE platform_id=? AND video_id=? AND config_hash=? "
                "AND sampling_policy_version=? AND dataprocessor_version=?", _tuple(key)).fetchone()
            if current is None or (m.get("finished_at") or "") > (current[0] or ""):
                with self._tx():
                    self._db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?)",
                                     (*_tuple(key), run_key.run_id, m.get("finished_at")))
                n += current is None
                self._touch(key.platform_id, key.video_id, _epoch(m.get("finished_at")))
        self.evict()
        return n

    # ------------------------------------------------------------ internals
    def _touch(self, platform_id: str, video_id: str, when: float | None = None) -> None:
        with self._tx():
            self._db.execute("INSERT OR REPLACE INTO videos VALUES (?,?,?)",
                             (platform_id, video_id, time.time() if when is None else when))

    def _forget(self, key: IndexKey) -> None:
        with self._tx():
            self._db.execute(
                "DELETE FROM runs WHERE platform_id=? AND video_id=? AND config_hash=? "
                "AND sampling_policy_version=? AND dataprocessor_version=?", _tuple(key))
            left = self._db.execute("SELECT COUNT(*) FROM runs WHERE platform_id=? AND video_id=?",
                                    (key.platform_id, key.video_id)).fetchone()[0]
            if not left:
                self._db.execute("DELETE FROM videos WHERE platform_id=? AND video_id=?",
                                 (key.platform_id, key.video_id))

    def _tx(self):
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlocks

    def __exit__(self, exc_type, *_):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _tuple(key: IndexKey) -> tuple:
    return (key.platform_id, key.video_id, key.config_hash, key.sampling_policy_version,
            key.dataprocessor_version)


def _epoch(iso: str | None) -> float:
    from datetime import datetime
    if not iso:
        return 0.0
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
