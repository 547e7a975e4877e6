"""One sweep trial: a Tune function that launches the model's Ray Train run (Train V2 + Tune).

Tune runs `run_trial(params, ...)` in a small driver actor; it builds the trial's `TrainConfig`, sets up a
`RayTrainRecipe` on the sweep's shared data (read once by the sweep driver, so the trial reads no file)
and runs the recipe's TorchTrainer with a `TuneReportCallback`, so each epoch's validation metrics reach
Tune (and ASHA). The Ray Train run is named after the trial id: when a trial restarts (a failure, or a
resumed sweep), Ray Train finds the run in storage and continues from its last checkpoint.
"""

from __future__ import annotations

import os
from typing import Any

from ray.train.v2._internal.execution.callback import WorkerGroupCallback
from ray.tune.integration.ray_train import TuneReportCallback

EPOCHS = "epochs"  # completed epochs: ASHA's time attribute
PLACEMENT_GROUP = "train_placement_group"  # id (hex) of the trial's Ray Train worker placement group


class EpochReport(TuneReportCallback):
    """TuneReportCallback that adds the completed-epoch count (Lightning's `epoch` is 0-based and keeps
    counting across a resumed run, while Tune's own training_iteration restarts with the trial) and the id
    of the Ray Train worker group's placement group (see `tune.release`)."""

    placement_group: str | None = None  # set by RecordPlacementGroup in the same controller process

    def after_report(self, run_context, metrics: list[dict[str, Any]], checkpoint) -> None:
        first = {**metrics[0], EPOCHS: int(metrics[0]["epoch"]) + 1, PLACEMENT_GROUP: self.placement_group}
        super().after_report(run_context, [first, *metrics[1:]], checkpoint)


class RecordPlacementGroup(WorkerGroupCallback):
    """Hands the worker group's placement group to the EpochReport it was created with. Both callbacks
    are pickled together into the Ray Train controller, so they share the EpochReport object there.
    (A separate callback: Ray Train calls a UserCallback such as TuneReportCallback only for reports.)"""

    def __init__(self, report: EpochReport):
        self.report = report

    def after_worker_group_start(self, worker_group) -> None:
        state = worker_group.get_worker_group_state()
        self.report.placement_group = state.placement_group_handle.placement_group.id.hex()


def run_trial(params: dict[str, Any], *, model: str, base: dict[str, Any], max_epochs: int, shared,
              storage: tuple[str, Any]) -> None:
    """The Tune trainable. `base` is the sweep's `train` section (as data), `shared` a `SharedData`,
    `storage` (path, pyarrow filesystem or None) where the trials' Ray Train runs live."""
    from ray import tune

    from train.config import TrainConfig
    from train.recipe import RayTrainRecipe
    from tune.space import trial_train_config

    ctx = tune.get_context()
    cfg = trial_train_config(TrainConfig.model_validate(base), params, max_epochs=max_epochs)
    model_dir = os.path.join(ctx.get_trial_dir(), "model")  # logs: Lightning CSV, W&B (offline) of rank 0
    recipe = RayTrainRecipe(model, "<shared>", model_dir, cfg, shared=shared)
    try:
        recipe.setup()
        path, fs = storage
        report = EpochReport()
        recipe.trainer(run_name=f"trial-{ctx.get_trial_id()}", callbacks=[report, RecordPlacementGroup(report)],
                       storage_path=path, storage_filesystem=fs).fit()
    finally:
        recipe.cleanup()
