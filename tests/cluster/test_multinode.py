"""Extraction across two Ray nodes with dataset and store on S3 (moto), a node killed mid-run, run again:
every video ends with exactly one validated ok run, no duplicate or orphan artifacts, and the index and
the aggregates table agree with the manifests."""

import json
import subprocess
import sys
import time
import uuid

import fsspec
import pytest

from tests.cluster.raynodes import Node, ray_env, alive_nodes
from tests.ray_pipelines.conftest import write_good
from tests.ray_pipelines.test_pipeline import PER_VIDEO, TEST_CONFIG
from trendflow.artifacts import ArtifactStore
from trendflow.index import ArtifactIndex
from trendflow.tables import read_aggregates

VIDEOS = [f"mn{i}" for i in range(8)]


@pytest.fixture(scope="module")
def s3_corpus(s3_server, tmp_path_factory):
    """8 small videos (audio + video) uploaded to a fresh prefix; a config whose store is on S3 too."""
    local = tmp_path_factory.mktemp("mn_videos")
    prefix = f"trendflow/mn-{uuid.uuid4().hex[:8]}"
    fs = fsspec.filesystem("s3", **s3_server["storage_options"])
    for i, vid in enumerate(VIDEOS):
        write_good(local, vid, seed=i, n_shots=2)
        fs.put(str(local / f"{vid}.mp4"), f"{prefix}/dataset/videos/{vid}.mp4")
    cfg = tmp_path_factory.mktemp("mn_cfg") / "cluster.yaml"
    assert "  chunk_frames: 16\n" in TEST_CONFIG
    cfg.write_text(TEST_CONFIG.replace("  chunk_frames: 16\n", "  chunk_frames: 16\n  no_progress_timeout_s: 240\n") +
                   f"storage:\n  store: s3://{prefix}/store\n"
                   f"  storage_options: {json.dumps(s3_server['storage_options'])}\n")
    return {"dataset": f"s3://{prefix}/dataset", "store": f"s3://{prefix}/store", "config": str(cfg),
            "options": s3_server["storage_options"], "fs": fs, "prefix": prefix}


def extract_cmd(address: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "trendflow", "extract", "--address", address, *args]


def ok_manifests(fs, prefix: str) -> int:
    fs.invalidate_cache()
    n = 0
    for path in fs.glob(f"{prefix}/store/youtube/*/*/manifest.json"):
        try:
            n += json.loads(fs.cat_file(path))["status"] == "ok"
        except (FileNotFoundError, json.JSONDecodeError):
            pass
    return n


def test_a_local_store_is_refused_on_a_multi_node_cluster(two_nodes, tmp_path):
    (tmp_path / "ds" / "videos").mkdir(parents=True)
    write_good(tmp_path / "ds" / "videos", "v0", seed=0, n_shots=1)
    r = subprocess.run(extract_cmd(two_nodes["address"], "--dataset", str(tmp_path / "ds"), "--store",
                                   str(tmp_path / "s")),
                       capture_output=True, text=True, timeout=600, env=ray_env())
    assert r.returncode == 2, (r.stdout[-2000:], r.stderr[-2000:])
    assert "a local path, but the Ray cluster has 2 alive nodes; use shared storage (s3://" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "s").exists()


def test_node_killed_mid_run_then_run_again(two_nodes, s3_corpus, tmp_path):
    address, fs, prefix = two_nodes["address"], s3_corpus["fs"], s3_corpus["prefix"]
    args = ("--dataset", s3_corpus["dataset"], "--config", s3_corpus["config"])
    log = open(tmp_path / "first.log", "w")  # a file, not a pipe: nothing blocks the driver while we poll
    first = subprocess.Popen(extract_cmd(address, *args), stdout=log, stderr=subprocess.STDOUT, env=ray_env())
    try:
        deadline = time.time() + 900
        while ok_manifests(fs, prefix) < 1 and first.poll() is None and time.time() < deadline:
            time.sleep(0.5)
        done_at_kill = ok_manifests(fs, prefix)
        assert first.poll() is None and 1 <= done_at_kill < len(VIDEOS), "no video finished, or all before the kill"
        victim = two_nodes["workers"][0]
        assert victim.kill() > 0  # the worker node dies: its raylet, agents, CPU tasks, actors, objects
        replacement = Node(two_nodes["base"] / "worker2", address)  # the platform replaces the machine
        two_nodes["nodes"].append(replacement)
        first.wait(timeout=1800)
    finally:
        if first.poll() is None:
            first.kill()
        log.close()
    out1 = (tmp_path / "first.log").read_text()
    assert first.returncode in (0, 1), out1[-3000:]  # videos lost with the node are listed, not a crash
    assert len(alive_nodes(address, 2)) == 2

    second = subprocess.run(extract_cmd(address, *args), capture_output=True, text=True, timeout=1800, env=ray_env())
    assert second.returncode == 0, (out1[-3000:], second.stdout[-3000:], second.stderr[-3000:])
    assert "0 failed" in second.stdout

    store = ArtifactStore(s3_corpus["store"], s3_corpus["options"])
    nodes, runs = set(), {}
    for vid in VIDEOS:
        folders = store.list_video("youtube", vid)
        assert len(folders) == 1, (vid, sorted(folders))  # no duplicate run, no orphan folder
        (run_id, folder), = folders.items()
        expected = {"manifest.json", *(f"{c}/{c}.npz" for c in PER_VIDEO)}
        assert set(folder.files) == expected, (vid, sorted(folder.files))
        key = store.key_for("youtube", vid, run_id)
        manifest = store.manifest(key)
        assert manifest["status"] == "ok" and store.verify_run(key) == [], (vid, manifest.get("error"))
        nodes.update(manifest["nodes"].values())
        runs[vid] = run_id
    assert len(nodes - {""}) >= 2, nodes  # the work ran on more than one node
    report = ArtifactIndex(store).rebuild()  # the index agrees with the manifests: nothing to change
    assert (report.written, report.removed, report.skipped, report.evicted) == ([], [], {}, [])
    assert report.unchanged == len(VIDEOS)
    table = read_aggregates(store)
    assert dict(zip(table.column("video_id").to_pylist(), table.column("run_id").to_pylist())) == runs
