"""Extraction benchmark: our Ray pipeline vs a naive loop and vs `ray.data.read_videos`, side by side.

    .venv/bin/python bench/extract.py [--model ViT-B-32] [--videos 12] [--skip-long]

Prints one table:
  1. standalone stage rates on the short-video set (prepare = decode + cuts + CPU components; CLIP
     frames/s) and the end-to-end pipeline rate; overlap efficiency = end-to-end ÷ slowest stage;
  2. the same videos through a naive sequential loop (segment, decode sampled frames, embed; no Ray);
  3. a 10-minute video through `ray.data.read_videos` (decodes every frame) + the same model vs ours;
  4. cost growth: wall time and peak memory (PSS) of all Ray processes for 30 s, 2 min, 10 min,
     20 min (60 fps) videos.
Known gap: our end-to-end figures include the audio path (CLAP HTSAT-tiny runs ~1-2 windows/s on a
CPU core and dominates long videos), while the naive loop and read_videos do the visual path only.
Videos are generated once into bench/.cache (minutes for the long ones). Numbers are noisy on a
shared 2-core machine: compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from trendflow.synth.video import Shot, write_video  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache" / "extract"
KINDS = ("texture", "shapes", "gradient", "noise", "text")


def make_video(path: Path, seconds: float, fps: int, seed: int, width=320, height=180) -> Path:
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    shots, t = [], 0.0
    while t < seconds:
        d = float(min(rng.uniform(2.0, 8.0), seconds - t)) or 1.0
        shots.append(Shot(KINDS[len(shots) % len(KINDS)], d, color=tuple(int(c) for c in rng.integers(30, 220, 3)),
                          motion=float(rng.uniform(0.1, 0.8)), seed=int(rng.integers(1 << 30))))
        t += d
    sr = 16000
    audio = (0.2 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * sr)) / sr)).astype(np.float32)
    tmp = path.with_suffix(".tmp.mp4")
    write_video(tmp, shots, fps=fps, width=width, height=height, audio=audio, sample_rate=sr, seed=seed)
    tmp.rename(path)
    return path


class PeakRSS:
    """Peak of the summed PSS (proportional set size: shared pages split between the processes that
    map them) of this process and all its descendants (the local Ray cluster)."""

    def __init__(self, interval=0.2):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _total(self) -> int:
        me = psutil.Process()
        total = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                total += p.memory_full_info().pss
            except psutil.Error:
                pass
        return total

    def __enter__(self):
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def write_config(model: str) -> str:
    p = Path(tempfile.mkdtemp()) / "bench.yaml"
    p.write_text(f"extract:\n  clip: {{model_name: {model}}}\n")
    return str(p)


def run_pipeline(dataset: Path, cfg: str, videos=None):
    from ray_pipelines.pipeline import ExtractRequest, run_extract
    store = tempfile.mkdtemp(prefix="bench-store-")
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        s = run_extract(ExtractRequest(dataset=str(dataset), store=store, config_path=cfg, videos=videos,
                                       progress=False), log=lambda *_: None)
        wall = time.perf_counter() - t0
    assert not s.failed, s.failed
    return s, wall, mem.peak


def standalone_prepare(paths, policy, clip_size):
    """Per-video time of the CPU stage alone (segment + stream sampled frames + CPU metrics)."""
    from ray_pipelines.encoders.clip import to_model_input
    from ray_pipelines.stages import shot_quality
    from sampling import segment_video
    t0 = time.perf_counter()
    frames_out = 0
    for p in paths:
        seg = segment_video(str(p), policy)
        for chunk in seg.iter_frames():
            q = chunk.mask("shot_quality")
            if q.any():
                shot_quality.frame_metrics(chunk.frames[q])
            c = chunk.mask("core_clip")
            frames_out += int(c.sum())
            if c.any():
                to_model_input(chunk.frames[c], clip_size)
    return time.perf_counter() - t0, frames_out


def naive_loop(paths, policy, encoder):
    """The baseline: per video, decode all sampled frames into memory, then embed them; no Ray."""
    from ray_pipelines.encoders.clip import to_model_input
    from sampling import segment_video
    t0 = time.perf_counter()
    n = 0
    for p in paths:
        seg = segment_video(str(p), policy)
        frames = seg.load_frames()[seg.plan.component_union_idx["core_clip"]]
        encoder.embed_images(to_model_input(frames, encoder.image_size))
        n += len(frames)
    return time.perf_counter() - t0, n


def read_videos_baseline(path: Path, model: str, fps: int):
    """`ray.data.read_videos` (decodes every frame, keeps `fps` per second) + the same CLIP model."""
    import ray
    from ray.data import ActorPoolStrategy

    from ray_pipelines.config import ClipConfig

    class Embed:
        def __init__(self):
            from ray_pipelines.encoders.clip import load_clip
            self.enc = load_clip(ClipConfig(model_name=model))

        def __call__(self, batch):
            from ray_pipelines.encoders.clip import to_model_input
            e = self.enc.embed_images(to_model_input(batch["frame"], self.enc.image_size))
            return {"n": np.array([len(e)])}

    with PeakRSS() as mem:
        t0 = time.perf_counter()
        ds = (ray.data.read_videos(str(path), fps=fps, resize=(224, 224))
              .map_batches(Embed, batch_size=64, compute=ActorPoolStrategy(size=1), num_cpus=1))
        n = sum(int(r["n"]) for r in ds.iter_rows())
        wall = time.perf_counter() - t0
    return wall, n, mem.peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="ViT-B-32", help="open_clip architecture (random init)")
    ap.add_argument("--videos", type=int, default=12, help="short videos for the throughput section")
    ap.add_argument("--skip-long", action="store_true", help="skip the 10/20-minute sections")
    args = ap.parse_args()

    import ray

    from ray_pipelines.config import ClipConfig
    from ray_pipelines.encoders.clip import load_clip
    from sampling import SamplingPolicy

    CACHE.mkdir(parents=True, exist_ok=True)
    short = CACHE / f"short{args.videos}"
    (short / "videos").mkdir(parents=True, exist_ok=True)
    paths = [make_video(short / "videos" / f"s{i:02d}.mp4", 15 + 3 * (i % 4), 30, seed=i) for i in range(args.videos)]
    durations = {"30s": 30, "2min": 120} if args.skip_long else {"30s": 30, "2min": 120, "10min": 600, "20min": 1200}
    long_sets = {}
    for name, sec in durations.items():
        root = CACHE / f"long_{name}"
        (root / "videos").mkdir(parents=True, exist_ok=True)
        print(f"(preparing {name} 60 fps video...)", flush=True)
        make_video(root / "videos" / f"{name}.mp4", sec, 60, seed=sec)
        long_sets[name] = root

    cfg = write_config(args.model)
    policy = SamplingPolicy()
    encoder = load_clip(ClipConfig(model_name=args.model))
    rows = []

    # 1. standalone stages
    prep_s, n_clip_frames = standalone_prepare(paths, policy, encoder.image_size)
    probe = np.random.default_rng(0).integers(0, 255, (64, encoder.image_size, encoder.image_size, 3), np.uint8)
    encoder.embed_images(probe[:8])
    t0 = time.perf_counter()
    encoder.embed_images(probe)
    clip_fps = 64 / (time.perf_counter() - t0)
    clip_s = n_clip_frames / clip_fps
    prep_rate, clip_rate = len(paths) / prep_s, len(paths) / clip_s
    rows.append(("prepare stage alone (1 process)", f"{60 * prep_rate:.1f} videos/min",
                 f"{n_clip_frames / prep_s:.0f} sampled frames/s"))
    rows.append((f"CLIP {args.model} alone", f"{60 * clip_rate:.1f} videos/min", f"{clip_fps:.1f} frames/s"))

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    run_pipeline(short, cfg, videos=[paths[0].stem])  # warm-up: worker start, model load
    s, wall, peak = run_pipeline(short, cfg)
    e2e_rate = len(paths) / wall
    slowest = min(prep_rate, clip_rate)
    rows.append(("ours end-to-end (Ray Data)", f"{60 * e2e_rate:.1f} videos/min",
                 f"{s.frames_embedded / wall:.1f} frames/s; overlap efficiency {e2e_rate / slowest:.2f}"))

    # 2. naive loop
    naive_s, _ = naive_loop(paths, policy, encoder)
    rows.append(("naive sequential loop (no Ray)", f"{60 * len(paths) / naive_s:.1f} videos/min",
                 f"ours is {naive_s / wall:.2f}x faster"))

    # 3. read_videos on the 10-minute video (2-minute with --skip-long)
    ref = "10min" if "10min" in long_sets else "2min"
    ref_path = next((long_sets[ref] / "videos").glob("*.mp4"))
    rv_wall, rv_n, rv_peak = read_videos_baseline(ref_path, args.model, fps=1)
    ours, ours_wall, ours_peak = run_pipeline(long_sets[ref], cfg)
    rows.append((f"read_videos(fps=1)+CLIP, {ref}", f"{rv_wall:.1f} s, {rv_n} frames", f"peak {rv_peak / 2**30:.2f} GiB"))
    rows.append((f"ours, {ref}", f"{ours_wall:.1f} s, {ours.frames_embedded} frames",
                 f"peak {ours_peak / 2**30:.2f} GiB; {rv_wall / ours_wall:.2f}x faster"))

    # 4. cost growth
    growth = []
    for name, root in long_sets.items():
        res, w, pk = run_pipeline(root, cfg)
        growth.append((name, durations[name], w, pk, res.frames_embedded))
    base = growth[0]
    for name, sec, w, pk, n in growth:
        rows.append((f"growth {name} @60fps", f"{w:.1f} s ({w / base[2]:.1f}x for {sec / base[1]:.0f}x duration)",
                     f"peak RSS {pk / 2**30:.2f} GiB, {n} CLIP frames"))
    ray.shutdown()

    print(f"\nextract benchmark — {os.cpu_count()} CPU cores, no GPU, model {args.model} (random init)")
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:<{w1}}  {c}")


if __name__ == "__main__":
    main()
