"""Counters-only data end to end, data side (issue #15): validate -> temporal, horizons 1/3/5 days said once.

Two counters-only datasets, as a new user would bring them:
- `trendflow synth --no-video-files --minimal-metadata --snapshot-days 0,1,3,5`: no video files and only the
  required metadata fields (no duration_seconds, madeForKids, title), snapshots 1, 3 and 5 days apart;
- `trendflow import-counters` of a long table (one row per video and collection, like a public trending
  data set) with planted bad rows.
The targets are declared once, in the `targets:` section of one config file (`counters_config`); the
training side extends these datasets through build-dataset -> compare with the same file.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trendflow.cli import main
from trendflow.dataset import DatasetReader
from trendflow.temporal import read_temporal_table

HORIZONS = [1, 3, 5]
N_VIDEOS = 160


def counters_config(path) -> str:
    """The one place the targets are said: horizons 1/3/5 days (tolerance below half the 2-day gap)."""
    path.write_text("# used by: trendflow temporal / build-dataset / compare on counters-only data\n"
                    "targets:\n  metrics: {views: viewCount, likes: likeCount}\n"
                    f"  horizons_days: {HORIZONS}\n  tolerance_days: 0.45\n")
    return str(path)


def synth_counters_only(root) -> str:
    assert main(["synth", "--out", str(root), "--videos", str(N_VIDEOS), "--seed", "7", "--no-video-files",
                 "--minimal-metadata", "--snapshot-days", "0,1,3,5"]) == 0
    return str(root)


def long_table_from(dataset, path, bad_rows=()) -> str:
    """A long Parquet table (video_id, collected_at, counters, publishedAt, channel) of a dataset's snapshots,
    with the effective collection time of each snapshot, then `bad_rows` appended."""
    rows = []
    reader = DatasetReader(str(dataset), require_videos=False)
    records = [rec for rec in reader if rec.usable]
    drop = reader.finish().drop_files  # duplicated ids, as the temporal table drops them
    for rec in records:
        if rec.metadata_file in drop:
            continue
        for k, snap in sorted(rec.snapshots.items()):
            rows.append({"video_id": rec.video_id, "collected_at": rec.snapshot_times[k].isoformat(),
                         "viewCount": snap.viewCount, "likeCount": snap.likeCount, "commentCount": snap.commentCount,
                         "publishedAt": rec.metadata.publishedAt.isoformat(), "channelTitle": rec.metadata.channelTitle,
                         "channel_id": rec.metadata.channel_id})
    rows += list(bad_rows)
    cols = {k: [r.get(k) for r in rows] for k in rows[0]}
    for c in ("viewCount", "likeCount", "commentCount"):
        cols[c] = pa.array([None if v is None else str(v) for v in cols[c]], pa.string())  # as a CSV export has them
    pq.write_table(pa.table(cols), path)
    return str(path)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("counters_only")


@pytest.fixture(scope="module")
def synth_dataset(workdir):
    return synth_counters_only(workdir / "synth")


@pytest.fixture(scope="module")
def synth_temporal(workdir, synth_dataset):
    out = workdir / "synth.parquet"
    assert main(["temporal", "--dataset", synth_dataset, "--out", str(out),
                 "--config", counters_config(workdir / "cfg.yaml")]) == 0
    return str(out)


def _validate_and_temporal(dataset, out, cfg, capsys):
    assert main(["validate-dataset", dataset]) == 0
    text = capsys.readouterr().out
    assert "OK (0 errors" in text and "counters-only dataset: no video files" in text
    assert main(["temporal", "--dataset", dataset, "--out", str(out), "--config", cfg]) == 0
    text = capsys.readouterr().out
    return read_temporal_table(str(out)), text


def test_synth_counters_only_through_validate_and_temporal(synth_dataset, workdir, capsys):
    cfg = counters_config(workdir / "cfg.yaml")
    (table, meta), text = _validate_and_temporal(synth_dataset, workdir / "synth_again.parquet", cfg, capsys)
    assert meta["targets"]["horizons_days"] == HORIZONS and meta["target_keys"][:3] == ["views_1", "views_3",
                                                                                         "views_5"]
    df = table.to_pandas()
    assert len(df) >= N_VIDEOS - 1  # one duplicated id (0.5%) is dropped when its copy conflicts
    for h in HORIZONS:
        assert df[f"has_y_views_{h}"].mean() > (0.6 if h == 1 else 0.9), h  # snapshot 2 is missing for 30%
        assert f"y_views_{h}" in text
    for name in ("duration_seconds", "made_for_kids", "title_length"):
        assert df[name].isna().all() and not df[f"{name}_present"].any(), name
    assert df["video_file"].isna().all()


def test_imported_counters_through_validate_and_temporal_keep_the_labels(synth_dataset, synth_temporal, workdir,
                                                                         capsys):
    """import-counters of the synth dataset's long table gives the same labels as the dataset itself."""
    bad = [{"video_id": "bad..id", "collected_at": "2025-03-03T09:00:00Z", "viewCount": "5",
            "publishedAt": "2025-03-01T00:00:00Z", "channelTitle": "x"},
           {"video_id": "okid", "collected_at": "not a time", "viewCount": "-5",
            "publishedAt": "2025-03-01T00:00:00Z", "channelTitle": "x"}]
    table_path = long_table_from(synth_dataset, workdir / "long.parquet", bad)
    n_rows = pq.read_metadata(table_path).num_rows
    out = workdir / "imported"
    assert main(["import-counters", "--table", table_path, "--out", str(out), "--every-collection"]) == 0
    text = capsys.readouterr().out
    assert f"counters row {n_rows - 1} ['bad..id']: unsafe video_id" in text
    assert f"counters row {n_rows} [okid]: collected_at 'not a time' is not a time" in text
    assert "viewCount '-5' is negative" in text
    cfg = counters_config(workdir / "cfg2.yaml")
    (imported, meta), _ = _validate_and_temporal(str(out), workdir / "imported.parquet", cfg, capsys)
    assert meta["targets"]["horizons_days"] == HORIZONS
    original = read_temporal_table(synth_temporal)[0].to_pandas().set_index("video_id")
    mine = imported.to_pandas().set_index("video_id")
    assert sorted(mine.index) == sorted(original.index)
    mine = mine.loc[original.index]
    for key in meta["target_keys"]:
        assert (mine[f"has_y_{key}"] == original[f"has_y_{key}"]).all(), key
        both = original[f"has_y_{key}"]
        assert np.allclose(mine.loc[both, f"y_{key}"], original.loc[both, f"y_{key}"]), key
    assert math.isclose(mine["views_s1"].sum(), original["views_s1"].sum())
