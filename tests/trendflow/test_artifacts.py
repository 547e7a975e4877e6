import json

import numpy as np
import pytest

from tests.trendflow.conftest import key, toy_arrays
from trendflow.artifacts import ArtifactError, ArtifactStore, RunKey


def test_round_trip_with_meta(store, toy_components):
    rel = store.write(key(), "toy_shots", toy_arrays(), timing_s=0.5, model_name="m", model_version="random-init",
                      weights="random-init")
    assert rel == "youtube/vid1/run-1/toy_shots/toy_shots.npz"
    art = store.read(key(), "toy_shots")
    np.testing.assert_array_equal(art.arrays["E_shot"], toy_arrays()["E_shot"])
    m = art.meta
    assert (m["producer"], m["status"], m["video_id"], m["run_id"], m["config_hash"]) == (
        "toy_shots", "ok", "vid1", "run-1", "cfg123")
    assert m["sampling_policy_version"] == "sp1" and m["weights"] == "random-init"
    assert m["empty_reason"] is None and m["created_at"].endswith("Z")
    manifest = store.manifest(key())
    entry = manifest["components"]["toy_shots"]
    assert entry["status"] == "ok" and entry["timing_s"] == 0.5 and len(entry["sha256"]) == 64
    assert manifest["status"] == "running"
    assert store.finish_run(key(), "ok")["status"] == "ok"


def test_missing_values_stay_nan_and_masked(store, toy_components):
    arrays = toy_arrays()
    arrays["E_shot"][1] = np.nan
    arrays["E_shot_present"][1] = False
    store.write(key(), "toy_shots", arrays)
    art = store.read(key(), "toy_shots")
    assert np.isnan(art.arrays["E_shot"][1]).all() and not art.arrays["E_shot_present"][1]


@pytest.mark.parametrize("mutate, match", [
    (lambda a: a.update(E_shot_present=np.ones(5, bool)), "dimension 'n_shots' is 5 here but 3"),
    (lambda a: a.update(shot_start_sec=np.array([0, 2, 1], np.float32)), "sorted_unique"),
    (lambda a: a.update(shot_start_sec=np.array([-1, 2, 3], np.float32)), "nonneg"),
    (lambda a: a.pop("E_shot"), "required array 'E_shot' is missing"),
    (lambda a: a.update(E_shot=np.zeros(3, np.float32)), "1-d array"),
])
def test_invalid_arrays_are_rejected_and_nothing_is_written(store, toy_components, mutate, match):
    arrays = toy_arrays()
    mutate(arrays)
    with pytest.raises(ArtifactError, match=match):
        store.write(key(), "toy_shots", arrays)
    assert not store.storage.exists(store.artifact_path(key(), "toy_shots"))


def test_undeclared_array_and_unknown_component(store, toy_components):
    with pytest.raises(KeyError, match="declares no array 'oops'"):
        store.write(key(), "toy_shots", {**toy_arrays(), "oops": np.zeros(1)})
    with pytest.raises(KeyError, match="unknown component 'nope'"):
        store.write(key(), "nope", {})


def test_empty_and_error_statuses(store, toy_components):
    store.write(key(), "toy_shots", {}, status="empty", empty_reason="no audio track")
    art = store.read(key(), "toy_shots")
    assert art.status == "empty" and art.meta["empty_reason"] == "no audio track" and art.arrays == {}
    with pytest.raises(ArtifactError, match="needs empty_reason"):
        store.write(key(), "toy_shots", {}, status="error")


def test_corrupt_and_truncated_npz_are_detected(store, toy_components):
    store.write(key(), "toy_shots", toy_arrays())
    path = store.storage.path(store.artifact_path(key(), "toy_shots"))
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="corrupt or truncated NPZ"):
        store.read(key(), "toy_shots")
    assert any("checksum mismatch" in p for p in store.verify_run(key()))
    open(path, "wb").write(b"not a zip at all")
    with pytest.raises(ArtifactError, match="corrupt or truncated"):
        store.read(key(), "toy_shots")


def test_manifest_pointing_to_missing_file(store, toy_components):
    store.write(key(), "toy_shots", toy_arrays())
    store.storage.remove(store.artifact_path(key(), "toy_shots"))
    assert store.verify_run(key()) == [
        "toy_shots: manifest points to missing file youtube/vid1/run-1/toy_shots/toy_shots.npz"]


def test_failed_write_leaves_no_partial_file(store, toy_components, monkeypatch):
    import os
    store.write(key(), "toy_shots", toy_arrays(n=2))
    before = store.read(key(), "toy_shots").arrays["E_shot"]

    def crash(*a):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.write(key(), "toy_shots", toy_arrays(n=5))
    monkeypatch.undo()
    # the earlier artifact is intact, no temp file is left behind
    np.testing.assert_array_equal(store.read(key(), "toy_shots").arrays["E_shot"], before)
    assert not [p for p in store.storage.fs.find(store.storage.root) if ".tmp-" in p]


def test_run_writer_is_one_put_per_artifact_and_one_manifest(tmp_path, toy_components):
    """The pipeline's write path: entries stay in memory, manifest.json is written once at the end."""
    from trendflow.artifacts import RunWriter
    from trendflow.storage import read_call_log
    log = tmp_path / "calls.log"
    store = ArtifactStore(str(tmp_path / "store"), call_log=str(log))
    writer = RunWriter(store, key())
    writer.write("toy_shots", toy_arrays())
    writer.write("toy_comments_raw", {"text": np.array(["a", "b"])})
    assert not store.storage.exists("youtube/vid1/run-1/manifest.json")  # unfinished until finish()
    log.write_text("")
    manifest = writer.finish("ok", timings={"x": 1.0})
    assert [m for m, _ in read_call_log(str(log))] == ["pipe_file"]
    assert sorted(manifest["components"]) == ["toy_comments_raw", "toy_shots"] and manifest["status"] == "ok"
    assert store.verify_run(key()) == []
    files = sorted(store.storage.find("youtube/vid1/run-1"))
    assert files == ["youtube/vid1/run-1/manifest.json", "youtube/vid1/run-1/toy_comments_raw/toy_comments_raw.npz",
                     "youtube/vid1/run-1/toy_shots/toy_shots.npz"]  # no per-component entry files, no lock


def test_entries_written_elsewhere_join_the_manifest_unchanged(store, toy_components):
    """A writer in another process (the CPU stage) hands its entries over; the finalizing writer
    records them without reading anything back."""
    from trendflow.artifacts import RunWriter
    cpu = RunWriter(store, key())
    cpu.write("toy_shots", toy_arrays())
    final = RunWriter(store, key(), json.loads(json.dumps(cpu.entries)))  # as they travel on a row
    final.write("toy_comments_raw", {"text": np.array(["x"])})
    manifest = final.finish("ok")
    assert manifest["components"]["toy_shots"] == cpu.entries["toy_shots"]
    assert store.verify_run(key()) == []


def test_manifest_can_be_rebuilt_from_the_npz_alone(store, toy_components):
    store.write(key(), "toy_shots", toy_arrays(), timing_s=0.25, model_name="m")
    original = store.finish_run(key(), "ok")
    store.storage.remove("youtube/vid1/run-1/manifest.json")
    rebuilt = store.rebuild_manifest(key())
    assert rebuilt["components"] == original["components"]  # the NPZ meta carries every entry field
    assert rebuilt["status"] == "running"  # the run-level status went with the manifest: not invented


def test_s3_store_round_trip(s3_server, toy_components):
    s3 = ArtifactStore("s3://trendflow/store", s3_server["storage_options"])
    s3.write(key(), "toy_shots", toy_arrays())
    s3.finish_run(key(), "ok")
    assert s3.read(key(), "toy_shots").arrays["E_shot"].shape == (3, 4)
    assert [k.run_id for k in s3.runs()] == ["run-1"]
    assert s3.verify_run(key()) == []
    assert s3.storage.url("x") == "s3://trendflow/store/x"
    s3.delete_video("youtube", "vid1")
    assert list(s3.runs()) == []


def test_run_key_from_manifest(store, toy_components):
    store.write(key(), "toy_shots", toy_arrays())
    assert store.key_for("youtube", "vid1", "run-1") == RunKey("youtube", "vid1", "run-1", "cfg123", "sp1")
