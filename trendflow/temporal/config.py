"""`targets` config section: which counters are forecast, at which horizons, matched how, split how.

    # cfg.yaml                           # used by: trendflow temporal --dataset DIR --out t.parquet --config cfg.yaml
    targets:
      metrics: {views: viewCount, likes: likeCount, comments: commentCount}   # + comments: one line
      horizons_days: [7, 14, 21]
      tolerance_days: 1.0

Load it with `trendflow.config.load_section(path, "targets", TargetsConfig)`.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from trendflow.config import Section

_NAME = re.compile(r"^[a-z][a-z0-9]*$")


class TargetsConfig(Section):
    metrics: dict[str, str] = Field(
        default_factory=lambda: {"views": "viewCount", "likes": "likeCount"},
        description="Target name -> snapshot counter field. Each gives y_<name>_<h> = log1p(max(Δcount, 0)). "
                    "Add `comments: commentCount` or `subscribers: subscriberCount` to forecast them too.")
    horizons_days: list[int] = Field(
        default_factory=lambda: [7, 14, 21],
        description="Forecast horizons in days after snapshot 1.")
    tolerance_days: float = Field(
        1.0, gt=0, description="A later snapshot serves horizon h when |t_k - t_1 - h| <= tolerance (days).")
    val_fraction: float = Field(0.15, ge=0, lt=1, description="Share of videos in the validation split.")
    test_fraction: float = Field(0.15, ge=0, lt=1, description="Share of videos in the test split.")
    split_seed: int = Field(0, description="Breaks ties between channels with the same publish time.")

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("at least one target metric is needed")
        for name, counter in v.items():
            if not _NAME.match(name):
                raise ValueError(f"target name {name!r} must be lowercase letters/digits (it names columns)")
            if not counter or not isinstance(counter, str):
                raise ValueError(f"target {name!r} needs a snapshot counter field name")
        return v

    @field_validator("horizons_days")
    @classmethod
    def _horizons(cls, v: list[int]) -> list[int]:
        if not v or any(h <= 0 for h in v) or len(set(v)) != len(v):
            raise ValueError(f"horizons_days must be distinct positive days, got {v}")
        return sorted(v)

    @model_validator(mode="after")
    def _consistent(self):
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must leave room for train (< 1)")
        hs = self.horizons_days
        gaps = [b - a for a, b in zip(hs, hs[1:])]
        if gaps and self.tolerance_days * 2 >= min(gaps):
            raise ValueError(f"tolerance_days={self.tolerance_days} lets one snapshot serve two horizons "
                             f"{hs}; keep it below half the smallest gap ({min(gaps) / 2})")
        return self

    def target_keys(self) -> list[str]:
        """["views_7", "views_14", ..., "likes_21"]: metric-major, horizon-minor."""
        return [f"{m}_{h}" for m in self.metrics for h in self.horizons_days]
