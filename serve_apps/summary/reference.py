"""Reference statistics from the training data: where a video's feature value sits among the training
videos of its category (percentile, median), read once when the Serve app starts.

    ref = ReferenceStats.load("s3://bucket/train_dir", ["audio_integrated_lufs", ...], min_category_rows=20)
    r = ref.lookup("audio_integrated_lufs", "Music")   # Reference(group="Music", n=312, ...) or None
    r.percentile(-23.0), r.median

Only the train split is used (the rows the model learned from). A category with fewer than
`min_category_rows` finite values of a feature falls back to all training videos, and the
Reference says so (`group="all"`). Missing values (NaN) are not part of any reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from train.data import TrainDir, float_column, read_split

ALL = "all"


@dataclass(frozen=True)
class Reference:
    """The sorted finite training values of one feature in one group (a category, or "all")."""
    feature: str
    group: str
    values: np.ndarray  # (n,) float64, sorted ascending

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return float(np.median(self.values))

    def percentile(self, x: float) -> float:
        """0..100: the share of reference values below x, counting ties as half (mid-rank)."""
        below = np.searchsorted(self.values, x, side="left")
        at_or_below = np.searchsorted(self.values, x, side="right")
        return float(100.0 * (below + 0.5 * (at_or_below - below)) / self.n)


class ReferenceStats:
    def __init__(self, by_group: dict[str, dict[str, np.ndarray]], min_category_rows: int, source: str,
                 training_data_version: str | None):
        self._by_group = by_group  # group -> feature -> sorted finite values
        self.min_category_rows = min_category_rows
        self.source, self.training_data_version = source, training_data_version

    @classmethod
    def load(cls, train_dir: "str | TrainDir", features: Sequence[str], min_category_rows: int = 20,
             storage_options: dict | None = None) -> "ReferenceStats":
        td = train_dir if isinstance(train_dir, TrainDir) else TrainDir(train_dir, storage_options)
        card = td.card()
        names = set(td.dataset("train").schema.names)
        wanted = [f for f in dict.fromkeys(features) if f in names]
        table = read_split(td, "train", [*wanted, *(["category"] if "category" in names else [])])
        categories = (np.array(table["category"].to_pylist(), dtype=object) if "category" in names
                      else np.full(len(table), None, dtype=object))
        groups = {ALL: np.ones(len(table), bool)}
        for c in sorted({c for c in categories if c is not None}):
            groups[str(c)] = categories == c
        by_group: dict[str, dict[str, np.ndarray]] = {g: {} for g in groups}
        for f in wanted:
            x = float_column(table, f)
            for g, rows in groups.items():
                v = x[rows]
                by_group[g][f] = np.sort(v[np.isfinite(v)])
        return cls(by_group, min_category_rows, td.uri, card.get("training_data_version"))

    @property
    def categories(self) -> list[str]:
        return [g for g in self._by_group if g != ALL]

    def lookup(self, feature: str, category: str | None) -> Reference | None:
        """The video's reference for `feature`: its category when that has enough values, else all training
        videos; None when the training data has no value of the feature at all."""
        if category is not None and category in self._by_group:
            v = self._by_group[category].get(feature)
            if v is not None and len(v) >= self.min_category_rows:
                return Reference(feature, category, v)
        v = self._by_group[ALL].get(feature)
        return Reference(feature, ALL, v) if v is not None and len(v) else None
