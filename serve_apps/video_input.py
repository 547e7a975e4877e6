"""Checks on a request's `video` before any extraction: inside the allowed roots, not too big, not too
long, decodable. Each failure is a `VideoRejected` carrying the HTTP status the ingress answers with."""

from __future__ import annotations

import os
import posixpath

from trendflow.storage import is_url, open_fs, resolve_uri


class VideoRejected(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _normalised(uri: str) -> str:
    """Local: the real path (symlinks and `..` resolved). URL: scheme://bucket/key with `..` refused."""
    if not is_url(uri):
        return os.path.realpath(uri.removeprefix("file://"))
    scheme, rest = uri.split("://", 1)
    if ".." in rest.split("/"):
        raise VideoRejected(400, f"video: {uri!r} contains '..'")
    return f"{scheme}://{posixpath.normpath(rest)}"


def inside_allowed_roots(video: str, roots: list[str]) -> str:
    """The video's absolute URI, or VideoRejected(400) when it lies outside every allowed root."""
    if not roots:
        raise VideoRejected(400, "video: this service accepts no video paths (serve.allowed_roots is empty); "
                                 "only videos already in the store or the cache can be predicted")
    uri = resolve_uri(video)
    target = _normalised(uri)
    for root in roots:
        base = _normalised(resolve_uri(root)).rstrip("/")
        if target == base or target.startswith(base + "/"):
            return uri
    raise VideoRejected(400, f"video: {video!r} is outside the allowed roots {roots}")


def check_video(uri: str, max_bytes: int, max_seconds: float, storage_options: dict | None = None) -> float:
    """Size and duration checks (413), and a decode probe (422 with the reason); returns the duration."""
    from ray_pipelines.video_source import local_file
    from sampling.decode import VideoDecodeError, probe
    fs, path = open_fs(uri, storage_options)
    if not fs.exists(path):
        raise VideoRejected(422, f"video: {uri} does not exist")
    size = int(fs.size(path))
    if size > max_bytes:
        raise VideoRejected(413, f"video: {size} bytes is over the limit of {max_bytes} (serve.max_upload_bytes)")
    try:
        with local_file(uri, storage_options) as local:
            info = probe(local)
    except VideoDecodeError as e:
        raise VideoRejected(422, f"video: cannot be decoded: {e.reason}") from None
    except Exception as e:  # noqa: BLE001 — anything the decoder raises on a bad file is the file's fault
        raise VideoRejected(422, f"video: cannot be decoded: {type(e).__name__}: {e}") from None
    duration = info.duration_sec or 0.0
    if duration > max_seconds:
        raise VideoRejected(413, f"video: {duration:.1f} s is over the limit of {max_seconds:.0f} s "
                                 f"(serve.max_video_seconds)")
    return duration
