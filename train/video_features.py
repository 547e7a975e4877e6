"""One video's model features, as the batch training data has them (online = batch, issue #12).

    from train.video_features import video_feature_values
    values = video_feature_values(temporal, aggregates, card["meta_features"])
    # {"views_s1": 1200.0, "category=Music": 1.0, "category=other": 0.0, "loudness_integrated_lufs": -21.3, ...}

`temporal` is `trendflow.temporal.features.snapshot1_features(...)` of the video (numbers, masks as
bools, categorical strings or None); `aggregates` its content aggregates by name (NaN = missing), or
None when the video has no content run. Names follow `train.build_dataset`: `<feature>=<level>` is a
one-hot column (NaN when the feature is missing; `<feature>=other` for a level not among the
columns' levels, which the data card lists because build-dataset keeps them in `temporal_features`),
any other name a float. The service uses this; the batch builder builds the same columns
vectorised (`build_dataset.one_hot`), and the serving tests compare the two to 1e-5 on one video.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

OTHER_LEVEL = "other"


def one_hot_levels(feature_names: Iterable[str]) -> dict[str, list[str]]:
    """{categorical feature: [its one-hot levels, without "other"]} from `<feature>=<level>` names."""
    levels: dict[str, list[str]] = {}
    for name in feature_names:
        if "=" in name:
            column, level = name.split("=", 1)
            levels.setdefault(column, [])
            if level != OTHER_LEVEL:
                levels[column].append(level)
    return levels


def one_hot_value(value: Any, level: str, levels: list[str]) -> float:
    """The `<feature>=<level>` column for one video: NaN when missing, 1.0 / 0.0 otherwise."""
    if value is None:
        return math.nan
    if level == OTHER_LEVEL:
        return float(value not in levels)
    return float(value == level)


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def video_feature_values(temporal: Mapping[str, Any], aggregates: Mapping[str, float] | None,
                         feature_names: Iterable[str]) -> dict[str, float]:
    """{feature name: float (NaN = missing)} for every name in `feature_names` (a model card's
    `meta_features`, or a data card's temporal + content features)."""
    names = list(feature_names)
    levels = one_hot_levels(names)
    aggregates = aggregates or {}
    out: dict[str, float] = {}
    for name in names:
        if "=" in name:
            column, level = name.split("=", 1)
            out[name] = one_hot_value(temporal.get(column), level, levels[column])
        elif name in temporal:
            out[name] = _float(temporal[name])
        else:  # a content aggregate (or its `_present` flag); absent content is NaN, never 0
            out[name] = _float(aggregates.get(name))
    return out
