"""Benchmark: `trendflow import-counters` on a long daily counters table, against the pandas notebook way.

    .venv/bin/python bench/import_counters.py [--videos 5000] [--days 30] [--root /tmp/trendflow_bench_import]

Writes a CSV once (one row per video and day, like a public trending table; kept under --root),
then runs each step in a fresh process and reports rows/s and peak RSS side by side:

- ours: `import_counters` (row-by-row validation with line numbers, every distinct collection is a
  snapshot, metadata validated with pydantic, staged write of the SPEC §2 layout)
- baseline: pandas `read_csv`, a groupby per video and `json.dump` of the same files, no validation
  (a bad row either crashes it or is written as is)

Both write one metadata file per video and one snapshot file per row, so most of the time of both
is file creation; the ratio shows what validation and line-numbered reports cost on top.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def write_table(path: Path, n_videos: int, days: int) -> None:
    rnd = random.Random(0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video_id", "collected_at", "viewCount", "likeCount", "commentCount", "publishedAt",
                    "channelTitle", "title"])
        for d in range(days):
            for v in range(n_videos):
                t = T0 + timedelta(days=d, minutes=rnd.randint(0, 120))
                w.writerow([f"vid{v:08d}", t.strftime("%Y-%m-%dT%H:%M:%SZ"), 1000 + 100 * d + v, 10 + d, d,
                            "2024-12-30T00:00:00Z", f"channel {v % 500}", f"title {v}"])


def step_ours(table: str, out: str) -> dict:
    from trendflow.dataset.import_counters import import_counters

    t = time.perf_counter()
    rep = import_counters(table, out)
    return {"rows": rep.rows_read, "files": rep.rows_imported + rep.videos, "seconds": time.perf_counter() - t,
            "peak_mb": _rss_mb()}


def step_baseline(table: str, out: str) -> dict:
    import pandas as pd

    t = time.perf_counter()
    df = pd.read_csv(table)
    root = Path(out)
    (root / "metadata").mkdir(parents=True)
    files = 0
    for vid, g in df.sort_values("collected_at").groupby("video_id", sort=False):
        first = g.iloc[0]
        with open(root / "metadata" / f"{vid}.json", "w") as f:
            json.dump({"video_id": vid, "publishedAt": first["publishedAt"], "channelTitle": first["channelTitle"],
                       "title": first["title"]}, f)
        files += 1
        for k, row in enumerate(g.itertuples(index=False), start=1):
            folder = root / "snapshots" / str(k)
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{vid}.json", "w") as f:
                json.dump({"video_id": vid, "collected_at": row.collected_at, "viewCount": int(row.viewCount),
                           "likeCount": int(row.likeCount), "commentCount": int(row.commentCount)}, f)
            files += 1
    return {"rows": len(df), "files": files, "seconds": time.perf_counter() - t, "peak_mb": _rss_mb()}


STEPS = {"ours": step_ours, "baseline": step_baseline}


def run_child(step: str, table: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, __file__, "--child", step, "--table", str(table), "--out", str(out)]
    result = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(result.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=5_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--root", default="/tmp/trendflow_bench_import")
    ap.add_argument("--child", choices=sorted(STEPS))
    ap.add_argument("--table")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(STEPS[args.child](args.table, args.out)))
        return 0
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    table = root / f"counters_{args.videos}x{args.days}.csv"
    if not table.exists():
        write_table(table, args.videos, args.days)
    rows = [(name, run_child(name, table, root / f"out_{name}")) for name in ("ours", "baseline")]
    print(f"table: {table} ({args.videos} videos x {args.days} days, {table.stat().st_size / 2**20:.0f} MB)")
    print(f"{'step':<44}{'rows':>9}{'files':>9}{'seconds':>9}{'rows/s':>9}{'peak MB':>9}")
    for name, r in rows:
        label = {"ours": "ours: import-counters (validated)", "baseline": "baseline: pandas groupby + json.dump"}[name]
        print(f"{label:<44}{r['rows']:>9}{r['files']:>9}{r['seconds']:>9.1f}{r['rows'] / r['seconds']:>9.0f}"
              f"{r['peak_mb']:>9.0f}")
    ours, base = rows[0][1], rows[1][1]
    print(f"ratios: ours/baseline time {ours['seconds'] / base['seconds']:.2f}x, "
          f"peak memory {ours['peak_mb'] / base['peak_mb']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
