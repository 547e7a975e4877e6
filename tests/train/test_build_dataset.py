"""The training-data builder on a real small result store (ArtifactStore.write) and a hand-built temporal table."""

import io
import json
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from train.build_dataset import build_training_data, merge_shots
from train.data import collate, load_schema, read_split, read_split_frame
from trendflow.artifacts import ArtifactStore, RunKey

D, DA = 6, 4
VIDEOS = ["v00", "v01", "v02", "v03", "v04", "v05", "v06", "v07"]


def _temporal_table(path):
    n = len(VIDEOS)
    rng = np.random.default_rng(0)
    views = rng.uniform(100, 1e5, n)
    cols = {
        "video_id": VIDEOS, "platform_id": ["youtube"] * n,
        "channel_key": [f"youtube/id:c{i % 4}" for i in range(n)],
        "split": ["train", "train", "train", "train", "val", "val", "test", "test"],
        "age_bucket": ["lt_24h", "d1_30", "gt_30d", "d1_30", "d1_30", "lt_24h", "d1_30", "gt_30d"],
        "published_at": pa.array(np.arange(n) * 10**6, pa.timestamp("us", tz="UTC")),
        "video_age_hours_at_snapshot1": rng.uniform(1, 2000, n), "duration_seconds": rng.uniform(5, 600, n),
        "views_s1": np.where(np.arange(n) == 3, np.nan, views),
        "views_s1_present": np.arange(n) != 3,
        "category": ["Music", "Music", "Gaming", None, "Music", "Gaming", "Comedy", "Music"],
        "category_present": [True, True, True, False, True, True, True, True],
        "horizon_days_7": np.full(n, 7.0),  # bookkeeping, never a feature
        "delta_views_7": rng.uniform(0, 100, n),  # a label in disguise: must not leak into features
    }
    for m in ("views", "likes"):
        for h in (7, 14):
            has = np.ones(n, bool)
            has[1] = h != 7  # video 1 lacks its 7-day snapshot
            cols[f"y_{m}_{h}"] = rng.uniform(0, 8, n)  # a value even where masked: the builder must drop it
            cols[f"has_y_{m}_{h}"] = has
    for h in (7, 14):
        cols[f"has_horizon_{h}"] = cols[f"has_y_views_{h}"]
    meta = {"schema_version": 1, "target_keys": ["views_7", "views_14", "likes_7", "likes_14"]}
    table = pa.table(cols).replace_schema_metadata({b"trendflow.temporal": json.dumps(meta).encode()})
    pq.write_table(table, path)


def _clip_arrays(n_shots, present=None, seed=0):
    rng = np.random.default_rng(seed)
    present = np.ones(n_shots, bool) if present is None else np.asarray(present)
    e = rng.normal(size=(n_shots, D)).astype(np.float32)
    e[~present] = np.nan
    frames = np.flatnonzero(present)
    return {"frame_indices": frames.astype(np.int64), "frame_times_sec": frames.astype(np.float32),
            "frame_embeddings": rng.normal(size=(len(frames), D)).astype(np.float32),
            "frame_shot_index": frames.astype(np.int32), "E_shot": e, "E_shot_present": present}


def _clap_arrays(n_shots, seed=0):
    rng = np.random.default_rng(seed + 100)
    return {"window_start_sec": np.arange(n_shots, dtype=np.float32),
            "window_end_sec": np.arange(n_shots, dtype=np.float32) + 1,
            "window_embeddings": rng.normal(size=(n_shots, DA)).astype(np.float32),
            "window_shot_index": np.arange(n_shots, dtype=np.int32),
            "A_shot": rng.normal(size=(n_shots, DA)).astype(np.float32),
            "A_shot_present": np.ones(n_shots, bool), "A_shot_coverage": np.ones(n_shots, np.float32)}


def _agg_arrays(value):
    return {"names": np.array(["quality_mean", "tempo_bpm"]), "values": np.array([value, np.nan], np.float32),
            "present": np.array([True, False])}


def _run(store, vid, run_id, *, clip=None, clap=None, agg=None, status="ok"):
    key = RunKey("youtube", vid, run_id, "cfgA", "sp1")
    if clip is not None:
        store.write(key, "core_clip", clip)
    if clap is not None:
        store.write(key, "clap_extractor", clap)
    else:
        store.write(key, "clap_extractor", status="empty", empty_reason="no audio track")
    if agg is not None:
        store.write(key, "fusion_aggregates", agg)
    store.finish_run(key, status, error=None if status == "ok" else "boom")
    time.sleep(0.01)  # finished_at has millisecond resolution: keep runs ordered
    return key


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    temporal = root / "temporal.parquet"
    _temporal_table(temporal)
    store = ArtifactStore(str(root / "store"))
    _run(store, "v00", "run-a", clip=_clip_arrays(5), clap=_clap_arrays(5), agg=_agg_arrays(0.5))
    _run(store, "v01", "run-a", clip=_clip_arrays(4, [True, False, True, True]), agg=_agg_arrays(0.1))  # no audio
    _run(store, "v02", "run-a", clip=_clip_arrays(40, seed=2), clap=_clap_arrays(40), agg=_agg_arrays(0.7))  # > max
    _run(store, "v03", "run-old", clip=_clip_arrays(3, seed=3), agg=_agg_arrays(0.2))
    _run(store, "v03", "run-new", clip=_clip_arrays(2, seed=4), agg=_agg_arrays(0.9))  # latest ok run wins
    _run(store, "v03", "run-broken", clip=_clip_arrays(7, seed=5), status="error")  # failed: never used
    # v04: no run at all
    for i, vid in enumerate(VIDEOS[5:]):
        _run(store, vid, "run-a", clip=_clip_arrays(3, seed=10 + i), clap=_clap_arrays(3, seed=i),
             agg=_agg_arrays(0.3))
    out = root / "train_data"
    card = build_training_data(None, str(root / "store"), str(out), temporal_path=str(temporal), max_shots=16,
                               log=lambda *_: None)
    return {"root": root, "store": store, "temporal": temporal, "out": str(out), "card": card}


def test_card_describes_the_data(built):
    card = built["card"]
    assert card["targets"] == ["views", "likes"] and card["horizons"] == [7, 14]
    assert card["splits"] == {"train": 4, "val": 2, "test": 2}
    assert (card["e_dim"], card["a_dim"], card["max_shots"]) == (D, DA, 16)
    assert card["views_t0_column"] == "views_s1"
    assert card["feature_schema_versions"] == {"temporal": 1, "core_clip": 1, "clap_extractor": 1,
                                               "fusion_aggregates": 1}
    assert card["sampling_policy_version"] == "sp1" and card["config_hash"] == "cfgA"
    assert len(card["training_data_version"]) == 16
    feats = card["temporal_features"]
    assert {"views_s1", "views_s1_present", "duration_seconds", "category=Music", "category=other"} <= set(feats)
    assert not [f for f in feats if f.startswith(("y_", "has_", "delta_", "horizon_"))]  # no label leaks in
    assert card["content_features"] == ["quality_mean", "quality_mean_present", "tempo_bpm", "tempo_bpm_present"]
    assert card["coverage"] == {"videos": 8, "with_run": 7, "visual": 7, "audio": 5, "aggregates": 7}
    problems = {p["video_id"]: " ".join(p["problems"]) for p in card["problems"]}
    assert "no successful run" in problems["v04"] and "no audio track" in problems["v01"]


def test_rows_join_the_right_run_and_mask_what_is_missing(built):
    train = read_split(built["out"], "train").to_pandas().set_index("video_id")
    assert train.loc["v03", "content_run_id"] == "run-new"
    assert train.loc["v03", "quality_mean"] == pytest.approx(0.9)
    assert np.isnan(train.loc["v00", "tempo_bpm"]) and train.loc["v00", "tempo_bpm_present"] == 0.0
    assert len(train.loc["v03", "E_mask"]) == 2  # the newest ok run's 2 shots, not the failed run's 7
    assert list(train.loc["v01", "E_mask"]) == [True, False, True, True]
    assert len(train.loc["v01", "A_mask"]) == 0  # no audio: an empty, masked list
    assert len(train.loc["v02", "E_mask"]) == 16  # 40 shots merged to max_shots
    assert np.isnan(train.loc["v01", "y_views_7"]) and np.isfinite(train.loc["v01", "y_views_14"])
    assert np.isnan(train.loc["v03", "views_s1"])
    assert np.isnan(train.loc["v03", "category=Music"])  # a missing category is NaN, not a zero one-hot
    val = read_split(built["out"], "val").to_pandas().set_index("video_id")
    assert val.loc["v04", "content_run_id"] != val.loc["v04", "content_run_id"]  # null (NaN in pandas)
    assert len(val.loc["v04", "E_mask"]) == 0


def test_collated_batch_pads_and_masks(built):
    schema = load_schema(built["out"])
    table = read_split(built["out"], "train")
    batch = collate(table, schema, schema.meta_features(True))
    n = len(table)
    assert batch["E_shot"].shape == (n, 16, D) and batch["A_shot"].shape == (n, 16, DA)
    assert batch["targets"].shape == batch["target_mask"].shape == (n, 2, 2)
    assert batch["meta"].shape == (n, len(schema.meta_features(True)))
    assert not batch["E_shot"].isnan().any()  # absent shots carry zeros behind a False mask, never NaN
    order = table["video_id"].to_pylist()
    v01 = order.index("v01")
    assert batch["E_mask"][v01].tolist()[:5] == [True, False, True, True, False]
    assert not batch["A_mask"][v01].any()
    assert not batch["target_mask"][v01, 0, 0] and batch["target_mask"][v01, 0, 1]


def test_training_data_version_is_a_content_hash(built, tmp_path):
    again = build_training_data(None, str(built["root"] / "store"), str(tmp_path / "again"),
                                temporal_path=str(built["temporal"]), max_shots=16, log=lambda *_: None)
    assert again["training_data_version"] == built["card"]["training_data_version"]
    store = built["store"]
    _run(store, "v04", "run-late", clip=_clip_arrays(2, seed=42), agg=_agg_arrays(0.4))  # new content
    changed = build_training_data(None, str(built["root"] / "store"), str(tmp_path / "changed"),
                                  temporal_path=str(built["temporal"]), max_shots=16, log=lambda *_: None)
    assert changed["training_data_version"] != built["card"]["training_data_version"]
    assert changed["coverage"]["visual"] == 8


def test_aggregates_table_is_used_when_present(built, tmp_path):
    store = built["store"]
    rows = [{"platform_id": "youtube", "video_id": "v00", "run_id": "run-a", "quality_mean": 123.0,
             "quality_mean_present": True, "pacing_x": 1.5, "pacing_x_present": True}]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    store.storage.write_bytes("_tables/aggregates.parquet", buf.getvalue())
    try:
        card = build_training_data(None, str(built["root"] / "store"), str(tmp_path / "t"),
                                   temporal_path=str(built["temporal"]), max_shots=16, log=lambda *_: None)
    finally:
        store.storage.remove("_tables/aggregates.parquet")
    assert card["content_features"] == ["quality_mean", "quality_mean_present", "pacing_x", "pacing_x_present"]
    frame = read_split_frame(str(tmp_path / "t"), "train").set_index("video_id")
    assert frame.loc["v00", "quality_mean"] == 123.0
    assert frame.loc["v01", "pacing_x"] != frame.loc["v01", "pacing_x"]  # not in the table's run: falls back


def test_merge_shots_keeps_absent_groups_absent():
    emb = np.arange(10, dtype=np.float32).reshape(10, 1)
    present = np.array([1, 1, 0, 0, 1, 1, 1, 1, 1, 1], bool)
    out, mask = merge_shots(emb, present, 5)
    assert out.shape == (5, 1)
    assert mask.tolist() == [True, False, True, True, True]
    assert out[:, 0].tolist() == [0.5, 0.0, 4.5, 6.5, 8.5]
    same, same_mask = merge_shots(emb, present, 16)
    assert same is emb and same_mask is present


def test_bad_inputs_get_clear_errors(built, tmp_path):
    from train.data import TrainingDataError
    with pytest.raises(TrainingDataError, match="max_shots"):
        build_training_data(None, str(built["root"] / "store"), str(tmp_path / "x"),
                            temporal_path=str(built["temporal"]), max_shots=300)
    with pytest.raises(TrainingDataError, match="--temporal"):
        build_training_data(None, str(built["root"] / "store"), str(tmp_path / "x"))


def test_cli_builds_the_same_data(built, tmp_path, capsys):
    from trendflow.cli import main
    out = tmp_path / "cli"
    assert main(["build-dataset", "--temporal", str(built["temporal"]), "--store", str(built["root"] / "store"),
                 "--out", str(out), "--max-shots", "16"]) == 0
    assert "training_data_version" in capsys.readouterr().out
    assert (out / "dataset_card.json").exists() and load_schema(str(out)).e_dim == D
    assert main(["build-dataset", "--store", str(built["root"] / "store"), "--out", str(tmp_path / "x")]) == 2
    assert "--temporal" in capsys.readouterr().err


def test_a_store_that_does_not_exist_is_an_error_not_a_problem_per_video(built, tmp_path):
    from train.data import TrainingDataError
    with pytest.raises(TrainingDataError, match="does not exist.*counters-only"):
        build_training_data(None, str(tmp_path / "no_store"), str(tmp_path / "x"),
                            temporal_path=str(built["temporal"]), log=lambda *_: None)


def test_temporal_table_and_training_data_on_s3(built, s3_server, tmp_path):
    from train.data import TrainDir
    from train.uris import write_file
    opts = s3_server["storage_options"]
    write_file("s3://trendflow/build/temporal.parquet", built["temporal"].read_bytes(), opts)
    card = build_training_data(None, str(built["root"] / "store"), "s3://trendflow/build/train_data",
                               temporal_path="s3://trendflow/build/temporal.parquet", storage_options=opts,
                               max_shots=16, log=lambda *_: None)
    local = build_training_data(None, str(built["root"] / "store"), str(tmp_path / "local"),
                                temporal_path=str(built["temporal"]), max_shots=16, log=lambda *_: None)
    assert card["training_data_version"] == local["training_data_version"]  # the same rows as a local build
    td = TrainDir("s3://trendflow/build/train_data", opts)
    assert td.card()["splits"] == {"train": 4, "val": 2, "test": 2}
    ids = ["platform_id", "video_id", "content_run_id"]  # (NaN ≠ NaN would fail a whole-table equals)
    assert read_split(td, "val", ids).equals(read_split(str(tmp_path / "local"), "val", ids))
