"""One storage adapter for local paths and object stores (s3://, MinIO), over fsspec.

Writes are atomic: locally a temp file in the same folder is renamed over the target; on an
object store a single PUT (or a completed multipart upload) makes the object appear whole.
Either way a reader never sees a half-written file under the final name.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from typing import Any, Iterator

import fsspec


class Storage:
    """Paths are strings relative to `root`; `url(rel)` gives the absolute location."""

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None):
        self.root_url = root.rstrip("/") or "/"
        self.fs, self.root = fsspec.core.url_to_fs(self.root_url, **(storage_options or {}))
        self.is_local = "file" in _protocols(self.fs)

    # ------------------------------------------------------------ paths
    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts) if parts else self.root

    def url(self, *parts: str) -> str:
        p = self.path(*parts)
        return p if self.is_local else self.fs.unstrip_protocol(p)

    # ------------------------------------------------------------ IO
    def write_bytes(self, rel: str, data: bytes) -> None:
        target = self.path(rel)
        if self.is_local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.tmp-{uuid.uuid4().hex}"
            try:
                with open(tmp, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        else:
            self.fs.pipe_file(target, data)

    def read_bytes(self, rel: str) -> bytes:
        return self.fs.cat_file(self.path(rel))

    def exists(self, rel: str) -> bool:
        return self.fs.exists(self.path(rel))

    def glob(self, pattern: str) -> list[str]:
        """Relative paths matching `pattern` (relative to root), temp files excluded."""
        prefix = self.root.rstrip("/") + "/"
        hits = self.fs.glob(self.path(pattern))
        return sorted(h[len(prefix):] if h.startswith(prefix) else h for h in hits if ".tmp-" not in h)

    def listdir(self, rel: str = "") -> Iterator[str]:
        """Names directly below `rel` (empty when it does not exist)."""
        base = self.path(rel) if rel else self.root
        try:
            entries = self.fs.ls(base, detail=False)
        except FileNotFoundError:
            return iter(())
        return iter(sorted(posixpath.basename(e.rstrip("/")) for e in entries))

    def remove(self, rel: str) -> None:
        """Remove a file or a folder tree; missing paths are fine."""
        p = self.path(rel)
        if self.fs.exists(p):
            self.fs.rm(p, recursive=True)
        self.fs.invalidate_cache()


def _protocols(fs) -> tuple[str, ...]:
    p = fs.protocol
    return (p,) if isinstance(p, str) else tuple(p)
