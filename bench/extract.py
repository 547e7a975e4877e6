"""Extraction benchmark: our Ray pipeline vs a naive loop and vs `ray.data.read_videos`, side by side.

    .venv/bin/python bench/extract.py [--model ViT-B-32] [--videos 12] [--skip-long] [--no-full-growth]
    # issue #16's rows (README): CPU stage per step, overlap on 40 videos, the 10-minute read_videos row
    .venv/bin/python bench/extract.py --model trendflow-clip-tiny --videos 40 --skip-growth --skip-audio --skip-cluster

Prints one table (and the part measured so far after each section):
  0. the CPU stage's CPU-seconds per minute of 30 fps video per step (segment, decode of the sampled
     frames, quality, pacing) for main's code and ours, each in a fresh process (bench/baseline.py);
  1. short-video set: each stage alone at full machine use — prepare (the real CPU stage: segment,
     decode the sampled frames, quality/pacing, artifacts; visual only) in one process per core, and
     CLIP on its real input frames with one torch thread per core; the CPU-sharing bound
     1/(1/prepare + 1/CLIP) (on CPU both stages share the same cores); our pipeline end-to-end,
     visual-only (`audio.enabled: false`) and full (audio + visual, CLAP HTSAT-tiny); overlap
     efficiency = end-to-end rate / slowest standalone stage;
  2. the naive sequential loop (per video: segment, decode all sampled frames, quality + motion,
     then embed; no Ray) on the same videos, against our visual-only run;
  3. a 10-minute video through `ray.data.read_videos(fps=1)` (decodes every frame) + the same model,
     against our visual-only run with a core_clip budget giving at least as many CLIP frames;
  4. cost growth: wall time and peak memory (PSS summed over this process and the local Ray cluster)
     for 30 s, 2 min, 10 min, 20 min videos at 60 fps, visual-only and full;
  5. cluster (issue #11; `--cluster-only` runs just this): storage calls per video on S3 (a moto server),
     against the floor of one call per object a video owns; videos/min of the same run on one `ray start`
     node with 2 CPUs and on two nodes with 1 CPU each (the same 2 cores: this measures what distributing
     costs, not a speed-up), the CPU stage's CPU-seconds per video, and the per-stage seconds and model
     inputs (CLIP frames, CLAP audio seconds) per video the README's 100k-video estimate uses.
Throughput runs go without the memory sampler (it costs CPU); time rows with a peak were sampled
every 0.5 s. Models are random-init (same compute as trained weights). Videos are generated once into
bench/.cache/extract. Numbers are noisy on a shared 2-core machine: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/baseline.py

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from trendflow.synth.video import Shot, write_video  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache" / "extract"
KINDS = ("texture", "shapes", "gradient", "noise", "text")
CLIP_PROBE_FRAMES = 512  # CLIP alone is timed on (at most) this many of the real sampled frames


def make_video(path: Path, seconds: float, fps: int, seed: int, width=320, height=180) -> Path:
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    shots, t = [], 0.0
    while t < seconds:
        d = float(rng.uniform(2.0, 8.0))
        if seconds - t - d < 1.0:  # the last shot takes the rest: no sliver shorter than a second
            d = seconds - t
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

    def __init__(self, interval=0.5):
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


def wait_for_pools_to_exit(timeout_s=20.0) -> None:
    """Actor pools of the previous run shut down asynchronously; let them go before measuring memory."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        names = []
        for p in psutil.Process().children(recursive=True):
            try:
                names.append(" ".join(p.cmdline()))
            except psutil.Error:
                pass
        if not any("MapWorker" in n for n in names):
            return
        time.sleep(0.5)


def write_config(model: str, audio: bool, extra: str = "") -> str:
    p = Path(tempfile.mkdtemp()) / ("full.yaml" if audio else "visual.yaml")
    p.write_text(f"extract:\n  clip: {{model_name: {model}}}\n" + ("" if audio else "audio: {enabled: false}\n") + extra)
    return str(p)


def at_least_clip_frames(n: int, duration_sec: float) -> str:
    """A `sampling:` section whose core_clip budget gives >= n frames for a video of this duration
    (budget = target x sqrt(duration / 300 s)), so a row compares the same amount of model work."""
    import math
    target = math.ceil(n / math.sqrt(duration_sec / 300.0)) + 1
    return (f"sampling:\n  budgets:\n    core_clip: {{min_frames: 200, target_frames: {target}, "
            f"max_frames: {max(800, n + 8)}}}\n")


def run_pipeline(dataset: Path, cfg: str, videos=None, measure_memory=True):
    """(summary, wall s, peak PSS bytes or 0). The PSS sampler reads /proc/*/smaps (~20-50 ms of CPU
    per sample): the throughput runs go without it, it would take CPU from the 2 cores measured."""
    from ray_pipelines.pipeline import ExtractRequest, run_extract
    wait_for_pools_to_exit()
    store = tempfile.mkdtemp(prefix="bench-store-")
    with (PeakRSS() if measure_memory else contextlib.nullcontext(PeakRSS())) as mem:
        t0 = time.perf_counter()
        s = run_extract(ExtractRequest(dataset=str(dataset), store=store, config_path=cfg, videos=videos,
                                       progress=False), log=lambda *_: None)
        wall = time.perf_counter() - t0
    assert not s.failed, s.failed
    return s, wall, mem.peak


# ------------------------------------------------------------------ standalone stages
def _prepare_worker_init():
    import torch
    torch.set_num_threads(1)  # one core per process, as a decode task gets


def _prepare_one(path: str, cfg_path: str) -> tuple[float, int, np.ndarray]:
    """The real CPU stage on one video (visual only) in this process: (seconds, union frames, CLIP frames)."""
    from ray_pipelines.pipeline import Configs, stage_context
    from ray_pipelines.stages.prepare import prepare_batch
    from trendflow.artifacts import ArtifactStore, RunKey, now_iso

    cfg = Configs.load(cfg_path, tempfile.mkdtemp(prefix="bench-prep-")).resolved()
    store = ArtifactStore(cfg.storage.store)
    key = RunKey("youtube", Path(path).stem, "bench-prepare", cfg.config_hash, cfg.sampling_policy_version)
    batch = {**{k: np.array([v]) for k, v in key.__dict__.items()}, "url": np.array([path]),
             "force": np.array([True]), "pinned": np.array([True]), "started_at": np.array([now_iso()])}
    kwargs = stage_context(cfg, store)["prepare"]
    t0 = time.perf_counter()
    frames = [f for out in prepare_batch(batch, **kwargs) for f in out["frames"] if len(f)]
    dt = time.perf_counter() - t0
    n_union = len(store.read(key, "sampling_plan").arrays["union_frame_indices"])
    clip_frames = np.concatenate(frames) if frames else np.zeros((0,), np.uint8)
    return dt, n_union, clip_frames


def standalone_prepare(paths, cfg_path: str, workers: int):
    """Prepare alone, one process per core (warmed up first): (wall s, union frames, CLIP frames, probe)."""
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_prepare_worker_init) as pool:
        list(pool.map(_prepare_one, [str(paths[0])] * workers, [cfg_path] * workers))  # imports, first decode
        t0 = time.perf_counter()
        results = list(pool.map(_prepare_one, [str(p) for p in paths], [cfg_path] * len(paths)))
        wall = time.perf_counter() - t0
    n_union = sum(r[1] for r in results)
    n_clip = sum(len(r[2]) for r in results)
    probe = np.concatenate([r[2] for r in results])[:CLIP_PROBE_FRAMES]
    return wall, n_union, n_clip, probe


def standalone_clip(encoder, frames: np.ndarray, batch_size: int) -> float:
    """CLIP frames/s on real model-input frames, all cores (torch threads = cores)."""
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    encoder.embed_images(frames[:batch_size], batch_size)  # warm-up
    t0 = time.perf_counter()
    encoder.embed_images(frames, batch_size)
    return len(frames) / (time.perf_counter() - t0)


def naive_loop(paths, policy, encoder, batch_size: int):
    """The baseline: per video, decode all sampled frames into memory, quality + motion, then embed; no Ray."""
    from ray_pipelines.encoders.clip import to_model_input
    from ray_pipelines.stages import shot_quality, video_pacing
    from sampling import segment_video
    t0 = time.perf_counter()
    n = 0
    for p in paths:
        seg = segment_video(str(p), policy)
        plan = seg.plan
        frames = seg.load_frames()
        q = plan.component_union_idx["shot_quality"]
        shot_quality.frame_metrics(frames[q])
        video_pacing.motion_curve(frames[q], plan.union_timestamps_sec[q], plan.union_shot_index[q])
        clip = frames[plan.component_union_idx["core_clip"]]
        encoder.embed_images(to_model_input(clip, encoder.image_size), batch_size)
        n += len(clip)
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

    wait_for_pools_to_exit()
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        ds = (ray.data.read_videos(str(path), fps=fps, resize=(224, 224))
              .map_batches(Embed, batch_size=64, compute=ActorPoolStrategy(size=1), num_cpus=1))
        n = sum(int(r["n"]) for r in ds.iter_rows())
        wall = time.perf_counter() - t0
    return wall, n, mem.peak


def operator_lines(stats: str) -> list[str]:
    """The one-line-per-operator summary of Ray Data's ds.stats()."""
    return [ln.strip() for ln in stats.splitlines() if ln.startswith("Operator ")]


# ------------------------------------------------------------------ table
class Table:
    def __init__(self, title: str):
        self.title, self.rows = title, []

    def add(self, *cols: str) -> None:
        self.rows.append(cols)

    def print(self, note: str = "") -> None:
        print(f"\n{self.title}{note}")
        w0 = max(len(r[0]) for r in self.rows)
        w1 = max(len(r[1]) for r in self.rows)
        for a, b, c in self.rows:
            print(f"{a:<{w0}}  {b:<{w1}}  {c}")
        sys.stdout.flush()


def gib(x: float) -> str:
    return f"{x / 2**30:.2f} GiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="ViT-B-32", help="open_clip architecture (random init)")
    ap.add_argument("--videos", type=int, default=12, help="short videos for the throughput section")
    ap.add_argument("--skip-long", action="store_true", help="skip the 10/20-minute sections")
    ap.add_argument("--no-full-growth", action="store_true",
                    help="growth section visual-only (the audio path's CLAP dominates: ~1-2 windows/s per core)")
    ap.add_argument("--cluster-only", action="store_true", help="run only section 5 (storage calls, 1 vs 2 nodes)")
    ap.add_argument("--skip-cluster", action="store_true", help="skip section 5")
    ap.add_argument("--skip-growth", action="store_true", help="skip section 4 (keeps the 10-minute row)")
    ap.add_argument("--skip-audio", action="store_true", help="no audio+visual end-to-end row")
    ap.add_argument("--cpu-videos", type=int, default=8, help="short videos for the CPU-s per stage rows")
    ap.add_argument("--long-row-only", action="store_true", help="only section 3 (read_videos vs ours, 10 minutes)")
    ap.add_argument("--cluster-model", default="trendflow-clip-tiny",
                    help="CLIP model of section 5 (CLAP: trendflow-clap-tiny); storage calls do not depend on it")
    args = ap.parse_args()
    if args.cluster_only:
        table = Table(f"extract benchmark, cluster rows — {os.cpu_count()} CPU cores, no GPU")
        cluster_rows(table, short_videos(args.videos), args.cluster_model)
        table.print()
        return

    import ray

    from ray_pipelines.config import ClipConfig
    from ray_pipelines.encoders.clip import load_clip
    from sampling import SamplingPolicy

    cores = os.cpu_count() or 1
    short = short_videos(args.videos)
    paths = sorted((short / "videos").glob("*.mp4"))
    durations = ({"30s": 30, "2min": 120} if args.skip_long else {"10min": 600} if args.skip_growth
                 else {"30s": 30, "2min": 120, "10min": 600, "20min": 1200})
    long_sets = {}
    for name, sec in durations.items():
        root = CACHE / f"long_{name}"
        (root / "videos").mkdir(parents=True, exist_ok=True)
        print(f"(preparing {name} 60 fps video...)", flush=True)
        make_video(root / "videos" / f"{name}.mp4", sec, 60, seed=sec)
        long_sets[name] = root

    visual_cfg, full_cfg = write_config(args.model, audio=False), write_config(args.model, audio=True)
    clip_cfg = ClipConfig(model_name=args.model)
    table = Table(f"extract benchmark — {cores} CPU cores, no GPU, CLIP {args.model} (random init); full = "
                  f"+ audio (CLAP HTSAT-tiny random init, loudness, tempo); {len(paths)} short videos "
                  f"(15-24 s, 30 fps, 320x180)")

    if not args.long_row_only:
        # 0. the CPU stage's CPU-s per minute of 30 fps video, per step: main's code vs ours (bench/baseline.py)
        print("(0/4 CPU stage per step, main vs ours...)", flush=True)
        from baseline import cpu_stage_costs, cpu_stage_rows
        for row in cpu_stage_rows(cpu_stage_costs(paths[:args.cpu_videos])):
            table.add(*row)
        table.print("  [partial]")

        # 1. standalone stages, each using the whole machine
        print("(1/4 standalone stages...)", flush=True)
        prep_wall, n_union, n_clip, probe = standalone_prepare(paths, visual_cfg, cores)
        encoder = load_clip(clip_cfg)
        clip_fps = standalone_clip(encoder, probe, clip_cfg.batch_size)
        prep_rate = len(paths) / prep_wall  # videos/s
        clip_rate = clip_fps / (n_clip / len(paths))
        share_rate = 1 / (1 / prep_rate + 1 / clip_rate)
        slowest = min(prep_rate, clip_rate)
        table.add(f"prepare alone (visual, {cores} procs)", f"{60 * prep_rate:.1f} videos/min",
                  f"decode {n_union / prep_wall:.0f} sampled frames/s ({n_clip / prep_wall:.0f} CLIP frames/s out)")
        table.add(f"CLIP alone ({cores} threads)", f"{60 * clip_rate:.1f} videos/min", f"{clip_fps:.0f} frames/s")
        table.add("CPU-sharing bound 1/(1/prep+1/clip)", f"{60 * share_rate:.1f} videos/min",
                  "both stages on the same cores: no pipeline can beat this here")

        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        run_pipeline(short, visual_cfg, videos=[paths[0].stem], measure_memory=False)  # warm-up: workers, imports
        _, wall_1, _ = run_pipeline(short, visual_cfg, videos=[paths[0].stem], measure_memory=False)  # fixed cost
        s, wall, _ = run_pipeline(short, visual_cfg, measure_memory=False)
        e2e_rate = len(paths) / wall
        steady_rate = (len(paths) - 1) / max(wall - wall_1, 1e-9)
        table.add("ours end-to-end, visual-only", f"{60 * e2e_rate:.1f} videos/min",
                  f"{s.frames_embedded / wall:.0f} frames/s; overlap efficiency {e2e_rate / slowest:.2f} "
                  f"(÷ slowest stage), {e2e_rate / share_rate:.2f} (÷ sharing bound)")
        table.add("  same, minus the per-run fixed cost", f"{60 * steady_rate:.1f} videos/min",
                  f"a 1-video run takes {wall_1:.1f} s (actor start, model load); overlap efficiency "
                  f"{steady_rate / slowest:.2f} (÷ slowest stage), {steady_rate / share_rate:.2f} (÷ sharing bound)")
        visual_stats = operator_lines(s.dataset_stats)
        if not args.skip_audio:
            sf, wall_f, _ = run_pipeline(short, full_cfg, measure_memory=False)
            table.add("ours end-to-end, audio+visual", f"{60 * len(paths) / wall_f:.1f} videos/min",
                      f"{sf.frames_embedded / wall_f:.0f} frames/s, {sf.audio_seconds / wall_f:.1f} audio s/s; "
                      f"{wall_f / wall:.1f}x the visual-only time")

        # 2. naive loop
        import torch
        torch.set_num_threads(cores)
        naive_s, _ = naive_loop(paths, SamplingPolicy(), encoder, clip_cfg.batch_size)
        table.add("naive sequential loop (visual, no Ray)", f"{60 * len(paths) / naive_s:.1f} videos/min",
                  f"ours visual-only is {naive_s / wall:.2f}x faster")
        del encoder  # not part of the pipeline's memory below
        table.print("  [partial]")
        print("Ray Data stats, visual-only run:\n  " + "\n  ".join(visual_stats), flush=True)

    elif not ray.is_initialized():
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)

    # 3. read_videos on the 10-minute video (2-minute with --skip-long)
    print("(3/4 read_videos baseline...)", flush=True)
    ref = "10min" if "10min" in long_sets else "2min"
    ref_path = next((long_sets[ref] / "videos").glob("*.mp4"))
    rv_wall, rv_n, rv_peak = read_videos_baseline(ref_path, args.model, fps=1)
    same_work_cfg = write_config(args.model, audio=False, extra=at_least_clip_frames(rv_n, durations[ref]))
    ours, ours_wall, ours_peak = run_pipeline(long_sets[ref], same_work_cfg)
    table.add(f"read_videos(fps=1)+CLIP, {ref}", f"{rv_wall:.1f} s", f"{rv_n} CLIP frames, peak {gib(rv_peak)}")
    table.add(f"ours visual-only, {ref}", f"{ours_wall:.1f} s",
              f"{ours.frames_embedded} CLIP frames, peak {gib(ours_peak)}; {rv_wall / ours_wall:.2f}x faster")
    table.add("  its stages (s, summed)", "", ", ".join(f"{k}={v:.1f}" for k, v in sorted(
        ours.stage_s.items(), key=lambda kv: -kv[1])[:8]))
    table.print("  [partial]")

    # 4. cost growth
    print("(4/4 growth...)", flush=True)
    modes = [] if args.skip_growth or args.long_row_only else \
        [("visual-only", visual_cfg)] + ([] if args.no_full_growth else [("audio+visual", full_cfg)])
    for mode, cfg in modes:
        base = None
        for name, root in long_sets.items():
            res, w, pk = run_pipeline(root, cfg)
            base = base or (w, durations[name])
            table.add(f"growth {mode} {name} @60fps", f"{w:.1f} s",
                      f"{w / base[0]:.1f}x time for {durations[name] / base[1]:.0f}x duration; peak {gib(pk)}; "
                      f"{res.frames_embedded} CLIP frames; worker peak RSS {res.peak_worker_rss_mb / 1024:.2f} GiB")
            table.print("  [partial]")
    ray.shutdown()
    if not args.skip_cluster:
        cluster_rows(table, short, args.cluster_model)
    table.print()


def short_videos(n: int) -> Path:
    """The short-video dataset (generated once): n videos of 15-24 s, 30 fps, 320x180, with audio."""
    CACHE.mkdir(parents=True, exist_ok=True)
    short = CACHE / f"short{n}"
    (short / "videos").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        make_video(short / "videos" / f"s{i:02d}.mp4", 15 + 3 * (i % 4), 30, seed=i)
    return short


# ------------------------------------------------------------------ 5. cluster (issue #11)
OBJECTS_PER_VIDEO = 12 + 2 + 1  # 12 artifacts + manifest + index pointer written, the video read once


def cluster_config(model: str, options: dict, store: str, call_log: str | None = None) -> str:
    import json
    p = Path(tempfile.mkdtemp()) / "cluster.yaml"
    p.write_text(f"extract:\n  clip: {{model_name: {model}}}\naudio:\n  clap: {{model_name: trendflow-clap-tiny}}\n"
                 f"storage:\n  store: {store}\n  storage_options: {json.dumps(options)}\n"
                 + (f"  call_log: {call_log}\n" if call_log else ""))
    return str(p)


def run_on(address: str, dataset: str, cfg: str, videos=None):
    """run_extract as a driver of the cluster at `address` (connects, runs, disconnects)."""
    import ray

    from ray_pipelines.pipeline import ExtractRequest, run_extract
    try:
        t0 = time.perf_counter()
        s = run_extract(ExtractRequest(dataset=dataset, config_path=cfg, videos=videos, address=address,
                                       progress=False), log=lambda *_: None)
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    assert not s.failed, s.failed
    return s, wall


class HttpRequests(logging.Handler):
    """The S3 requests as the (moto) server saw them: werkzeug logs one line per request. Installed on
    werkzeug's logger it also replaces werkzeug's own stderr handler (one line per request)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.requests: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = re.search(r"(GET|PUT|HEAD|POST|DELETE) (\S+) HTTP/", record.getMessage())  # may be ANSI-coloured
        if m:
            self.requests.append((m.group(1), urllib.parse.unquote(m.group(2))))

    @classmethod
    def install(cls) -> "HttpRequests":
        handler = cls()
        logger = logging.getLogger("werkzeug")
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False
        return handler


def storage_calls(table: Table, dataset: str, options: dict, model: str, address: str, n: int,
                  http: HttpRequests) -> None:
    from trendflow.storage import split_calls
    log = str(Path(tempfile.mkdtemp()) / "calls.log")
    first = len(http.requests)
    s, _ = run_on(address, dataset, cluster_config(model, options, "s3://bench/calls-store", log))
    per_video, run_level = split_calls(log, s.done)
    counts = [len(c) for c in per_video.values()]
    mean = sum(counts) / len(counts)
    table.add("storage calls per video, S3 (moto)", f"{mean:.1f} (max {max(counts)})",
              f"floor {OBJECTS_PER_VIDEO} (one call per object a video owns): {mean / OBJECTS_PER_VIDEO:.2f}x; "
              f"+ {len(run_level)} per run ({len(run_level) / n:.1f}/video here: listings, summary, table part); "
              f"the driver-side finalize before #11: ~170/video")
    requests = http.requests[first:]
    owned = {v: [r for r in requests if re.search(rf"/{re.escape(v)}(?:[/.&]|$)", r[1])] for v in s.done}
    per = [len(r) for r in owned.values()]
    kinds = Counter(m for r in owned.values() for m, _ in r)
    table.add("  the same as S3 HTTP requests (server side)", f"{sum(per) / len(per):.1f} (max {max(per)})",
              f"per video: {', '.join(f'{k} {v / len(per):.1f}' for k, v in sorted(kinds.items()))} "
              f"(s3fs lists a new folder with LIST + HEAD + LIST); + {len(requests) - sum(per)} per run")


def cpu_stage_cost(short: Path, model: str, n: int = 4) -> tuple[float, float]:
    """(CPU-seconds, wall seconds) per video of the CPU stage (prepare with audio on: segment, decode,
    quality, pacing, audio decode, loudness, tempo, its artifacts) in this process. Process time counts
    every thread's CPU and none of the other sessions' load, so it holds on a shared machine."""
    cfg = write_config(model, audio=True)
    paths = sorted((short / "videos").glob("*.mp4"))[:n]
    _prepare_one(str(paths[0]), cfg)  # imports, first decode: not timed
    c0, t0 = time.process_time(), time.perf_counter()
    for p in paths:
        _prepare_one(str(p), cfg)
    return (time.process_time() - c0) / len(paths), (time.perf_counter() - t0) / len(paths)


def cluster_rows(table: Table, short: Path, model: str) -> None:
    """Section 5: storage calls on S3, then the same extraction on 1 node x 2 CPUs and 2 nodes x 1 CPU."""
    import fsspec

    from tests.cluster.raynodes import Node, alive_nodes
    from tests.s3 import moto_s3
    videos = sorted(p.stem for p in (short / "videos").glob("*.mp4"))
    print("(5/5 cluster rows: CPU stage cost, S3 server, ray start nodes...)", flush=True)
    cpu_s, wall_s = cpu_stage_cost(short, model)
    table.add("CPU stage per video, one process (audio on)", f"{cpu_s:.2f} CPU-s",
              f"{wall_s:.2f} s wall (wall/CPU {wall_s / cpu_s:.1f}: how loaded the machine was); the input of the "
              f"README's 100k-video estimate")
    http = HttpRequests.install()
    with moto_s3("bench") as server:
        options = server["storage_options"]
        fs = fsspec.filesystem("s3", **options)
        for v in videos:
            fs.put(str(short / "videos" / f"{v}.mp4"), f"bench/dataset/videos/{v}.mp4")
        dataset = "s3://bench/dataset"
        rates, stage_s, inputs = {}, {}, {}
        for label, layout in (("1 node x 2 CPUs", [2]), ("2 nodes x 1 CPU", [1, 1])):
            base = Path(tempfile.mkdtemp(prefix="tfb-", dir="/tmp"))  # Ray's socket paths: < 107 bytes
            nodes = []
            try:
                nodes.append(Node(base / "head", cpus=layout[0]))
                for i, cpus in enumerate(layout[1:]):
                    nodes.append(Node(base / f"worker{i}", nodes[0].address, cpus=cpus))
                assert len(alive_nodes(nodes[0].address, len(layout))) == len(layout)
                if len(layout) == 1:
                    storage_calls(table, dataset, options, model, nodes[0].address, len(videos), http)
                warm = f"s3://bench/warm-{len(layout)}"  # actor start and model load, not timed
                run_on(nodes[0].address, dataset, cluster_config(model, options, warm), videos[:1])
                s, wall = run_on(nodes[0].address, dataset,
                                 cluster_config(model, options, f"s3://bench/store-{len(layout)}"))
            finally:
                for node in reversed(nodes):
                    node.kill()
                shutil.rmtree(base, ignore_errors=True)  # the nodes' sessions and logs
            rates[label] = len(videos) / wall * 60
            stage_s[label] = {k: v / len(videos) for k, v in s.stage_s.items()}
            inputs[label] = (s.frames_embedded / len(videos), s.audio_seconds / len(videos))
            table.add(f"ours on {label} (S3 store, {model} + clap-tiny)", f"{rates[label]:.1f} videos/min",
                      f"{len(s.nodes)} node(s) ran the CPU stage: {sorted(s.nodes.values())}" +
                      (f"; {rates[label] / rates['1 node x 2 CPUs']:.2f}x the 1-node rate on the same 2 cores"
                       if len(layout) > 1 else ""))
            table.print("  [partial]")
    per_video = stage_s["1 node x 2 CPUs"]
    frames, audio_s = inputs["1 node x 2 CPUs"]
    table.add("per-stage s/video (1 node, summed over stages)", "",
              ", ".join(f"{k}={v:.2f}" for k, v in sorted(per_video.items(), key=lambda kv: -kv[1])[:12]))
    table.add("model inputs per video (1 node)", "", f"{frames:.0f} CLIP frames, {audio_s:.1f} s of audio for CLAP "
              f"(the GPU work a 100k-video estimate scales)")


if __name__ == "__main__":
    main()
