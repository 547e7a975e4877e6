"""Which videos a dataset holds, and a local file to decode for each (local or object store)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Iterator

from trendflow.ids import UnsafeIdError, validate_platform_id, validate_video_id
from trendflow.storage import Storage, is_url, open_fs

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov")


@dataclass(frozen=True)
class VideoItem:
    platform_id: str
    video_id: str
    url: str  # absolute path or s3://... of the video file


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str


def list_videos(dataset_root: str, storage_options: dict | None = None, only: set[str] | None = None,
                default_platform: str = "youtube", call_log: str | None = None) -> tuple[list[VideoItem], list[Rejected]]:
    """Videos under <root>/videos/, ids validated; platform_id from metadata/<id>.json when present.
    A dataset that does not exist, or holds no video file, raises FileNotFoundError saying which."""
    storage = Storage(dataset_root, storage_options, call_log)
    names = list(storage.listdir("videos"))
    if not any(os.path.splitext(n)[1].lower() in VIDEO_EXTENSIONS for n in names):
        if not names and not storage.exists(""):
            raise FileNotFoundError(f"dataset {storage.url()}: no such folder")
        raise FileNotFoundError(f"dataset {storage.url()} holds no video: no {'/'.join(VIDEO_EXTENSIONS)} file "
                                f"under {storage.url('videos')}/")
    items, rejected, seen = [], [], set()
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() not in VIDEO_EXTENSIONS:
            continue
        try:
            video_id = validate_video_id(stem)
        except UnsafeIdError as e:
            rejected.append(Rejected(name, str(e)))
            continue
        if only is not None and video_id not in only:
            continue
        if video_id in seen:
            rejected.append(Rejected(name, f"duplicate video_id {video_id!r} (another file has it)"))
            continue
        seen.add(video_id)
        try:
            platform_id = validate_platform_id(_platform_of(storage, video_id, default_platform))
        except UnsafeIdError as e:
            rejected.append(Rejected(name, str(e)))
            continue
        items.append(VideoItem(platform_id, video_id, storage.url("videos", name)))
    if only:
        for missing in sorted(only - seen):
            rejected.append(Rejected(missing, "no video file with this id in <dataset>/videos/"))
    return items, rejected


def _platform_of(storage: Storage, video_id: str, default: str) -> str:
    rel = f"metadata/{video_id}.json"
    try:
        return json.loads(storage.read_bytes(rel)).get("platform_id") or default
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return default  # the dataset validator reports broken metadata; extraction needs only the file


@contextlib.contextmanager
def local_file(url: str, storage_options: dict | None = None, call_log: str | None = None) -> Iterator[str]:
    """A local path for `url`: itself when local, else a temporary download (one GET) removed afterwards."""
    if not is_url(url):
        yield url.removeprefix("file://")
        return
    fs, path = open_fs(url, storage_options, call_log)
    suffix = os.path.splitext(path)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix, prefix="trendflow-") as tmp:
        fs.get_file(path, tmp.name)
        yield tmp.name
