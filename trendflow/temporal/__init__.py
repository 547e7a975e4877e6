"""Temporal table: snapshot-1 features, multi-horizon targets, masks, age buckets and the split.

`trendflow temporal --dataset DIR --out FILE.parquet [--config cfg.yaml]` writes one row per
unique video (duplicates dropped, see trendflow.dataset.loader). It needs only metadata and
snapshots; video files are optional. Columns (h in `targets.horizons_days`, m in `targets.metrics`):

identity and bookkeeping
  video_id, platform_id        the unique key (platform_id, video_id)
  channel_key                  "<platform>/id:<channel_id>", else "<platform>/title:<casefolded channelTitle>"
  split                        "train" | "val" | "test" (channel-grouped, by publish time; see split.py)
  age_bucket                   "lt_24h" | "d1_30" | "gt_30d" (age at snapshot 1)
  published_at, snapshot1_at   timestamps (UTC); snapshot1_at is t0
  metadata_file, video_file    paths relative to the dataset root (video_file null when absent)

features (float64; only snapshot 1 + static metadata: no leakage)
  always present: video_age_hours_at_snapshot1, has_chapters, has_subtitles,
    has_automatic_captions, publish_hour_utc, publish_weekday
  may be missing (NaN, never 0) with a bool `<name>_present` mask:
    views_s1, likes_s1, comments_s1, subscribers_s1, channel_videos_s1, channel_views_s1,
    views_per_video_channel, views_per_subscriber, like_rate, comment_rate,
    views_per_hour, likes_per_hour, comments_per_hour, duration_seconds, made_for_kids,
    title_length, age_limit, tag_count, description_length, comments_listed_s1
  categorical strings (null when missing) with `<name>_present`: category, language, country

targets and masks (labels: never feed them to a model as inputs)
  has_horizon_<h>              a later snapshot lies within h ± tolerance days of t0
  horizon_days_<h>             its real distance in days (NaN when none); horizon_snapshot_<h>: its index or -1
  y_<m>_<h>                    log1p(max(count(t_h) - count(t0), 0)), NaN when unknown
  has_y_<m>_<h>                the per-target mask (horizon matched and both counts known)
  delta_<m>_<h>                the raw signed increase; negative_delta_<m>_<h>: it was < 0 and got clipped

The Parquet metadata key `trendflow.temporal` holds the schema version, the targets config
(metrics, horizons, tolerance, split fractions and seed) and `target_keys`: targets and horizons
are declared once, in the `targets:` section, and travel with the table.

`trendflow temporal` prints the label coverage per head (target × horizon) and refuses to write
a table with an empty head (`check_label_coverage`: the error names the horizons and suggests
ones from the observed snapshot gaps).
"""

from trendflow.temporal.config import TargetsConfig
from trendflow.temporal.coverage import check_label_coverage, empty_heads, suggest_horizons
from trendflow.temporal.features import (
    AGE_BUCKETS, CATEGORICAL_FEATURES, MASK_COLUMNS, NUMERIC_FEATURES, age_bucket, age_buckets)
from trendflow.temporal.split import SPLITS, channel_time_split
from trendflow.temporal.table import (
    SCHEMA_VERSION, TemporalResult, build_temporal_table, channel_key, format_summary, read_temporal_table,
    write_temporal_table)
from trendflow.temporal.targets import match_horizons, video_targets


def target_columns(cfg: TargetsConfig) -> list[str]:
    """["y_views_7", ...] in cfg.target_keys() order."""
    return [f"y_{k}" for k in cfg.target_keys()]


def target_mask_columns(cfg: TargetsConfig) -> list[str]:
    """["has_y_views_7", ...] aligned with target_columns(cfg)."""
    return [f"has_y_{k}" for k in cfg.target_keys()]


__all__ = [
    "AGE_BUCKETS", "CATEGORICAL_FEATURES", "MASK_COLUMNS", "NUMERIC_FEATURES", "SCHEMA_VERSION", "SPLITS",
    "TargetsConfig", "TemporalResult", "age_bucket", "age_buckets", "build_temporal_table", "channel_key",
    "channel_time_split", "check_label_coverage", "empty_heads", "format_summary", "match_horizons",
    "read_temporal_table", "suggest_horizons", "target_columns", "target_mask_columns", "video_targets",
    "write_temporal_table",
]
