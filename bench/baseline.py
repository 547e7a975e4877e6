"""The "before" side of the speed benches: the CPU stage's cost per step, for main's code and for ours.

    .venv/bin/python bench/baseline.py VIDEO.mp4 [VIDEO.mp4 ...] [--ref main]

Prints, for the code of git `--ref` (exported with `git archive` into /tmp, run in a fresh process
with that copy first on sys.path) and for this worktree's code, the CPU-seconds per minute of video
of each step of the visual CPU stage as `ray_pipelines/stages/prepare.py` runs it: segment (probe, the
pass-1 scan, cut detection, plan), decode (the sampled frames the stage reads), quality
(shot_quality frame metrics), pacing (the motion curve). Process time counts every decoder thread
and none of the other sessions' load, so the ratio holds on a shared machine. bench/extract.py
prints the same rows (`cpu_stage_rows`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = ("segment", "decode", "quality", "pacing")


def export_ref(ref: str = "main") -> Path:
    """main's sampling/, ray_pipelines/ and trendflow/ in a folder of their own (cached per commit)."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", ref], capture_output=True, text=True,
                         check=True).stdout.strip()
    root = Path(tempfile.gettempdir()) / f"trendflow-baseline-{sha[:12]}"
    if not (root / "sampling").exists():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha, "sampling", "ray_pipelines", "trendflow"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root


def worker(code_root: str, paths: list[str]) -> dict:
    """CPU-s per step, summed over `paths` (with several, the first is run once untimed: imports, caches)."""
    sys.path.insert(0, code_root)
    import inspect

    from ray_pipelines.stages import shot_quality, video_pacing
    from sampling import SamplingPolicy, segment_video
    from sampling.segment import SegmentResult
    assert Path(inspect.getfile(segment_video)).resolve().is_relative_to(Path(code_root).resolve())
    policy = SamplingPolicy()
    # Ours decodes only the frames the stage reads; main's stage decoded the whole union.
    reads = {"components": ("core_clip", "shot_quality")} \
        if "components" in inspect.signature(SegmentResult.iter_frames).parameters else {}

    def one(path: str, cost: dict) -> float:
        c = time.process_time()
        seg = segment_video(path, policy)
        cost["segment"] += time.process_time() - c
        motion = video_pacing.MotionCurve()
        chunks = seg.iter_frames(**reads)
        while True:
            c = time.process_time()
            chunk = next(chunks, None)
            cost["decode"] += time.process_time() - c
            if chunk is None:
                break
            q = chunk.mask("shot_quality")
            c = time.process_time()
            shot_quality.frame_metrics(chunk.frames[q])
            cost["quality"] += time.process_time() - c
            c = time.process_time()
            motion.update(chunk.frames[q], seg.plan.union_timestamps_sec[chunk.union_positions][q], chunk.shot_index[q])
            motion.result()
            cost["pacing"] += time.process_time() - c
        return seg.plan.duration_sec

    if len(paths) > 1:  # a single (long) video is timed cold: imports are negligible next to it
        one(paths[0], dict.fromkeys(STEPS, 0.0))
    cost = dict.fromkeys(STEPS, 0.0)
    minutes = sum(one(p, cost) for p in paths) / 60
    return {"per_min": {k: v / minutes for k, v in cost.items()}, "minutes": minutes}


def cpu_stage_costs(paths, ref: str = "main") -> dict[str, dict]:
    """{"before": ..., "after": ...} worker results, each in its own fresh process."""
    out = {}
    for label, root in (("before", str(export_ref(ref))), ("after", str(REPO))):
        run = subprocess.run([sys.executable, __file__, "--worker", root, *map(str, paths)], capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        out[label] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def cpu_stage_rows(costs: dict) -> list[tuple[str, str, str]]:
    """Table rows: per step CPU-s per minute of video, before -> after, and the ratio."""
    b, a = costs["before"]["per_min"], costs["after"]["per_min"]
    rows = [(f"CPU stage: {k}", f"{b[k]:.2f} -> {a[k]:.2f} CPU-s/min", f"{a[k] / b[k]:.2f}x of main" if b[k] else "")
            for k in STEPS]
    tb, ta = sum(b.values()), sum(a.values())
    rows.append(("CPU stage: total (visual)", f"{tb:.2f} -> {ta:.2f} CPU-s/min",
                 f"{ta / tb:.2f}x of main ({tb / ta:.2f}x less CPU) over {costs['after']['minutes']:.1f} min of video"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--ref", default="main", help="git ref of the 'before' code")
    ap.add_argument("--worker", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1:])))
        return
    if not args.videos:
        ap.error("give at least one video file")
    for row in cpu_stage_rows(cpu_stage_costs(args.videos, args.ref)):
        print(f"{row[0]:<28s} {row[1]:<28s} {row[2]}")


if __name__ == "__main__":
    main()
