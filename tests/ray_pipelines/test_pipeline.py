"""The real extraction pipeline on a real local Ray cluster and real mp4 files."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ray_pipelines.pipeline import ExtractRequest, run_extract
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import ArtifactStore
from trendflow.components import get_spec
from trendflow.index import ArtifactIndex, IndexKey
from trendflow.tables import read_aggregates

TEST_CONFIG = """
extract:
  clip: {model_name: trendflow-clip-tiny}
  chunk_frames: 16
audio:
  clap: {model_name: trendflow-clap-tiny}
"""
MAX_CALLS_PER_VIDEO = 20  # storage calls on the whole write path of one video (issue #11)
PER_VIDEO = ("sampling_plan", "cut_detection", "shot_quality", "video_pacing", "shot_thumbnails", "core_clip",
             "scene_classification", "video_audio_extractor", "loudness", "tempo", "clap_extractor", "fusion_aggregates")


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    p = tmp_path_factory.mktemp("cfg") / "test.yaml"
    p.write_text(TEST_CONFIG)
    return str(p)


def extract(dataset, store, config, **kw):
    return run_extract(ExtractRequest(dataset=str(dataset), store=str(store), config_path=config, progress=False,
                                      **kw), log=lambda *_: None)


def calls_by_video(log_path, videos):
    from trendflow.storage import split_calls
    return split_calls(str(log_path), videos)


def assert_few_calls(per_video, run_level, n_videos):
    for vid, calls in per_video.items():
        assert 10 <= len(calls) <= MAX_CALLS_PER_VIDEO, (vid, len(calls), calls)
    # per-run constants (listings, summary, the table part) stay small: amortised over a corpus
    assert len(run_level) <= 20, run_level


@pytest.fixture(scope="module")
def call_log(tmp_path_factory):
    """The call log of the `extracted` run (the only run whose config names it)."""
    return tmp_path_factory.mktemp("calls") / "calls.log"


@pytest.fixture(scope="module")
def extracted(ray_cluster, good_dataset, config, call_log, tmp_path_factory):
    root, truths = good_dataset
    store = tmp_path_factory.mktemp("store")
    counted = tmp_path_factory.mktemp("cfg") / "counted.yaml"
    counted.write_text(TEST_CONFIG + f"storage: {{call_log: {call_log}}}\n")
    summary = extract(root, store, str(counted))
    return root, truths, store, summary, config


def test_all_videos_extracted_with_valid_artifacts(extracted):
    root, truths, store_dir, summary, _ = extracted
    assert summary.failed == {} and sorted(summary.done) == ["vidA", "vidB", "vidC"]
    store = ArtifactStore(str(store_dir))
    for vid, truth in truths.items():
        key = store.key_for("youtube", vid, summary.run_id)
        manifest = store.manifest(key)
        assert manifest["status"] == "ok" and set(PER_VIDEO) <= set(manifest["components"])
        assert store.verify_run(key) == []
        cuts = store.read(key, "cut_detection").arrays
        clip = store.read(key, "core_clip")
        n_shots = len(cuts["shot_start_sec"])
        assert clip.arrays["E_shot"].shape == (n_shots, 128) and clip.arrays["E_shot_present"].all()
        assert clip.meta["weights"] == "random-init" and clip.meta["model_version"] == "random-init"
        assert n_shots == len(truth.cut_frames) + 1  # 3 shots with 2 hard cuts, found exactly
        quality = store.read(key, "shot_quality").arrays
        assert quality["quality_score"].shape == (n_shots,)


def test_write_path_storage_calls_per_video_local(extracted, call_log):
    """Every NPZ is one PUT, the manifest and the index pointer one each; nothing is read back."""
    per_video, run_level = calls_by_video(call_log, list(extracted[1]))
    assert_few_calls(per_video, run_level, 3)
    store_dir = str(extracted[2])
    methods = [m for m, _ in per_video["vidA"]]
    assert methods.count("pipe_file") == len(PER_VIDEO) + 2  # 12 artifacts + manifest + index pointer
    assert [p for m, p in per_video["vidA"] if m == "cat_file" and p.startswith(store_dir)] == []  # no read-back


def test_online_equals_batch(extracted, tmp_path):
    """ray_pipelines.online.extract_one (what the Serve app calls) writes the same artifacts."""
    from ray_pipelines.online import extract_one
    from ray_pipelines.pipeline import Configs
    root, _, store_dir, summary, config = extracted
    batch = ArtifactStore(str(store_dir))
    online_store = ArtifactStore(str(tmp_path / "online"))
    result = extract_one(str(root / "videos" / "vidA.mp4"), Configs.load(config, str(tmp_path / "online")))
    assert result.status == "ok" and result.config_hash == summary.config_hash, result.error
    key_b = batch.key_for("youtube", "vidA", summary.run_id)
    key_o = online_store.key_for("youtube", "vidA", result.run_id)
    assert sorted(online_store.manifest(key_o)["components"]) == sorted(batch.manifest(key_b)["components"])
    for component in PER_VIDEO:
        a, b = batch.read(key_b, component), online_store.read(key_o, component)
        assert sorted(a.arrays) == sorted(b.arrays), component
        for name in a.arrays:
            x, y = a.arrays[name], b.arrays[name]
            if x.dtype.kind in "fc":
                np.testing.assert_allclose(x, y, atol=1e-5, rtol=0, err_msg=f"{component}.{name}")
            else:
                np.testing.assert_array_equal(x, y, err_msg=f"{component}.{name}")
        skip = {"created_at", "run_id", "timing_s"}
        assert {k: v for k, v in a.meta.items() if k not in skip} == \
            {k: v for k, v in b.meta.items() if k not in skip}, component
    key = IndexKey("youtube", "vidA", summary.config_hash, summary.sampling_policy_version, DATAPROCESSOR_VERSION)
    assert ArtifactIndex(online_store).lookup(key) == result.run_id
    again = extract_one(str(root / "videos" / "vidA.mp4"), Configs.load(config, str(tmp_path / "online")))
    assert again.status == "cached" and again.run_id == result.run_id


def test_video_without_audio_is_empty_not_error(extracted):
    _, _, store_dir, summary, _ = extracted
    store = ArtifactStore(str(store_dir))
    key = store.key_for("youtube", "vidC", summary.run_id)
    audio = store.read(key, "video_audio_extractor")
    assert audio.status == "empty" and "audio" in audio.meta["empty_reason"]
    clap = store.read(key, "clap_extractor")
    assert clap.status == "empty"
    aggregates = store.read(key, "fusion_aggregates").arrays
    names = list(aggregates["names"])
    assert not aggregates["present"][names.index("audio_integrated_lufs")]
    assert aggregates["present"][names.index("quality_mean")]


def test_aggregates_table(extracted):
    _, _, store_dir, summary, _ = extracted
    store = ArtifactStore(str(store_dir))
    parts = [p for p in store.storage.find(f"_tables/aggregates/{summary.run_id}") if p.endswith(".parquet")]
    assert parts  # this run's own part file(s), written with Ray Data
    table = read_aggregates(store).to_pandas()
    assert sorted(table.video_id) == ["vidA", "vidB", "vidC"]
    for vid in ("vidA", "vidB", "vidC"):  # the table holds what the fusion_aggregates artifact holds
        art = store.read(store.key_for("youtube", vid, summary.run_id), "fusion_aggregates").arrays
        row = table[table.video_id == vid].iloc[0]
        for name, value, present in zip(art["names"], art["values"], art["present"]):
            assert bool(row[f"{name}_present"]) == bool(present)
            if present:
                assert row[name] == pytest.approx(float(value), rel=1e-6)
    assert 30 <= len([c for c in table.columns if not c.endswith("_present")]) - 3 <= 80
    assert table.loc[table.video_id == "vidC", "audio_integrated_lufs"].isna().all()
    assert table["n_shots"].eq(3).all()


def test_rerun_is_fully_cached(extracted):
    root, _, store_dir, first, config = extracted
    again = extract(root, store_dir, config)
    assert again.done == [] and len(again.cached) == 3 and again.failed == {}
    assert again.wall_s < 1.0  # nothing was sent to Ray


def test_same_run_id_reuses_written_components(extracted):
    root, _, store_dir, first, config = extracted
    again = extract(root, store_dir, config, run_id=first.run_id, force=True, videos=["vidA"])
    assert again.failed == {} and again.done == ["vidA"]  # force recomputes...
    resumed = extract(root, store_dir, config, run_id=first.run_id, videos=["vidB"])
    assert resumed.cached == ["vidB"]
    store = ArtifactStore(str(store_dir))
    key = IndexKey("youtube", "vidB", first.config_hash, first.sampling_policy_version, DATAPROCESSOR_VERSION)
    assert ArtifactIndex(store).lookup(key) == first.run_id


def test_bad_inputs_are_recorded_and_others_complete(ray_cluster, bad_dataset, config, tmp_path):
    summary = extract(bad_dataset, tmp_path / "store", config)
    assert "bad..id.mp4" in summary.rejected and "'..'" in summary.rejected["bad..id.mp4"]
    for vid in ("zero_byte", "truncated", "not_a_video", "audio_only"):
        assert vid in summary.failed, vid
        assert summary.failed[vid]  # a reason
    for vid in ("good", "one_frame", "half_second", "portrait", "vfr", "rotated", "odd_size", "big_4k"):
        assert vid in summary.done, (vid, summary.failed.get(vid))
    store = ArtifactStore(str(tmp_path / "store"))
    key = store.key_for("youtube", "zero_byte", summary.run_id)
    manifest = store.manifest(key)
    assert manifest["status"] == "error" and manifest["error"]
    cut = store.read(key, "cut_detection")
    assert cut.status == "error" and cut.meta["empty_reason"]
    portrait = store.key_for("youtube", "portrait", summary.run_id)
    assert store.read(portrait, "core_clip").arrays["E_shot"].shape[0] >= 1


def test_killed_run_resumes_without_losing_finished_videos(ray_cluster, good_dataset, config, tmp_path):
    """The driver and its Ray die mid-run; the next run reuses what finished and continues the
    unfinished run folders: every video ends with exactly one run folder, ok, and no orphans."""
    root, _ = good_dataset
    store_dir = tmp_path / "store"
    cmd = [sys.executable, "-m", "trendflow", "extract", "--dataset", str(root), "--store", str(store_dir),
           "--config", config]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 300
    finished = []
    while time.time() < deadline and not finished:
        finished = [m for m in store_dir.glob("youtube/*/*/manifest.json") if json.loads(m.read_text())["status"] == "ok"]
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its local Ray die mid-run
    proc.wait()
    assert finished, "no video finished before the deadline"
    again = extract(root, store_dir, config)
    cached = set(again.cached)
    assert {p.parts[-3] for p in finished} <= cached
    # A video killed between its manifest and its index pointer is not a cache hit: the next run finds all
    # of its components valid and reuses them ("resumed"), writing the pointer.
    assert again.failed == {} and sorted(cached | set(again.done) | set(again.resumed)) == ["vidA", "vidB", "vidC"]
    third = extract(root, store_dir, config)  # every video is now in the index
    assert sorted(third.cached) == ["vidA", "vidB", "vidC"] and not third.done and not third.resumed
    store = ArtifactStore(str(store_dir))
    for vid in ("vidA", "vidB", "vidC"):
        folders = store.list_video("youtube", vid)
        assert len(folders) == 1 and all(f.has_manifest for f in folders.values()), (vid, folders)
        key = store.key_for("youtube", vid, next(iter(folders)))
        assert store.manifest(key)["status"] == "ok" and store.verify_run(key) == []
    assert set(again.adopted) <= set(again.done)


def test_s3_dataset_and_store(ray_cluster, good_dataset, config, s3_server, tmp_path):
    import fsspec
    root, _ = good_dataset
    fs = fsspec.filesystem("s3", **s3_server["storage_options"])
    fs.put(str(root / "videos" / "vidA.mp4"), "trendflow/ds/videos/vidA.mp4")
    cfg = tmp_path / "s3.yaml"
    log = tmp_path / "calls.log"
    cfg.write_text(TEST_CONFIG + f"storage:\n  storage_options: {json.dumps(s3_server['storage_options'])}\n"
                                 f"  call_log: {log}\n")
    summary = extract("s3://trendflow/ds", "s3://trendflow/s3store", str(cfg))
    assert summary.failed == {} and summary.done == ["vidA"]
    per_video, run_level = calls_by_video(log, ["vidA"])
    assert_few_calls(per_video, run_level, 1)
    assert ("get_file", "trendflow/ds/videos/vidA.mp4") in per_video["vidA"]  # workers read the video from S3
    store = ArtifactStore("s3://trendflow/s3store", s3_server["storage_options"])
    key = store.key_for("youtube", "vidA", summary.run_id)
    assert store.verify_run(key) == [] and get_spec("core_clip")
    assert read_aggregates(store).column("video_id").to_pylist() == ["vidA"]
    assert ArtifactIndex(store).hits(summary.config_hash, summary.sampling_policy_version,
                                     DATAPROCESSOR_VERSION) == {("youtube", "vidA")}


def test_inspect_shows_e_shot(extracted):
    _, _, store_dir, summary, _ = extracted
    out = subprocess.run([sys.executable, "-m", "trendflow", "inspect", "--store", str(store_dir), "--video", "vidA",
                          "--component", "core_clip", "--json"], capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    assert np.asarray(doc["arrays"]["E_shot"]).shape == (3, 128) and doc["meta"]["producer"] == "core_clip"
