import pytest

from tests.trendflow.conftest import toy_arrays
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import RunKey
from trendflow.index import ArtifactIndex, IndexKey


def finished_run(store, video, run="run-1", status="ok"):
    k = RunKey("youtube", video, run, "cfg123", "sp1")
    store.write(k, "toy_shots", toy_arrays())
    store.finish_run(k, status, error=None if status == "ok" else "decode failed")
    return k


def ikey(video):
    return IndexKey("youtube", video, "cfg123", "sp1", DATAPROCESSOR_VERSION)


@pytest.fixture
def index(store, tmp_path):
    idx = ArtifactIndex(store, str(tmp_path / "index.sqlite"), capacity=3)
    yield idx
    idx.close()


def test_hit_and_miss(store, index, toy_components):
    assert index.lookup(ikey("a")) is None
    finished_run(store, "a")
    index.record_success(ikey("a"), "run-1")
    assert index.lookup(ikey("a")) == "run-1"
    other_config = IndexKey("youtube", "a", "cfgOTHER", "sp1", DATAPROCESSOR_VERSION)
    assert index.lookup(other_config) is None


def test_lru_eviction_deletes_artifacts(store, index, toy_components):
    for v in "abc":
        finished_run(store, v)
        index.record_success(ikey(v), "run-1")
    index.lookup(ikey("a"))  # a is now the most recently used; b is the oldest
    finished_run(store, "d")
    evicted = index.record_success(ikey("d"), "run-1")
    assert evicted == [("youtube", "b")]
    assert not store.storage.exists("youtube/b")
    assert index.lookup(ikey("b")) is None
    assert {v for _, v in index.videos()} == {"a", "c", "d"}
    assert store.storage.exists("youtube/a/run-1/manifest.json")


def test_row_whose_artifacts_were_deleted_by_hand_is_repaired(store, index, toy_components):
    k = finished_run(store, "a")
    index.record_success(ikey("a"), "run-1")
    store.storage.remove(store.artifact_path(k, "toy_shots"))
    assert index.lookup(ikey("a")) is None  # not returned...
    assert len(index) == 0  # ...and dropped from the index


def test_rebuild_from_manifests(store, index, toy_components):
    finished_run(store, "a", "run-1")
    finished_run(store, "a", "run-2")   # newer run of the same key wins
    finished_run(store, "b")
    finished_run(store, "c", status="error")  # failed runs are never reused
    n = index.rebuild()
    assert n == 2
    assert index.lookup(ikey("a")) == "run-2"
    assert index.lookup(ikey("b")) == "run-1"
    assert index.lookup(ikey("c")) is None


def test_rebuild_respects_capacity(store, tmp_path, toy_components):
    for v in "abcde":
        finished_run(store, v)
    idx = ArtifactIndex(store, str(tmp_path / "i2.sqlite"), capacity=2)
    idx.rebuild()
    assert len(idx) == 2
    assert sum(store.storage.exists(f"youtube/{v}") for v in "abcde") == 2


def test_default_paths():
    from trendflow.index import default_index_path
    assert default_index_path("/data/store") == "/data/store/index.sqlite"
    assert default_index_path("s3://b/p").endswith(".sqlite") and "/.cache/trendflow/" in default_index_path("s3://b/p")
