"""`trendflow import-counters`: a long counters table becomes a dataset; planted bad rows are reported by line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trendflow.cli import main
from trendflow.dataset import validate_dataset
from trendflow.dataset.import_counters import REPORT_FILE, choose_snapshots

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
HEADER = ["video_id", "collected_at", "viewCount", "likeCount", "commentCount", "publishedAt", "channelTitle",
          "title", "shareCount"]


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def daily_rows(videos=("vidA", "vidB", "vidC"), days=6):
    """Good rows: each video collected daily (a few hours of jitter), counters growing; the latest video starts
    a day later than the others (its snapshots are numbered from its own first collection)."""
    rows = []
    for j, vid in enumerate(videos):
        start = 1 if j == len(videos) - 1 and j > 0 else 0
        for d in range(start, days):
            t = T0 + timedelta(days=d, hours=(j * 2) % 5)
            rows.append([vid, iso(t), str(100 * (j + 1) + 40 * d), str(10 + 3 * d), str(d), iso(T0 - timedelta(days=3)),
                         f"Channel {j % 2}", f"title {vid}", str(d * 2) if d % 2 else ""])
    return rows


# (row, reason fragment): each planted after the good rows; the CSV line is its index + 2.
BAD = [
    (["vidA", "yesterday", "500", "1", "1", "2025-02-26T08:00:00Z", "Channel 0", "t", ""],
     "collected_at 'yesterday' is not a time"),
    (["vidA", "2025-03-09T08:00:00Z", "-4", "1", "1", "2025-02-26T08:00:00Z", "Channel 0", "t", ""],
     "viewCount '-4' is negative"),
    (["vidA", "2025-03-10T08:00:00Z", "many", "2.5", "1", "2025-02-26T08:00:00Z", "Channel 0", "t", ""],
     "viewCount 'many' is not a number; likeCount '2.5' is not a whole number"),
    (["../etc/passwd", "2025-03-02T08:00:00Z", "5", "1", "1", "2025-02-26T08:00:00Z", "Channel 0", "t", ""],
     "unsafe video_id"),
    (["", "2025-03-02T08:00:00Z", "5", "1", "1", "2025-02-26T08:00:00Z", "Channel 0", "t", ""],
     "video_id is empty"),
    (["vidB", "", "5", "1", "1", "2025-02-26T08:00:00Z", "Channel 1", "t", ""], "collected_at is empty"),
    (["vidB", "2025-03-12T08:00:00Z", "", "1", "1", "2025-02-26T08:00:00Z", "Channel 1", "t", ""],
     "viewCount is empty"),
]


def write_csv(path, rows, header=HEADER):
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _import(*args):
    return main(["import-counters", *map(str, args)])


def test_csv_every_collection_imports_good_rows_and_reports_bad_ones_by_line(tmp_path, capsys):
    good = daily_rows()
    table = write_csv(tmp_path / "counters.csv", good + [row for row, _ in BAD] + [["vidC", "2025-03-03T08:00:00Z"]])
    out = tmp_path / "ds"
    assert _import("--table", table, "--out", out) == 0
    captured = capsys.readouterr()
    text = captured.out
    for i, (_, reason) in enumerate(BAD):
        line = len(good) + i + 2
        assert f"counters line {line}" in text and reason in text, (line, reason, text)
    assert f"counters line {len(good) + len(BAD) + 2} [vidC]: 2 fields, the header has 9" in text
    assert f"rows read {len(good) + len(BAD) + 1}, imported {len(good)}, bad {len(BAD) + 1}" in text
    assert "import-counters: rows read" in captured.err and "videos written 3/3" in captured.err  # progress
    report = json.loads((out / REPORT_FILE).read_text())
    assert report["rows_bad"] == len(BAD) + 1 and report["videos"] == 3
    assert {b["where"] for b in report["bad_rows"]} >= {f"line {len(good) + 2}", f"line {len(good) + 3}"}
    # The layout (SPEC §2): each video's first collection is its snapshot 1; folders carry no time.
    assert report["snapshots"] == {"1": 3, "2": 3, "3": 3, "4": 3, "5": 3, "6": 2}
    assert json.loads((out / "snapshots" / "2" / "snapshot.json").read_text()) == {"snapshot_index": 2}
    s1 = json.loads((out / "snapshots" / "1" / "vidC.json").read_text())
    assert s1 == {"video_id": "vidC", "collected_at": "2025-03-02T12:00:00Z", "viewCount": 340, "likeCount": 13,
                  "commentCount": 1, "shareCount": "2"}
    meta = json.loads((out / "metadata" / "vidA.json").read_text())
    assert meta == {"video_id": "vidA", "platform_id": "youtube", "title": "title vidA",
                    "publishedAt": "2025-02-26T08:00:00Z", "channelTitle": "Channel 0"}
    rep = validate_dataset(str(out))
    assert rep.ok and rep.counters_only and rep.n_usable == 3, rep.format()
    assert rep.gap_days[2]["p50"] == pytest.approx(1.0)


def test_parquet_table_with_typed_columns_and_planted_bad_rows(tmp_path, capsys):
    t = [T0 + timedelta(days=d) for d in range(4)]
    table = pa.table({
        "video_id": ["p1", "p1", "p1", "p1", "p2", "p2", "bad/id", "p2"],
        "collected_at": pa.array([t[0], t[1], t[2], t[3], t[0], t[1], t[0], None], pa.timestamp("us", tz="UTC")),
        "viewCount": pa.array([10, 20, -30, 40, 5, 6, 1, 7], pa.int64()),
        "likeCount": pa.array([1.0, 2.0, 3.0, float("nan"), 1.0, 1.5, 1.0, 1.0]),
        "publishedAt": pa.array([T0 - timedelta(days=1)] * 8, pa.timestamp("us", tz="UTC")),
        "channel_id": ["UC1"] * 4 + ["UC2"] * 4,
        "duration_seconds": [30.0] * 4 + [None] * 4,
    })
    pq.write_table(table, tmp_path / "c.parquet")
    out = tmp_path / "ds"
    assert _import("--table", tmp_path / "c.parquet", "--out", out) == 0
    text = capsys.readouterr().out
    assert "counters row 3 [p1]: viewCount -30 is negative" in text
    assert "counters row 6 [p2]: likeCount 1.5 is not a whole number" in text
    assert "counters row 7 ['bad/id']: unsafe video_id" in text
    assert "counters row 8 [p2]: collected_at is empty" in text
    assert "rows read 8, imported 4, bad 4" in text
    snap = json.loads((out / "snapshots" / "3" / "p1.json").read_text())
    assert snap == {"video_id": "p1", "collected_at": "2025-03-04T08:00:00Z", "viewCount": 40}  # NaN likes: absent
    assert json.loads((out / "metadata" / "p1.json").read_text())["duration_seconds"] == 30.0
    assert "duration_seconds" not in json.loads((out / "metadata" / "p2.json").read_text())
    assert validate_dataset(str(out)).ok


def test_offsets_pick_the_nearest_collection_within_the_tolerance(tmp_path, capsys):
    rows = []
    for vid, days in (("full", [0, 0.9, 3.2, 5.1, 7.0, 6.8]), ("gappy", [0, 2.0, 5.47]), ("late", [0.5, 1.5])):
        for d in days:
            rows.append([vid, iso(T0 + timedelta(days=d)), str(int(100 + 10 * d)), "", "",
                         iso(T0 - timedelta(days=2)), "C", "", ""])
    table = write_csv(tmp_path / "c.csv", rows)
    out = tmp_path / "ds"
    assert _import("--table", table, "--out", out, "--offsets-days", "0,1,3,5") == 0
    text = capsys.readouterr().out
    assert "offsets [0.0, 1.0, 3.0, 5.0] days, tolerance ±0.45 days" in text  # 0.45 x the smallest gap
    report = json.loads((out / REPORT_FILE).read_text())
    # full: 0.9 -> 1, 3.2 -> 3, 5.1 -> 5 (7.0 and 6.8 unused); gappy: only 0 (2.0 and 5.47 are too far);
    # late: its own first collection is snapshot 1, 1.5 is 1 day later -> snapshot 2.
    assert report["snapshots"] == {"1": 3, "2": 2, "3": 1, "4": 1}
    assert report["rows_unused"] == 4
    assert json.loads((out / "snapshots" / "4" / "full.json").read_text())["viewCount"] == 151
    assert json.loads((out / "snapshots" / "4" / "snapshot.json").read_text()) == {"snapshot_index": 4,
                                                                                  "offset_days": 5.0}
    assert not (out / "snapshots" / "2" / "gappy.json").exists()
    # A wider tolerance, as long as it stays below half the smallest gap.
    assert _import("--table", table, "--out", tmp_path / "ds2", "--offsets-days", "0,1,3,5",
                   "--tolerance-days", "0.49") == 0
    assert json.loads((tmp_path / "ds2" / REPORT_FILE).read_text())["snapshots"]["4"] == 2  # gappy's 5.47


@pytest.mark.parametrize("args, message", [
    (["--offsets-days", "7,14"], "--offsets-days must start with 0 and increase"),
    (["--offsets-days", "0,1,3", "--tolerance-days", "0.5"], "below half the smallest gap"),
    (["--tolerance-days", "0.5"], "--tolerance-days applies to --offsets-days only"),
])
def test_bad_offsets_are_user_errors(tmp_path, capsys, args, message):
    table = write_csv(tmp_path / "c.csv", daily_rows())
    assert _import("--table", table, "--out", tmp_path / "ds", *args) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "ds").exists()


def test_missing_columns_and_unreadable_tables_stop_before_writing(tmp_path, capsys):
    no_views = write_csv(tmp_path / "a.csv", [["v", iso(T0)]], header=["video_id", "collected_at"])
    assert _import("--table", no_views, "--out", tmp_path / "ds") == 2
    assert "missing required column(s) ['viewCount']" in capsys.readouterr().err
    no_meta = write_csv(tmp_path / "b.csv", [["v", iso(T0), "3"]], header=["video_id", "collected_at", "viewCount"])
    assert _import("--table", no_meta, "--out", tmp_path / "ds") == 2
    assert "lacks the metadata column(s) ['publishedAt', 'channelTitle or channel_id']" in capsys.readouterr().err
    (tmp_path / "c.parquet").write_bytes(b"not parquet")
    assert _import("--table", tmp_path / "c.parquet", "--out", tmp_path / "ds") == 2
    assert "not readable as Parquet" in capsys.readouterr().err
    assert _import("--table", tmp_path / "nope.csv", "--out", tmp_path / "ds") == 2
    assert "table not found" in capsys.readouterr().err
    only_bad = write_csv(tmp_path / "d.csv", [row for row, _ in BAD[:2]])
    assert _import("--table", only_bad, "--out", tmp_path / "ds") == 2
    assert "nothing to import (2 rows, 2 bad, e.g. line 2: collected_at 'yesterday'" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_a_separate_metadata_table_and_renamed_columns(tmp_path, capsys):
    counters = write_csv(tmp_path / "c.csv", [["m1", iso(T0), "10"], ["m1", iso(T0 + timedelta(days=1)), "30"],
                                              ["m2", iso(T0), "5"], ["m3", iso(T0), "5"], ["m4", iso(T0), "1"]],
                         header=["vid", "time", "views"])
    meta = write_csv(tmp_path / "m.csv", [
        ["m1", "2025-02-01T00:00:00Z", "Chan", "true", "61", '["a", "b"]'],
        ["m2", "2025-02-01T00:00:00Z", "Chan", "maybe", "", ""],             # invalid madeForKids
        ["m4", "2025-02-01T00:00:00Z", "Chan", "", "", ""],
        ["m4", "2025-02-02T00:00:00Z", "Chan", "", "", ""],                  # conflicting copy
        ["m9", "2025-02-01T00:00:00Z", "Chan", "", "", ""],                  # no counters
    ], header=["vid", "publish_time", "channelTitle", "madeForKids", "duration_seconds", "tags"])
    out = tmp_path / "ds"
    assert _import("--table", counters, "--metadata", meta, "--out", out,
                   "--rename", "vid=video_id,time=collected_at,views=viewCount,publish_time=publishedAt") == 0
    text = capsys.readouterr().out
    assert "skipped video m2: invalid metadata (line 3): madeForKids: Input should be a valid boolean" in text
    assert "skipped video m3: no row in the metadata table" in text
    assert "metadata line 5 [m4]: conflicts with the metadata of line 4; both dropped" in text
    assert "skipped video m4: conflicting rows in the metadata table" in text
    assert "metadata rows without counters 1" in text
    m1 = json.loads((out / "metadata" / "m1.json").read_text())
    assert (m1["madeForKids"], m1["duration_seconds"], m1["tags"]) == (True, 61.0, ["a", "b"])
    assert sorted(p.name for p in (out / "metadata").iterdir()) == ["m1.json"]


def test_repeated_rows_identical_count_once_conflicting_are_dropped(tmp_path, capsys):
    rows = daily_rows(videos=("r1",), days=3)
    rows.append(list(rows[1]))  # identical repeat of day 1
    clash = list(rows[2])
    clash[2] = "999"  # day 2 again, other views
    rows.append(clash)
    table = write_csv(tmp_path / "c.csv", rows)
    assert _import("--table", table, "--out", tmp_path / "ds") == 0
    text = capsys.readouterr().out
    assert "identical duplicates 1" in text
    assert "counters line 4 [r1]: same collected_at as line 4 with other counters; all dropped" in text
    assert "counters line 6 [r1]: same collected_at as line 4 with other counters" in text
    assert json.loads((tmp_path / "ds" / REPORT_FILE).read_text())["snapshots"] == {"1": 1, "2": 1}


def test_a_non_empty_folder_is_refused_unless_overwrite_and_then_only_its_layout_is_replaced(tmp_path, capsys):
    table = write_csv(tmp_path / "c.csv", daily_rows())
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert _import("--table", table, "--out", out) == 2
    assert "is not empty" in capsys.readouterr().err and sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert _import("--table", table, "--out", out, "--overwrite") == 0
    assert (out / "snapshots" / "6").exists()
    shorter = write_csv(tmp_path / "short.csv", daily_rows(days=2))
    assert _import("--table", shorter, "--out", out, "--overwrite") == 0
    assert not (out / "snapshots" / "6").exists()  # the old layout is replaced, not mixed in
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in out.iterdir() if p.name.startswith(".import-")]


def test_choose_snapshots_prefers_the_earlier_of_two_equally_near_collections():
    us = 86_400e6
    times = (np.array([0, 0.75, 1.25]) * us).astype("int64")
    assert choose_snapshots(times, [0, 1], 0.3) == [(1, 0), (2, 1)]
    assert choose_snapshots(times, None, None) == [(1, 0), (2, 1), (3, 2)]
