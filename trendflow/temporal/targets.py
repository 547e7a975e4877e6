"""Multi-horizon targets from real timestamps (SPEC §3).

t0 is the time of snapshot 1 (the video's own `collected_at`, else the folder's time). A later
snapshot k lies dt_k = (t_k - t0) days after it and serves horizon h when |dt_k - h| <= tolerance;
when several do, the closest wins (ties: the earlier snapshot). For every target metric m:

    y_<m>_<h>              = log1p(max(count_h - count_0, 0))
    negative_delta_<m>_<h> = count_h < count_0 (a counter correction; y is clipped to 0)
    has_y_<m>_<h>          = horizon matched and both counts known (likeCount can be hidden)

`delta_<m>_<h>` keeps the raw signed increase for analysis and for the absolute forecast shown
to users (count_0 + expm1(pred)); it is a label, never a feature.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from trendflow.dataset.models import VideoSnapshot

NAN = float("nan")


def counter_value(snapshot: VideoSnapshot, field: str) -> float:
    """A counter as float (NaN when absent or unusable). Fields outside the model come from extras."""
    v = getattr(snapshot, field, None)
    if v is None and snapshot.model_extra:
        v = snapshot.model_extra.get(field)
    if v is None or isinstance(v, bool):
        return NAN
    try:
        x = float(v)
    except (TypeError, ValueError):
        return NAN
    return x if math.isfinite(x) and x >= 0 else NAN


def match_horizons(times: dict[int, datetime], horizons: list[int],
                   tolerance_days: float) -> dict[int, tuple[int, float] | None]:
    """horizon h -> (snapshot index, elapsed days) of the snapshot serving it, or None."""
    t0 = times.get(1)
    out: dict[int, tuple[int, float] | None] = {h: None for h in horizons}
    if t0 is None:
        return out
    elapsed = sorted((k, (t - t0).total_seconds() / 86400.0) for k, t in times.items() if k != 1)
    for h in horizons:
        best = None
        for k, dt in elapsed:
            if abs(dt - h) <= tolerance_days + 1e-9 and (best is None or abs(dt - h) < abs(best[1] - h)):
                best = (k, dt)
        out[h] = best
    return out


def video_targets(snapshots: dict[int, VideoSnapshot], times: dict[int, datetime],
                  metrics: dict[str, str], horizons: list[int], tolerance_days: float) -> dict[str, Any]:
    """All target, mask and flag columns of one video."""
    row: dict[str, Any] = {}
    matched = match_horizons(times, horizons, tolerance_days)
    s1 = snapshots.get(1)
    for h in horizons:
        m = matched[h]
        row[f"has_horizon_{h}"] = m is not None
        row[f"horizon_days_{h}"] = NAN if m is None else m[1]
        row[f"horizon_snapshot_{h}"] = -1 if m is None else m[0]
    for name, field in metrics.items():
        c0 = NAN if s1 is None else counter_value(s1, field)
        for h in horizons:
            m = matched[h]
            ch = NAN if m is None else counter_value(snapshots[m[0]], field)
            delta = ch - c0  # NaN when either is missing
            ok = not math.isnan(delta)
            row[f"y_{name}_{h}"] = math.log1p(max(delta, 0.0)) if ok else NAN
            row[f"has_y_{name}_{h}"] = ok
            row[f"delta_{name}_{h}"] = delta
            row[f"negative_delta_{name}_{h}"] = ok and delta < 0
    return row
