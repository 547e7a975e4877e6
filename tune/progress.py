"""Console progress of a sweep: one line when a trial starts or ends, and at most every `every_s` seconds
while trials report, with trial counts and the best result so far.

    [tune   2m41s] trials 2 running · 3 done (1 stopped early) · 0 failed · 3 pending | best val_head_loss 0.3120
    (a1b2c3_00003) | done a1b2c3_00004 after 5 epoch(s)

A Tune `Callback` on the sweep driver (Tune's own status table is switched off, `verbose=0`).
"""

from __future__ import annotations

import math
import time
from typing import Any

from ray.tune import Callback

from tune.trial import EPOCHS


class SweepProgress(Callback):
    """Stateless apart from its clock: the best result comes from the trials themselves (Tune keeps each
    trial's min/max of every metric, also across a resume), so a restored sweep reports it too."""

    # Also a class attribute: Tuner.restore unpickles the callbacks of the sweep's first driver, so a sweep
    # started by an older version resumes with objects that lack newer attributes.
    label = "tune"

    def __init__(self, metric: str, mode: str, max_epochs: int, every_s: float = 20.0, label: str = "tune"):
        self.metric, self.mode, self.max_epochs, self.every_s = metric, mode, max_epochs, every_s
        self.label = label  # "tune" for the sweep, "rerank" for the re-ranking stage
        self.started = time.time()
        self.last_line = 0.0

    def setup(self, **info):
        self.started = time.time()  # this driver's clock (also after a resume)

    def on_trial_result(self, iteration, trials, trial, result: dict[str, Any], **info):
        if time.time() - self.last_line >= self.every_s:
            self._line(trials, latest=(result.get(self.metric), trial.trial_id))

    def on_trial_start(self, iteration, trials, trial, **info):
        self._line(trials, f"start {trial.trial_id} {_short(trial.config)}")

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._line(trials, f"done {trial.trial_id} after {_epochs(trial)} epoch(s)")

    def on_trial_error(self, iteration, trials, trial, **info):
        self._line(trials, f"FAILED {trial.trial_id} (see {trial.path})")

    def on_experiment_end(self, trials, **info):
        self._line(trials, "sweep finished" if self.label == "tune" else f"{self.label} finished")

    def best(self, trials, latest: tuple[Any, str] | None = None) -> tuple[float, str] | None:
        """The best value of the metric over every trial's results (`latest`: a result Tune has not yet
        added to its trial's statistics)."""
        found = [latest] if latest and isinstance(latest[0], (int, float)) and math.isfinite(latest[0]) else []
        for t in trials:
            value = (t.metric_analysis.get(self.metric) or {}).get(self.mode)
            if isinstance(value, (int, float)) and math.isfinite(value):
                found.append((float(value), t.trial_id))
        if not found:
            return None
        return min(found) if self.mode == "min" else max(found)

    def _line(self, trials, event: str = "", latest: tuple[Any, str] | None = None) -> None:
        self.last_line = time.time()
        counts = {s: sum(t.status == s for t in trials) for s in ("RUNNING", "TERMINATED", "ERROR", "PENDING")}
        early = sum(t.status == "TERMINATED" and _epochs(t) < self.max_epochs for t in trials)
        best = self.best(trials, latest)
        best_text = f"best {self.metric} {best[0]:.4f} ({best[1]})" if best else "best: none yet"
        elapsed = int(time.time() - self.started)
        line = (f"[{self.label} {elapsed // 60:3d}m{elapsed % 60:02d}s] trials {counts['RUNNING']} running · "
                f"{counts['TERMINATED']} done ({early} stopped early) · {counts['ERROR']} failed · "
                f"{counts['PENDING']} pending | {best_text}")
        print(line + (f" | {event}" if event else ""), flush=True)


def _epochs(trial) -> int:
    return int((trial.last_result or {}).get(EPOCHS, 0))


def _short(config: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items())
