"""Where training inputs and outputs live: absolute URIs (local or s3://), and the shared-storage rule.

Every path a training command takes (training data, model folders, Ray Train `storage_path`, reports)
may be a local path or `s3://bucket/prefix` (MinIO-compatible endpoints through `storage_options`,
the fsspec options of the config's `storage` section). Paths are resolved here, on the driver, to
absolute URIs before anything is shipped to a Ray worker: a relative path means something else on
every node.

    from train.uris import absolute_uri, arrow_filesystem, require_shared
    absolute_uri("models/v1")                   # '/home/me/project/models/v1'
    fs, path = arrow_filesystem("s3://b/m", {"endpoint_url": "http://127.0.0.1:9000"})
"""

from __future__ import annotations

import os
from typing import Any


class SharedStorageError(ValueError):
    """A local path was given where every node of a multi-node cluster must read or write."""


def is_remote(uri: str) -> bool:
    """True for object-store URIs (s3://, gs://, ...); False for local paths and file://."""
    return "://" in uri and not uri.startswith("file://")


def absolute_uri(path: str) -> str:
    """`path` as an absolute URI: object-store URIs unchanged (no trailing '/'), local paths made absolute."""
    path = str(path)
    if is_remote(path):
        return path.rstrip("/")
    if path.startswith("file://"):
        path = path[len("file://"):]
    return os.path.abspath(os.path.expanduser(path))


def join(uri: str, *parts: str) -> str:
    """`uri/part/...` for local paths and object-store URIs alike."""
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts)]) if is_remote(uri) else os.path.join(uri, *parts)


def arrow_filesystem(uri: str, storage_options: dict[str, Any] | None = None):
    """(pyarrow FileSystem, path inside it) for `uri`; (None, local path) for local paths.

    Object stores go through fsspec (s3fs) wrapped for pyarrow, so custom endpoints (MinIO) and
    credentials in `storage_options` reach Ray Train and Ray Data (ray-2.60.md §2).
    """
    uri = absolute_uri(uri)
    if not is_remote(uri):
        return None, uri
    import fsspec
    from pyarrow.fs import FSSpecHandler, PyFileSystem
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
    return PyFileSystem(FSSpecHandler(fs)), path


def alive_nodes() -> int:
    """Alive nodes of the connected Ray cluster."""
    import ray
    return sum(1 for n in ray.nodes() if n.get("Alive"))


def require_shared(uri: str, what: str, n_nodes: int) -> None:
    """Refuse a local `uri` when a cluster of `n_nodes` > 1 must reach it from every node."""
    if n_nodes > 1 and not is_remote(uri):
        raise SharedStorageError(
            f"{what} {uri} is a local path, but the Ray cluster has {n_nodes} nodes and each node would see its "
            f"own disk; use shared storage (s3://bucket/prefix, with storage.storage_options for MinIO)")


def _parent_and_name(uri: str) -> tuple[str, str]:
    uri = absolute_uri(uri)
    parent, _, name = uri.rpartition("/")
    return parent or "/", name


def write_file(uri: str, data: bytes, storage_options: dict[str, Any] | None = None) -> str:
    """Write one file (local or object store) atomically through the storage adapter; returns its URI."""
    from trendflow.storage import Storage
    parent, name = _parent_and_name(uri)
    Storage(parent, storage_options).write_bytes(name, data)
    return absolute_uri(uri)


def read_file(uri: str, storage_options: dict[str, Any] | None = None) -> bytes:
    from trendflow.storage import Storage
    parent, name = _parent_and_name(uri)
    return Storage(parent, storage_options).read_bytes(name)


def file_exists(uri: str, storage_options: dict[str, Any] | None = None) -> bool:
    from trendflow.storage import Storage
    parent, name = _parent_and_name(uri)
    return Storage(parent, storage_options).exists(name)


class StorageFolder:
    """A folder, local or on an object store, read and written through the storage adapter (atomic writes).

    `storage_options` are the fsspec options of the config's `storage` section (endpoint, keys); they
    travel with the folder, so everything opened from it reaches the same store.
    """

    def __init__(self, uri: str, storage_options: dict[str, Any] | None = None):
        from trendflow.storage import Storage
        self.uri = absolute_uri(uri)
        self.storage_options = dict(storage_options or {})
        self.storage = Storage(self.uri, self.storage_options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"

    def path(self, name: str) -> str:
        return join(self.uri, name)

    def exists(self, name: str) -> bool:
        return self.storage.exists(name)

    def read_bytes(self, name: str) -> bytes:
        return self.storage.read_bytes(name)

    def write_bytes(self, name: str, data: bytes) -> str:
        self.storage.write_bytes(name, data)
        return self.path(name)

    def read_json(self, name: str) -> Any:
        import json
        return json.loads(self.read_bytes(name))

    def write_json(self, name: str, doc: Any) -> str:
        import json
        return self.write_bytes(name, json.dumps(doc, indent=2, default=_jsonable).encode())


def _jsonable(x: Any) -> Any:
    import numpy as np
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)
