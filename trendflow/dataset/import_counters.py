"""`trendflow import-counters`: a long table of counters becomes a dataset in the SPEC §2 layout.

    trendflow import-counters --table counters.csv [--metadata meta.csv] --out DATASET \
        [--every-collection | --offsets-days 0,7,14,21 [--tolerance-days 1]] [--rename old=new,...] [--overwrite]

Input: one row per video and collection time. Columns (names as in SPEC §2; `--rename` maps others):
- `video_id`, `collected_at`, `viewCount` (required); `platform_id` (default "youtube");
- the other snapshot counters (`likeCount`, `commentCount`, `subscriberCount`, `videoCount`,
  `viewCount_channel`): non-negative integers ("1234", 1234 and 1234.0 are accepted), empty = absent;
- any other column that is not a metadata field is copied into the snapshot files as an extra
  field (it can then be a target: `targets.metrics: {shares: shareCount}`);
- metadata fields (`publishedAt`, `channelTitle`/`channel_id`, `title`, `duration_seconds`, ...):
  taken from `--metadata` (one row per video) when given (the counters table's metadata columns are
  then ignored), else from the counters table itself, from the row of the video's earliest collection.
  Only the ids, `publishedAt` and a channel key are required.
`collected_at` and `publishedAt` are ISO 8601 (a time without a zone is UTC) or Unix seconds.

Which rows become which snapshot (per video; its snapshots are numbered from its own first collection):
- `--every-collection` (the default): every distinct `collected_at` of a video is one snapshot, in
  time order; its earliest is snapshot 1. A daily table becomes snapshots 1..N, one day apart.
- `--offsets-days 0,7,14,21`: snapshot 1 is the video's first collection (offset 0, which the list
  must start with); snapshot j is the collection nearest to t1 + offset_j within ±tolerance days
  (default: 1 day, or 0.45 x the smallest gap between offsets when that is smaller), ties to the
  earlier one; with none in that window the video has no snapshot j. The tolerance must stay below
  half the smallest gap, so a collection serves at most one offset; the other rows are not used.
Each folder's `snapshot.json` holds `snapshot_index` (and `offset_days`) but no `collected_at`:
every per-video file carries its own time (the loader accepts that, SPEC §2).

Bad input loses nothing else: a row with an unsafe or empty id, an unparseable time, a negative,
fractional or non-numeric counter, or the wrong number of CSV fields is reported with its line
(CSV) or row (Parquet) number and every reason, and skipped; two rows of one video at the same time
with different counters are both dropped (identical ones count once). A video whose metadata is
invalid or absent is skipped with the reason. Missing required columns stop the import before
anything is written. The full list goes to DATASET/_import_report.json. The dataset is written to a
staging folder inside DATASET and moved into place at the end; a non-empty DATASET is refused
unless `overwrite=True`, which replaces its metadata/ and snapshots/ (and nothing else).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from array import array
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from pydantic import TypeAdapter, ValidationError

from trendflow.dataset.errors import DatasetError
from trendflow.dataset.models import SNAPSHOT_COUNTERS, UtcDatetime, VideoMetadata
from trendflow.dataset.tables import MISSING_CELL, Table, open_table
from trendflow.ids import UnsafeIdError, validate_platform_id, validate_video_id

REPORT_FILE = "_import_report.json"
REQUIRED_COLUMNS = ("video_id", "collected_at", "viewCount")
KEY_COLUMNS = ("video_id", "platform_id", "collected_at")
METADATA_FIELDS = tuple(f for f in VideoMetadata.model_fields if f not in ("video_id", "platform_id"))
CHANNEL_FIELDS = ("channelTitle", "channel_id")
MAX_BAD_ROWS_KEPT = 100_000  # the report lists this many; the count is always exact
_TIME = TypeAdapter(UtcDatetime)


@dataclass
class BadRow:
    where: str  # "line 12" (CSV) or "row 12" (Parquet)
    reasons: list[str]
    video_id: str | None = None
    table: str = "counters"


@dataclass
class ImportReport:
    table: str
    out: str
    mode: str  # "every_collection" | "offsets"
    metadata: str | None = None
    offsets_days: list[float] | None = None
    tolerance_days: float | None = None
    rows_read: int = 0
    rows_bad: int = 0
    rows_duplicate: int = 0  # identical repeats of a (video, collected_at) row, counted once
    rows_unused: int = 0  # valid rows no offset chose, or of skipped videos
    rows_imported: int = 0
    metadata_without_counters: int = 0  # --metadata rows of videos the counters table never mentions
    videos: int = 0
    videos_skipped: dict[str, str] = field(default_factory=dict)  # video_id -> why
    snapshots: dict[int, int] = field(default_factory=dict)  # snapshot index -> videos
    bad_rows: list[BadRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["snapshots"] = {str(k): v for k, v in sorted(self.snapshots.items())}
        return d

    def format(self, max_rows: int = 20) -> str:
        mode = ("every distinct collection time is a snapshot" if self.mode == "every_collection" else
                f"offsets {self.offsets_days} days, tolerance ±{self.tolerance_days:g} days")
        lines = [f"import-counters {self.table} -> {self.out} ({mode})",
                 f"  rows read {self.rows_read}, imported {self.rows_imported}, bad {self.rows_bad}, "
                 f"identical duplicates {self.rows_duplicate}, not used {self.rows_unused}",
                 f"  videos written {self.videos}, skipped {len(self.videos_skipped)}"
                 + (f"; metadata rows without counters {self.metadata_without_counters}"
                    if self.metadata_without_counters else ""),
                 "  snapshot  videos"]
        lines += [f"  {k:>8d}  {v:>6d}" for k, v in sorted(self.snapshots.items())[:40]]
        if len(self.snapshots) > 40:
            lines.append(f"  ... {len(self.snapshots) - 40} more snapshot indices")
        if self.bad_rows:
            lines.append(f"bad rows ({self.rows_bad}, skipped):")
            lines += [f"  {b.table} {b.where}" + (f" [{b.video_id}]" if b.video_id else "") + ": "
                      + "; ".join(b.reasons) for b in self.bad_rows[:max_rows]]
            if self.rows_bad > max_rows:
                lines.append(f"  ... {self.rows_bad - max_rows} more in {self.out}/{REPORT_FILE}")
        for vid, why in list(self.videos_skipped.items())[:max_rows]:
            lines.append(f"  skipped video {vid}: {why}")
        if len(self.videos_skipped) > max_rows:
            lines.append(f"  ... {len(self.videos_skipped) - max_rows} more skipped videos in {self.out}/{REPORT_FILE}")
        return "\n".join(lines)

    def add_bad(self, bad: BadRow) -> None:
        self.rows_bad += 1
        if len(self.bad_rows) < MAX_BAD_ROWS_KEPT:
            self.bad_rows.append(bad)


# ----------------------------------------------------------------------------- cells
def _empty(value: Any) -> bool:
    return (value is None or value is MISSING_CELL or (isinstance(value, str) and not value.strip())
            or (isinstance(value, float) and math.isnan(value)))


def parse_counter(value: Any) -> int:
    """A non-negative integer from a cell ("1234", 1234, 1234.0); ValueError saying why not."""
    if isinstance(value, bool):
        raise ValueError("is a boolean, not a count")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ValueError("is not a number") from None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError("is not a whole number")
        value = int(value)
    if not isinstance(value, (int, np.integer)):
        raise ValueError(f"is a {type(value).__name__}, not a number")
    if value < 0:
        raise ValueError("is negative")
    return int(value)


def parse_time(value: Any) -> datetime:
    """UTC datetime from an ISO 8601 string, a datetime or Unix seconds; ValueError when unparseable."""
    if isinstance(value, str):
        value = value.strip()
    try:
        return _TIME.validate_python(value)
    except ValidationError:
        raise ValueError("is not a time (ISO 8601 or Unix seconds)") from None


def _shown(value: Any) -> str:
    return repr(value)[:40]


# ----------------------------------------------------------------------------- counters rows
@dataclass
class _Rows:
    """Valid counter rows, column-wise and compact: 8 bytes per number (-1 = absent counter)."""

    counters: tuple[str, ...]
    keys: list[tuple[str, str]] = field(default_factory=list)  # (platform_id, video_id) per key index
    key_index: dict[tuple[str, str], int] = field(default_factory=dict)
    key: array = field(default_factory=lambda: array("q"))
    time_us: array = field(default_factory=lambda: array("q"))
    line: array = field(default_factory=lambda: array("q"))  # line (CSV) or row (Parquet) number
    values: dict[str, array] = field(default_factory=dict)
    extras: list[dict[str, Any] | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.values = {c: array("q") for c in self.counters}

    def add(self, key: tuple[str, str], t: datetime, line: int, counts: dict[str, int | None],
            extras: dict[str, Any] | None) -> None:
        idx = self.key_index.setdefault(key, len(self.keys))
        if idx == len(self.keys):
            self.keys.append(key)
        self.key.append(idx)
        self.time_us.append(round(t.timestamp() * 1e6))
        self.line.append(line)
        for c in self.counters:
            v = counts.get(c)
            self.values[c].append(-1 if v is None else v)
        self.extras.append(extras)

    def __len__(self) -> int:
        return len(self.key)


def _id_reasons(row: dict[Any, Any]) -> tuple[tuple[str, str] | None, list[str]]:
    reasons = []
    raw_id = row.get("video_id")
    vid = plat = None
    if _empty(raw_id):
        reasons.append("video_id is empty")
    else:
        try:
            vid = validate_video_id(str(raw_id).strip())
        except UnsafeIdError as e:
            reasons.append(f"unsafe video_id: {e}")
    try:
        plat = validate_platform_id("youtube" if _empty(row.get("platform_id")) else str(row["platform_id"]).strip())
    except UnsafeIdError as e:
        reasons.append(f"unsafe platform_id: {e}")
    return ((plat, vid) if vid and plat else None), reasons


def _shape_reasons(table: Table, row: dict[Any, Any]) -> list[str]:
    """A CSV row with more or fewer fields than the header (see trendflow.dataset.tables)."""
    if None in row:
        return [f"{len(table.columns) + len(row[None])} fields, the header has {len(table.columns)}"]
    if any(v is MISSING_CELL for v in row.values()):
        return [f"{sum(v is not MISSING_CELL for v in row.values())} fields, the header has {len(table.columns)}"]
    return []


def _time_and_counts(row: dict[Any, Any], counters: tuple[str, ...],
                     reasons: list[str]) -> tuple[datetime | None, dict[str, int | None]]:
    """collected_at and the counters of one row; every problem is appended to `reasons`."""
    t = None
    if _empty(row.get("collected_at")):
        reasons.append("collected_at is empty")
    else:
        try:
            t = parse_time(row["collected_at"])
        except ValueError as e:
            reasons.append(f"collected_at {_shown(row['collected_at'])} {e}")
    counts: dict[str, int | None] = {}
    for c in counters:
        counts[c] = None
        if _empty(row.get(c)):
            if c == "viewCount":
                reasons.append("viewCount is empty")
            continue
        try:
            counts[c] = parse_counter(row[c])
        except ValueError as e:
            reasons.append(f"{c} {_shown(row[c])} {e}")
    return t, counts


def _read_counters(table: Table, report: ImportReport, meta_from_rows: bool,
                   progress: Callable[[int, int | None], None] | None) -> tuple[_Rows, dict]:
    """Validate every row; keep the good ones (and, when metadata comes from this table, each video's
    metadata cells from its earliest row)."""
    counters = tuple(c for c in SNAPSHOT_COUNTERS if c in table.columns)
    meta_cols = [c for c in table.columns if c in METADATA_FIELDS] if meta_from_rows else []
    extra_cols = [c for c in table.columns if c not in (*KEY_COLUMNS, *counters, *METADATA_FIELDS)]
    rows = _Rows(counters)
    first_meta: dict[tuple[str, str], tuple[int, str, dict[str, Any]]] = {}
    for line, row in table.rows():
        report.rows_read += 1
        if progress:
            progress(report.rows_read, table.num_rows)
        key, reasons = _id_reasons(row)
        reasons += _shape_reasons(table, row)
        t, counts = _time_and_counts(row, counters, reasons)
        if reasons or key is None or t is None:
            report.add_bad(BadRow(table.where(line), reasons, key[1] if key else _safe_shown_id(row)))
            continue
        rows.add(key, t, line, counts, {c: row[c] for c in extra_cols if not _empty(row.get(c))} or None)
        t_us = rows.time_us[-1]
        if meta_cols and (key not in first_meta or t_us < first_meta[key][0]):
            first_meta[key] = (t_us, table.where(line), {c: row[c] for c in meta_cols if not _empty(row.get(c))})
    if progress:
        progress(report.rows_read, report.rows_read)  # the total of a CSV is known only now: say it
    return rows, {k: (w, cells) for k, (_, w, cells) in first_meta.items()}


def _safe_shown_id(row: dict[Any, Any]) -> str | None:
    raw = row.get("video_id")
    return None if _empty(raw) else _shown(str(raw))


# ----------------------------------------------------------------------------- metadata
def _json_cells(cells: dict[str, Any]) -> dict[str, Any]:
    """CSV cells of list/dict fields (tags, thumbnails, chapters...) hold JSON text: parse it."""
    out = dict(cells)
    for k, v in cells.items():
        if isinstance(v, str) and v.lstrip()[:1] in ("[", "{"):
            try:
                out[k] = json.loads(v)
            except json.JSONDecodeError:
                pass  # left as text: the model says which field is wrong
    return out


def validate_metadata(key: tuple[str, str], cells: dict[str, Any]) -> VideoMetadata:
    """VideoMetadata of one video from table cells; ValueError listing every bad field."""
    try:
        return VideoMetadata.model_validate({"video_id": key[1], "platform_id": key[0], **_json_cells(cells)})
    except ValidationError as e:
        parts = []
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"]) or (err.get("ctx") or {}).get("field", "")
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        raise ValueError("; ".join(parts)) from None


def _read_metadata_table(table: Table, report: ImportReport) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(platform_id, video_id) -> (location, cells) of the metadata table; bad and conflicting rows reported."""
    cols = [c for c in table.columns if c in METADATA_FIELDS]
    found: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    conflicts: set[tuple[str, str]] = set()
    for line, row in table.rows():
        where = table.where(line)
        key, reasons = _id_reasons(row)
        if reasons or key is None:
            report.add_bad(BadRow(where, reasons, _safe_shown_id(row), "metadata"))
            continue
        cells = {c: row[c] for c in cols if not _empty(row.get(c))}
        if key in found and found[key][1] != cells:
            conflicts.add(key)
            report.add_bad(BadRow(where, [f"conflicts with the metadata of {found[key][0]}; both dropped"],
                                  key[1], "metadata"))
        found.setdefault(key, (where, cells))
    for key in conflicts:
        found.pop(key)
        report.videos_skipped[key[1]] = "conflicting rows in the metadata table"
    return found


# ----------------------------------------------------------------------------- snapshots
def offsets_tolerance(offsets: list[float], tolerance: float | None) -> float:
    """The tolerance for these offsets (see the module docstring); DatasetError when they are invalid."""
    if not offsets or offsets[0] != 0 or any(b <= a for a, b in zip(offsets, offsets[1:])):
        raise DatasetError(f"--offsets-days must start with 0 and increase, got {offsets}")
    gap = min((b - a for a, b in zip(offsets, offsets[1:])), default=math.inf)
    tol = min(1.0, 0.45 * gap) if tolerance is None else tolerance
    if tol <= 0 or 2 * tol >= gap:
        raise DatasetError(f"--tolerance-days {tol:g} must be positive and below half the smallest gap between "
                           f"offsets ({gap / 2:g}), so that a collection serves at most one offset")
    return tol


def choose_snapshots(times_us: np.ndarray, offsets_days: list[float] | None,
                     tolerance_days: float | None) -> list[tuple[int, int]]:
    """[(snapshot index, position in times_us)] for one video's sorted distinct collection times."""
    if offsets_days is None:
        return [(i + 1, i) for i in range(len(times_us))]
    days = (times_us - times_us[0]) / 86_400e6
    out = [(1, 0)]
    for j, off in enumerate(offsets_days[1:], start=2):
        dist = np.abs(days - off)
        i = int(np.argmin(dist))  # argmin takes the first of equal distances: the earlier collection
        if dist[i] <= tolerance_days + 1e-9:
            out.append((j, i))
    return out


def _distinct_times(rows: _Rows, idx: np.ndarray, report: ImportReport, where: Callable[[int], str]) -> list[int]:
    """Row indices of one video, one per distinct time: identical repeats collapse, conflicting ones drop."""
    keep: list[int] = []
    by_time: dict[int, list[int]] = defaultdict(list)
    for i in idx:
        by_time[rows.time_us[i]].append(int(i))
    for t in sorted(by_time):
        group = by_time[t]
        if len(group) == 1 or len({_row_signature(rows, i) for i in group}) == 1:
            keep.append(group[0])
            report.rows_duplicate += len(group) - 1
            continue
        first = where(rows.line[group[0]])
        for i in group:
            report.add_bad(BadRow(where(rows.line[i]), [f"same collected_at as {first} with other counters; all "
                                                        "dropped"], rows.keys[rows.key[i]][1]))
    return keep


def _row_signature(rows: _Rows, i: int) -> tuple:
    return tuple(rows.values[c][i] for c in rows.counters), json.dumps(rows.extras[i], sort_keys=True, default=str)


def _snapshot_body(rows: _Rows, i: int) -> dict[str, Any]:
    t = datetime.fromtimestamp(rows.time_us[i] / 1e6, timezone.utc)
    body: dict[str, Any] = {"video_id": rows.keys[rows.key[i]][1], "collected_at": t.isoformat().replace("+00:00", "Z")}
    for c in rows.counters:
        if rows.values[c][i] >= 0:
            body[c] = rows.values[c][i]
    body.update(rows.extras[i] or {})
    return body


# ----------------------------------------------------------------------------- writing
def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} is a file, not a dataset folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DatasetError(f"{out} is not empty; choose a new folder, or pass --overwrite to replace its metadata/ "
                           "and snapshots/")


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, default=str), encoding="utf-8")


def _move_into_place(stage: Path, out: Path) -> None:
    """Replace out/metadata and out/snapshots by the staged ones; nothing else in `out` is touched."""
    for name in ("metadata", "snapshots"):
        if (out / name).exists():
            shutil.rmtree(out / name)
        (stage / name).rename(out / name)
    shutil.rmtree(stage)


# ----------------------------------------------------------------------------- entry point
def import_counters(table_path: str | Path, out: str | Path, *, metadata_path: str | Path | None = None,
                    offsets_days: Iterable[float] | None = None, tolerance_days: float | None = None,
                    overwrite: bool = False, rename: dict[str, str] | None = None,
                    progress: Callable[[str], Callable[[int, int | None], None]] | None = None) -> ImportReport:
    """Import a long counters table into a new dataset at `out` (see the module docstring).

    progress(label) returns a callback(done, total) for each long phase (reading rows, writing videos).
    """
    out = Path(out)
    offsets = None if offsets_days is None else [float(o) for o in offsets_days]
    tol = None if offsets is None else offsets_tolerance(offsets, tolerance_days)
    _prepare_out(out, overwrite)
    table = open_table(table_path, rename)
    meta_table = open_table(metadata_path, rename) if metadata_path else None
    _check_columns(table, meta_table)
    report = ImportReport(table=str(table_path), out=str(out),
                          mode="every_collection" if offsets is None else "offsets", metadata=str(metadata_path) if metadata_path else None, offsets_days=offsets,
                          tolerance_days=tol)
    rows, row_meta = _read_counters(table, report, meta_table is None,
                                    progress("import-counters: rows read") if progress else None)
    meta_cells = _read_metadata_table(meta_table, report) if meta_table else row_meta
    plan = _plan_videos(rows, meta_cells, report, offsets, tol, table.where)
    report.metadata_without_counters = len(set(meta_cells) - set(rows.key_index)) if meta_table else 0
    if not plan:
        first = "; ".join(f"{b.where}: {', '.join(b.reasons)}" for b in report.bad_rows[:3])
        skipped = "; ".join(f"{v}: {w}" for v, w in list(report.videos_skipped.items())[:3])
        raise DatasetError(f"{table_path}: nothing to import ({report.rows_read} rows, {report.rows_bad} bad"
                           + (f", e.g. {first}" if first else "") + (f"; skipped videos: {skipped}" if skipped else "")
                           + ")")
    _write(out, rows, plan, offsets, report, progress("import-counters: videos written") if progress else None)
    _write_json(out / REPORT_FILE, report.to_dict())
    return report


def _check_columns(table: Table, meta_table: Table | None) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"{table.path}: missing required column(s) {missing}; columns: {table.columns} "
                           "(map other names with --rename old=new)")
    source = meta_table or table
    needs = [c for c in ("video_id", "publishedAt") if c not in source.columns]
    if not any(c in source.columns for c in CHANNEL_FIELDS):
        needs.append("channelTitle or channel_id")
    if needs:
        where = "the --metadata table" if meta_table else "the counters table (no --metadata table given)"
        raise DatasetError(f"{source.path}: {where} lacks the metadata column(s) {needs}; columns: {source.columns}")


@dataclass
class _VideoPlan:
    metadata: VideoMetadata
    snapshots: list[tuple[int, int]]  # (snapshot index, row index)


def _plan_videos(rows: _Rows, meta_cells: dict, report: ImportReport, offsets: list[float] | None,
                 tol: float | None, where: Callable[[int], str]) -> list[_VideoPlan]:
    """Per video: its validated metadata and which rows become which snapshot."""
    keys = np.frombuffer(rows.key, dtype=np.int64) if len(rows) else np.zeros(0, np.int64)
    order = np.argsort(keys, kind="stable")
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    by_video_id: Counter = Counter(vid for _, vid in rows.keys)
    plan = []
    for idx in np.split(order, bounds) if len(order) else []:
        key = rows.keys[rows.key[idx[0]]]
        if by_video_id[key[1]] > 1:  # metadata/<video_id>.json cannot hold two platforms
            report.videos_skipped[key[1]] = "the same video_id on several platforms"
            report.rows_unused += len(idx)
            continue
        if key not in meta_cells:
            report.videos_skipped.setdefault(key[1], "no row in the metadata table")
            report.rows_unused += len(idx)
            continue
        meta_where, cells = meta_cells[key]
        try:
            meta = validate_metadata(key, cells)
        except ValueError as e:
            report.videos_skipped[key[1]] = f"invalid metadata ({meta_where}): {e}"
            report.rows_unused += len(idx)
            continue
        distinct = _distinct_times(rows, idx, report, where)
        if not distinct:
            report.videos_skipped[key[1]] = "every row conflicts with another at the same time"
            continue
        times = np.array([rows.time_us[i] for i in distinct], dtype=np.int64)
        chosen = [(k, distinct[pos]) for k, pos in choose_snapshots(times, offsets, tol)]
        report.rows_unused += len(distinct) - len(chosen)
        plan.append(_VideoPlan(meta, chosen))
    return plan


def _write(out: Path, rows: _Rows, plan: list[_VideoPlan], offsets: list[float] | None, report: ImportReport,
           progress: Callable[[int, int | None], None] | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".import-", dir=out))
    try:
        _write_staged(stage, rows, plan, offsets, report, progress)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)  # a failed import leaves DATASET as it was
        raise
    report.videos = len(plan)
    _move_into_place(stage, out)


def _write_staged(stage: Path, rows: _Rows, plan: list[_VideoPlan], offsets: list[float] | None,
                  report: ImportReport, progress: Callable[[int, int | None], None] | None) -> None:
    (stage / "metadata").mkdir()
    made: set[int] = set()
    for n, video in enumerate(plan, 1):
        vid = video.metadata.video_id
        _write_json(stage / "metadata" / f"{vid}.json", video.metadata.model_dump(mode="json", exclude_none=True))
        for k, i in video.snapshots:
            folder = stage / "snapshots" / str(k)
            if k not in made:
                folder.mkdir(parents=True)
                info: dict[str, Any] = {"snapshot_index": k}
                if offsets is not None:
                    info["offset_days"] = offsets[k - 1]
                _write_json(folder / "snapshot.json", info)
                made.add(k)
            _write_json(folder / f"{vid}.json", _snapshot_body(rows, i))
            report.snapshots[k] = report.snapshots.get(k, 0) + 1
            report.rows_imported += 1
        if progress:
            progress(n, len(plan))
