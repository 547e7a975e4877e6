"""What the author page reads besides /v1/predict: the video catalogue, shot timelines, thumbnails, uploads.

    catalog = VideoCatalog(dataset_root="demo_out/dataset", stores=[("store", store), ("cache", cache)])
    catalog.search("cats", limit=20)        # [{platform_id, video_id, title, metadata, snapshot, in_store, ...}]
    timeline = ShotReader(stores).timeline("youtube", "abc", run_id=None)   # per-shot quality/motion/loudness
    ShotReader(stores).thumbnail("youtube", "abc", 3)                      # JPEG bytes of shot 3, or None
    saved = store_upload(fileobj, "clip.mp4", cache, max_bytes=..., max_seconds=...)

No HTTP here (serve_apps/page_api.py translates); every number comes from the artifacts or the dataset.
The STORE is only read; uploads go to the serving cache under `_uploads/`.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from trendflow.artifacts import ArtifactError, ArtifactStore, RunKey
from trendflow.ids import UnsafeIdError, validate_platform_id, validate_video_id

UPLOADS_DIR = "_uploads"  # in the serving cache store; "_" keeps it out of the per-platform folders
UPLOAD_PLATFORM = "upload"  # uploaded files are keyed (upload, up-<hex>): they are on no platform yet
UPLOAD_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov")
CATALOG_TTL_S = 30.0  # store listings are refreshed this often (the cache grows while the service runs)
ARTIFACTS_IN_MEMORY = 64  # thumbnail artifacts kept decoded (a timeline asks for one JPEG per shot)


# ---------------------------------------------------------------------- the catalogue

def _store_videos(store: ArtifactStore) -> set[tuple[str, str]]:
    """(platform_id, video_id) of every video folder in a store (one listing per platform)."""
    out = set()
    for platform in store.storage.listdir():
        if platform.startswith(("_", ".")):
            continue  # _index, _runs, _tables, _uploads
        for video in store.storage.listdir(platform):
            out.add((platform, video))
    return out


def _dataset_entries(dataset_root: str, storage_options: dict | None) -> dict[tuple[str, str], dict]:
    """Metadata + snapshot-1 counters of every usable video of the dataset (read once, in parallel)."""
    from trendflow.dataset.loader import DatasetReader

    reader = DatasetReader(dataset_root, storage_options, require_videos=False, workers=8)
    out, files = {}, {}
    for rec in reader:
        if not rec.usable:
            continue
        snap = rec.snapshots[1].model_dump(mode="json", exclude_none=True, exclude={"comments"})
        snap["collected_at"] = rec.snapshot_times[1].isoformat().replace("+00:00", "Z")
        out[rec.key] = {
            "metadata": rec.metadata.model_dump(mode="json", exclude_none=True),
            "snapshot": snap,
            "video": reader.storage.url(rec.video_file) if rec.video_file else None,
        }
        files[rec.key] = rec.metadata_file
    drop = reader.finish().drop_files
    return {k: v for k, v in out.items() if files[k] not in drop}  # duplicates: never merged


class VideoCatalog:
    """Videos an author can pick: those with artifacts in the store or the cache, and the dataset's."""

    def __init__(self, dataset_root: str | None, stores: list[tuple[str, ArtifactStore]],
                 storage_options: dict | None = None):
        self.dataset_root, self.stores, self.storage_options = dataset_root, stores, storage_options
        self._dataset: dict[tuple[str, str], dict] | None = None
        self._listed: tuple[float, dict[str, set]] = (0.0, {})
        self._lock = threading.Lock()

    def _dataset_part(self) -> dict[tuple[str, str], dict]:
        with self._lock:
            if self._dataset is None:
                self._dataset = _dataset_entries(self.dataset_root, self.storage_options) if self.dataset_root else {}
            return self._dataset

    def _listings(self) -> dict[str, set]:
        with self._lock:
            at, listed = self._listed
            if time.monotonic() - at > CATALOG_TTL_S:
                listed = {source: _store_videos(store) for source, store in self.stores}
                self._listed = (time.monotonic(), listed)
            return listed

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        """Videos whose id or title contains `query` (case-insensitive; empty: all), those with artifacts
        first, then by id."""
        dataset, listed = self._dataset_part(), self._listings()
        keys = set(dataset) | {k for videos in listed.values() for k in videos if k[0] != UPLOAD_PLATFORM}
        q = query.strip().lower()
        hits = []
        for key in keys:
            entry = dataset.get(key, {})
            title = (entry.get("metadata") or {}).get("title") or ""
            if q and q not in key[1].lower() and q not in title.lower():
                continue
            sources = [source for source, videos in listed.items() if key in videos]
            hits.append({"platform_id": key[0], "video_id": key[1], "title": title or None,
                         "channel": (entry.get("metadata") or {}).get("channelTitle"),
                         "artifacts_in": sources, "in_dataset": bool(entry),
                         "metadata": entry.get("metadata"), "snapshot": entry.get("snapshot"),
                         "video": entry.get("video")})
        hits.sort(key=lambda h: (not h["artifacts_in"], h["video_id"]))
        return hits[:limit]


# ---------------------------------------------------------------------- shots and thumbnails

class NotFound(LookupError):
    """No artifacts for this video (or run, or shot)."""


@dataclass
class FoundRun:
    source: str
    store: ArtifactStore
    key: RunKey


def _per_shot_loudness(starts: np.ndarray, ends: np.ndarray, loud: dict | None) -> list[float | None]:
    """Short-term (3 s) loudness at each shot: the mean of the windows centred inside it, else the window
    centred nearest its middle; None without a loudness curve."""
    if not loud or not len(loud.get("short_term_lufs", ())):
        return [None] * len(starts)
    lufs = np.asarray(loud["short_term_lufs"], np.float64)
    centres = np.asarray(loud["short_term_times_sec"], np.float64)
    out = []
    for s, e in zip(starts, ends):
        inside = (centres >= s) & (centres < e)
        value = lufs[inside].mean() if inside.any() else lufs[np.argmin(np.abs(centres - (s + e) / 2))]
        out.append(round(float(value), 2))
    return out


def _floats(x, digits: int = 4) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), digits) for v in np.asarray(x, np.float64)]


class ShotReader:
    """Reads a run's per-shot arrays from the store, then the cache (the newest ok run unless one is named)."""

    def __init__(self, stores: list[tuple[str, ArtifactStore]]):
        self.stores = stores
        self._artifacts: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def find_run(self, platform_id: str, video_id: str, run_id: str | None = None) -> FoundRun:
        from train.build_dataset import latest_ok_run

        platform_id, video_id = validate_platform_id(platform_id), validate_video_id(video_id)
        for source, store in self.stores:
            if run_id is not None:
                if run_id in store.list_video(platform_id, video_id):
                    return FoundRun(source, store, store.key_for(platform_id, video_id, run_id))
                continue
            key, _ = latest_ok_run(store, platform_id, video_id, None, None)
            if key is not None:
                return FoundRun(source, store, key)
        what = f"run {run_id} of " if run_id else ""
        raise NotFound(f"no artifacts for {what}video {platform_id}/{video_id} in the store or the serving cache")

    def _read(self, run: FoundRun, component: str):
        """The artifact's arrays (status ok) or None; decoded artifacts are kept (bounded)."""
        k = (run.store.storage.root_url, run.key.platform_id, run.key.video_id, run.key.run_id, component)
        with self._lock:
            if k in self._artifacts:
                self._artifacts.move_to_end(k)
                return self._artifacts[k]
        try:
            art = run.store.read(run.key, component)
            arrays = art.arrays if art.status == "ok" else None
        except (ArtifactError, KeyError, FileNotFoundError):
            arrays = None
        with self._lock:
            self._artifacts[k] = arrays
            while len(self._artifacts) > ARTIFACTS_IN_MEMORY:
                self._artifacts.popitem(last=False)
        return arrays

    def timeline(self, platform_id: str, video_id: str, run_id: str | None = None) -> dict[str, Any]:
        """Per shot: times, quality score (0..1) and bad flag, motion (cut detection's mean |dY|/255),
        short-term loudness (LUFS), whether a thumbnail exists."""
        run = self.find_run(platform_id, video_id, run_id)
        cuts = self._read(run, "cut_detection")
        if cuts is None:
            raise NotFound(f"run {run.key.run_id} of {platform_id}/{video_id} has no cut_detection artifact")
        starts, ends = np.asarray(cuts["shot_start_sec"]), np.asarray(cuts["shot_end_sec"])
        n = len(starts)
        quality = self._read(run, "shot_quality") or {}
        thumbs = self._read(run, "shot_thumbnails")
        has_thumb = (np.asarray(thumbs["thumbnail_present"], bool) if thumbs is not None
                     and len(thumbs["thumbnail_present"]) == n else np.zeros(n, bool))
        score = quality.get("quality_score", np.full(n, np.nan))
        bad = quality.get("bad_shot", np.zeros(n, bool))
        loudness = _per_shot_loudness(starts, ends, self._read(run, "loudness"))
        shots = [{"index": i, "start_sec": round(float(starts[i]), 3), "end_sec": round(float(ends[i]), 3),
                  "quality": q, "bad": bool(bad[i]), "motion": m, "loudness_lufs": loudness[i],
                  "thumbnail": bool(has_thumb[i])}
                 for i, (q, m) in enumerate(zip(_floats(score), _floats(cuts["shot_motion_mean"])))]
        return {"platform_id": run.key.platform_id, "video_id": run.key.video_id, "run_id": run.key.run_id,
                "source": run.source, "n_shots": n, "duration_sec": round(float(ends[-1]), 3) if n else 0.0,
                "thumbnails": thumbs is not None, "shots": shots}

    def thumbnail(self, platform_id: str, video_id: str, shot: int, run_id: str | None = None) -> bytes:
        from ray_pipelines.stages.shot_thumbnails import jpeg_of

        run = self.find_run(platform_id, video_id, run_id)
        thumbs = self._read(run, "shot_thumbnails")
        jpeg = jpeg_of(thumbs, shot) if thumbs is not None else None
        if jpeg is None:
            raise NotFound(f"no thumbnail for shot {shot} of {platform_id}/{video_id} (run {run.key.run_id})")
        return jpeg


# ---------------------------------------------------------------------- uploads

class UploadRejected(ValueError):
    """The uploaded file cannot be used; `status` is the HTTP status the page shows the message with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class SavedUpload:
    platform_id: str
    video_id: str
    video: str  # URL/path of the file in the serving cache (what /v1/predict's `video` takes)
    size_bytes: int
    duration_sec: float | None


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n < 2**30 else f"{n / 2**30:.2f} GB"


def new_upload_id() -> str:
    return validate_video_id(f"up-{uuid.uuid4().hex[:16]}")


def store_upload(fileobj: BinaryIO, filename: str | None, cache: ArtifactStore, *, max_bytes: int,
                 max_seconds: float) -> SavedUpload:
    """Copy an uploaded video into the cache under a generated id, after checking size, that it decodes,
    and its duration (413 over a limit, 422 not a video, 415 an extension the dataset contract lacks)."""
    from sampling.decode import probe

    ext = os.path.splitext(filename or "")[1].lower() or ".mp4"
    if ext not in UPLOAD_EXTENSIONS:
        raise UploadRejected(415, f"file: {ext} files are not accepted; send one of {', '.join(UPLOAD_EXTENSIONS)}")
    with tempfile.TemporaryDirectory(prefix="trendflow-upload-") as tmp:
        local = os.path.join(tmp, f"upload{ext}")
        size = 0
        with open(local, "wb") as out:
            while chunk := fileobj.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRejected(413, f"file: the video is larger than the limit of {_mb(max_bytes)}")
                out.write(chunk)
        if size == 0:
            raise UploadRejected(422, "file: the uploaded file is empty")
        try:
            info = probe(local)
        except Exception as e:  # noqa: BLE001 — any decoder failure is the file's fault here
            reason = getattr(e, "reason", type(e).__name__)
            raise UploadRejected(422, f"file: not a video this service can decode ({reason})") from None
        duration = info.duration_sec
        if duration is None and info.n_frames_hint and info.fps:
            duration = info.n_frames_hint / info.fps
        if duration is not None and duration > max_seconds:
            raise UploadRejected(413, f"file: the video is {duration:.0f} s long; the limit is {max_seconds:.0f} s")
        video_id = new_upload_id()
        rel = f"{UPLOADS_DIR}/{video_id}{ext}"
        cache.storage.fs.makedirs(cache.storage.path(UPLOADS_DIR), exist_ok=True)  # local stores need the folder
        cache.storage.fs.put_file(local, cache.storage.path(rel))
    return SavedUpload(UPLOAD_PLATFORM, video_id, cache.storage.url(rel), size,
                       None if duration is None else round(float(duration), 3))


def as_store(value, storage_options: dict | None = None) -> ArtifactStore | None:
    """The ingress keeps stores as ArtifactStore objects or as URIs; the page takes either."""
    if value is None or isinstance(value, ArtifactStore):
        return value
    if hasattr(value, "storage") and hasattr(value, "read"):
        return value
    return ArtifactStore(str(value), storage_options)


def check_ids(platform_id: str, video_id: str) -> tuple[str, str]:
    """Validated ids (UnsafeIdError names the field)."""
    return validate_platform_id(platform_id), validate_video_id(video_id)


__all__ = ["VideoCatalog", "ShotReader", "NotFound", "UploadRejected", "SavedUpload", "store_upload", "as_store",
           "check_ids", "UnsafeIdError", "UPLOADS_DIR", "UPLOAD_PLATFORM"]
