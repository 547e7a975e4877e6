"""Give back the CPUs of stopped trials: remove their Ray Train worker placement groups.

Why: a Tune trial that launches a Ray Train V2 run creates the run's controller actor, and the controller
creates the worker placement group. When Tune stops a trial (ASHA, or the epoch budget reached), it ends
the trial actor and with it the controller, so the group is never removed: placement groups live as long
as the job (the sweep driver), not their creator (ray#58515). Its CPUs stay reserved and the next trials'
workers wait forever (measured: two stopped trials held 1.8 of 2 CPUs and the sweep stalled). Ray Train's
own fix, a detached `PlacementGroupCleaner`, asks the State API whether the controller lives; that needs
the dashboard and a machine with a single Ray instance, so without them it never removes anything.

How: every trial report carries its group's id (`tune.trial.EpochReport`). When a trial ends, this Tune
callback on the driver waits until the trial's actor is gone (its controller then is too, so nothing can
still be using the group or start a new one) and removes the group if it still exists. On a resumed sweep
it also removes the groups recorded by trials of the killed driver (on a long-lived cluster they would
otherwise stay reserved). Trials still running when the experiment ends are stopped by Tune after its
last callback; `release_after_fit` frees their groups once `Tuner.fit()` has returned.
"""

from __future__ import annotations

import logging
from typing import Any

import ray
from ray.tune import Callback

from tune.trial import PLACEMENT_GROUP

log = logging.getLogger(__name__)


class ReleaseTrainPlacementGroups(Callback):
    def __init__(self):
        self.pending: list[tuple[str, Any, Any]] = []  # (group id, ended trial's actor or None, ready-check)
        self.removed: list[str] = []
        self._first_step = True

    # ------------------------------------------------------------ Tune hooks
    def on_trial_complete(self, iteration, trials, trial, **info):
        self._schedule(trial)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._schedule(trial)

    def on_trial_recover(self, iteration, trials, trial, **info):
        self._schedule(trial)

    def on_step_begin(self, iteration, trials, **info):
        if self._first_step:  # a resumed sweep: groups left by the previous driver's trials
            self._first_step = False
            self.pending += [(g, None, None) for g in (_group_of(t) for t in trials if t.status != "RUNNING") if g]
        self._release_ready()

    def on_experiment_end(self, trials, **info):
        self._release_ready(wait_s=30.0)

    # ------------------------------------------------------------ work
    def _schedule(self, trial) -> None:
        group, actor = _group_of(trial), trial.temporary_state.ray_actor
        if group:
            self.pending.append((group, actor, actor.__ray_ready__.remote() if actor else None))

    def _release_ready(self, wait_s: float = 0.0) -> None:
        still = []
        for group, actor, check in self.pending:
            if check is not None:
                ready, _ = ray.wait([check], timeout=wait_s)
                if not ready:
                    still.append((group, actor, check))
                    continue
                if _answered(check):  # still alive: ask again at a later step
                    still.append((group, actor, actor.__ray_ready__.remote()))
                    continue
            self._remove(group)
        self.pending = still

    def _remove(self, group_hex: str) -> None:
        if remove_group(group_hex):
            self.removed.append(group_hex)


def release_after_fit(grid) -> list[str]:
    """Remove the groups of every trial once `Tuner.fit()` has returned (all trial actors are stopped).
    Why: trials still running at the experiment's end are stopped by Tune *after* `on_experiment_end`,
    so the callback cannot free their groups; a driver that goes on (the re-ranking stage, a notebook,
    bench/tune.py) would find 1.8 of 2 CPUs reserved and its next Ray Data task would wait (measured)."""
    return [g for g in (((r.metrics or {}).get(PLACEMENT_GROUP)) for r in grid) if g and remove_group(g)]


def remove_group(group_hex: str) -> bool:
    """Remove a placement group by id if it still exists; True if it was removed."""
    from ray._raylet import PlacementGroupID
    from ray.util.placement_group import PlacementGroup, placement_group_table, remove_placement_group
    group = PlacementGroup(PlacementGroupID.from_hex(group_hex))
    try:
        if placement_group_table(group).get("state") in ("CREATED", "PENDING", "RESCHEDULING"):
            remove_placement_group(group)
            log.info("removed the placement group %s of a stopped trial", group_hex)
            return True
    except Exception as e:  # a group of another cluster (resumed elsewhere), or already gone
        log.debug("placement group %s not removed: %s", group_hex, e)
    return False


def _group_of(trial) -> str | None:
    return (trial.last_result or {}).get(PLACEMENT_GROUP)


def _answered(check) -> bool:
    """True if the trial's actor answered its ready-check (still alive); False once it has exited."""
    try:
        ray.get(check)
        return True
    except ray.exceptions.RayActorError:
        return False
