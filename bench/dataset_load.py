"""Benchmark: load a 100k-video dataset (metadata + 4 snapshots, no video files) and build features.

    .venv/bin/python bench/dataset_load.py [--videos 100000] [--root /tmp/trendflow_bench_100k]

Generates the set once with `trendflow.synth` (kept under --root for reruns), then runs each
step in a fresh process and reports videos/s and peak RSS side by side:

- ours: `build_temporal_table` (streaming reader, pydantic validation, features + targets + split)
- ours: `validate_dataset` (streaming, also validates every stored comment)
- baseline: the usual notebook approach, every JSON file loaded into memory and then pandas
  (DataFrames per snapshot, merged, a few vectorised features; no validation)
- ours on a 10x smaller dataset generated the same way: memory grows far less than 10x, because
  only ids and the output table (a few KB per video) are kept, never the JSON payloads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def _rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _current_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def step_ours(root: str) -> dict:
    from trendflow.temporal import build_temporal_table

    base = _current_mb()
    t = time.perf_counter()
    res = build_temporal_table(root)
    dt = time.perf_counter() - t
    return {"videos": res.summary["metadata_files"], "rows": res.table.num_rows, "seconds": dt,
            "peak_mb": _rss_mb(), "import_mb": base}


def step_validate(root: str) -> dict:
    from trendflow.dataset.validate import validate_dataset

    base = _current_mb()
    t = time.perf_counter()
    rep = validate_dataset(root, require_videos=False)
    dt = time.perf_counter() - t
    return {"videos": rep.n_metadata_files, "rows": rep.n_usable, "seconds": dt, "peak_mb": _rss_mb(),
            "import_mb": base}


def step_baseline(root: str) -> dict:
    import numpy as np
    import pandas as pd

    base = _current_mb()
    t = time.perf_counter()
    r = Path(root)
    metas = [json.loads(p.read_text()) for p in sorted((r / "metadata").glob("*.json"))]
    snaps = {}
    for k in range(1, 5):
        folder = r / "snapshots" / str(k)
        snaps[k] = pd.DataFrame([json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
                                 if p.name != "snapshot.json"])
    df = pd.DataFrame(metas).drop_duplicates("video_id", keep=False)
    for k, s in snaps.items():
        cols = [c for c in ("viewCount", "likeCount", "commentCount", "subscriberCount", "videoCount",
                            "viewCount_channel", "collected_at") if c in s.columns]
        s = s[["video_id", *cols]].rename(columns={c: f"{c}_{k}" for c in cols})
        df = df.merge(s, on="video_id", how="left")
    for c in [c for c in df.columns if c.split("_")[0] in ("viewCount", "likeCount", "commentCount",
                                                           "subscriberCount", "videoCount")]:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    age = (pd.to_datetime(df["collected_at_1"], utc=True) - pd.to_datetime(df["publishedAt"], utc=True))
    df["age_h"] = age.dt.total_seconds() / 3600
    df["like_rate"] = df["likeCount_1"] / np.maximum(df["viewCount_1"], 1)
    for k, h in ((2, 7), (3, 14), (4, 21)):
        df[f"y_views_{h}"] = np.log1p(np.clip(df[f"viewCount_{k}"] - df["viewCount_1"], 0, None))
    dt = time.perf_counter() - t
    return {"videos": len(metas), "rows": len(df), "seconds": dt, "peak_mb": _rss_mb(), "import_mb": base}


def ensure_dataset(root: str, n: int) -> float | None:
    """Generate the dataset once (kept for reruns); returns the generation time when it ran."""
    marker = Path(root) / ".complete"
    if marker.exists():
        return None
    from trendflow.synth.corpus import generate_corpus

    if Path(root).exists():
        import shutil
        shutil.rmtree(root)
    t = time.perf_counter()
    generate_corpus(root, n, seed=0, write_videos=False)
    marker.write_text("ok")
    return time.perf_counter() - t


STEPS = {"ours": step_ours, "validate": step_validate, "baseline": step_baseline}


def run_child(step: str, root: str) -> dict:
    cmd = [sys.executable, __file__, "--child", step, "--root", root]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=100_000)
    ap.add_argument("--root", default=None)
    ap.add_argument("--child", choices=sorted(STEPS))
    args = ap.parse_args()
    root = args.root or f"/tmp/trendflow_bench_{args.videos // 1000}k"
    if args.child:
        print(json.dumps(STEPS[args.child](root)))
        return 0

    small_root = f"{root}_tenth"
    gen_s = ensure_dataset(root, args.videos)
    ensure_dataset(small_root, args.videos // 10)
    for folder in (root, small_root):  # warm the page cache so the first step is not penalised
        for p in Path(folder).rglob("*.json"):
            p.read_bytes()
    rows = [("ours: temporal table (stream+validate+features)", run_child("ours", root)),
            ("ours: validate-dataset (incl. comments)", run_child("validate", root)),
            ("baseline: all JSON in memory + pandas", run_child("baseline", root)),
            (f"ours: temporal table, {args.videos // 10} videos", run_child("ours", small_root))]
    print(f"dataset: {root} ({args.videos} videos, metadata + 4 snapshots, no video files)"
          + (f"; generated in {gen_s:.0f}s ({args.videos / gen_s:.0f} videos/s)" if gen_s else " (cached)"))
    print(f"{'step':<52}{'videos':>8}{'seconds':>9}{'videos/s':>10}{'peak MB':>9}{'+MB':>7}"
          "   (+MB: peak RSS above the RSS after imports)")
    for name, r in rows:
        print(f"{name:<52}{r['videos']:>8}{r['seconds']:>9.1f}{r['videos'] / r['seconds']:>10.0f}"
              f"{r['peak_mb']:>9.0f}{r['peak_mb'] - r['import_mb']:>7.0f}")
    ours, base, small = rows[0][1], rows[2][1], rows[3][1]

    def speed(r):
        return r["videos"] / r["seconds"]

    def extra_mb(r):
        return max(1.0, r["peak_mb"] - r["import_mb"])

    print(f"ratios: ours/baseline speed {speed(ours) / speed(base):.2f}x, "
          f"memory above imports {extra_mb(ours) / extra_mb(base):.2f}x; "
          f"ours with 10x more videos uses {extra_mb(ours) / extra_mb(small):.1f}x the memory")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    sys.exit(main())
