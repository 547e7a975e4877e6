"""Streaming reader of a dataset root (SPEC §2), local or any fsspec URL (s3://, memory://).

    reader = DatasetReader("data/", require_videos=False)
    for record in reader:                 # one VideoRecord per metadata file, streamed
        ...
    report = reader.finish()              # duplicates + orphans, known only at the end
    keep = [r for r in rows if r.metadata_file not in report.drop_files]

Layout: videos/<video_id>.<ext>, metadata/<video_id>.json, snapshots/<k>/snapshot.json and
snapshots/<k>/<video_id>.json. The reader lists the folders once (names only: O(videos) short
strings) and then reads one video at a time, so memory does not grow with the JSON payloads.

Rules:
- The key of a video is the `video_id` field of its metadata (the file name when the field is
  absent), validated with `validate_video_id` before it is used to build any path. A file name
  that differs from the field is reported (`id_mismatch`, warning): that is how copies show up.
- Duplicates (two metadata files with the same `(platform_id, video_id)`) are never merged:
  equal copies (same canonical JSON; only duplicated keys are read twice to compare) keep one
  file (the one named after the id), conflicting copies are all dropped. `finish()` reports
  both and lists the files to drop.
- The time of snapshot k for a video is its own `collected_at`, else the folder's
  `snapshot.json` time; with neither the snapshot is unusable (`missing_time`). A folder's
  `snapshot.json` may lack `collected_at` when every file in it carries its own.
- A dataset without any video file is counters-only (`reader.counters_only`): videos are not
  required, only the tabular models apply.
- Metadata fields other than the ids, `publishedAt` and the channel key are optional; the
  expected ones a record lacks are listed in `record.missing_optional` (warnings, never fatal).
- Every problem names the file (relative to the root) and the field; a bad file never stops
  the others. `PROBLEM_CODES` lists the codes and their severity.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator

from pydantic import ValidationError

from trendflow.dataset.models import (
    EXPECTED_OPTIONAL_FIELDS, SNAPSHOT_COUNTERS, Comment, SnapshotFolderInfo, VideoMetadata, VideoSnapshot)
from trendflow.ids import UnsafeIdError, canonical_json, validate_platform_id, validate_video_id
from trendflow.storage import Storage

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov")
SNAPSHOT_INFO_FILE = "snapshot.json"

# code -> (severity, meaning). "error" is fatal for `validate-dataset` (non-zero exit).
PROBLEM_CODES: dict[str, tuple[str, str]] = {
    "missing_folder": ("error", "a required folder (metadata/, snapshots/, snapshots/1/) is absent"),
    "malformed_json": ("error", "a file is not valid JSON or not a JSON object"),
    "missing_field": ("error", "a required field is absent"),
    "invalid_field": ("error", "a field has a wrong type or value"),
    "bad_counter": ("error", "a counter is negative or not a number"),
    "missing_time": ("error", "a snapshot has no time (no collected_at in the file nor in snapshot.json)"),
    "unsafe_id": ("error", "a video_id/platform_id (or a file name) cannot be used as a path component"),
    "snapshot_id_mismatch": ("error", "a snapshot file's video_id field names another video"),
    "missing_snapshot_1": ("error", "a video has no snapshot 1, so it has no features and no t0"),
    "missing_video": ("error", "a metadata file has no video file (not checked with require_videos=False, "
                               "nor in a counters-only dataset)"),
    "empty_video": ("error", "a video file has zero bytes"),
    "missing_snapshot_info": ("error", "snapshots/<k>/snapshot.json is absent"),
    "missing_optional_field": ("warning", "an expected but optional metadata field is absent; its feature is "
                                          "NaN + a *_present mask for those videos"),
    "duplicate_id": ("warning", "several metadata files for one (platform_id, video_id); dropped, never merged"),
    "id_mismatch": ("warning", "a metadata file name differs from its video_id field (the field is the key)"),
    "orphan_video": ("warning", "a video file has no metadata"),
    "orphan_snapshot": ("warning", "a snapshot file has no metadata"),
    "duplicate_video_file": ("warning", "several video files (extensions) for one video_id; the first is used"),
    "snapshot_order": ("warning", "a later snapshot is not after snapshot 1; it serves no horizon"),
    "invalid_comment": ("warning", "a comment has a bad field; that comment is dropped"),
    "unexpected_file": ("warning", "a file or folder that the layout does not define; ignored"),
}


@dataclass(frozen=True)
class Problem:
    """One problem found in the dataset: which file, which field, what is wrong."""

    code: str
    file: str
    message: str
    field: str | None = None
    video_id: str | None = None

    @property
    def severity(self) -> str:
        return PROBLEM_CODES[self.code][0]

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, **asdict(self)}

    def __str__(self) -> str:
        where = f"{self.file}" + (f" [{self.field}]" if self.field else "")
        return f"{self.severity.upper():7s} {self.code}: {where}: {self.message}"


@dataclass
class SnapshotFolder:
    """snapshots/<k>/: its folder time and the name stems of the snapshot files it holds."""

    index: int
    collected_at: datetime | None
    stems: set[str] = field(default_factory=set)

    def file(self, stem: str) -> str:
        return f"snapshots/{self.index}/{stem}.json"


@dataclass
class VideoRecord:
    """Everything known about one metadata file after reading it and its snapshots."""

    metadata_file: str
    video_id: str | None = None
    platform_id: str | None = None
    metadata: VideoMetadata | None = None
    snapshots: dict[int, VideoSnapshot] = field(default_factory=dict)
    snapshot_times: dict[int, datetime] = field(default_factory=dict)  # effective time of each usable snapshot
    snapshot_files: dict[int, str] = field(default_factory=dict)
    comments_listed: dict[int, int] = field(default_factory=dict)  # number of comments stored per snapshot
    video_file: str | None = None
    missing_optional: tuple[str, ...] = ()  # EXPECTED_OPTIONAL_FIELDS absent from the metadata
    problems: list[Problem] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str] | None:
        return (self.platform_id, self.video_id) if self.video_id and self.platform_id else None

    @property
    def usable(self) -> bool:
        """Valid metadata and a timed snapshot 1: enough for features (targets may still be missing)."""
        return self.metadata is not None and 1 in self.snapshots


@dataclass
class ScanReport:
    """What only the end of a pass can tell: duplicates and orphans."""

    problems: list[Problem]
    drop_files: set[str]  # metadata files whose records must be dropped (duplicates)
    n_duplicate_keys: int


class DatasetReader:
    """Streams `VideoRecord`s from a dataset root; see the module docstring for the rules.

    require_videos: report metadata without a video file (`missing_video`). Off for
    metadata-only datasets (targets need only metadata and snapshots), and moot for a dataset
    without any video file (`counters_only`).
    parse_comments: validate each stored comment (slower); when False comments are only counted.
    workers: files read in parallel threads (useful on object stores; 1 = plain sequential).
    """

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None, *,
                 require_videos: bool = True, parse_comments: bool = False, workers: int = 1):
        self.storage = Storage(str(root), storage_options)
        self.require_videos = require_videos
        self.parse_comments = parse_comments
        self.workers = max(1, int(workers))
        self.problems: list[Problem] = []  # dataset-level problems found while listing
        self.folders: dict[int, SnapshotFolder] = {}
        self.video_files: dict[str, str] = {}
        self.metadata_files: list[str] = []
        self._first_file: dict[tuple[str, str], str] = {}  # key -> first metadata file seen
        self._copies: dict[tuple[str, str], list[str]] = {}  # key -> all its files, only for duplicates
        self._seen_ids: set[str] = set()
        self._scan()
        self.counters_only = not self.video_files  # no video file at all: a counters-only dataset

    # ------------------------------------------------------------------ listing
    def _ls(self, rel: str, sizes: bool = False) -> list[tuple[str, bool, int]] | None:
        """(name, is_dir, size) of the entries below `rel`, sorted by name; None when it does not exist.

        Tuples, not dicts: a snapshot folder of 100k files is listed in a few MB.
        """
        path = self.storage.path(rel)
        try:
            if self.storage.is_local:  # os.scandir: no stat per file unless sizes are wanted
                with os.scandir(path) as it:
                    out = [(e.name, e.is_dir(), e.stat().st_size if sizes else -1) for e in it]
            else:
                out = [(posixpath.basename(e["name"].rstrip("/")), e.get("type") == "directory",
                        int(e.get("size") or 0)) for e in self.storage.fs.ls(path, detail=True)]
        except (FileNotFoundError, NotADirectoryError):
            return None
        out.sort()
        return out

    def _scan(self) -> None:
        meta = self._ls("metadata")
        if meta is None:
            self.problems.append(Problem("missing_folder", "metadata/", "no metadata folder"))
        else:
            for name, is_dir, _ in meta:
                rel = f"metadata/{name}"
                if is_dir or not name.endswith(".json"):
                    self.problems.append(Problem("unexpected_file", rel, "not a .json file"))
                    continue
                self.metadata_files.append(rel)
        self._scan_videos()
        self._scan_snapshots()

    def _scan_videos(self) -> None:
        for name, is_dir, size in self._ls("videos", sizes=True) or []:
            rel = f"videos/{name}"
            stem, ext = posixpath.splitext(name)
            if is_dir or ext.lower() not in VIDEO_EXTENSIONS:
                self.problems.append(Problem(
                    "unexpected_file", rel, f"not a video file ({', '.join(VIDEO_EXTENSIONS)})"))
                continue
            # File names are validated in finish() (orphans) or matched against validated keys.
            if stem in self.video_files:
                self.problems.append(Problem(
                    "duplicate_video_file", rel, f"{self.video_files[stem]} is used for this video_id",
                    video_id=stem))
                continue
            if not size:
                self.problems.append(Problem("empty_video", rel, "the video file has zero bytes",
                                                   video_id=stem))
            self.video_files[stem] = rel

    def _scan_snapshots(self) -> None:
        entries = self._ls("snapshots")
        if entries is None:
            self.problems.append(Problem("missing_folder", "snapshots/", "no snapshots folder"))
            return
        for name, is_dir, _ in entries:
            if not is_dir or not name.isdigit() or int(name) < 1:
                self.problems.append(Problem(
                    "unexpected_file", f"snapshots/{name}", "snapshot folders are named 1, 2, 3, ..."))
                continue
            self.folders[int(name)] = self._scan_snapshot_folder(int(name), f"snapshots/{name}")
        if 1 not in self.folders:
            self.problems.append(Problem("missing_folder", "snapshots/1/",
                                               "no snapshot 1: no video has features"))

    def _scan_snapshot_folder(self, k: int, rel_dir: str) -> SnapshotFolder:
        folder = SnapshotFolder(index=k, collected_at=None)
        info_rel = f"{rel_dir}/{SNAPSHOT_INFO_FILE}"
        has_info = False
        for name, is_dir, _ in self._ls(rel_dir) or []:
            rel = f"{rel_dir}/{name}"
            if name == SNAPSHOT_INFO_FILE:
                has_info = True
                continue
            if is_dir or not name.endswith(".json"):
                self.problems.append(Problem("unexpected_file", rel, "not a .json file"))
                continue
            folder.stems.add(name[:-5])  # validated in finish() unless it matches a validated key
        if not has_info:
            self.problems.append(Problem(
                "missing_snapshot_info", info_rel, "no snapshot.json: only videos with their own collected_at "
                                                   "have a time"))
            return folder
        raw, problem = self._read_json(info_rel)
        if problem is not None:
            self.problems.append(problem)
            return folder
        try:
            info = SnapshotFolderInfo.model_validate(raw)
        except ValidationError as e:
            self.problems.extend(self._validation_problems(e, info_rel, None))
            return folder
        if info.snapshot_index != k:
            self.problems.append(Problem("invalid_field", info_rel,
                                               f"snapshot_index {info.snapshot_index} in folder {k}",
                                               "snapshot_index"))
        # Without a folder time every file needs its own collected_at; a file without one is reported.
        folder.collected_at = info.collected_at
        return folder

    # ------------------------------------------------------------------ reading
    def _read_json(self, rel: str) -> tuple[dict | None, Problem | None]:
        try:
            if self.storage.is_local:  # plain open(): several times faster than fsspec for small files
                with open(self.storage.path(rel), "rb") as f:
                    data = f.read()
            else:
                data = self.storage.read_bytes(rel)
        except FileNotFoundError:
            return None, Problem("malformed_json", rel, "file not found")
        except OSError as e:
            return None, Problem("malformed_json", rel, f"cannot read: {e}")
        try:
            obj = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            return None, Problem("malformed_json", rel, f"not valid JSON: {e}")
        if not isinstance(obj, dict):
            return None, Problem("malformed_json", rel, f"top level is {type(obj).__name__}, not an object")
        return obj, None

    @staticmethod
    def _validation_problems(e: ValidationError, rel: str, video_id: str | None) -> list[Problem]:
        out = []
        for err in e.errors():
            # A model-level rule (the channel key) names its field in the error context.
            loc = ".".join(str(p) for p in err["loc"]) or (err.get("ctx") or {}).get("field", "")
            top = str(err["loc"][0]) if err["loc"] else ""
            if err["type"] == "missing":
                code = "missing_field"
            elif top in SNAPSHOT_COUNTERS:
                code = "bad_counter"
            else:
                code = "invalid_field"
            shown = repr(err.get("input"))[:60] if err["type"] != "missing" else ""
            msg = err["msg"] + (f" (got {shown})" if shown else "")
            out.append(Problem(code, rel, msg, loc or None, video_id))
        return out

    def read_record(self, metadata_file: str) -> VideoRecord:
        """Read one metadata file, its snapshots and locate its video. Never raises on bad data."""
        rec = VideoRecord(metadata_file=metadata_file)
        stem = posixpath.basename(metadata_file)[:-5]
        try:
            validate_video_id(stem)
        except UnsafeIdError as e:
            rec.problems.append(Problem("unsafe_id", metadata_file, f"file name is not a safe id: {e}"))
            return rec
        raw, problem = self._read_json(metadata_file)
        if problem is not None:
            rec.problems.append(problem)
            return rec
        # The key must be safe before it builds any path.
        raw.setdefault("video_id", stem)
        try:
            rec.video_id = raw["video_id"] if raw["video_id"] == stem else validate_video_id(raw["video_id"])
            rec.platform_id = validate_platform_id(raw.get("platform_id") or "youtube")
        except UnsafeIdError as e:
            fld = "platform_id" if "platform_id" in str(e) else "video_id"
            rec.problems.append(Problem("unsafe_id", metadata_file, str(e), fld))
            rec.video_id = None
            return rec
        if raw.get("platform_id") is None:
            raw["platform_id"] = rec.platform_id
        if rec.video_id != stem:
            rec.problems.append(Problem("id_mismatch", metadata_file,
                                        f"file name {stem!r} but video_id {rec.video_id!r}; using the field",
                                        "video_id", rec.video_id))
        try:
            rec.metadata = VideoMetadata.model_validate(raw)
        except ValidationError as e:
            rec.problems.extend(self._validation_problems(e, metadata_file, rec.video_id))
        else:
            rec.missing_optional = tuple(f for f in EXPECTED_OPTIONAL_FIELDS if getattr(rec.metadata, f) is None)
        self._read_snapshots(rec)
        self._locate_video(rec)
        return rec

    def _read_snapshots(self, rec: VideoRecord) -> None:
        vid = rec.video_id
        for k, folder in sorted(self.folders.items()):
            if vid not in folder.stems:
                continue
            rel = folder.file(vid)
            rec.snapshot_files[k] = rel
            raw, problem = self._read_json(rel)
            if problem is not None:
                rec.problems.append(problem)
                continue
            raw.setdefault("video_id", vid)
            if raw["video_id"] != vid:
                rec.problems.append(Problem("snapshot_id_mismatch", rel,
                                            f"video_id {raw['video_id']!r} in the file of {vid!r}", "video_id", vid))
                continue
            comments = raw.pop("comments", None)
            try:
                snap = VideoSnapshot.model_validate(raw)
            except ValidationError as e:
                rec.problems.extend(self._validation_problems(e, rel, vid))
                continue
            if comments is not None:
                snap.comments = self._comments(comments, rel, rec)
                rec.comments_listed[k] = len(comments) if isinstance(comments, list) else 0
            when = snap.collected_at or folder.collected_at
            if when is None:
                rec.problems.append(Problem("missing_time", rel, "no collected_at here nor in snapshot.json",
                                            "collected_at", vid))
                continue
            rec.snapshots[k], rec.snapshot_times[k] = snap, when
        if 1 not in rec.snapshot_files:
            rec.problems.append(Problem("missing_snapshot_1", rec.metadata_file,
                                        "no snapshots/1/<video_id>.json", None, vid))
        t0 = rec.snapshot_times.get(1)
        for k, t in rec.snapshot_times.items():
            if t0 is not None and k > 1 and t <= t0:
                rec.problems.append(Problem("snapshot_order", rec.snapshot_files[k],
                                            f"collected at {t.isoformat()}, not after snapshot 1 ({t0.isoformat()})",
                                            "collected_at", vid))

    def _comments(self, comments: Any, rel: str, rec: VideoRecord) -> list[Comment] | None:
        if not isinstance(comments, list):
            rec.problems.append(Problem("invalid_comment", rel, "comments is not a list", "comments", rec.video_id))
            return None
        if not self.parse_comments:
            return None
        kept = []
        for i, c in enumerate(comments):
            try:
                kept.append(Comment.model_validate(c))
            except ValidationError as e:
                for p in self._validation_problems(e, rel, rec.video_id):
                    rec.problems.append(Problem("invalid_comment", rel, p.message,
                                                f"comments.{i}" + (f".{p.field}" if p.field else ""), rec.video_id))
        return kept

    def _locate_video(self, rec: VideoRecord) -> None:
        rec.video_file = self.video_files.get(rec.video_id)
        if rec.video_file is None and self.require_videos and not self.counters_only:
            rec.problems.append(Problem("missing_video", rec.metadata_file,
                                        f"no videos/{rec.video_id}.<{'|'.join(e[1:] for e in VIDEO_EXTENSIONS)}>",
                                        None, rec.video_id))

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[VideoRecord]:
        for rec in _ordered_map(self.read_record, self.metadata_files, self.workers):
            if rec.video_id is not None:
                self._seen_ids.add(rec.video_id)
                first = self._first_file.setdefault(rec.key, rec.metadata_file)
                if first != rec.metadata_file:
                    self._copies.setdefault(rec.key, [first]).append(rec.metadata_file)
            yield rec

    def _fingerprint(self, rel: str) -> str | None:
        """Canonical-JSON hash of a metadata file as read_record sees it (None when unreadable)."""
        raw, problem = self._read_json(rel)
        if problem is not None:
            return None
        raw.setdefault("video_id", posixpath.basename(rel)[:-5])
        raw["platform_id"] = raw.get("platform_id") or "youtube"
        return hashlib.sha1(canonical_json(raw).encode()).hexdigest()

    def finish(self) -> ScanReport:
        """Duplicates and orphans, after a full pass over the records."""
        problems: list[Problem] = []
        drop: set[str] = set()
        for (platform, vid), files in self._copies.items():
            # Only duplicates are compared, so only their files are read a second time.
            prints = {self._fingerprint(f) for f in files}
            if len(prints) == 1 and None not in prints:
                keep = next((f for f in files if posixpath.basename(f) == f"{vid}.json"), files[0])
                dropped = [f for f in files if f != keep]
                msg = f"identical copies of {platform}/{vid}: kept {keep}, dropped {dropped}"
            else:
                dropped = files
                msg = f"conflicting copies of {platform}/{vid} in {files}: all dropped"
            drop.update(dropped)
            for f in files:
                problems.append(Problem("duplicate_id", f, msg, "video_id", vid))
        for stem, rel in self.video_files.items():
            if stem not in self._seen_ids:
                problems.append(self._orphan(stem, rel, "orphan_video",
                                             "no metadata/<video_id>.json for this video"))
        for folder in self.folders.values():
            for stem in sorted(folder.stems - self._seen_ids):
                problems.append(self._orphan(stem, folder.file(stem), "orphan_snapshot",
                                             "no metadata for this snapshot file"))
        return ScanReport(problems=problems, drop_files=drop, n_duplicate_keys=len(self._copies))

    @staticmethod
    def _orphan(stem: str, rel: str, code: str, message: str) -> Problem:
        try:
            validate_video_id(stem)
        except UnsafeIdError as e:
            return Problem("unsafe_id", rel, f"file name is not a safe id: {e}")
        return Problem(code, rel, message, None, stem)


def _ordered_map(fn: Callable[[str], VideoRecord], items: Iterable[str], workers: int) -> Iterator[VideoRecord]:
    """map() that reads ahead with `workers` threads but keeps order and at most 4*workers in flight."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 4 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
