"""One storage adapter for local paths and object stores (s3://, MinIO), over fsspec.

Every operation is one fsspec call on one filesystem object (`Storage.fs`), locally and on S3:
a write is one `pipe_file` (one PUT on S3; locally a temp file in the same folder renamed over
the target, see `AtomicLocalFileSystem`), a read one `cat_file` (one GET), a recursive listing
one `find` (one LIST per 1000 keys on S3). Either way a reader never sees a half-written file
under its final name.

`call_log`: when set, every call is also appended as one line to that local file (see
`CountingFileSystem`); benchmarks and tests count storage calls with it, on every node.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import fsspec
from fsspec.implementations.local import LocalFileSystem


class AtomicLocalFileSystem(LocalFileSystem):
    """fsspec's local filesystem whose `pipe_file` is atomic: temp file + fsync + rename, parents made."""

    protocol = ("file", "local")

    def pipe_file(self, path, value, mode="overwrite", **kwargs):
        target = self._strip_protocol(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.tmp-{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as f:
                f.write(value)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


# The fsspec methods that touch storage (one line each in the call log); others (path helpers,
# cache invalidation) are passed through uncounted.
COUNTED_CALLS = frozenset({
    "pipe_file", "pipe", "cat_file", "cat", "open", "exists", "info", "isdir", "isfile", "ls", "find", "glob",
    "walk", "du", "get_file", "get", "put_file", "put", "rm", "rm_file", "mv", "copy", "makedirs", "mkdir",
    "created", "modified", "size", "head", "tail", "touch",
})


class CountingFileSystem:
    """Wraps a real fsspec filesystem; appends `pid<TAB>method<TAB>path` to `log_path` for every call
    in COUNTED_CALLS. Lines are short single `write`s in append mode, so processes on one machine
    (a local Ray cluster, or several nodes on one host) can share the file."""

    def __init__(self, fs, log_path: str):
        self.fs, self.log_path = fs, log_path

    def __getattr__(self, name: str):
        if name in ("fs", "log_path") or name.startswith("__"):  # unpickling looks these up first
            raise AttributeError(name)
        attr = getattr(self.fs, name)
        if name not in COUNTED_CALLS or not callable(attr):
            return attr

        def counted(*args, **kwargs):
            path = args[0] if args and isinstance(args[0], str) else ""
            with open(self.log_path, "a") as f:
                f.write(f"{os.getpid()}\t{name}\t{path}\n")
            return attr(*args, **kwargs)
        return counted


def read_call_log(path: str) -> list[tuple[str, str]]:
    """(method, path) of every call recorded in a call log (empty when it does not exist)."""
    try:
        with open(path) as f:
            return [tuple(line.rstrip("\n").split("\t")[1:3]) for line in f if line.count("\t") >= 2]
    except FileNotFoundError:
        return []


def split_calls(log_path: str, videos) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str, str]]]:
    """A call log split into each video's calls (its file, metadata, run folder, index pointer: every
    path naming the video) and the run-level rest (dataset and index listings, summary, table part)."""
    per_video, run_level = {v: [] for v in videos}, []
    for method, path in read_call_log(log_path):
        owner = [v for v in per_video if f"/{v}/" in path or path.endswith((f"/{v}.mp4", f"/{v}.json"))]
        (per_video[owner[0]] if owner else run_level).append((method, path))
    return per_video, run_level


def is_url(path: str) -> bool:
    """True for object-store URLs (s3://...); local paths and file:// are not URLs here."""
    return "://" in path and not path.startswith("file://")


def resolve_uri(path: str) -> str:
    """An absolute location: URLs unchanged, local paths (and file://) made absolute. The driver
    resolves every path with this, so workers (other cwd, other node) get the same location."""
    if is_url(path):
        return path.rstrip("/") or path
    return os.path.abspath(os.path.expanduser(path.removeprefix("file://")))


def open_fs(url: str, storage_options: dict[str, Any] | None = None, call_log: str | None = None):
    """(filesystem, path inside it) for `url`, wrapped in a CountingFileSystem when `call_log` is set."""
    if is_url(url):
        # No listings cache: other processes and nodes write this store, and s3fs answers cat_file's size
        # check from a cached listing, so a file written after a listing would read as missing.
        fs, path = fsspec.core.url_to_fs(url, **{"use_listings_cache": False, **(storage_options or {})})
    else:
        fs, path = AtomicLocalFileSystem(), os.path.abspath(url.removeprefix("file://"))
    return (CountingFileSystem(fs, call_log) if call_log else fs), path


@dataclass(frozen=True)
class FileInfo:
    size: int
    mtime: float  # seconds since the epoch (S3: LastModified)


class Storage:
    """Paths are strings relative to `root`; `url(rel)` gives the absolute location."""

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None, call_log: str | None = None):
        self.root_url = root.rstrip("/") or "/"
        self.storage_options = dict(storage_options or {})
        self.call_log = call_log
        self.fs, self.root = open_fs(self.root_url, self.storage_options, call_log)
        self.root = self.root.rstrip("/") or "/"
        self.is_local = not is_url(self.root_url)

    # ------------------------------------------------------------ paths
    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts) if parts else self.root

    def url(self, *parts: str) -> str:
        p = self.path(*parts)
        return p if self.is_local else self.fs.unstrip_protocol(p)

    def rel(self, path: str) -> str:
        """`path` (as fsspec lists it) relative to the root."""
        prefix = self.root.rstrip("/") + "/"
        return path[len(prefix):] if path.startswith(prefix) else path

    # ------------------------------------------------------------ IO (one fsspec call each)
    def write_bytes(self, rel: str, data: bytes) -> None:
        self.fs.pipe_file(self.path(rel), data)

    def read_bytes(self, rel: str) -> bytes:
        """The object's bytes; FileNotFoundError when it does not exist."""
        return self.fs.cat_file(self.path(rel))

    def exists(self, rel: str) -> bool:
        return self.fs.exists(self.path(rel))

    def find(self, rel: str = "") -> dict[str, FileInfo]:
        """Every file below `rel` (recursive, temp files excluded) → size and mtime, keyed by path
        relative to the root; empty when nothing is there."""
        base = self.path(rel) if rel else self.root
        self.fs.invalidate_cache(base)  # fsspec caches listings per process: other writers exist
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return {}
        return {self.rel(p): FileInfo(int(d.get("size") or 0), _mtime(d)) for p, d in found.items()
                if ".tmp-" not in p and d.get("type", "file") != "directory"}

    def glob(self, pattern: str) -> list[str]:
        """Relative paths matching `pattern` (relative to root), temp files excluded."""
        self.fs.invalidate_cache(self.root)
        hits = self.fs.glob(self.path(pattern))
        return sorted(self.rel(h) for h in hits if ".tmp-" not in h)

    def listdir(self, rel: str = "") -> Iterator[str]:
        """Names directly below `rel` (empty when it does not exist)."""
        base = self.path(rel) if rel else self.root
        self.fs.invalidate_cache(base)
        try:
            entries = self.fs.ls(base, detail=False)
        except FileNotFoundError:
            return iter(())
        return iter(sorted(posixpath.basename(e.rstrip("/")) for e in entries))

    def get_file(self, rel: str, local_path: str) -> None:
        self.fs.get_file(self.path(rel), local_path)

    def remove(self, rel: str) -> None:
        """Remove a file or a folder tree; missing paths are fine."""
        try:
            self.fs.rm(self.path(rel), recursive=True)
        except FileNotFoundError:
            pass
        self.fs.invalidate_cache()

    def arrow_filesystem(self):
        """(pyarrow filesystem, root path in it) for pyarrow / Ray Data readers and writers."""
        import pyarrow.fs as pafs

        if self.is_local and not self.call_log:
            return pafs.LocalFileSystem(), self.root
        return pafs.PyFileSystem(pafs.FSSpecHandler(self.fs)), self.root


def _mtime(detail: dict) -> float:
    value = detail.get("mtime", detail.get("LastModified", detail.get("last_modified")))
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
