"""The artifact index lives in the store: pointer objects, one listing per key prefix, eviction opt-in."""

import json
import subprocess
import sys
import time

import pytest

from tests.trendflow.conftest import toy_arrays
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import ArtifactStore, RunKey
from trendflow.index import ArtifactIndex, IndexKey


def finished_run(store, video, run="run-1", status="ok", config="cfg123"):
    k = RunKey("youtube", video, run, config, "sp1")
    store.write(k, "toy_shots", toy_arrays())
    store.finish_run(k, status, error=None if status == "ok" else "decode failed")
    time.sleep(0.01)  # finished_at has millisecond resolution: keep runs ordered
    return k


def ikey(video, config="cfg123"):
    return IndexKey("youtube", video, config, "sp1", DATAPROCESSOR_VERSION)


def test_hit_and_miss_is_one_pointer_object(store, toy_components):
    index = ArtifactIndex(store)
    assert index.lookup(ikey("a")) is None
    finished_run(store, "a")
    index.record_success(ikey("a"), "run-1")
    assert store.storage.exists(f"_index/cfg123/sp1/{DATAPROCESSOR_VERSION}/youtube/a.json")
    assert index.lookup(ikey("a")) == "run-1"
    assert index.lookup(ikey("a", config="cfgOTHER")) is None
    assert index.hits("cfg123", "sp1", DATAPROCESSOR_VERSION) == {("youtube", "a")}
    assert index.hits("cfgOTHER", "sp1", DATAPROCESSOR_VERSION) == set()


def test_corpus_check_is_one_listing_not_one_read_per_video(tmp_path, toy_components):
    log = tmp_path / "calls.log"
    plain = ArtifactStore(str(tmp_path / "store"))
    for v in "abcdefgh":
        ArtifactIndex(plain).record_success(ikey(v), "run-1")
    counted = ArtifactStore(str(tmp_path / "store"), call_log=str(log))
    hits = ArtifactIndex(counted).hits("cfg123", "sp1", DATAPROCESSOR_VERSION)
    assert len(hits) == 8
    calls = [line.split("\t")[1] for line in log.read_text().splitlines()]
    assert calls == ["find"]


def test_row_whose_artifacts_were_deleted_by_hand_is_repaired(store, toy_components):
    index = ArtifactIndex(store)
    k = finished_run(store, "a")
    index.record_success(ikey("a"), "run-1")
    store.storage.remove(store.artifact_path(k, "toy_shots"))
    assert index.lookup(ikey("a")) is None  # not returned...
    assert len(index) == 0  # ...and the pointer is dropped
    assert store.storage.exists(f"{k.run_dir}/manifest.json")  # the run's other files are untouched


def test_rebuild_from_manifests(store, toy_components):
    index = ArtifactIndex(store)
    finished_run(store, "a", "run-1")
    finished_run(store, "a", "run-2")   # newer run of the same key wins
    finished_run(store, "b")
    finished_run(store, "c", status="error")  # failed runs are never reused
    index.record_success(ikey("gone"), "run-9")  # a pointer to a run that does not exist
    report = index.rebuild()
    assert sorted((k.video_id, r) for k, r in report.written) == [("a", "run-2"), ("b", "run-1")]
    assert [k.video_id for k in report.removed] == ["gone"]
    assert "youtube/c/run-1" in report.skipped and report.evicted == []
    assert index.lookup(ikey("a")) == "run-2"
    assert index.lookup(ikey("b")) == "run-1"
    assert index.lookup(ikey("c")) is None
    again = index.rebuild()
    assert again.written == [] and again.unchanged == 2
    # eviction is off: every run folder is still there
    assert all(store.storage.exists(f"youtube/{v}/run-1/manifest.json") for v in "abc")


def test_default_capacity_never_deletes(store, toy_components):
    for v in "abcde":
        finished_run(store, v)
    index = ArtifactIndex(store)
    index.rebuild()
    assert len(index) == 5 and index.evict() == []
    assert all(store.storage.exists(f"youtube/{v}") for v in "abcde")


def test_capacity_one_deletes_exactly_the_lru_run_and_nothing_else(store, toy_components):
    old = finished_run(store, "a", "run-1")
    other_config = finished_run(store, "a", "run-2", config="cfgOTHER")  # another key of the same video
    unindexed = finished_run(store, "a", "run-3", status="error")
    index = ArtifactIndex(store, capacity=2)
    index.record_success(ikey("a"), old.run_id)
    time.sleep(0.05)
    index.record_success(ikey("a", config="cfgOTHER"), other_config.run_id)
    time.sleep(0.05)
    finished_run(store, "b")
    index.record_success(ikey("b"), "run-1")
    assert index.stats()["over_capacity"] == 1
    evicted = index.evict()
    assert [(e.key.video_id, e.key.config_hash, e.run_id, e.deleted) for e in evicted] == [
        ("a", "cfg123", "run-1", "youtube/a/run-1")]
    assert not store.storage.exists("youtube/a/run-1")
    for k in (other_config, unindexed):  # other runs / configs of the evicted video stay
        assert store.storage.exists(f"{k.run_dir}/manifest.json")
    assert store.storage.exists("youtube/b/run-1/manifest.json")
    assert index.lookup(ikey("a")) is None and index.lookup(ikey("b")) == "run-1"


def test_a_hit_is_a_use_with_eviction_on(store, toy_components):
    index = ArtifactIndex(store, capacity=2)
    for v in "ab":
        finished_run(store, v)
        index.record_success(ikey(v), "run-1")
        time.sleep(0.05)
    index.lookup(ikey("a"))  # a is now the most recently used; b is the oldest
    finished_run(store, "c")
    index.record_success(ikey("c"), "run-1")
    assert [e.key.video_id for e in index.evict()] == ["b"]
    assert {v for _, v in index.videos()} == {"a", "c"}


def test_concurrent_writers_both_valid(store, toy_components):
    """Two drivers finish the same video at once: each PUT is a complete pointer to a valid run."""
    from concurrent.futures import ThreadPoolExecutor
    runs = [finished_run(store, "a", f"run-{i}") for i in range(8)]
    index = ArtifactIndex(store)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: index.record_success(ikey("a"), k.run_id), runs))
    winner = index.lookup(ikey("a"))
    assert winner in {k.run_id for k in runs}
    assert store.verify_run(RunKey("youtube", "a", winner, "cfg123", "sp1")) == []


def _other_driver(root: str, video: str, run: str) -> None:
    """Another process: its own store and index objects on the same root."""
    store = ArtifactStore(root)
    key = RunKey("youtube", video, run, "cfg123", "sp1")
    from tests.trendflow.conftest import TOY
    from trendflow import components
    components.register(TOY)
    store.write(key, "toy_shots", toy_arrays())
    store.finish_run(key, "ok")
    ArtifactIndex(store).record_success(ikey(video), run)


def test_two_processes_see_each_others_hits(store, toy_components):
    import multiprocessing as mp
    p = mp.get_context("spawn").Process(target=_other_driver, args=(store.storage.root, "x", "run-7"))
    p.start()
    p.join(120)
    assert p.exitcode == 0
    assert ArtifactIndex(store).lookup(ikey("x")) == "run-7"


def test_s3_index_round_trip(s3_server, toy_components):
    s3 = ArtifactStore("s3://trendflow/index-store", s3_server["storage_options"])
    k = finished_run(s3, "a")
    index = ArtifactIndex(s3)
    assert index.rebuild().written == [(ikey("a"), "run-1")]
    # a second "driver" with its own store object sees it with one listing
    other = ArtifactIndex(ArtifactStore("s3://trendflow/index-store", s3_server["storage_options"]))
    assert other.hits("cfg123", "sp1", DATAPROCESSOR_VERSION) == {("youtube", "a")}
    assert other.lookup(ikey("a")) == k.run_id


def test_s3_pointer_written_after_a_listing_is_found(s3_server, toy_components):
    """Another writer (another process or node: its own s3fs instance) records a video after this driver
    listed the index: the lookup still finds it (no stale listing answers for the store)."""
    root = "s3://trendflow/index-late"
    writer = ArtifactStore(root, {**s3_server["storage_options"], "skip_instance_cache": True})
    finished_run(writer, "a")
    ArtifactIndex(writer).record_success(ikey("a"), "run-1")
    index = ArtifactIndex(ArtifactStore(root, s3_server["storage_options"]))
    assert index.hits("cfg123", "sp1", DATAPROCESSOR_VERSION) == {("youtube", "a")}
    finished_run(writer, "b")
    ArtifactIndex(writer).record_success(ikey("b"), "run-1")
    assert index.lookup(ikey("b")) == "run-1"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "trendflow.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_index_cli_stats_and_rebuild_say_what_they_do(tmp_path):
    import numpy as np
    store = ArtifactStore(str(tmp_path / "store"))
    for v in ("vidA", "vidB"):
        k = RunKey("youtube", v, "r1", "c", "s")
        store.write(k, "fusion_aggregates", {"names": ["a"], "values": np.array([1.5], np.float32),
                                             "present": [True]})
        store.finish_run(k, "ok")
        time.sleep(0.05)
    root = store.storage.root
    r = cli("index", "rebuild", "--store", root)
    assert r.returncode == 0, r.stderr
    assert "2 pointer(s) written" in r.stdout and "nothing deleted (eviction off)" in r.stdout
    stats = json.loads(cli("index", "stats", "--store", root).stdout)
    assert stats["entries"] == 2 and stats["capacity"] is None and stats["eviction"].startswith("off")
    assert stats["by_key"] == {f"c/s/{DATAPROCESSOR_VERSION}": 2} and "next_to_evict" not in stats
    cfg = tmp_path / "cache.yaml"
    cfg.write_text("index: {capacity: 1}\n")
    stats = json.loads(cli("index", "stats", "--store", root, "--config", str(cfg)).stdout)
    assert stats["over_capacity"] == 1
    first = stats["next_to_evict"][0]
    assert (first["video_id"], first["run_id"], first["beyond_capacity"]) == ("vidA", "r1", True)
    r = cli("index", "rebuild", "--store", root, "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "evicted youtube/vidA" in r.stdout and "deleted youtube/vidA/r1" in r.stdout
    assert "1 run(s) evicted (capacity 1)" in r.stdout
    assert not store.storage.exists("youtube/vidA/r1") and store.storage.exists("youtube/vidB/r1/manifest.json")


def test_old_index_path_setting_is_a_clear_error(tmp_path):
    cfg = tmp_path / "old.yaml"
    cfg.write_text("storage: {index_path: /tmp/x.sqlite}\n")
    r = cli("index", "stats", "--store", str(tmp_path), "--config", str(cfg))
    assert r.returncode == 2 and "storage.index_path is no longer used" in r.stderr and "Traceback" not in r.stderr
