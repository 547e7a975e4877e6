"""The temporal table as a whole: channel-grouped time split, duplicates, Parquet output, CLI summary."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import numpy as np
import pyarrow.parquet as pq
import pytest

from trendflow.dataset import DatasetError
from trendflow.dataset.cli import cmd_temporal
from trendflow.temporal import (
    MASK_COLUMNS, NUMERIC_FEATURES, TargetsConfig, build_temporal_table, channel_key, channel_time_split,
    read_temporal_table, write_temporal_table)

from .test_dataset_fixtures import HandDataset


def _random_split_inputs(n=3000, n_channels=400, seed=0):
    rng = np.random.default_rng(seed)
    channels = np.array([f"ch{c}" for c in rng.integers(0, n_channels, n)], dtype=object)
    published = rng.uniform(1.6e9, 1.75e9, n)
    return channels, published


def test_split_never_shares_a_channel_and_follows_time():
    channels, published = _random_split_inputs()
    split = channel_time_split(channels, published, val_fraction=0.15, test_fraction=0.2, seed=3)
    by_channel = {}
    for c, s in zip(channels, split):
        by_channel.setdefault(c, set()).add(s)
    assert all(len(s) == 1 for s in by_channel.values())
    shares = {s: float(np.mean(split == s)) for s in ("train", "val", "test")}
    assert shares["train"] == pytest.approx(0.65, abs=0.03) and shares["test"] == pytest.approx(0.2, abs=0.03)
    med = {s: np.median(published[split == s]) for s in ("train", "val", "test")}
    assert med["train"] < med["val"] < med["test"]


def test_split_is_reproducible_from_the_seed():
    channels, published = _random_split_inputs()
    published = np.round(published / 1e8) * 1e8  # many ties between channels: the seed decides them
    a = channel_time_split(channels, published, seed=1)
    b = channel_time_split(channels, published, seed=1)
    c = channel_time_split(channels, published, seed=2)
    assert (a == b).all() and not (a == c).all()


def test_channel_key_prefers_the_enriched_id():
    assert channel_key("youtube", "UC123", "My  Channel") == "youtube/id:UC123"
    assert channel_key("youtube", None, " My  Channel ") == channel_key("youtube", None, "my channel")


def _dataset(root, n=60):
    ds = HandDataset(root)
    for i in range(n):
        ch = f"Channel {i % 12}"
        ds.video(f"v{i:03d}", {1: {"viewCount": 10 + i, "likeCount": 1}, 2: {"viewCount": 20 + 2 * i, "likeCount": 2},
                              3: {"viewCount": 40 + 3 * i}},
                 channelTitle=ch, publishedAt=f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}T10:00:00Z",
                 **({"channel_id": f"UC{i % 12}"} if i % 12 < 6 else {}))
    return ds


def test_table_split_columns_and_parquet_round_trip(tmp_path):
    _dataset(tmp_path / "d")
    res = build_temporal_table(str(tmp_path / "d"), TargetsConfig(split_seed=5))
    t = res.table
    assert t.num_rows == 60
    for col in ("video_id", "platform_id", "channel_key", "split", "age_bucket", *NUMERIC_FEATURES, *MASK_COLUMNS,
                "y_views_7", "has_horizon_21", "has_y_likes_14", "negative_delta_views_14"):
        assert col in t.column_names, col
    rows = t.to_pylist()
    splits_per_channel = {}
    for r in rows:
        splits_per_channel.setdefault(r["channel_key"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits_per_channel.values()) and len(splits_per_channel) == 12
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    out = tmp_path / "out" / "t.parquet"
    (tmp_path / "out").mkdir()
    write_temporal_table(res, str(out))
    back, meta = read_temporal_table(str(out))
    assert back.schema.equals(t.schema) and back.to_pandas().equals(t.to_pandas())  # NaN == NaN here
    assert meta["targets"]["split_seed"] == 5 and meta["target_keys"][0] == "views_7"
    assert pq.read_schema(out).field("published_at").type.tz == "UTC"


def test_duplicates_are_dropped_from_the_table(tmp_path):
    ds = _dataset(tmp_path, n=4)
    meta = json.loads((tmp_path / "metadata" / "v000.json").read_text())
    ds.write("metadata/v000_copy.json", meta)
    ds.write("metadata/v001_copy.json", {**json.loads((tmp_path / "metadata" / "v001.json").read_text()),
                                         "title": "changed"})
    res = build_temporal_table(str(tmp_path))
    ids = res.table.column("video_id").to_pylist()
    assert sorted(ids) == ["v000", "v002", "v003"]
    assert res.summary["dropped"]["duplicate_id"] == 3  # one identical copy + both conflicting files


class _Args:
    def __init__(self, **kw):
        self.__dict__.update(dict(config=None, seed=None, workers=1, storage_options=None), **kw)


def test_cli_prints_the_summary_table(tmp_path, capsys):
    _dataset(tmp_path / "d")
    out = tmp_path / "t.parquet"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("targets: {metrics: {views: viewCount}, horizons_days: [7, 14]}\n")
    assert cmd_temporal(_Args(dataset=str(tmp_path / "d"), out=str(out), seed=7, config=str(cfg))) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "temporal table: 60 videos, 12 channels" in text
    for word in ("train", "val", "test", "lt_24h", "d1_30", "gt_30d", "label coverage per head"):
        assert word in text
    assert re.search(r"y_views_7 +60 +100.0% +\d+ +0", text) and re.search(r"y_views_14 +60 +100.0%", text)
    assert "temporal: metadata files 60/60" in captured.err  # progress
    assert read_temporal_table(str(out))[1]["targets"]["split_seed"] == 7
    with pytest.raises(DatasetError, match="no metadata file"):
        cmd_temporal(_Args(dataset=str(tmp_path / "missing"), out=str(tmp_path / "x.parquet")))


def test_the_table_carries_the_targets_said_once_in_the_config(tmp_path):
    """Targets and horizons are declared once (`targets:`); the table's metadata carries them onwards."""
    from trendflow.cli import main

    _dataset(tmp_path / "d")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("targets:\n  metrics: {views: viewCount}\n  horizons_days: [14, 7]\n  tolerance_days: 0.5\n")
    assert main(["temporal", "--dataset", str(tmp_path / "d"), "--out", str(tmp_path / "t.parquet"),
                 "--config", str(cfg)]) == 0
    table, meta = read_temporal_table(str(tmp_path / "t.parquet"))
    assert meta["targets"]["metrics"] == {"views": "viewCount"} and meta["targets"]["horizons_days"] == [7, 14]
    assert meta["targets"]["tolerance_days"] == 0.5 and meta["target_keys"] == ["views_7", "views_14"]
    assert [c for c in table.column_names if c.startswith("y_")] == ["y_views_7", "y_views_14"]


def _daily(root, days=(1, 2, 3, 4, 5), n=20):
    """Videos collected every day after snapshot 1 (like a public trending table), with likes."""
    from .test_dataset_fixtures import T1

    ds = HandDataset(root, n_snapshots=0)
    for k in range(1, len(days) + 2):
        ds.folder(k, None)
    for i in range(n):
        snaps = {1: {"viewCount": 100 + i, "likeCount": 3, "collected_at": T1}}
        for k, d in enumerate(days, start=2):
            snaps[k] = {"viewCount": 100 + i + 10 * d, "likeCount": 3 + d,
                        "collected_at": T1 + timedelta(days=d, hours=(i % 5) - 2)}
        ds.video(f"d{i:02d}", snaps, channelTitle=f"ch{i % 6}", video_file=False)
    return ds


def test_an_empty_head_stops_temporal_with_the_horizons_and_a_suggestion(tmp_path, capsys):
    from trendflow.cli import main

    _daily(tmp_path / "d")
    out = tmp_path / "t.parquet"
    assert main(["temporal", "--dataset", str(tmp_path / "d"), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "label coverage per head" in captured.out and re.search(r"y_views_7 +0 +0.0%", captured.out)
    err = captured.err
    assert "\nerror: no labelled row for 6 of 6 heads (views_7, views_14, views_21, likes_7" in err
    assert "horizons [7, 14, 21] days: no video has a snapshot within ±1 days of them" in err
    assert "observed gaps after snapshot 1 (days: videos): 1d: 20, 2d: 20, 3d: 20, 4d: 20, 5d: 20" in err
    assert "try targets: {horizons_days: [1, 3, 5], tolerance_days: 0.9}" in err
    assert "Traceback" not in err and not out.exists()  # nothing written
    # The suggestion works as given: said once in `targets:`, every head is labelled.
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("targets: {horizons_days: [1, 3, 5], tolerance_days: 0.9}\n")
    assert main(["temporal", "--dataset", str(tmp_path / "d"), "--out", str(out), "--config", str(cfg)]) == 0
    assert re.search(r"y_likes_5 +20 +100.0%", capsys.readouterr().out)


def test_a_head_whose_counter_is_missing_everywhere_names_the_target(tmp_path, capsys):
    from trendflow.cli import main

    ds = HandDataset(tmp_path / "d")
    for i in range(4):
        ds.video(f"v{i}", {1: {"viewCount": 5}, 2: {"viewCount": 9}}, channelTitle=f"c{i}")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("targets: {horizons_days: [7]}\n")
    assert main(["temporal", "--dataset", str(tmp_path / "d"), "--out", str(tmp_path / "t.parquet"),
                 "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "no labelled row for 1 of 2 heads (likes_7)" in err
    assert "likes_7: the horizon is matched, but likeCount is missing" in err and "remove `likes`" in err


@pytest.mark.parametrize("gaps, horizons, expected", [
    ({1: 50, 2: 50, 3: 50, 4: 50, 5: 50}, [7, 14, 21], ([1, 3, 5], 0.9)),
    ({7: 50, 14: 50, 21: 1, 28: 50}, [7, 14, 21], ([7, 14, 28], 1.0)),   # 21 too rare: 28 instead
    ({1: 2, 30: 50}, [7], ([30], 1.0)),
    ({}, [7, 14], ([], 1.0)),
])
def test_suggested_horizons_come_from_the_observed_gaps(gaps, horizons, expected):
    from trendflow.temporal import suggest_horizons

    assert suggest_horizons(gaps, 50, TargetsConfig(horizons_days=horizons)) == expected
