"""CLIP and CLAP embedding deployments behind /v1/embed/clip and /v1/embed/clap, with dynamic batching.

The encoders are the batch pipeline's (`ray_pipelines.encoders`), loaded from the same config
sections (`extract.clip`, `audio.clap`), so an online embedding equals the batch one for the same
input: images are resized/cropped with `encoders.clip.to_model_input`, audio is resampled and cut
into windows with the batch stage's `clap_extractor.window_audio`. `@serve.batch` groups concurrent
requests into one forward pass (each request may itself hold several images or windows). GPU
replicas are asked for only when the cluster has GPUs (`gpu_options`): a `num_gpus=1` actor on a
CPU-only cluster would wait forever.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from ray import serve


def gpu_options() -> dict:
    """ray_actor_options for an encoder replica: one GPU when the running cluster has any, else CPU."""
    import ray
    gpus = ray.cluster_resources().get("GPU", 0) if ray.is_initialized() else 0
    return {"num_gpus": 1, "num_cpus": 1} if gpus >= 1 else {"num_gpus": 0, "num_cpus": 0.25}


def _device(options_gpu: bool) -> str:
    import torch
    return "cuda" if options_gpu and torch.cuda.is_available() else "cpu"


def _split(flat: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return list(np.split(flat, np.cumsum(sizes)[:-1])) if sizes else []


@serve.deployment(max_ongoing_requests=64)
class ClipEmbedder:
    """(k, H, W, 3) uint8 RGB images per request → (k, D) L2-normalised CLIP embeddings."""

    def __init__(self, extract_json: str, max_batch_size: int = 16, batch_wait_s: float = 0.01):
        import torch

        from ray_pipelines.config import ExtractConfig
        from ray_pipelines.encoders.clip import load_clip
        torch.set_num_threads(1)  # a shared 2-core box: one thread per replica (see tests/train/conftest.py)
        cfg = ExtractConfig.model_validate_json(extract_json)
        self.cfg = cfg
        self.encoder = load_clip(cfg.clip, _device(torch.cuda.is_available()))
        self.embed.set_max_batch_size(max_batch_size)
        self.embed.set_batch_wait_timeout_s(batch_wait_s)
        self.batches: list[int] = []  # requests per forward pass (the bench reads it)

    def set_batching(self, max_batch_size: int) -> None:
        """Change the dynamic batch size of this replica (bench/serve.py compares batching with size 1)."""
        self.embed.set_max_batch_size(max_batch_size)
        self.batches.clear()

    def info(self) -> dict:
        return {"model": self.encoder.model_name, "model_version": self.encoder.model_version,
                "dim": self.encoder.embed_dim, "image_size": self.encoder.image_size,
                "recent_batches": self.batches[-50:]}

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.01)
    async def embed(self, requests: list[np.ndarray]) -> list[np.ndarray]:
        from ray_pipelines.encoders.clip import to_model_input
        self.batches.append(len(requests))
        size = self.encoder.image_size
        inputs = [np.concatenate([to_model_input(img[None], size) for img in images]) for images in requests]
        flat = self.encoder.embed_images(np.concatenate(inputs), self.cfg.clip.batch_size)  # (Σk, D)
        return _split(flat, [len(x) for x in inputs])

    def check_health(self) -> None:
        # A real forward pass (ray-2.60.md pitfall #9: Serve's own check does not see a stalled model).
        size = self.encoder.image_size
        out = self.encoder.embed_images(np.zeros((1, size, size, 3), np.uint8))
        if not np.isfinite(out).all():
            raise RuntimeError("CLIP encoder returns non-finite embeddings")


@serve.deployment(max_ongoing_requests=64)
class ClapEmbedder:
    """Mono samples at any rate per request → (W, D) CLAP embeddings of its windows (the batch windows)."""

    def __init__(self, audio_json: str, max_batch_size: int = 16, batch_wait_s: float = 0.01):
        import torch

        from ray_pipelines.audio_config import AudioConfig
        from ray_pipelines.encoders.clap import load_clap
        torch.set_num_threads(1)
        self.cfg = AudioConfig.model_validate_json(audio_json)
        self.encoder = load_clap(self.cfg.clap, _device(torch.cuda.is_available()))
        self.embed.set_max_batch_size(max_batch_size)
        self.embed.set_batch_wait_timeout_s(batch_wait_s)

    def info(self) -> dict:
        return {"model": self.cfg.clap.model_name, "model_version": self.encoder.model_version,
                "dim": self.encoder.embed_dim, "sample_rate": self.encoder.sample_rate}

    def windows(self, samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        from ray_pipelines.stages.audio_extract import resample
        from ray_pipelines.stages.clap_extractor import window_audio
        mono = resample(np.asarray(samples, np.float32), int(sample_rate), self.cfg.sample_rate)
        windows, start, _ = window_audio(SimpleNamespace(mono=mono, analysis_rate=self.cfg.sample_rate), self.cfg)
        return windows, start

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.01)
    async def embed(self, requests: list[tuple[np.ndarray, int]]) -> list[dict]:
        cut = [self.windows(samples, rate) for samples, rate in requests]
        flat = self.encoder.embed(np.concatenate([w for w, _ in cut]), self.cfg.clap.batch_size)  # (ΣW, D)
        return [{"embeddings": e, "window_start_sec": s} for e, (_, s) in zip(_split(flat, [len(w) for w, _ in cut]), cut)]

    def check_health(self) -> None:
        out = self.encoder.embed(np.zeros((1, int(self.cfg.window_s * self.cfg.sample_rate)), np.float32))
        if not np.isfinite(out).all():
            raise RuntimeError("CLAP encoder returns non-finite embeddings")
