"""Serving latency and throughput on loopback: /v1/predict on cached features at concurrency 1/8/32 (vs a
no-op Serve endpoint, the floor of Serve's own HTTP path on this machine), /v1/embed/clip with dynamic
batching vs max_batch_size=1, and one cold request for an uncached 30 s video with its time per stage.

    .venv/bin/python bench/serve.py --models demo_out/models --store demo_out/store --dataset demo_out/dataset \
        --config configs/demo.yaml [--requests 300]

Starts its own local Ray (2 CPUs) and Serve on a free loopback port, sends bounded request loops, prints a
table, shuts everything down. Request bodies are the dataset's own metadata + snapshot-1 files of videos the
store has (so /v1/predict hits cached features).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def predict_bodies(dataset: Path, store: Path, n: int) -> list[dict]:
    """Bodies for videos that have artifacts in the store (cached features)."""
    folder = json.loads((dataset / "snapshots" / "1" / "snapshot.json").read_text())
    out = []
    for vdir in sorted((store / "youtube").iterdir())[:n]:
        vid = vdir.name
        meta = json.loads((dataset / "metadata" / f"{vid}.json").read_text())
        snap = json.loads((dataset / "snapshots" / "1" / f"{vid}.json").read_text())
        snap.setdefault("collected_at", folder["collected_at"])
        out.append({"video_id": vid, "metadata": meta, "snapshot": snap})
    return out


async def load(url: str, bodies: list[dict], concurrency: int, total: int) -> dict:
    """`total` POSTs at `concurrency` in flight (bounded loop): latency percentiles and req/s."""
    import httpx
    latencies, codes = [], []
    queue = list(range(total))

    async def worker(client):
        while queue:
            i = queue.pop()
            t = time.perf_counter()
            r = await client.post(url, json=bodies[i % len(bodies)] if bodies else {})
            latencies.append(time.perf_counter() - t)
            codes.append(r.status_code)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)), "rps": total / wall,
            "ok": codes.count(200), "n": total}


def clip_bodies(n: int, images_per_request: int) -> list[dict]:
    """Base64 PNGs (what a client sends; raw RGB lists cost the ingress more to parse than CLIP costs)."""
    import base64
    import io

    from PIL import Image
    rng = np.random.default_rng(0)

    def png() -> str:
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode()
    return [{"images_base64": [png() for _ in range(images_per_request)]} for _ in range(n)]


def write_long_video(path: Path, seconds: float) -> None:
    from trendflow.synth.video import Shot, write_video
    shots = [Shot(kind, seconds / 6, color=(60 + 30 * i, 90, 200 - 20 * i), seed=i)
             for i, kind in enumerate(["noise", "gradient", "shapes", "texture", "text", "noise"])]
    t = np.arange(int(seconds * 16000)) / 16000
    write_video(path, shots, audio=(0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sample_rate=16000,
                fps=25, width=160, height=90)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--config", help="YAML with the batch sections the store was extracted with")
    ap.add_argument("--requests", type=int, default=300, help="requests per concurrency level")
    args = ap.parse_args()

    import ray
    from fastapi import FastAPI
    from ray import serve

    from serve_apps.app import build_app

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    cfg = yaml.safe_load(Path(args.config).read_text()) if args.config else {}
    cfg = {k: v for k, v in cfg.items() if k in ("extract", "audio", "sampling")}
    cfg["serve"] = {"allowed_roots": [str(work)], "max_ongoing_requests": 64, "max_queued_requests": 512,
                    "embed_max_batch_size": 16}
    (work / "serve.yaml").write_text(yaml.safe_dump(cfg))
    port = free_port()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    noop_api = FastAPI()

    @serve.deployment(max_ongoing_requests=64, ray_actor_options={"num_cpus": 0.1})
    @serve.ingress(noop_api)
    class Noop:
        @noop_api.post("/")
        async def noop(self) -> dict:
            return {}

    rows = []
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        t = time.perf_counter()
        serve.run(build_app({"models": args.models, "store": args.store, "cache": str(work / "cache"),
                             "config": str(work / "serve.yaml")}), name="trendflow", route_prefix="/",
                  blocking=False)
        serve.run(Noop.bind(), name="noop", route_prefix="/noop", blocking=False)
        print(f"deployed in {time.perf_counter() - t:.1f} s", flush=True)
        base = f"http://127.0.0.1:{port}"
        bodies = predict_bodies(Path(args.dataset), Path(args.store), 20)
        asyncio.run(load(f"{base}/v1/predict", bodies, 4, 40))  # warm-up: features into memory
        for c in (1, 8, 32):
            pred = asyncio.run(load(f"{base}/v1/predict", bodies, c, args.requests))
            floor = asyncio.run(load(f"{base}/noop/", [], c, args.requests))
            rows.append((f"/v1/predict c={c}", pred, floor))
            print(f"  c={c}: predict p50 {pred['p50']:.1f} ms p99 {pred['p99']:.1f} ms {pred['rps']:.0f} req/s "
                  f"({pred['ok']}/{pred['n']} ok); no-op p50 {floor['p50']:.1f} p99 {floor['p99']:.1f} ms "
                  f"{floor['rps']:.0f} req/s", flush=True)

        clip = serve.get_deployment_handle("ClipEmbedder", "trendflow")
        cb = clip_bodies(64, 2)
        asyncio.run(load(f"{base}/v1/embed/clip", cb, 16, 32))
        clip_rows = {}
        for size in (16, 1):
            clip.set_batching.remote(size).result()
            res = asyncio.run(load(f"{base}/v1/embed/clip", cb, 16, 128))
            batches = clip.info.remote().result()["recent_batches"]
            clip_rows[size] = (res, float(np.mean(batches)) if batches else 0.0)
            print(f"  clip max_batch_size={size}: {res['rps'] * 2:.0f} images/s, mean batch {clip_rows[size][1]:.1f}",
                  flush=True)

        video = work / "cold_30s.mp4"
        write_long_video(video, 30.0)
        import httpx
        body = dict(bodies[0], video_id="bench_cold_30s", video=str(video))
        body["metadata"] = dict(body["metadata"], video_id="bench_cold_30s")
        body["snapshot"] = dict(body["snapshot"], video_id="bench_cold_30s")
        t = time.perf_counter()
        r = httpx.post(f"{base}/v1/predict", json=body, timeout=600)
        cold_s = time.perf_counter() - t
        cold = r.json()
        t = time.perf_counter()
        httpx.post(f"{base}/v1/predict", json=body, timeout=600)
        repeat_ms = (time.perf_counter() - t) * 1000
    finally:
        serve.shutdown()
        ray.shutdown()

    print("\n| measure | p50 ms | p99 ms | req/s | no-op p50 ms | no-op p99 ms | no-op req/s | req/s ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, p, f in rows:
        print(f"| {name} | {p['p50']:.1f} | {p['p99']:.1f} | {p['rps']:.0f} | {f['p50']:.1f} | {f['p99']:.1f} | "
              f"{f['rps']:.0f} | {p['rps'] / f['rps']:.2f} |")
    (b, mb), (u, mu) = clip_rows[16], clip_rows[1]
    print("\n| /v1/embed/clip (2 images/request, c=16) | images/s | mean batch (requests) |")
    print("|---|---|---|")
    print(f"| max_batch_size=16 | {b['rps'] * 2:.0f} | {mb:.1f} |")
    print(f"| max_batch_size=1 | {u['rps'] * 2:.0f} | {mu:.1f} |")
    print(f"| ratio | {b['rps'] / u['rps']:.2f}x | |")
    print(f"\ncold request, uncached 30 s video: {cold_s:.2f} s end to end (status {r.status_code}, "
          f"source {cold.get('features', {}).get('source')}); repeat: {repeat_ms:.0f} ms")
    timings = cold.get("features", {}).get("timings", {})
    print("| stage | s |\n|---|---|")
    for k, v in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {v:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
