"""Split-conformal prediction intervals for every head, calibrated on the validation split.

For one head (target × horizon), the absolute residuals |y − ŷ| of the n labelled validation videos
(log1p space) give the half-width q = the ⌈(n+1)·level⌉-th smallest residual. If validation and new
videos are exchangeable, [ŷ − q, ŷ + q] then covers a new video's y with probability ≥ level
(split conformal prediction: Vovk et al. 2005; Lei et al. 2018). The youngest videos grow very
differently from old ones, so q is calibrated per age bucket where the bucket has at least
`min_bucket_rows` labelled validation videos, and the head's global q is used elsewhere. Growth is
never negative, so the lower bound is clipped at zero growth (it changes no coverage: y ≥ 0).

    MODEL_DIR/intervals.json
    {"level": 0.8, "method": "split_conformal_abs_residual_log1p", "calibration_split": "val",
     "min_bucket_rows": 30,
     "heads": {"views_7": {"all": {"q": 0.61, "n": 49}, "d1_30": {"q": 0.55, "n": 31}}, ...}}

A bucket absent from a head uses "all". `q` is null when n is too small for any finite bound
(⌈(n+1)·level⌉ > n, i.e. n < 4 at 80%): that interval is unbounded above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

INTERVALS_FILE = "intervals.json"
METHOD = "split_conformal_abs_residual_log1p"
ALL = "all"


def conformal_quantile(residuals: np.ndarray, level: float) -> float | None:
    """The ⌈(n+1)·level⌉-th smallest residual (finite-sample split-conformal quantile), or None when n is
    too small for a finite one."""
    r = np.sort(np.asarray(residuals, dtype=np.float64))
    k = math.ceil((len(r) + 1) * level)
    return float(r[k - 1]) if len(r) and k <= len(r) else None


@dataclass
class Intervals:
    level: float
    min_bucket_rows: int
    heads: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # head -> bucket -> {q, n}
    calibration_split: str = "val"
    method: str = METHOD

    def half_width(self, head: str, bucket: str | None) -> float:
        """q for one video of `bucket` (its own bucket's q when calibrated, else the head's); inf = unbounded."""
        by_bucket = self.heads[head]
        q = (by_bucket.get(bucket) or by_bucket[ALL])["q"]
        return math.inf if q is None else float(q)

    def half_widths(self, head: str, buckets: Sequence[str | None]) -> np.ndarray:
        return np.array([self.half_width(head, b) for b in buckets], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "method": self.method, "calibration_split": self.calibration_split,
                "min_bucket_rows": self.min_bucket_rows, "heads": self.heads}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Intervals":
        return cls(float(doc["level"]), int(doc["min_bucket_rows"]), doc["heads"], doc.get("calibration_split", "val"),
                   doc.get("method", METHOD))

    def save(self, model_dir) -> str:
        """Write MODEL_DIR/intervals.json (a `train.model_dir.ModelDir`)."""
        return model_dir.write_json(INTERVALS_FILE, self.to_json())

    @classmethod
    def load(cls, model_dir) -> "Intervals | None":
        """The model's intervals, or None for a model folder written before they existed."""
        return cls.from_json(model_dir.read_json(INTERVALS_FILE)) if model_dir.exists(INTERVALS_FILE) else None


def calibrate(y: np.ndarray, pred: np.ndarray, mask: np.ndarray, buckets: Sequence[str], heads: Sequence[str],
              level: float, min_bucket_rows: int, split: str = "val") -> Intervals:
    """Intervals from labels/predictions on the calibration split. y, pred, mask: (N, T, H) in head order
    (target-major, as `heads`); buckets: (N,) age buckets."""
    n_rows = len(y)
    y, pred, mask = (np.asarray(a).reshape(n_rows, -1) for a in (y, pred, mask))  # (N, K)
    buckets = np.asarray(buckets, dtype=object)
    out = Intervals(level, min_bucket_rows, calibration_split=split)
    for k, head in enumerate(heads):
        resid = np.abs(y[:, k] - pred[:, k])
        ok = mask[:, k] & np.isfinite(resid)
        entry = {ALL: {"q": conformal_quantile(resid[ok], level), "n": int(ok.sum())}}
        for b in sorted({str(b) for b in buckets[ok]}):
            sel = ok & (buckets == b)
            if sel.sum() >= min_bucket_rows:  # a small bucket's quantile is too noisy: it uses the global q
                entry[b] = {"q": conformal_quantile(resid[sel], level), "n": int(sel.sum())}
        out.heads[head] = entry
    return out


def log1p_bounds(pred: np.ndarray, half_width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of log1p growth: ŷ ± q, the lower bound clipped at zero growth."""
    pred = np.asarray(pred, dtype=np.float64)
    return np.maximum(pred - half_width, 0.0), pred + half_width


def coverage(y: np.ndarray, pred: np.ndarray, mask: np.ndarray, buckets: Sequence[str], heads: Sequence[str],
             intervals: Intervals) -> dict[str, dict[str, Any]]:
    """Per head on a split: empirical coverage and mean width (log1p) of the intervals, over labelled rows."""
    n_rows = len(y)
    y, pred, mask = (np.asarray(a).reshape(n_rows, -1) for a in (y, pred, mask))
    out = {}
    for k, head in enumerate(heads):
        low, high = log1p_bounds(pred[:, k], intervals.half_widths(head, buckets))
        ok = mask[:, k] & np.isfinite(y[:, k])
        inside = (y[ok, k] >= low[ok]) & (y[ok, k] <= high[ok])
        width = high[ok] - low[ok]
        out[head] = {"level": intervals.level, "n": int(ok.sum()),
                     "coverage": float(inside.mean()) if ok.any() else float("nan"),
                     "mean_width": float(width.mean()) if ok.any() else float("nan")}
    return out
