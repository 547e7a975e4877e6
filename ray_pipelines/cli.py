"""`trendflow extract`: run the Ray Data extraction pipeline over a dataset."""

from __future__ import annotations

import argparse

from trendflow.cli.common import add_store_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract", help="extract per-video content features with Ray (cuts, CLIP, quality, pacing, audio)",
        description="Runs the Ray Data pipeline over <dataset>/videos/*: decodes only the sampled frames, "
                    "detects shots, embeds frames with CLIP and audio with CLAP (GPU actor pools when the "
                    "cluster has GPUs), measures quality, pacing, loudness and tempo, and writes versioned "
                    "artifacts to the store. Videos already extracted with the same config are reused "
                    "(--force recomputes); an unfinished run of a video (a crash) is continued, its valid "
                    "components reused. Local Ray by default; --address or RAY_ADDRESS for a cluster. Exit "
                    "status: 0 all videos ok, 1 some failed or were rejected (listed), 2 bad input (no such "
                    "dataset, no video, bad config).")
    p.add_argument("--dataset", required=True, help="dataset root (local folder or s3://...) with videos/")
    add_store_args(p)
    p.add_argument("--videos", help="comma-separated video ids to process (default: all)")
    p.add_argument("--run-id", help="run id (default: generated). Re-using a run id resumes that run at "
                                    "component level: components already written and valid are not recomputed")
    p.add_argument("--force", action="store_true", help="recompute even when the index has the video")
    p.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else a local cluster)")
    p.add_argument("--quiet", action="store_true", help="no per-video progress lines")
    p.add_argument("--allow-failures", action="store_true",
                   help="exit 0 even when some videos failed or were rejected (the summary still lists them)")
    p.set_defaults(func=cmd_extract)


def cmd_extract(args) -> int:
    from ray_pipelines.pipeline import ExtractRequest, format_summary, run_extract

    videos = [v.strip() for v in args.videos.split(",") if v.strip()] if args.videos else None
    summary = run_extract(ExtractRequest(
        dataset=args.dataset, store=args.store, config_path=args.config, videos=videos, run_id=args.run_id,
        force=args.force, address=args.address, progress=not args.quiet))
    print(format_summary(summary))
    return 0 if args.allow_failures or (summary.ok and not summary.rejected) else 1
