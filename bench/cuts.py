"""Cut detection and Segmenter decoding: ours vs PySceneDetect, on videos with known cuts.

    .venv/bin/python bench/cuts.py            # ~3-6 min on 2 cores; videos cached in /tmp/trendflow-bench
    .venv/bin/python bench/cuts.py --quick    # fewer videos, no 20-minute check
    .venv/bin/python bench/cuts.py --seed 1   # a held-out set (thresholds were chosen on seed 0)
    .venv/bin/python bench/cuts.py --ours-only --seed 1   # accuracy of ours only (no PySceneDetect, one run)

Prints three tables:
1. Accuracy: precision / recall / F1 of cut positions at +-2 frames (a gradual transition counts as
   found when a cut lands inside its frames +-2), per video set, for our two-pass detector and
   PySceneDetect's ContentDetector and AdaptiveDetector with default settings.
2. Speed and memory: frames analysed per second (decode included; best of 3 runs) and peak extra
   RSS, each detector run in its own fresh process, on the same files (ratio ours / ContentDetector).
3. Decoding: sparse access to the frames of a sampling plan, PyAV (ours) vs decord (best of 3), and a
   20-minute 60 fps video (72,000 frames) segmented and its union decoded in bounded memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("TRENDFLOW_BENCH_CACHE", "/tmp/trendflow-bench"))
TOL = 2  # frames
REPEATS = 3  # timing runs per detector and video (best kept)


# ---------------------------------------------------------------- videos with known cuts

def _shots(rng: np.random.Generator, n: int, *, kinds, motion=(0.0, 1.0), durations=(0.8, 4.0),
           transitions=("cut",), same_kind_runs=False, jitter_colour=None):
    from trendflow.synth.video import Shot

    shots, colour = [], rng.integers(0, 256, 3)
    kind = rng.choice(kinds)
    for k in range(n):
        if not same_kind_runs or k % 4 == 0:
            kind = rng.choice(kinds)
        colour = (np.clip(colour + rng.integers(-jitter_colour, jitter_colour + 1, 3), 0, 255)
                  if jitter_colour else rng.integers(0, 256, 3))
        tr = str(rng.choice(transitions))
        shots.append(Shot(str(kind), float(rng.uniform(*durations)), color=tuple(int(c) for c in colour),
                          motion=float(rng.uniform(*motion)), seed=int(rng.integers(1 << 30)),
                          brightness=float(rng.uniform(0.7, 1.2)), transition=tr,
                          transition_s=float(rng.uniform(0.3, 1.0)) if tr != "cut" else 0.0))
    return shots


def video_sets(quick: bool, seed: int = 0):
    """(name, kwargs for write_video, shot list) for every benchmark video. `seed` > 0 draws a
    different set of the same kinds (thresholds were chosen on seed 0: use another as held-out)."""
    allk = ("noise", "gradient", "text", "shapes", "texture", "solid")
    moving = ("noise", "gradient", "text", "shapes", "texture")
    n = 12 if quick else 30
    def rng(k):
        return np.random.default_rng(k + 100 * seed)

    sets = [
        ("hard: mixed sources", dict(width=320, height=180), _shots(rng(1), n, kinds=allk)),
        ("hard: same source, near colours", dict(width=320, height=180),
         _shots(rng(2), n, kinds=moving, same_kind_runs=True, jitter_colour=60)),
        ("hard: fast motion", dict(width=320, height=180),
         _shots(rng(3), n, kinds=("noise", "shapes", "texture", "text"), motion=(0.8, 1.0))),
        ("hard: portrait VFR 30fps", dict(width=180, height=320, fps=30, vfr=True),
         _shots(rng(4), n, kinds=allk)),
        ("gradual: fades + dissolves + cuts", dict(width=320, height=180),
         _shots(rng(5), n, kinds=moving, durations=(1.5, 4.0), transitions=("cut", "fade", "dissolve"))),
    ]
    # x264 puts a keyframe at each scene change by default; a fixed GOP (scene-cut keyframes off)
    # puts them every 30 frames instead, so a detector leaning on keyframes would miss these cuts.
    sets.append(("hard: fixed GOP, no keyframes at cuts", dict(width=320, height=180, gop_size=30, scenecut=False),
                 _shots(rng(7), n, kinds=allk)))
    if not quick:
        sets.append(("hard: 1280x720 (speed)", dict(width=1280, height=720),
                     _shots(rng(6), 12, kinds=allk, durations=(1.0, 3.0))))
    return sets


def _kw_tag(kw: dict) -> str:
    """Cache names that change when a set's writer settings do (a set added later shifts indices)."""
    import hashlib
    return hashlib.sha1(json.dumps(kw, sort_keys=True).encode()).hexdigest()[:8]


def build_videos(quick: bool, seed: int = 0):
    from trendflow.synth.video import write_video

    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (name, kw, shots) in enumerate(video_sets(quick, seed)):
        path = CACHE / f"cuts_{'q' if quick else 'f'}_{name.split(':')[0]}{i}_s{seed}_{_kw_tag(kw)}.mp4"
        truth_path = path.with_suffix(".json")
        if not (path.exists() and truth_path.exists()):
            truth = write_video(path, shots, **kw)
            truth_path.write_text(json.dumps(truth.to_dict()))
        out.append((name, str(path), json.loads(truth_path.read_text())))
    return out


# ---------------------------------------------------------------- scoring

def detected_frames(result: dict, truth: dict) -> list[int]:
    """Detected cuts as frame indices: ours directly; PySceneDetect's cut times mapped to the frame
    shown at that time (its own frame numbers assume constant frame rate)."""
    if "cuts" in result:
        return result["cuts"]
    times = np.asarray(truth["frame_times_s"])
    return [int(np.argmin(np.abs(times - t))) for t in result["cut_times"]]


def match(detected: list[int], truth: dict) -> tuple[int, int, int]:
    """(true positives, n detected, n truth): one detection per boundary, nearest first."""
    windows = [(f - TOL, f + TOL) if k == "cut" else (a - TOL, b + TOL)
               for f, k, (a, b) in zip(truth["cut_frames"], truth["transition_kinds"],
                                       truth["transition_frame_ranges"])]
    used, tp = set(), 0
    for lo, hi in windows:
        centre = (lo + hi) / 2
        cands = [d for d in detected if lo <= d <= hi and d not in used]
        if cands:
            used.add(min(cands, key=lambda d: abs(d - centre)))
            tp += 1
    return tp, len(detected), len(windows)


def prf(tp: int, nd: int, nt: int) -> tuple[float, float, float]:
    p = tp / nd if nd else 1.0
    r = tp / nt if nt else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# ---------------------------------------------------------------- workers (fresh process each)

def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def _start_peak() -> float:
    """Reset the process's peak RSS (Linux clear_refs) and return the current RSS in MB."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status_mb("VmRSS")


def _peak_extra_mb(base: float) -> float:
    """Peak RSS since `_start_peak`, above the RSS at that moment."""
    return _status_mb("VmHWM") - base


def worker(method: str, path: str) -> dict:
    # Libraries are imported before the clock and the memory baseline start, for every method.
    import av  # noqa: F401
    import cv2  # noqa: F401

    if method == "ours":
        from sampling import SamplingPolicy
        from sampling.candidates import compute_signals
        from sampling.cuts import detect_shots

        policy = SamplingPolicy()
        base = _start_peak()
        t = time.perf_counter()
        sig = compute_signals(path, width=policy.signal_width, height=policy.signal_height)
        shots = detect_shots(sig, policy.cuts)
        elapsed = time.perf_counter() - t
        cuts = [int(f) for f, k in zip(shots.cut_frame, shots.cut_kind) if k != "split"]
        n = sig.n_frames
    else:
        from scenedetect import AdaptiveDetector, ContentDetector, SceneManager, open_video

        base = _start_peak()
        t = time.perf_counter()
        video = open_video(path)  # default backend (OpenCV)
        sm = SceneManager()
        sm.add_detector(ContentDetector() if method == "content" else AdaptiveDetector())
        n = sm.detect_scenes(video)
        elapsed = time.perf_counter() - t
        # Graded by time: its frame numbers are timestamp x nominal fps, which is wrong for VFR.
        cut_times = [s[0].get_seconds() for s in sm.get_scene_list()][1:]
        return {"cut_times": cut_times, "n_frames": n, "seconds": elapsed,
                "peak_extra_mb": _peak_extra_mb(base)}
    return {"cuts": cuts, "n_frames": n, "seconds": elapsed, "peak_extra_mb": _peak_extra_mb(base)}


def run_worker(method: str, path: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", method, path], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- decoding benches

def sparse_decode_bench(path: str) -> list[str]:
    """Decode the union frames of a real plan: our PyAV reader vs decord's get_batch."""
    from sampling import segment_video

    seg = segment_video(path)
    p = seg.plan
    idx = p.union_frame_indices
    import decord

    def read_decord():
        vr = decord.VideoReader(path, width=p.analysis_width, height=p.analysis_height, num_threads=2)
        return np.concatenate([vr.get_batch(idx[i:i + 32].tolist()).asnumpy() for i in range(0, len(idx), 32)])

    t_ours = t_dec = float("inf")
    for _ in range(REPEATS):  # interleaved, best kept (shared machine)
        t = time.perf_counter()
        ours = seg.load_frames()
        t_ours = min(t_ours, time.perf_counter() - t)
        t = time.perf_counter()
        theirs = read_decord()
        t_dec = min(t_dec, time.perf_counter() - t)
    diff = float(np.abs(ours.astype(np.int16) - theirs.astype(np.int16)).mean())
    return [f"sparse decode of {len(idx)} plan frames of {p.source_n_frames} ({Path(path).name}, "
            f"{seg.info.width}x{seg.info.height} -> {p.analysis_width}x{p.analysis_height}):",
            f"  PyAV (ours) {len(idx) / t_ours:7.1f} frames/s   decord {len(idx) / t_dec:7.1f} frames/s   "
            f"ours/decord {t_dec / t_ours:.2f}x   mean |pixel diff| {diff:.1f}"]


def long_video_worker(path: str) -> dict:
    import av  # noqa: F401

    from sampling import segment_video

    base = _start_peak()
    t = time.perf_counter()
    seg = segment_video(path)
    t_seg = time.perf_counter() - t
    n_chunks, n_frames = 0, 0
    t = time.perf_counter()
    for chunk in seg.iter_frames():
        n_chunks += 1
        n_frames += len(chunk.frames)
    t_dec = time.perf_counter() - t
    peak_extra = _peak_extra_mb(base)
    p = seg.plan
    return {"n_frames": p.source_n_frames, "n_shots": seg.shots.n_shots, "n_union": p.n_union,
            "decoded": n_frames, "chunks": n_chunks, "seg_s": t_seg, "dec_s": t_dec,
            "peak_extra_mb": peak_extra, "frame_mb": p.analysis_width * p.analysis_height * 3 / 2**20,
            "budgets": {k: len(v) for k, v in p.component_union_idx.items()}}


def long_video_bench() -> list[str]:
    from trendflow.synth.video import Shot, write_video

    path = CACHE / "long_20min_60fps.mp4"
    if not path.exists():
        rng = np.random.default_rng(7)
        kinds = ("noise", "gradient", "texture", "solid")
        shots = [Shot(str(kinds[k % 4]), 6.0, color=tuple(int(c) for c in rng.integers(0, 256, 3)),
                      seed=k, motion=0.3) for k in range(200)]  # 200 x 6 s = 20 min
        t = time.perf_counter()
        write_video(path, shots, fps=60, width=192, height=108, preset="ultrafast")
        print(f"(wrote the 20-min video in {time.perf_counter() - t:.0f}s)", file=sys.stderr)
    out = subprocess.run([sys.executable, __file__, "--long-worker", str(path)], capture_output=True,
                         text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    all_frames_mb = r["n_frames"] * r["frame_mb"]
    return [f"20-min 60 fps video ({r['n_frames']} frames, 192x108): {r['n_shots']} shots, union "
            f"{r['n_union']} frames {r['budgets']}",
            f"  scan+cuts+plan {r['seg_s']:.1f}s ({r['n_frames'] / r['seg_s']:.0f} frames/s), union decode "
            f"{r['dec_s']:.1f}s in {r['chunks']} chunks; peak extra RSS {r['peak_extra_mb']:.0f} MB "
            f"(all frames at analysis size would be {all_frames_mb:.0f} MB)"]


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter videos; no 20-minute check")
    ap.add_argument("--seed", type=int, default=0, help="draw a different (held-out) set of videos")
    ap.add_argument("--ours-only", action="store_true", help="accuracy of our detector only: no PySceneDetect, "
                    "one run, no speed or decoding tables")
    ap.add_argument("--worker", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--long-worker", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    if args.long_worker:
        print(json.dumps(long_video_worker(args.long_worker)))
        return

    videos = build_videos(args.quick, args.seed)
    methods = [("ours", "ours (2-pass)"), ("content", "PySceneDetect Content"),
               ("adaptive", "PySceneDetect Adaptive")][:1 if args.ours_only else 3]
    repeats = 1 if args.ours_only else REPEATS
    # Best of REPEATS fresh-process runs per detector and video, interleaved: this machine is shared,
    # and the fastest run is the one least disturbed by others. Cuts are identical across runs.
    results = {m: [None] * len(videos) for m, _ in methods}
    for _ in range(repeats):
        for v, (_, path, _) in enumerate(videos):
            for m, _ in methods:
                r = run_worker(m, path)
                if results[m][v] is None or r["seconds"] < results[m][v]["seconds"]:
                    results[m][v] = r

    print(f"Accuracy at +-{TOL} frames (P / R / F1); gradual = found inside the transition +-{TOL}; "
          "PySceneDetect graded by its cut times")
    print(f"{'video set':40s} {'cuts':>5s} " + " ".join(f"{label:>24s}" for _, label in methods))
    totals = {m: {"hard": [0, 0, 0], "gradual": [0, 0, 0]} for m, _ in methods}
    for v, (name, _, truth) in enumerate(videos):
        row = f"{name:40s} {len(truth['cut_frames']):5d} "
        for m, _ in methods:
            tp, nd, nt = match(detected_frames(results[m][v], truth), truth)
            group = "gradual" if name.startswith("gradual") else "hard"
            totals[m][group] = [a + b for a, b in zip(totals[m][group], (tp, nd, nt))]
            p, r, f = prf(tp, nd, nt)
            row += f"{p:7.2f} /{r:5.2f} /{f:5.2f}  "
        print(row)
    for group in ("hard", "gradual"):
        row = f"{'ALL ' + group:40s} {totals['ours'][group][2]:5d} "
        for m, _ in methods:
            p, r, f = prf(*totals[m][group])
            row += f"{p:7.2f} /{r:5.2f} /{f:5.2f}  "
        print(row)
    if args.ours_only:
        return

    print(f"\nSpeed (frames analysed per second, decode included, best of {REPEATS}) and peak extra memory, "
          "fresh process each")
    print(f"{'video set':40s} {'frames':>7s} " + " ".join(f"{label:>24s}" for _, label in methods)
          + f" {'ours/Content':>13s}")
    fps_tot = {m: [0, 0.0] for m, _ in methods}
    for v, (name, _, _) in enumerate(videos):
        row = f"{name:40s} {results['ours'][v]['n_frames']:7d} "
        for m, _ in methods:
            r = results[m][v]
            fps_tot[m][0] += r["n_frames"]
            fps_tot[m][1] += r["seconds"]
            row += f"{r['n_frames'] / r['seconds']:9.0f} f/s {r['peak_extra_mb']:6.0f} MB   "
        ratio = (results["ours"][v]["n_frames"] / results["ours"][v]["seconds"]) / (
            results["content"][v]["n_frames"] / results["content"][v]["seconds"])
        print(row + f"{ratio:12.2f}x")
    row = f"{'ALL':40s} {fps_tot['ours'][0]:7d} "
    for m, _ in methods:
        row += f"{fps_tot[m][0] / fps_tot[m][1]:9.0f} f/s {'':9s}   "
    ours_fps = fps_tot["ours"][0] / fps_tot["ours"][1]
    content_fps = fps_tot["content"][0] / fps_tot["content"][1]
    print(row + f"{ours_fps / content_fps:12.2f}x")

    print("\nDecoding")
    for path in dict.fromkeys([videos[0][1], videos[-1][1]]):  # 320x180 and (full run) 1280x720
        for line in sparse_decode_bench(path):
            print(line)
    if not args.quick:
        for line in long_video_bench():
            print(line)


if __name__ == "__main__":
    main()
