"""Ray start-up and resource decisions shared by the pipelines and apps.

CPU here, GPU there: actor pools ask for GPUs only when the cluster has them, and stay below the
CPU count on small machines (an actor pool that takes every CPU starves the decode tasks and hangs,
ray-project/ray#44687).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import ray


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
