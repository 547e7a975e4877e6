"""Dataset commands: `validate-dataset`, `temporal`, `synth`, `import-counters`.

    trendflow synth --out demo_data --videos 200 --seed 0
    trendflow validate-dataset demo_data --report problems.json
    trendflow temporal --dataset demo_data --out demo_out/temporal.parquet [--config cfg.yaml]
    trendflow import-counters --table counters.csv --out counters_data [--offsets-days 0,7,14,21]
"""

from __future__ import annotations

import argparse
import json
import time

from trendflow.dataset.errors import DatasetError
from trendflow.dataset.progress import Progress


def _storage_options(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        opts = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"--storage-options is not valid JSON: {e}") from None
    if not isinstance(opts, dict):
        raise DatasetError("--storage-options must be a JSON object")
    return opts


def cmd_validate(args: argparse.Namespace) -> int:
    from trendflow.dataset.validate import validate_dataset

    report = validate_dataset(args.dataset, _storage_options(args.storage_options),
                              require_videos=not args.metadata_only, workers=args.workers,
                              progress=Progress("validate-dataset: metadata files"))
    print(report.format(max_per_code=args.max_per_code))
    if args.report:
        try:
            report.write_json(args.report)
        except OSError as e:
            raise DatasetError(f"cannot write the report {args.report}: {e}") from None
        print(f"full report: {args.report}")
    return 0 if report.ok else 1


def cmd_temporal(args: argparse.Namespace) -> int:
    from trendflow.config import load_section
    from trendflow.temporal import (
        TargetsConfig, build_temporal_table, check_label_coverage, format_summary, write_temporal_table)

    cfg = load_section(args.config, "targets", TargetsConfig)  # a ConfigError is an `error: ...`, exit 2
    if args.seed is not None:
        cfg = cfg.model_copy(update={"split_seed": args.seed})
    start = time.perf_counter()
    result = build_temporal_table(args.dataset, cfg, storage_options=_storage_options(args.storage_options),
                                  workers=args.workers, progress=Progress("temporal: metadata files"))
    print(format_summary(result.summary))
    check_label_coverage(result.summary, cfg)  # an empty head stops here, before anything is written
    try:
        write_temporal_table(result, args.out)
    except OSError as e:
        raise DatasetError(f"cannot write {args.out}: {e}") from None
    print(f"wrote {args.out} ({result.table.num_rows} rows, {result.table.num_columns} columns) "
          f"in {time.perf_counter() - start:.1f}s")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from trendflow.synth.corpus import generate_corpus

    start = time.perf_counter()
    try:
        summary = generate_corpus(args.out, args.videos, args.seed, write_videos=not args.no_video_files,
                                  workers=args.workers, max_video_seconds=args.max_video_seconds,
                                  minimal_metadata=args.minimal_metadata, snapshot_days=args.snapshot_days,
                                  progress=Progress("videos rendered"))
    except (FileExistsError, ValueError) as e:
        raise DatasetError(str(e)) from None
    print(" ".join(f"{k}={v}" for k, v in summary.items()) + f" in {time.perf_counter() - start:.1f}s")
    return 0


def _offsets(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of days: {text!r}") from None


def _renames(text: str) -> dict[str, str]:
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise argparse.ArgumentTypeError(f"expected old=new[,old=new...], got {text!r}")
    return {a.strip(): b.strip() for a, b in pairs}


def cmd_import_counters(args: argparse.Namespace) -> int:
    from trendflow.dataset.import_counters import REPORT_FILE, import_counters

    if args.tolerance_days is not None and args.offsets_days is None:
        raise DatasetError("--tolerance-days applies to --offsets-days only")
    report = import_counters(args.table, args.out, metadata_path=args.metadata, offsets_days=args.offsets_days,
                             tolerance_days=args.tolerance_days, overwrite=args.overwrite, rename=args.rename,
                             progress=Progress)
    print(report.format(max_rows=args.max_bad_rows))
    print(f"full report: {args.out}/{REPORT_FILE}; next: trendflow validate-dataset {args.out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "validate-dataset", help="check a dataset folder against the data contract (SPEC §2)",
        description="Report every problem (file + field) and a summary; exit 1 when any error is found.")
    p.add_argument("dataset", help="dataset root: a folder or an fsspec URL (s3://bucket/prefix)")
    p.add_argument("--metadata-only", action="store_true",
                   help="do not require a video file per metadata file")
    p.add_argument("--report", help="also write every problem to this JSON file")
    p.add_argument("--max-per-code", type=int, default=10, help="problems printed per code (default 10)")
    p.add_argument("--workers", type=int, default=1, help="reader threads (helps on object stores)")
    p.add_argument("--storage-options", help='fsspec options as JSON, e.g. \'{"endpoint_url": "http://..."}\'')
    p.set_defaults(func=cmd_validate)

    p = subparsers.add_parser(
        "temporal", help="build the temporal table: snapshot-1 features, multi-horizon targets, split",
        description="One row per video: features, targets y_<metric>_<h>, masks, age_bucket and split "
                    "(columns documented in trendflow.temporal). Needs only metadata and snapshots.")
    p.add_argument("--dataset", required=True, help="dataset root (folder or fsspec URL)")
    p.add_argument("--out", required=True, help="output Parquet file")
    p.add_argument("--config", help="YAML config; its `targets` section sets metrics, horizons, tolerance, split")
    p.add_argument("--seed", type=int, help="split seed (overrides targets.split_seed)")
    p.add_argument("--workers", type=int, default=1, help="reader threads (helps on object stores)")
    p.add_argument("--storage-options", help="fsspec options for the dataset root, as JSON")
    p.set_defaults(func=cmd_temporal)

    p = subparsers.add_parser(
        "synth", help="write a synthetic dataset (real mp4 files, metadata, 4 snapshots)",
        description="A stand-in dataset in the SPEC §2 layout whose growth depends on content "
                    "(trendflow.synth.growth); the planted truth goes to <out>/_synth_truth.parquet.")
    p.add_argument("--out", required=True, help="new or empty output folder")
    p.add_argument("--videos", type=int, default=200, help="number of videos (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="processes writing videos (at most 2)")
    p.add_argument("--max-video-seconds", type=float, default=150.0, help="longest video (default 150 s)")
    p.add_argument("--no-video-files", action="store_true", help="metadata and snapshots only (fast): a "
                   "counters-only dataset")
    p.add_argument("--minimal-metadata", action="store_true",
                   help="metadata with only the required fields (ids, publishedAt, channel), like public counters "
                        "data sets: no title, duration_seconds, madeForKids, tags, ...")
    p.add_argument("--snapshot-days", type=_offsets, default=(0.0, 7.0, 14.0, 21.0), metavar="0,7,14,21",
                   help="days of the snapshots after the first (default 0,7,14,21; e.g. 0,1,3,5)")
    p.set_defaults(func=cmd_synth)

    p = subparsers.add_parser(
        "import-counters", help="turn a long counters table (one row per video and collection) into a dataset",
        description="Read a CSV or Parquet table with one row per video and collection time (video_id, "
                    "collected_at, viewCount, likeCount, commentCount, ...) and write the SPEC §2 layout "
                    "(metadata/<id>.json, snapshots/<k>/). Bad rows are reported with their line numbers and "
                    "skipped. Rules: trendflow/dataset/import_counters.py.")
    p.add_argument("--table", required=True, help="counters table: .csv, .csv.gz, .parquet")
    p.add_argument("--metadata", help="metadata table, one row per video (video_id, publishedAt, channelTitle or "
                                      "channel_id, title, ...); default: the metadata columns of --table")
    p.add_argument("--out", required=True, help="new or empty dataset folder")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--every-collection", action="store_true",
                      help="every distinct collected_at of a video is a snapshot, its first is snapshot 1 (default)")
    mode.add_argument("--offsets-days", type=_offsets, metavar="0,7,14,21",
                      help="snapshot j = the collection nearest to the video's first + offset j, within the tolerance")
    p.add_argument("--tolerance-days", type=float,
                   help="with --offsets-days: how far a collection may be from its offset (default: 1, or 0.45 x the "
                        "smallest gap between offsets)")
    p.add_argument("--rename", type=_renames, metavar="OLD=NEW,...",
                   help="rename columns of both tables, e.g. publish_time=publishedAt,channel_title=channelTitle")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the metadata/ and snapshots/ of a non-empty --out (other files are kept)")
    p.add_argument("--max-bad-rows", type=int, default=20, help="bad rows printed (all are in the report file)")
    p.set_defaults(func=cmd_import_counters)
