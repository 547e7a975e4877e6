"""The streaming loader: pydantic models keep unknown fields, ids are validated, fsspec roots work."""

from __future__ import annotations

import json
from datetime import timezone

import fsspec
import pytest

from trendflow.dataset import DatasetReader, VideoMetadata, VideoSnapshot
from trendflow.temporal import build_temporal_table

from .test_dataset_fixtures import HandDataset, day, metadata


def test_models_keep_unknown_fields_and_parse_api_style_values():
    m = VideoMetadata.model_validate({**metadata("v1"), "crawler_note": {"batch": 3}, "tags": None})
    assert m.model_extra == {"crawler_note": {"batch": 3}} and m.platform_id == "youtube"
    assert m.publishedAt.tzinfo is not None and m.tags is None
    assert json.loads(m.model_dump_json())["crawler_note"] == {"batch": 3}
    s = VideoSnapshot.model_validate({"video_id": "v1", "viewCount": "1234", "shares": 7,
                                      "collected_at": "2025-03-03T12:00:00"})
    assert s.viewCount == 1234 and s.model_extra == {"shares": 7}
    assert s.collected_at.tzinfo == timezone.utc  # naive times are UTC


def test_records_stream_one_per_metadata_file_with_effective_times(tmp_path):
    ds = HandDataset(tmp_path)
    for i in range(5):
        ds.video(f"v{i}", {1: {"viewCount": i}, 2: {"viewCount": i + 1, "collected_at": day(2, i)}})
    reader = DatasetReader(str(tmp_path))
    it = iter(reader)
    first = next(it)  # a generator: nothing beyond the first record has been read yet
    assert first.video_id == "v0" and first.snapshot_times[2] == day(2, 0)
    rest = list(it)
    assert [r.video_id for r in rest] == ["v1", "v2", "v3", "v4"]
    assert rest[-1].snapshot_times == {1: day(1), 2: day(2, 4)}
    assert reader.finish().problems == []


def test_threaded_reading_gives_the_same_records_in_order(tmp_path):
    ds = HandDataset(tmp_path)
    for i in range(40):
        ds.video(f"v{i:02d}", {1: {"viewCount": i}, 3: {"viewCount": 2 * i}})
    seq = [(r.video_id, r.snapshots[3].viewCount) for r in DatasetReader(str(tmp_path))]
    par = [(r.video_id, r.snapshots[3].viewCount) for r in DatasetReader(str(tmp_path), workers=4)]
    assert seq == par and len(seq) == 40


def test_memory_filesystem_root(tmp_path):
    fs = fsspec.filesystem("memory")
    root = "memory://tf-loader-test"
    src = HandDataset(tmp_path)
    src.video("m1", {1: {"viewCount": 10}, 2: {"viewCount": 25}})
    src.video("m2", {1: {"viewCount": 1}}, video_file=False)
    for p in tmp_path.rglob("*"):
        if p.is_file():
            fs.pipe(f"/tf-loader-test/{p.relative_to(tmp_path).as_posix()}", p.read_bytes())
    try:
        records = list(DatasetReader(root, require_videos=False))
        assert [r.video_id for r in records] == ["m1", "m2"]
        assert records[0].video_file == "videos/m1.mp4" and records[1].video_file is None
        res = build_temporal_table(root)
        assert res.table.column("y_views_7").to_pylist()[0] == pytest.approx(2.772588722)  # log1p(15)
    finally:
        fs.rm("/tf-loader-test", recursive=True)


def test_s3_root_on_a_real_s3_server(tmp_path, s3_server):
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server["endpoint_url"]}, key="testing",
                           secret="testing")
    src = HandDataset(tmp_path)
    src.video("s1", {1: {"viewCount": 10}, 4: {"viewCount": 30}})
    src.write("metadata/broken.json", "{")
    for p in tmp_path.rglob("*"):
        if p.is_file():
            fs.pipe(f"trendflow/ds/{p.relative_to(tmp_path).as_posix()}", p.read_bytes())
    reader = DatasetReader("s3://trendflow/ds", s3_server["storage_options"], workers=4)
    records = {r.metadata_file: r for r in reader}
    assert records["metadata/s1.json"].snapshots[4].viewCount == 30
    assert [p.code for p in records["metadata/broken.json"].problems] == ["malformed_json"]
