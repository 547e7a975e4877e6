"""What-if runs: for every lever far from its category's median, the same model's forecast when only
that lever moves to the median. One batched `predict_many` call: [the video as it is, variant 1, ...].

The effect is measured on the predicted growth (the forecast's `delta`, expm1 of the log1p output)
of one head: effect_pct = 100 · (delta_moved / delta_now − 1), effect_abs = delta_moved − delta_now.
A positive effect makes the lever a weakness (moving it to the median would help: an action); a
negative one a strength (the current value helps). A missing value or a lever the training data does
not have is reported as missing, never filled in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from serve_apps.summary.numbers import finite
from serve_apps.summary.reference import Reference, ReferenceStats

PredictMany = Callable[[list[dict[str, Any]]], list[Mapping[str, float]]]


@dataclass
class LeverFinding:
    feature: str
    status: str                        # missing_value | missing_reference | typical | far
    value: float | None = None
    reference: Reference | None = None
    percentile: float | None = None
    median: float | None = None
    delta_now: float | None = None     # predicted growth as the video is (count, not log1p)
    delta_moved: float | None = None   # predicted growth with the lever at the median
    effect_pct: float | None = None
    effect_abs: float | None = None

    @property
    def has_effect(self) -> bool:
        return self.effect_abs is not None


def assess_levers(features: Mapping[str, Any], category: str | None, levers: Sequence[str], ref: ReferenceStats,
                  low: float, high: float) -> list[LeverFinding]:
    """Percentile and median of each lever among the reference videos; which ones are far from typical."""
    out = []
    for name in levers:
        value = finite(features.get(name))
        r = ref.lookup(name, category)
        if r is None:  # the training data never measured it: nothing to compare with
            out.append(LeverFinding(name, "missing_reference", value=value))
            continue
        if value is None:
            out.append(LeverFinding(name, "missing_value", reference=r))
            continue
        p = r.percentile(value)
        far = (p <= low or p >= high) and r.median != value
        out.append(LeverFinding(name, "far" if far else "typical", value, r, p, r.median))
    return out


def run_what_if(findings: list[LeverFinding], features: Mapping[str, Any], predict_many: PredictMany,
                head: str) -> float | None:
    """Fill delta/effect of every far lever with one batched call; returns the video's own predicted growth
    for `head` (None when the model has no such head)."""
    far = [f for f in findings if f.status == "far"]
    variants = [dict(features)] + [{**features, f.feature: f.median} for f in far]
    preds = predict_many(variants)
    if len(preds) != len(variants):
        raise ValueError(f"predict_many returned {len(preds)} predictions for {len(variants)} inputs")
    if head not in preds[0]:
        return None
    now = math.expm1(max(float(preds[0][head]), 0.0))
    for f, p in zip(far, preds[1:]):
        moved = math.expm1(max(float(p[head]), 0.0))
        f.delta_now, f.delta_moved, f.effect_abs = now, moved, moved - now
        f.effect_pct = 100.0 * (moved / now - 1.0) if now > 0 else None
    return now


def _effect_size(f: LeverFinding) -> float:
    # Percent when the growth is positive (the usual case), else the absolute change: both rank the same.
    return f.effect_pct if f.effect_pct is not None else (f.effect_abs or 0.0)


def split_findings(findings: list[LeverFinding], min_effect_pct: float,
                   n_actions: int) -> tuple[list[LeverFinding], list[LeverFinding], list[LeverFinding]]:
    """(strengths, weaknesses, actions): far levers whose move to the median would lose / gain at least
    `min_effect_pct`; actions are the largest gains, best first (ties by name: deterministic)."""
    with_effect = [f for f in findings if f.has_effect]
    strong = sorted((f for f in with_effect if _effect_size(f) <= -min_effect_pct),
                    key=lambda f: (_effect_size(f), f.feature))
    weak = sorted((f for f in with_effect if _effect_size(f) >= min_effect_pct),
                  key=lambda f: (-_effect_size(f), f.feature))
    return strong, weak, weak[:n_actions]
