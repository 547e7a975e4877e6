"""`validate-dataset` reports every kind of problem with its file and field, and keeps going."""

from __future__ import annotations

import json

import pytest

from trendflow.dataset import PROBLEM_CODES, validate_dataset
from trendflow.dataset.cli import cmd_validate

from .test_dataset_fixtures import DROP, HandDataset, day


def _find(report, code):
    return [p for p in report.problems if p.code == code]


@pytest.fixture
def ds(tmp_path):
    d = HandDataset(tmp_path / "data")
    d.video("good1", {1: {"viewCount": 10}, 2: {"viewCount": 20}, 3: {"viewCount": 30}, 4: {"viewCount": 40}})
    d.video("good2", {1: {"viewCount": 5}, 3: {"viewCount": 9}, 4: {"viewCount": 12}})
    return d


def test_clean_dataset_passes_with_a_summary(ds):
    r = validate_dataset(str(ds.root))
    assert r.ok and r.problems == []
    assert r.n_metadata_files == 2 and r.n_usable == 2
    assert r.snapshot_counts == {1: 2, 2: 1, 3: 2, 4: 2}
    assert r.n_missing_snapshot_2 == 1
    assert r.gap_days[3]["p50"] == pytest.approx(14.0) and r.gap_days[2]["min"] == pytest.approx(7.0)
    text = r.format()
    assert "OK" in text and "without snapshot 2: 1" in text


def test_malformed_json_is_reported_and_others_go_on(ds):
    ds.write("metadata/broken.json", "{not json")
    ds.write("videos/broken.mp4", b"x")
    ds.write("snapshots/2/good2.json", '{"video_id": "good2", "viewCount": ')
    ds.write("metadata/listy.json", "[1, 2]")
    r = validate_dataset(str(ds.root))
    files = {p.file for p in _find(r, "malformed_json")}
    assert files == {"metadata/broken.json", "snapshots/2/good2.json", "metadata/listy.json"}
    assert not r.ok and r.n_usable == 2  # both good videos still usable


def test_snapshot_without_a_time(tmp_path):
    ds = HandDataset(tmp_path, folder_times={2: None})
    ds.video("a", {1: {"viewCount": 1}, 2: {"viewCount": 2}})
    ds.video("b", {1: {"viewCount": 1}, 2: {"viewCount": 2, "collected_at": day(2, 3)}})
    (tmp_path / "snapshots" / "3" / "snapshot.json").unlink()
    r = validate_dataset(str(tmp_path))
    missing = _find(r, "missing_time")
    # The folder without a time is not a problem in itself: only the file that has no time of its own.
    assert {(p.file, p.field) for p in missing} == {("snapshots/2/a.json", "collected_at")}
    assert [p.file for p in _find(r, "missing_snapshot_info")] == ["snapshots/3/snapshot.json"]
    assert r.snapshot_counts[2] == 1  # b has its own time, so its snapshot 2 counts
    assert not r.ok


@pytest.mark.parametrize("value, code", [(-5, "bad_counter"), ("many", "bad_counter"), (True, "bad_counter"),
                                         (1.5, "bad_counter"), (None, "bad_counter")])
def test_bad_counters(ds, value, code):
    ds.video("bad", {1: {"viewCount": 3, "likeCount": 1}, 2: {"viewCount": value, "likeCount": 1}})
    r = validate_dataset(str(ds.root))
    hits = _find(r, code)
    assert [(p.file, p.field) for p in hits] == [("snapshots/2/bad.json", "viewCount")]
    assert hits[0].video_id == "bad" and hits[0].severity == "error"


def test_optional_counter_negative_is_reported_by_field(ds):
    ds.video("neg", {1: {"viewCount": 3, "likeCount": -1, "subscriberCount": "12"}})
    r = validate_dataset(str(ds.root))
    assert [(p.file, p.field) for p in _find(r, "bad_counter")] == [("snapshots/1/neg.json", "likeCount")]


def test_metadata_without_video_and_video_without_metadata(ds):
    ds.video("novideo", video_file=False)
    ds.write("videos/lonely.webm", b"data")
    ds.write("videos/empty.mp4", b"")
    ds.video("empty", video_file=False)
    r = validate_dataset(str(ds.root))
    assert [p.file for p in _find(r, "missing_video")] == ["metadata/novideo.json"]
    assert [p.file for p in _find(r, "orphan_video")] == ["videos/lonely.webm"]
    assert [p.file for p in _find(r, "empty_video")] == ["videos/empty.mp4"]
    assert not r.ok
    r2 = validate_dataset(str(ds.root), require_videos=False)
    assert _find(r2, "missing_video") == []


def test_duplicated_video_ids_identical_and_conflicting(ds):
    good1 = json.loads((ds.root / "metadata" / "good1.json").read_text())
    ds.write("metadata/good1_copy.json", good1)  # identical copy: one kept
    good2 = json.loads((ds.root / "metadata" / "good2.json").read_text())
    ds.write("metadata/good2_copy.json", {**good2, "title": "another title"})  # conflict: all dropped
    r = validate_dataset(str(ds.root))
    dup = _find(r, "duplicate_id")
    assert {p.file for p in dup} == {"metadata/good1.json", "metadata/good1_copy.json",
                                     "metadata/good2.json", "metadata/good2_copy.json"}
    assert any("kept metadata/good1.json" in p.message for p in dup)
    assert any("conflicting" in p.message for p in dup)
    assert {p.file for p in _find(r, "id_mismatch")} == {"metadata/good1_copy.json", "metadata/good2_copy.json"}
    assert r.n_duplicate_ids == 2 and r.n_usable == 1  # good1 once, good2 never
    assert r.ok  # duplicates are dropped with a report, not fatal


def test_unsafe_ids_never_reach_a_path(ds, tmp_path):
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps({"video_id": "x", "viewCount": 1}))
    ds.write("metadata/evil.json", {**json.loads((ds.root / "metadata/good1.json").read_text()),
                                    "video_id": "../../secret"})
    ds.write("metadata/plat.json", {**json.loads((ds.root / "metadata/good1.json").read_text()),
                                    "video_id": "plat", "platform_id": "you/tube"})
    ds.write("metadata/bad..name.json", "{}")
    ds.write("videos/has space.mp4", b"x")
    r = validate_dataset(str(ds.root))
    unsafe = {(p.file, p.field) for p in _find(r, "unsafe_id")}
    assert unsafe == {("metadata/evil.json", "video_id"), ("metadata/plat.json", "platform_id"),
                      ("metadata/bad..name.json", None), ("videos/has space.mp4", None)}
    assert not any("secret" in p.file for p in r.problems if p.code != "unsafe_id")


def test_missing_and_invalid_metadata_fields(ds):
    ds.video("nopub", publishedAt=DROP)
    ds.video("baddur", duration_seconds="long")
    ds.video("extra", some_new_field={"x": 1})  # unknown fields are fine
    r = validate_dataset(str(ds.root))
    assert [(p.file, p.field) for p in _find(r, "missing_field")] == [("metadata/nopub.json", "publishedAt")]
    assert [(p.file, p.field) for p in _find(r, "invalid_field")] == [("metadata/baddur.json", "duration_seconds")]
    assert r.n_usable == 3  # good1, good2, extra


def test_snapshot_level_problems(ds):
    ds.video("nos1", {2: {"viewCount": 3}})
    ds.video("wrongid", {1: {"viewCount": 3}})
    ds.write("snapshots/1/wrongid.json", {"video_id": "good1", "viewCount": 3})
    ds.video("early", {1: {"viewCount": 3}, 2: {"viewCount": 4, "collected_at": day(1, -2)}})
    ds.write("snapshots/3/ghost.json", {"video_id": "ghost", "viewCount": 1})
    ds.write("snapshots/notes.txt", "hello")
    ds.video("badcomment", {1: {"viewCount": 3, "comments": [{"text": "ok", "likeCount": 2},
                                                             {"text": "bad", "likeCount": -4}]}})
    r = validate_dataset(str(ds.root))
    assert [p.file for p in _find(r, "missing_snapshot_1")] == ["metadata/nos1.json"]
    assert [p.file for p in _find(r, "snapshot_id_mismatch")] == ["snapshots/1/wrongid.json"]
    assert [p.file for p in _find(r, "snapshot_order")] == ["snapshots/2/early.json"]
    assert [p.file for p in _find(r, "orphan_snapshot")] == ["snapshots/3/ghost.json"]
    assert [p.file for p in _find(r, "unexpected_file")] == ["snapshots/notes.txt"]
    assert [(p.file, p.field) for p in _find(r, "invalid_comment")] == [("snapshots/1/badcomment.json",
                                                                         "comments.1.likeCount")]


def test_missing_folders_are_fatal(tmp_path):
    r = validate_dataset(str(tmp_path))
    assert {p.file for p in _find(r, "missing_folder")} == {"metadata/", "snapshots/"}
    assert not r.ok


def test_every_problem_code_has_a_severity():
    assert {s for s, _ in PROBLEM_CODES.values()} == {"error", "warning"}


class _Args:
    def __init__(self, **kw):
        self.__dict__.update(dict(metadata_only=False, report=None, max_per_code=5, workers=1,
                                  storage_options=None), **kw)


def test_cli_exit_codes_and_json_report(ds, tmp_path, capsys):
    assert cmd_validate(_Args(dataset=str(ds.root))) == 0
    ds.write("metadata/broken.json", "{")
    report = tmp_path / "report.json"
    assert cmd_validate(_Args(dataset=str(ds.root), report=str(report))) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "malformed_json" in out and "metadata/broken.json" in out
    data = json.loads(report.read_text())
    assert data["ok"] is False and data["problem_counts"]["malformed_json"] == 1
    assert data["problems"][0]["file"] == "metadata/broken.json"


# ---------------------------------------------------------------- optional fields, counters only (issue #15)

from trendflow.cli import main  # noqa: E402

MINIMAL = {"title": DROP, "madeForKids": DROP, "duration_seconds": DROP}


def test_snapshot_json_may_lack_collected_at_when_every_file_has_its_own(tmp_path, capsys):
    ds = HandDataset(tmp_path, folder_times={1: None, 2: None})
    ds.video("a", {1: {"viewCount": 1, "collected_at": day(1, 1)}, 2: {"viewCount": 5, "collected_at": day(2, -2)}})
    ds.video("b", {1: {"viewCount": 3, "collected_at": day(1, 2)}, 2: {"viewCount": 4, "collected_at": day(2, 4)}})
    assert main(["validate-dataset", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "OK (0 errors, 0 warnings)" in out
    assert "usable videos 2" in out


def test_missing_optional_fields_are_counted_warnings_not_errors(tmp_path, capsys):
    ds = HandDataset(tmp_path)
    ds.video("full")
    ds.video("bare1", **MINIMAL)
    ds.video("bare2", channelTitle=DROP, channel_id="UCx", **MINIMAL)  # the channel id alone is a channel key
    ds.video("nodur", duration_seconds=None)  # null is absent too
    report = tmp_path / "r.json"
    assert main(["validate-dataset", str(tmp_path), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "OK (0 errors, 3 warnings)" in out
    assert "warning missing_optional_field x3" in out
    assert "metadata/ [duration_seconds]: absent in 3 of 4 metadata files (e.g. metadata/bare1.json)" in out
    assert "metadata/ [madeForKids]: absent in 2 of 4 metadata files" in out
    data = json.loads(report.read_text())
    assert data["ok"] and data["n_usable"] == 4
    assert data["missing_optional"] == {"title": 2, "madeForKids": 2, "duration_seconds": 3}


def test_a_video_without_any_channel_key_is_an_error_naming_the_field(tmp_path):
    ds = HandDataset(tmp_path)
    ds.video("ok")
    ds.video("nochan", channelTitle=DROP)
    ds.video("blank", channelTitle="   ", channel_id="")
    r = validate_dataset(str(tmp_path))
    assert {(p.file, p.field) for p in _find(r, "missing_field")} == {("metadata/nochan.json", "channelTitle"),
                                                                      ("metadata/blank.json", "channelTitle")}
    assert not r.ok and r.n_usable == 1


def test_a_dataset_without_video_files_is_counters_only_and_passes(tmp_path, capsys):
    ds = HandDataset(tmp_path)
    ds.video("c1", video_file=False)
    ds.video("c2", video_file=False, **MINIMAL)
    assert main(["validate-dataset", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "OK (0 errors, 3 warnings)" in out and "counters-only dataset: no video files" in out
    assert "only the tabular models apply" in out
    # One video file present: the dataset has content, so the videos that lack theirs are errors again.
    ds.write("videos/c1.mp4", b"\x00\x00\x00\x18ftypmp42")
    assert main(["validate-dataset", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "missing_video x1" in out and "metadata/c2.json" in out and "counters-only dataset:" not in out


def test_validate_shows_progress_and_never_a_traceback_on_bad_options(tmp_path, capsys):
    ds = HandDataset(tmp_path)
    for i in range(3):
        ds.video(f"p{i}")
    assert main(["validate-dataset", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "validate-dataset: metadata files 3/3" in err
    assert main(["validate-dataset", str(tmp_path), "--storage-options", "{not json"]) == 2
    assert "error: --storage-options is not valid JSON" in capsys.readouterr().err
    assert main(["validate-dataset", str(tmp_path), "--report", str(tmp_path / "no" / "dir" / "r.json")]) == 2
    assert "error: cannot write the report" in capsys.readouterr().err
