"""Frozen encoders shared by the batch pipeline and the Serve apps (no training/serving skew)."""

import os


def actor_device() -> str:
    """Device of a model actor: cuda when Ray gave this process a GPU, else cpu with one intra-op
    thread per CPU Ray gave it (more would fight the decode tasks). Ray no longer hides GPUs from
    CPU-only workers (PR #62492), so "has CUDA" is not enough."""
    import ray
    import torch

    try:
        has_gpu = bool(ray.get_gpu_ids()) if ray.is_initialized() else torch.cuda.is_available()
    except Exception:  # outside a Ray worker
        has_gpu = torch.cuda.is_available()
    if has_gpu and torch.cuda.is_available():
        return "cuda"
    torch.set_num_threads(max(1, int(float(os.environ.get("OMP_NUM_THREADS", "1")))))
    return "cpu"
