"""Ray start-up and resource decisions shared by the pipelines and apps.

CPU here, GPU there: the device is decided once per run (`extract.device`); GPU pools get
separate CLIP and CLAP shares that fit the GPUs together (one GPU, audio on: 0.5 + 0.5), and
every pool is a min/max range so Ray Data's autoscaling actor pools grow when nodes join. Without
GPUs the pools stay below the CPU count (an actor pool that takes every CPU starves the decode
tasks and hangs, ray-project/ray#44687).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import ray

from trendflow.config import ConfigError

VISUAL_ONLY_CLIP_SHARE = 1.0  # GPU share of a CLIP actor when there is no CLAP pool
SHARED_GPU_SHARE = 0.5  # GPU share of each of the CLIP and CLAP actors that share a GPU
ROUTER_CPUS = 0.005  # the finalize router only waits on its actors; a sliver keeps it schedulable anywhere


def init_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to `address` (or RAY_ADDRESS), else start a local cluster. Idempotent."""
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)


def alive_nodes() -> int:
    return sum(1 for n in ray.nodes() if n.get("Alive"))


@dataclass(frozen=True)
class Resources:
    cpus: float
    gpus: float

    @classmethod
    def of_cluster(cls) -> "Resources":
        r = ray.cluster_resources()
        return cls(cpus=float(r.get("CPU", 1)), gpus=float(r.get("GPU", 0)))

    @property
    def has_gpu(self) -> bool:
        return self.gpus > 0

    def actor_pool_size(self, max_actors: int | None, gpus_per_actor: float = 1.0) -> int:
        """Actors for a model pool: one per GPU share, or CPUs - 1 so decode tasks keep a core."""
        if self.has_gpu:
            n = int(self.gpus // gpus_per_actor)
        else:
            n = int(self.cpus) - 1
        return max(1, min(n, max_actors or n))

    def actor_cpus(self, pool_size: int) -> float:
        """CPUs per CPU-only actor: the pool takes at most half the cluster (≥ 0.5 each)."""
        return max(0.5, min(1.0, (self.cpus / 2) / pool_size))

    def decode_cpus(self, reserved_by_pools: float) -> float:
        """CPUs per decode task: the CPUs the model pools leave, shared by one task per whole CPU.

        A decode task is one busy core (numpy, PyAV); reserving a full CPU each on a 2-core box next to
        a 0.5-CPU model actor would run one decode at a time and leave a core idle."""
        free = max(0.25, self.cpus - reserved_by_pools)
        return max(0.25, min(1.0, free / max(1, int(self.cpus))))


@dataclass(frozen=True)
class PoolPlan:
    """One model pool: an autoscaling size range and what each actor asks for."""
    min_size: int
    max_size: int
    resources: dict  # {"num_gpus": share} or {"num_cpus": n}

    def compute(self):
        from ray.data import ActorPoolStrategy
        return ActorPoolStrategy(min_size=self.min_size, max_size=self.max_size)


@dataclass(frozen=True)
class ResourcePlan:
    """Every resource decision of one extraction run, taken once on the driver."""
    device: str  # "gpu" | "cpu"
    clip: PoolPlan
    clap: PoolPlan | None  # None: visual-only
    decode_cpus: float
    router_cpus: float = ROUTER_CPUS


def gpu_shares(extract_cfg, audio_cfg) -> tuple[float, float | None]:
    """(CLIP share, CLAP share or None) per actor on GPU pools."""
    if not audio_cfg.enabled:
        return extract_cfg.clip.gpus_per_actor or VISUAL_ONLY_CLIP_SHARE, None
    return (extract_cfg.clip.gpus_per_actor or SHARED_GPU_SHARE,
            audio_cfg.clap.gpus_per_actor or SHARED_GPU_SHARE)


def plan_resources(res: Resources, extract_cfg, audio_cfg) -> ResourcePlan:
    """Device, pool ranges and CPU shares for this cluster and config (raises ConfigError when the
    asked shares cannot fit)."""
    use_gpu = extract_cfg.device == "gpu" or (extract_cfg.device == "auto" and res.has_gpu)
    return _gpu_plan(res, extract_cfg, audio_cfg) if use_gpu else _cpu_plan(res, extract_cfg, audio_cfg)


def _gpu_plan(res: Resources, extract_cfg, audio_cfg) -> ResourcePlan:
    clip_share, clap_share = gpu_shares(extract_cfg, audio_cfg)
    per_pair = clip_share + (clap_share or 0.0)
    if clap_share is not None and per_pair > max(1.0, res.gpus):
        raise ConfigError(f"extract.clip.gpus_per_actor ({clip_share}) + audio.clap.gpus_per_actor ({clap_share}) "
                          f"= {per_pair} GPUs: a CLIP and a CLAP actor would not fit on "
                          f"{'one GPU' if res.gpus <= 1 else f'{res.gpus:g} GPUs'}; lower the shares")
    if extract_cfg.max_actors is None and not res.has_gpu:
        raise ConfigError("extract.device=gpu but the cluster has no GPU yet: set extract.max_actors to the "
                          "largest pool the cluster may grow to (Ray Data adds actors as GPU nodes join)")
    pairs = int(res.gpus // per_pair) if res.has_gpu else extract_cfg.max_actors
    max_size = max(1, min(pairs, extract_cfg.max_actors or pairs))
    min_size = min(extract_cfg.min_actors, max_size)
    clip = PoolPlan(min_size, max_size, {"num_gpus": clip_share})
    clap = PoolPlan(min_size, max_size, {"num_gpus": clap_share}) if clap_share is not None else None
    return ResourcePlan("gpu", clip, clap, decode_cpus=extract_cfg.decode_cpus or 1.0)


def _cpu_plan(res: Resources, extract_cfg, audio_cfg) -> ResourcePlan:
    size = res.actor_pool_size(extract_cfg.max_actors)
    # Two model pools share the machine: on CPU each actor gets at most a quarter of the cores.
    actor_cpus = res.actor_cpus(2 * size)
    n_pools = 2 if audio_cfg.enabled else 1
    decode = extract_cfg.decode_cpus or res.decode_cpus(size * actor_cpus * n_pools)
    if abs(decode - actor_cpus) < 1e-6:
        # Equal resources make Ray Data fuse the decode tasks into the CLIP actor: decoding would then
        # run inside the one model actor, serially with the model. A hair less keeps them apart.
        decode *= 0.99
    min_size = min(extract_cfg.min_actors, size)
    clip = PoolPlan(min_size, size, {"num_cpus": actor_cpus})
    clap = PoolPlan(min_size, size, {"num_cpus": actor_cpus}) if audio_cfg.enabled else None
    return ResourcePlan("cpu", clip, clap, decode_cpus=decode)
