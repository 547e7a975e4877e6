"""Build the temporal table (one row per video) from a dataset root, write it as Parquet, summarise it.

    cfg = load_section("cfg.yaml", "targets", TargetsConfig)
    result = build_temporal_table("data/", cfg)
    write_temporal_table(result, "temporal.parquet")
    print(format_summary(result.summary))

Streaming: records are read one at a time and reduced to a row of numbers kept in typed arrays
(~8 bytes per value), so 100k videos need tens of MB. Duplicates are dropped once the pass is
over (see trendflow.dataset.loader). The columns are documented in `trendflow.temporal`.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from trendflow.dataset.errors import DatasetError
from trendflow.dataset.loader import DatasetReader, Problem, VideoRecord
from trendflow.temporal.config import TargetsConfig
from trendflow.temporal.features import AGE_BUCKETS, age_buckets, snapshot1_features
from trendflow.temporal.split import SPLITS, channel_time_split
from trendflow.temporal.targets import video_targets

SCHEMA_VERSION = 2  # 2: duration_seconds, made_for_kids, title_length may be NaN, with *_present masks
PARQUET_META_KEY = b"trendflow.temporal"


def channel_key(platform_id: str, channel_id: str | None, channel_title: str | None) -> str:
    """`<platform>/id:<channel_id>`, or `<platform>/title:<normalised title>` before enrichment."""
    if channel_id and channel_id.strip():
        return f"{platform_id}/id:{channel_id}"
    return f"{platform_id}/title:{' '.join(channel_title.split()).casefold()}"


class _Columns:
    """Column-wise row buffer: floats/ints/bools in compact arrays, strings in lists."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def append(self, row: dict[str, Any]) -> None:
        if not self.data:
            for k, v in row.items():
                self.data[k] = (array("b") if isinstance(v, bool) else array("q") if isinstance(v, int)
                                else array("d") if isinstance(v, float) else [])
        for k, col in self.data.items():
            col.append(row[k])

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def to_numpy(self) -> dict[str, np.ndarray]:
        out = {}
        for k, col in self.data.items():
            if isinstance(col, list):
                out[k] = np.array(col, dtype=object)
            else:
                dtype = {"b": np.int8, "q": np.int64, "d": np.float64}[col.typecode]
                arr = np.frombuffer(col, dtype=dtype) if len(col) else np.zeros(0, dtype)
                out[k] = arr.astype(bool) if col.typecode == "b" else arr
        return out


@dataclass
class TemporalResult:
    table: pa.Table
    summary: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    config: TargetsConfig | None = None


def _row(rec: VideoRecord, cfg: TargetsConfig) -> tuple[dict[str, Any] | None, str | None]:
    """(row, None) for a usable video, else (None, reason it is dropped)."""
    if rec.metadata is None:
        return None, "invalid_metadata"
    if 1 not in rec.snapshots:
        return None, "no_usable_snapshot_1"
    meta, t0 = rec.metadata, rec.snapshot_times[1]
    if t0 < meta.publishedAt:
        return None, "snapshot_1_before_publish"
    row: dict[str, Any] = {
        "video_id": rec.video_id, "platform_id": rec.platform_id,
        "channel_key": channel_key(rec.platform_id, meta.channel_id, meta.channelTitle),
        "published_at": meta.publishedAt.timestamp(), "snapshot1_at": t0.timestamp(),
        "metadata_file": rec.metadata_file, "video_file": rec.video_file,
    }
    row.update(snapshot1_features(meta, rec.snapshots[1], t0, rec.comments_listed.get(1)))
    row.update(video_targets(rec.snapshots, rec.snapshot_times, cfg.metrics, cfg.horizons_days,
                             cfg.tolerance_days))
    return row, None


def _gap_days(rec: VideoRecord) -> set[int]:
    """Whole days between snapshot 1 and each later snapshot of a video (for horizon suggestions)."""
    t0 = rec.snapshot_times[1]
    return {round((t - t0).total_seconds() / 86400.0) for k, t in rec.snapshot_times.items() if k != 1 and t > t0}


def build_temporal_table(root: str, cfg: TargetsConfig | None = None, *,
                         storage_options: dict[str, Any] | None = None, workers: int = 1,
                         progress: Callable[[int, int], None] | None = None) -> TemporalResult:
    """Read the dataset at `root` once and return the temporal table with its summary.

    progress(done, total) is called after each metadata file. The summary's `heads` gives the label
    coverage per target × horizon and `observed_gaps` the videos per whole-day gap after snapshot 1;
    `trendflow.temporal.check_label_coverage` turns an empty head into an error with a suggestion.
    """
    cfg = cfg or TargetsConfig()
    reader = DatasetReader(root, storage_options, require_videos=False, parse_comments=False, workers=workers)
    problems = list(reader.problems)
    cols = _Columns()
    dropped: Counter = Counter()
    gaps: Counter = Counter()  # whole days after snapshot 1 -> videos with a snapshot then
    n_files = 0
    for rec in reader:
        n_files += 1
        if progress:
            progress(n_files, len(reader.metadata_files))
        problems.extend(rec.problems)
        row, reason = _row(rec, cfg)
        if row is None:
            dropped[reason] += 1
        else:
            cols.append(row)
            gaps.update(_gap_days(rec))
    scan = reader.finish()
    problems.extend(scan.problems)
    data = cols.to_numpy()
    n = len(cols)
    del cols  # the numpy arrays share its buffers; filtering below must be able to free them
    if n:
        keep = ~np.isin(data["metadata_file"], np.array(sorted(scan.drop_files), dtype=object))
        if (~keep).any():
            dropped["duplicate_id"] += int((~keep).sum())
            data = {k: v[keep] for k, v in data.items()}
    if not data:
        raise DatasetError(_no_usable_video(root, n_files, dropped, problems))
    table = _to_arrow(data, cfg)
    summary = summarise(table, cfg)
    summary.update(metadata_files=n_files, dropped=dict(dropped), n_problems=len(problems),
                   n_errors=sum(p.severity == "error" for p in problems),
                   observed_gaps={d: gaps[d] for d in sorted(gaps)})
    return TemporalResult(table=table, summary=summary, problems=problems, config=cfg)


def _no_usable_video(root: str, n_files: int, dropped: Counter, problems: list[Problem]) -> str:
    if not n_files:
        layout = "; ".join(f"{p.file}: {p.message}" for p in problems if p.code == "missing_folder")
        return f"{root}: no metadata file" + (f" ({layout})" if layout else "") + ": is this a dataset root?"
    return (f"{root}: no usable video among {n_files} metadata files ({dict(dropped)}): each lacks valid metadata "
            "or a timed snapshot 1 (run `trendflow validate-dataset` for the reasons)")


def _to_arrow(data: dict[str, np.ndarray], cfg: TargetsConfig) -> pa.Table:
    split = channel_time_split(data["channel_key"], data["published_at"], val_fraction=cfg.val_fraction,
                               test_fraction=cfg.test_fraction, seed=cfg.split_seed)
    bucket = age_buckets(data["video_age_hours_at_snapshot1"])
    ordered: dict[str, pa.Array] = {}
    for name in ("video_id", "platform_id", "channel_key"):
        ordered[name] = pa.array(data[name], pa.string())
    ordered["split"] = pa.array(split, pa.string())
    ordered["age_bucket"] = pa.array(bucket, pa.string())
    for name in ("published_at", "snapshot1_at"):
        us = np.round(data[name] * 1e6).astype(np.int64)
        ordered[name] = pa.array(us, pa.timestamp("us", tz="UTC"))
    for name, values in data.items():
        if name in ordered:
            continue
        if values.dtype == object:
            ordered[name] = pa.array(values.tolist(), pa.string())
        else:
            ordered[name] = pa.array(values)
    meta = {"schema_version": SCHEMA_VERSION, "targets": cfg.model_dump(mode="json"),
            "target_keys": cfg.target_keys(), "split_method": "channel_median_publish_time",
            "created_at": datetime.now(timezone.utc).isoformat()}
    return pa.table(ordered).replace_schema_metadata({PARQUET_META_KEY: json.dumps(meta).encode()})


def write_temporal_table(result: TemporalResult | pa.Table, path: str,
                         storage_options: dict[str, Any] | None = None) -> None:
    """Write the table (with its config and split settings in the Parquet metadata), atomically."""
    import io

    import pyarrow.parquet as pq

    from trendflow.storage import Storage

    table = result.table if isinstance(result, TemporalResult) else result
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    path = str(path)
    parent, name = (path.rsplit("/", 1) if "/" in path else (".", path))
    Storage(parent or "/", storage_options).write_bytes(name, buf.getvalue())


def read_temporal_table(path: str) -> tuple[pa.Table, dict[str, Any]]:
    """(table, metadata written with it: schema_version, targets config, target_keys, split)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(PARQUET_META_KEY)
    return table, (json.loads(raw) if raw else {})


def summarise(table: pa.Table, cfg: TargetsConfig) -> dict[str, Any]:
    """Counts behind `format_summary`: rows, splits, label coverage per horizon, age buckets."""
    n = table.num_rows
    split = np.array(table["split"].to_pylist(), dtype=object)
    channels = np.array(table["channel_key"].to_pylist(), dtype=object)
    bucket = np.array(table["age_bucket"].to_pylist(), dtype=object)
    s: dict[str, Any] = {"rows": n, "channels": int(len(set(channels.tolist())))}
    s["splits"] = {sp: {"rows": int((split == sp).sum()), "channels": int(len(set(channels[split == sp])))}
                   for sp in SPLITS}
    s["age_buckets"] = {b: int((bucket == b).sum()) for b in AGE_BUCKETS}
    cov: dict[str, Any] = {}
    for h in cfg.horizons_days:
        entry = {"has_horizon": int(np.sum(table[f"has_horizon_{h}"].to_numpy()))}
        for m in cfg.metrics:
            entry[m] = int(np.sum(table[f"has_y_{m}_{h}"].to_numpy()))
            entry[f"negative_{m}"] = int(np.sum(table[f"negative_delta_{m}_{h}"].to_numpy()))
        cov[str(h)] = entry
    s["coverage"] = cov
    train = split == "train"
    s["heads"] = {f"{m}_{h}": {"labelled": cov[str(h)][m], "negative": cov[str(h)][f"negative_{m}"],
                               "train": int(np.sum(table[f"has_y_{m}_{h}"].to_numpy() & train))}
                  for m in cfg.metrics for h in cfg.horizons_days}  # cfg.target_keys() order
    return s


def format_summary(summary: dict[str, Any]) -> str:
    """A short plain-text table of the summary (what `trendflow temporal` prints)."""
    n = max(summary["rows"], 1)
    lines = [f"temporal table: {summary['rows']} videos, {summary['channels']} channels "
             f"(from {summary.get('metadata_files', '?')} metadata files; dropped {summary.get('dropped', {})})"]
    lines.append(f"  {'split':<8}{'videos':>8}{'channels':>10}")
    for sp, c in summary["splits"].items():
        lines.append(f"  {sp:<8}{c['rows']:>8}{c['channels']:>10}")
    lines.append(f"  {'age':<8}{'videos':>8}{'share':>10}")
    for b, c in summary["age_buckets"].items():
        lines.append(f"  {b:<8}{c:>8}{c / n:>10.1%}")
    lines.append(f"  label coverage per head (videos with a label; {summary['splits']['train']['rows']} in train):")
    lines.append(f"  {'head':<16}{'labelled':>10}{'share':>8}{'train':>8}{'clipped<0':>11}")
    for key, c in summary["heads"].items():
        lines.append(f"  {'y_' + key:<16}{c['labelled']:>10}{c['labelled'] / n:>8.1%}{c['train']:>8}"
                     f"{c['negative']:>11}")
    if summary.get("n_problems"):
        lines.append(f"  data problems: {summary['n_problems']} ({summary.get('n_errors', 0)} errors); "
                     "run `trendflow validate-dataset` for details")
    return "\n".join(lines)
