"""Snapshot-1 and metadata features of one video (SPEC §3), and the age buckets.

Only snapshot 1 and static metadata are used: nothing from later snapshots can leak in.
A missing value is NaN with `<name>_present = False`, never a zero. Rates follow SPEC §3
(`views_per_video_channel = viewCount_channel / max(videoCount, 1)`, ...); a rate is present
only when all its inputs are.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np

from trendflow.dataset.models import VideoMetadata, VideoSnapshot

AGE_BUCKETS = ("lt_24h", "d1_30", "gt_30d")

# Snapshot-1 counters: feature name -> snapshot field.
COUNTER_FEATURES = {
    "views_s1": "viewCount", "likes_s1": "likeCount", "comments_s1": "commentCount",
    "subscribers_s1": "subscriberCount", "channel_videos_s1": "videoCount",
    "channel_views_s1": "viewCount_channel",
}
RATE_FEATURES = ("views_per_video_channel", "views_per_subscriber", "like_rate", "comment_rate",
                 "views_per_hour", "likes_per_hour", "comments_per_hour")
# Numeric features that may be missing: each has a `<name>_present` mask column.
# duration, madeForKids and title are optional too (SPEC §2): public counter tables lack them.
OPTIONAL_NUMERIC = (*COUNTER_FEATURES, *RATE_FEATURES, "duration_seconds", "made_for_kids", "title_length",
                    "age_limit", "tag_count", "description_length", "comments_listed_s1")
# Always known for a usable video (required fields, or presence flags that are facts themselves).
REQUIRED_NUMERIC = ("video_age_hours_at_snapshot1", "has_chapters", "has_subtitles", "has_automatic_captions",
                    "publish_hour_utc", "publish_weekday")
NUMERIC_FEATURES = (*REQUIRED_NUMERIC, *OPTIONAL_NUMERIC)
CATEGORICAL_FEATURES = ("category", "language", "country")  # strings (null when missing) + masks
MASK_COLUMNS = tuple(f"{n}_present" for n in (*OPTIONAL_NUMERIC, *CATEGORICAL_FEATURES))

NAN = float("nan")


def age_bucket(age_hours: float) -> str:
    """SPEC §3 age buckets: <24 h, 1-30 days, >30 days (at snapshot 1)."""
    if age_hours < 24:
        return "lt_24h"
    return "d1_30" if age_hours <= 30 * 24 else "gt_30d"


def age_buckets(age_hours: np.ndarray) -> np.ndarray:
    """Vectorised `age_bucket`: (N,) hours -> (N,) bucket names."""
    a = np.asarray(age_hours, dtype=np.float64)
    return np.where(a < 24, "lt_24h", np.where(a <= 30 * 24, "d1_30", "gt_30d")).astype(object)


def _count(snapshot: VideoSnapshot, name: str) -> float:
    v = getattr(snapshot, name, None)
    return NAN if v is None else float(v)


def _ratio(num: float, den: float) -> float:
    return NAN if math.isnan(num) or math.isnan(den) else num / max(den, 1.0)


def _present_len(value: Any) -> float:
    return NAN if value is None else float(len(value))


def snapshot1_features(meta: VideoMetadata, s1: VideoSnapshot, t0: datetime,
                       comments_listed: int | None) -> dict[str, Any]:
    """Feature values of one video (numbers as float, NaN when missing) plus their masks."""
    age_h = (t0 - meta.publishedAt).total_seconds() / 3600.0
    f: dict[str, Any] = {name: _count(s1, field) for name, field in COUNTER_FEATURES.items()}
    f["views_per_video_channel"] = _ratio(f["channel_views_s1"], f["channel_videos_s1"])
    f["views_per_subscriber"] = _ratio(f["views_s1"], f["subscribers_s1"])
    f["like_rate"] = _ratio(f["likes_s1"], f["views_s1"])
    f["comment_rate"] = _ratio(f["comments_s1"], f["views_s1"])
    for rate, src in (("views_per_hour", "views_s1"), ("likes_per_hour", "likes_s1"),
                      ("comments_per_hour", "comments_s1")):
        f[rate] = _ratio(f[src], age_h)  # max(age, 1 h): a just-published video is not infinitely fast
    pub = meta.publishedAt
    f.update({
        "video_age_hours_at_snapshot1": age_h,
        "duration_seconds": NAN if meta.duration_seconds is None else float(meta.duration_seconds),
        "made_for_kids": NAN if meta.madeForKids is None else float(meta.madeForKids),
        "title_length": _present_len(meta.title),
        "has_chapters": float(bool(meta.chapters)),
        "has_subtitles": float(bool(meta.subtitles)),
        "has_automatic_captions": float(bool(meta.automatic_captions)),
        "publish_hour_utc": pub.hour + pub.minute / 60.0,
        "publish_weekday": float(pub.weekday()),
        "age_limit": NAN if meta.age_limit is None else float(meta.age_limit),
        "tag_count": _present_len(meta.tags),
        "description_length": _present_len(meta.description),
        "comments_listed_s1": NAN if comments_listed is None else float(comments_listed),
        "category": meta.category or None,
        "language": meta.language or None,
        "country": meta.country or None,
    })
    for name in OPTIONAL_NUMERIC:
        f[f"{name}_present"] = not math.isnan(f[name])
    for name in CATEGORICAL_FEATURES:
        f[f"{name}_present"] = f[name] is not None
    return f
