"""What a pipeline stage declares: its name, the columns it reads and writes, and how Ray runs it.

The pipeline is then `for s in stages: ds = ds.map_batches(s.fn, **s.ray_args(plan))`: a stage
owns its Ray arguments (batch size, task or actor pool, CPUs/GPUs from the run's ResourcePlan),
the pipeline only orders the stages.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from ray_pipelines.runtime import ResourcePlan


class Stage(Protocol):
    name: str
    reads: tuple[str, ...]  # columns it needs on its input rows
    writes: tuple[str, ...]  # columns it adds (or replaces); it may drop what it read

    @property
    def fn(self) -> Callable | type:
        """The function (Ray task) or callable class (Ray actor) given to map_batches."""

    def ray_args(self, plan: ResourcePlan) -> dict[str, Any]:
        """Keyword arguments of `Dataset.map_batches` for this run."""
