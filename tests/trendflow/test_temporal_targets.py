"""Targets from real timestamps on hand-built cases, features with NaN + masks, config-driven metrics."""

from __future__ import annotations

import math
import numpy as np
import pytest

from trendflow.config import ConfigError, load_section
from trendflow.temporal import TargetsConfig, age_bucket, build_temporal_table

from .test_dataset_fixtures import PUBLISHED, HandDataset, day


def _rows(root, cfg=None):
    res = build_temporal_table(str(root), cfg)
    return {r["video_id"]: r for r in res.table.to_pylist()}, res


def test_exact_weekly_snapshots_give_log1p_increases(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 100, "likeCount": 10}, 2: {"viewCount": 150, "likeCount": 12},
                   3: {"viewCount": 300, "likeCount": 20}, 4: {"viewCount": 1100, "likeCount": 10}})
    r = _rows(tmp_path)[0]["v"]
    assert r["y_views_7"] == pytest.approx(math.log1p(50))
    assert r["y_views_14"] == pytest.approx(math.log1p(200))
    assert r["y_views_21"] == pytest.approx(math.log1p(1000))
    assert r["y_likes_7"] == pytest.approx(math.log1p(2)) and r["y_likes_21"] == 0.0
    assert [r[f"has_horizon_{h}"] for h in (7, 14, 21)] == [True, True, True]
    assert [r[f"horizon_snapshot_{h}"] for h in (7, 14, 21)] == [2, 3, 4]
    assert r["delta_views_21"] == 1000 and r["negative_delta_likes_21"] is False


def test_missing_7_day_snapshot_masks_only_that_horizon(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 10}, 3: {"viewCount": 30}, 4: {"viewCount": 40}})
    r = _rows(tmp_path)[0]["v"]
    assert r["has_horizon_7"] is False and r["has_y_views_7"] is False and math.isnan(r["y_views_7"])
    assert r["horizon_snapshot_7"] == -1 and math.isnan(r["horizon_days_7"])
    assert r["has_y_views_14"] and r["y_views_14"] == pytest.approx(math.log1p(20))


def test_jittered_times_within_tolerance_are_matched_with_real_elapsed_days(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 10, "collected_at": day(1, -3)},
                   2: {"viewCount": 20, "collected_at": day(2, 17)},
                   3: {"viewCount": 30, "collected_at": day(3, -20)}})
    r = _rows(tmp_path)[0]["v"]
    assert r["has_horizon_7"] and r["horizon_days_7"] == pytest.approx(7 + 20 / 24)
    assert r["has_horizon_14"] and r["horizon_days_14"] == pytest.approx(14 - 17 / 24)
    assert r["snapshot1_at"].timestamp() == day(1, -3).timestamp()
    assert r["video_age_hours_at_snapshot1"] == pytest.approx((day(1, -3) - PUBLISHED).total_seconds() / 3600)


def test_snapshot_outside_tolerance_is_not_a_label(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 10}, 2: {"viewCount": 20, "collected_at": day(2, 30)},
                   4: {"viewCount": 50, "collected_at": day(4, -25)}})
    rows, _ = _rows(tmp_path)
    r = rows["v"]
    assert not r["has_horizon_7"] and not r["has_horizon_21"]  # 8.25 d and 19.96 d: more than 1 day off
    wide = TargetsConfig(tolerance_days=1.5)
    r2 = _rows(tmp_path, wide)[0]["v"]
    assert r2["has_horizon_7"] and r2["y_views_7"] == pytest.approx(math.log1p(10))
    assert r2["has_horizon_21"] and r2["horizon_days_21"] == pytest.approx(21 - 25 / 24)


def test_per_video_time_overrides_the_folder_time(tmp_path):
    ds = HandDataset(tmp_path)
    # Folder 2 says day 7; this video's own time says day 9 -> outside tolerance.
    ds.video("own", {1: {"viewCount": 1}, 2: {"viewCount": 5, "collected_at": day(2, 48)}})
    ds.video("folder", {1: {"viewCount": 1}, 2: {"viewCount": 5}})
    rows, _ = _rows(tmp_path)
    assert rows["own"]["has_horizon_7"] is False
    assert rows["folder"]["has_horizon_7"] is True and rows["folder"]["horizon_days_7"] == pytest.approx(7.0)


def test_closest_snapshot_wins_when_two_qualify(tmp_path):
    ds = HandDataset(tmp_path, folder_times={2: day(2, -20), 3: day(2, 6)})  # both near day 7
    ds.video("v", {1: {"viewCount": 0}, 2: {"viewCount": 5}, 3: {"viewCount": 9}})
    r = _rows(tmp_path)[0]["v"]
    assert r["horizon_snapshot_7"] == 3 and r["y_views_7"] == pytest.approx(math.log1p(9))


def test_negative_delta_is_clipped_and_flagged(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 500, "likeCount": 50}, 2: {"viewCount": 480, "likeCount": 51}})
    res = build_temporal_table(str(tmp_path))
    r = res.table.to_pylist()[0]
    assert r["y_views_7"] == 0.0 and r["negative_delta_views_7"] is True and r["delta_views_7"] == -20
    assert r["has_y_views_7"] is True  # a real label (no growth), not a missing one
    assert r["negative_delta_likes_7"] is False
    assert res.summary["coverage"]["7"]["negative_views"] == 1


def test_target_missing_on_its_own_and_features_are_nan_not_zero(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 100, "videoCount": 0, "viewCount_channel": 5000},
                   2: {"viewCount": 130, "likeCount": 4}})
    r = _rows(tmp_path)[0]["v"]
    assert r["has_y_views_7"] and not r["has_y_likes_7"] and math.isnan(r["y_likes_7"])
    for name in ("likes_s1", "comments_s1", "subscribers_s1", "like_rate", "views_per_subscriber",
                 "tag_count", "age_limit", "description_length", "comments_listed_s1"):
        assert math.isnan(r[name]) and r[f"{name}_present"] is False, name
    assert r["views_per_video_channel"] == 5000.0 and r["views_per_video_channel_present"]  # max(videoCount, 1)
    assert r["category"] is None and r["category_present"] is False
    assert r["views_s1"] == 100.0 and r["views_s1_present"]


def test_meta_features(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 240, "likeCount": 24, "commentCount": 6, "subscriberCount": 0,
                       "comments": [{"text": "a"}, {"text": "b"}]}},
             tags=["a", "b", "c"], age_limit=18, chapters=[{"start_time": 0}], subtitles={},
             category="Music", language="ru", madeForKids=True, title="abcd",
             publishedAt="2025-03-02T12:30:00Z")
    r = _rows(tmp_path)[0]["v"]
    assert r["video_age_hours_at_snapshot1"] == pytest.approx(23.5) and r["age_bucket"] == "lt_24h"
    assert r["views_per_hour"] == pytest.approx(240 / 23.5) and r["like_rate"] == pytest.approx(0.1)
    assert r["comment_rate"] == pytest.approx(0.025) and r["views_per_subscriber"] == 240.0
    assert (r["tag_count"], r["age_limit"], r["has_chapters"], r["has_subtitles"]) == (3.0, 18.0, 1.0, 0.0)
    assert (r["made_for_kids"], r["title_length"], r["comments_listed_s1"]) == (1.0, 4.0, 2.0)
    assert (r["category"], r["language"], r["publish_hour_utc"], r["publish_weekday"]) == ("Music", "ru", 12.5, 6.0)


def test_age_bucket_edges():
    assert [age_bucket(h) for h in (0, 23.99, 24, 720, 720.01)] == ["lt_24h", "lt_24h", "d1_30", "d1_30", "gt_30d"]


def test_unusable_videos_are_dropped_with_reasons(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("ok", {1: {"viewCount": 1}})
    ds.video("nos1", {2: {"viewCount": 1}})
    ds.video("future", {1: {"viewCount": 1}}, publishedAt="2025-04-01T00:00:00Z")
    ds.write("metadata/broken.json", "{")
    rows, res = _rows(tmp_path)
    assert list(rows) == ["ok"]
    assert res.summary["dropped"] == {"no_usable_snapshot_1": 1, "snapshot_1_before_publish": 1,
                                      "invalid_metadata": 1}


def test_comments_target_is_one_config_line_away(tmp_path, monkeypatch):
    ds = HandDataset(tmp_path / "d")
    ds.video("v", {1: {"viewCount": 1, "commentCount": 3, "subscriberCount": 10},
                   3: {"viewCount": 2, "commentCount": 10, "subscriberCount": 25}})
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("targets:\n  metrics: {views: viewCount, likes: likeCount, comments: commentCount, "
                        "subscribers: subscriberCount}\n")
    monkeypatch.setenv("TRENDFLOW__TARGETS__TOLERANCE_DAYS", "2")
    cfg = load_section(cfg_file, "targets", TargetsConfig)
    assert cfg.tolerance_days == 2 and cfg.target_keys()[-1] == "subscribers_21"
    res = build_temporal_table(str(tmp_path / "d"), cfg)
    r = res.table.to_pylist()[0]
    assert r["y_comments_14"] == pytest.approx(math.log1p(7)) and r["y_subscribers_14"] == pytest.approx(math.log1p(15))
    assert "comments" in res.summary["coverage"]["14"]


def test_unknown_snapshot_field_can_be_a_target(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 1, "shareCount": "4"}, 2: {"viewCount": 1, "shareCount": 9}})
    r = build_temporal_table(str(tmp_path), TargetsConfig(metrics={"shares": "shareCount"})).table.to_pylist()[0]
    assert r["y_shares_7"] == pytest.approx(math.log1p(5))


@pytest.mark.parametrize("bad", [{"tolerance_days": 4}, {"metrics": {"Views!": "viewCount"}}, {"metrics": {}},
                                 {"horizons_days": [7, 7]}, {"val_fraction": 0.6, "test_fraction": 0.5}])
def test_bad_targets_config_is_rejected_with_the_field(tmp_path, bad):
    import yaml

    f = tmp_path / "cfg.yaml"
    f.write_text(yaml.safe_dump({"targets": bad}))
    with pytest.raises(ConfigError, match=str(f)):
        load_section(f, "targets", TargetsConfig)


def test_horizons_are_configuration(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("v", {1: {"viewCount": 1}, 2: {"viewCount": 8}, 3: {"viewCount": 20}})
    cfg = TargetsConfig(metrics={"views": "viewCount"}, horizons_days=[14, 7])
    t = build_temporal_table(str(tmp_path), cfg).table
    assert [c for c in t.column_names if c.startswith("y_")] == ["y_views_7", "y_views_14"]
    assert np.allclose(t.column("y_views_14").to_numpy(), np.log1p(19))


def test_missing_optional_metadata_becomes_nan_and_masks_in_the_table(tmp_path):
    from trendflow.cli import main
    from trendflow.temporal import SCHEMA_VERSION, read_temporal_table

    from .test_dataset_fixtures import DROP

    ds = HandDataset(tmp_path / "d")
    snaps = {1: {"viewCount": 10, "likeCount": 1}, 2: {"viewCount": 30, "likeCount": 2}}
    ds.video("full", snaps, title="abc", madeForKids=True, duration_seconds=42.0)
    ds.video("bare", snaps, title=DROP, madeForKids=DROP, duration_seconds=DROP, channelTitle=DROP,
             channel_id="UCbare")
    assert main(["temporal", "--dataset", str(tmp_path / "d"), "--out", str(tmp_path / "t.parquet"),
                 "--config", _targets_yaml(tmp_path, "targets: {horizons_days: [7]}")]) == 0
    table, meta = read_temporal_table(str(tmp_path / "t.parquet"))
    rows = {r["video_id"]: r for r in table.to_pylist()}
    bare, full = rows["bare"], rows["full"]
    for name in ("duration_seconds", "made_for_kids", "title_length"):
        assert math.isnan(bare[name]) and bare[f"{name}_present"] is False, name
        assert full[f"{name}_present"] is True, name
    assert (full["duration_seconds"], full["made_for_kids"], full["title_length"]) == (42.0, 1.0, 3.0)
    assert bare["channel_key"] == "youtube/id:UCbare" and bare["y_views_7"] == pytest.approx(math.log1p(20))
    assert meta["schema_version"] == SCHEMA_VERSION == 2


def _targets_yaml(tmp_path, text):
    p = tmp_path / "targets.yaml"
    p.write_text(text + "\n")
    return str(p)
