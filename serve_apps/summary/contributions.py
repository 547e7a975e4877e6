"""Per-feature contributions to the v0 (LightGBM) prediction of one head: SHAP values from the booster
itself (`pred_contrib=True`), on the log1p scale. They add up exactly: bias + Σ contributions = the
booster's raw output, so exp(contribution) is the factor by which that feature multiplies
(1 + predicted growth).

    contributions_of(v0_predictor, features, "views_14")
    # Contributions(head="views_14", bias=4.1, raw=5.3, values={"views_s1": 0.9, ...}) or None
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from serve_apps.summary.numbers import finite


@dataclass(frozen=True)
class Contributions:
    head: str
    bias: float                # the booster's expected value (log1p)
    raw: float                 # bias + Σ values: the booster's output before the predictor clips it at 0
    values: dict[str, float]   # feature -> contribution (log1p), every feature the model saw
    inputs: dict[str, float | None]  # feature -> the value the model saw (None = missing)
    model_name: str
    model_version: str

    def largest(self, k: int) -> list[tuple[str, float]]:
        """The k contributions of largest magnitude, largest first (ties by name: deterministic)."""
        return sorted(self.values.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:k]


def boosters_of(predictor) -> tuple[dict[str, Any], dict[str, int], list[str]] | None:
    """(head -> lightgbm.Booster, head -> best iteration, feature order) of a loaded v0 Predictor
    (`train.model_dir.Predictor` over `train.baselines.LightGBMForecaster`); None for other models."""
    model = getattr(predictor, "model", None)
    boosters = getattr(model, "boosters", None)
    if getattr(predictor, "kind", None) != "tabular" or not boosters:
        return None
    return boosters, dict(model.params["best_iteration"]), list(model.params["features"])


def contributions_of(predictor, features: Mapping[str, Any], head: str) -> Contributions | None:
    """The v0 contributions of one video for `head`; None when there is no v0 or it has no such head."""
    parts = boosters_of(predictor) if predictor is not None else None
    if parts is None or head not in parts[0]:
        return None
    boosters, best, names = parts
    inputs = {n: finite(features.get(n)) for n in names}
    x = np.array([[np.nan if inputs[n] is None else inputs[n] for n in names]], dtype=np.float32)  # (1, F)
    # One row: OpenMP threads only add overhead (measured 22 ms with the default threads vs 2.4 ms with one,
    # on a loaded 2-core box).
    contrib = boosters[head].predict(x, num_iteration=best[head], pred_contrib=True, num_threads=1)[0]  # (F+1,)
    values = {n: float(c) for n, c in zip(names, contrib[:-1])}
    return Contributions(head, float(contrib[-1]), float(contrib.sum()), values, inputs,
                         str(predictor.card.get("model_name")), str(predictor.card.get("model_version")))
