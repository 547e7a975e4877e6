"""No silent empty heads: a head (target × horizon) without a single label stops `trendflow temporal`.

    check_label_coverage(result.summary, cfg)     # DatasetError naming the heads, with a suggestion

A head is empty for one of two reasons, and the message says which:
- no video has a snapshot within h ± tolerance days of snapshot 1 (the horizons do not fit the
  collection schedule): the message lists the gaps it observed (whole days after snapshot 1,
  with how many videos have one) and suggests horizons among them, plus a tolerance that keeps
  them apart (TargetsConfig rejects a tolerance of half the smallest gap or more);
- the horizon is matched but the counter is absent at snapshot 1 or at the matched snapshot
  for every video (e.g. likes hidden everywhere): drop the target from `targets.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trendflow.dataset.errors import DatasetError
from trendflow.temporal.config import TargetsConfig

MIN_GAP_SHARE = 0.05  # a suggested horizon must label at least this share of the videos
MAX_GAPS_SHOWN = 12


def empty_heads(summary: dict[str, Any]) -> list[str]:
    """Target keys ("views_7", ...) whose head has no labelled row."""
    return [key for key, c in summary["heads"].items() if c["labelled"] == 0]


def suggest_horizons(observed_gaps: dict[int, int], rows: int, cfg: TargetsConfig) -> tuple[list[int], float]:
    """(horizons, tolerance) that the observed gaps can label; ([], tolerance) when none can.

    Keeps the configured horizons that are observed often enough, then fills up to as many horizons as
    configured with gaps spread evenly over the supported ones (1..5 days -> 1, 3, 5).
    """
    supported = [d for d, n in sorted(observed_gaps.items()) if d >= 1 and n >= max(1.0, MIN_GAP_SHARE * rows)]
    if not supported:
        return [], cfg.tolerance_days
    want = len(cfg.horizons_days)
    chosen = [h for h in cfg.horizons_days if h in supported]
    rest = [d for d in supported if d not in chosen]
    if rest and len(chosen) < want:
        picks = np.unique(np.round(np.linspace(0, len(rest) - 1, min(want - len(chosen), len(rest)))).astype(int))
        chosen += [rest[i] for i in picks]
    chosen = sorted(chosen)
    diffs = np.diff(chosen)
    tolerance = cfg.tolerance_days
    if len(diffs) and 2 * tolerance >= diffs.min():
        tolerance = round(0.45 * float(diffs.min()), 2)  # below half the smallest gap, as TargetsConfig requires
    return chosen, tolerance


def _gaps_text(observed_gaps: dict[int, int]) -> str:
    items = [f"{d}d: {n}" for d, n in sorted(observed_gaps.items()) if d >= 1]
    more = len(items) - MAX_GAPS_SHOWN
    return ", ".join(items[:MAX_GAPS_SHOWN]) + (f", ... ({more} more)" if more > 0 else "") if items else "none"


def _split_key(key: str) -> tuple[str, int]:
    metric, h = key.rsplit("_", 1)
    return metric, int(h)


def check_label_coverage(summary: dict[str, Any], cfg: TargetsConfig) -> None:
    """Raise DatasetError when a head has no labelled row (see the module docstring)."""
    empty = empty_heads(summary)
    if not empty:
        return
    unmatched = sorted({h for _, h in map(_split_key, empty) if summary["coverage"][str(h)]["has_horizon"] == 0})
    no_counter = [k for k in empty if _split_key(k)[1] not in unmatched]
    parts = [f"no labelled row for {len(empty)} of {len(summary['heads'])} heads ({', '.join(empty)})"]
    if unmatched:
        gaps = summary.get("observed_gaps", {})
        parts.append(f"horizons {unmatched} days: no video has a snapshot within ±{cfg.tolerance_days:g} days of "
                     f"them; observed gaps after snapshot 1 (days: videos): {_gaps_text(gaps)}")
        horizons, tolerance = suggest_horizons(gaps, summary["rows"], cfg)
        if horizons:
            tol = "" if tolerance == cfg.tolerance_days else f", tolerance_days: {tolerance:g}"
            parts.append(f"try targets: {{horizons_days: {horizons}{tol}}}")
        else:
            parts.append("no video has a later snapshot at least a day after its first: nothing can be labelled")
    for key in no_counter:
        metric = _split_key(key)[0]
        parts.append(f"{key}: the horizon is matched, but {cfg.metrics[metric]} is missing at snapshot 1 or at that "
                     f"snapshot for every video; remove `{metric}` from targets.metrics")
    raise DatasetError("; ".join(parts))
