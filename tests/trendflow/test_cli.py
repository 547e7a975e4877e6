"""The CLI as a user runs it: a real subprocess of the installed `trendflow` command."""

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from trendflow.artifacts import ArtifactStore, RunKey

TRENDFLOW = [sys.executable, "-m", "trendflow.cli"]


def run(*args, ok=True):
    r = subprocess.run([*TRENDFLOW, *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def test_every_declared_command_group_loads():
    for ep in entry_points(group="trendflow.commands"):
        assert callable(ep.load()), ep.value
    r = run("--help")
    assert "warning" not in r.stderr


def test_every_subcommand_has_help():
    import argparse

    from trendflow.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"schemas", "index", "inspect", "purge"} <= set(sub.choices)
    for name in sub.choices:
        r = run(name, "--help")
        assert "usage: trendflow" in r.stdout and len(r.stdout) > 100, name


def make_store(tmp_path):
    import numpy as np
    store = ArtifactStore(str(tmp_path / "store"))
    k = RunKey("youtube", "vidA", "r1", "c", "s")
    store.write(k, "fusion_aggregates", {"names": ["a", "b"], "values": np.array([1.5, np.nan], np.float32),
                                         "present": [True, False]})
    store.finish_run(k, "ok")
    return store


def test_inspect_manifest_and_errors(tmp_path):
    store = make_store(tmp_path)
    root = store.storage.root
    manifest = json.loads(run("inspect", "--store", root, "--video", "vidA").stdout)
    assert manifest["status"] == "ok" and list(manifest["components"]) == ["fusion_aggregates"]
    doc = json.loads(run("inspect", "--store", root, "--video", "vidA", "--component", "fusion_aggregates",
                         "--json").stdout)
    assert doc["arrays"]["names"] == ["a", "b"] and doc["arrays"]["values"][0] == 1.5
    assert doc["meta"]["producer"] == "fusion_aggregates" and doc["meta"]["run_id"] == "r1"
    summary = run("inspect", "--store", root, "--video", "vidA", "--component", "fusion_aggregates").stdout
    assert "status=ok" in summary and "nan=1" in summary
    bad = run("inspect", "--store", root, "--video", "../../etc", ok=False)
    assert bad.returncode == 2 and "error: video_id '../../etc' contains a path separator" in bad.stderr
    missing = run("inspect", "--store", root, "--video", "nope", ok=False)
    assert missing.returncode == 2 and "no runs for youtube/nope" in missing.stderr


def test_index_rebuild_and_stats(tmp_path):
    store = make_store(tmp_path)
    r = run("index", "rebuild", "--store", store.storage.root)
    assert "1 run(s), 1 video(s)" in r.stdout
    stats = json.loads(run("index", "stats", "--store", store.storage.root).stdout)
    assert stats["videos"] == 1 and stats["capacity"] == 10000


def test_schemas_check_fails_on_drift(tmp_path):
    run("schemas", "generate", "--dir", str(tmp_path))
    assert run("schemas", "check", "--dir", str(tmp_path)).returncode == 0
    (tmp_path / "stale.schema.json").write_text("{}")
    r = run("schemas", "check", "--dir", str(tmp_path), ok=False)
    assert r.returncode == 1 and "stale" in r.stderr


def test_bad_config_is_a_clear_error(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("index: {capacity: zero}\n")
    r = run("index", "stats", "--store", str(tmp_path), "--config", str(cfg), ok=False)
    assert r.returncode == 2 and "index.capacity" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("cmd", [["purge", "--dry-run"]])
def test_purge_runs_on_an_empty_store(tmp_path, cmd):
    assert "0 raw-text artifact(s)" in run(*cmd, "--store", str(tmp_path)).stdout


# ---------------------------------------------------------------- config sections (issue #15)

def _cfg(tmp_path, text):
    p = tmp_path / "cfg.yaml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("section", ["tune", "serve"])
def test_a_config_section_nobody_registered_is_an_error(tmp_path, section):
    cfg = _cfg(tmp_path, f"{section}:\n  anything: 1\n")
    r = run("index", "stats", "--store", str(tmp_path), "--config", cfg, ok=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and f"{cfg}: unknown section '{section}'" in r.stderr
    assert "trendflow.config_sections" in r.stderr


def test_an_unknown_field_in_a_section_the_command_does_not_read_is_an_error(tmp_path):
    cfg = _cfg(tmp_path, "storage: {store: somewhere}\ntrain:\n  max_epoch: 3\n")
    r = run("index", "stats", "--store", str(tmp_path), "--config", cfg, ok=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{cfg}: train.max_epoch: Extra inputs are not permitted" in r.stderr


def test_an_unknown_section_is_an_error_for_the_temporal_command(tmp_path):
    cfg = _cfg(tmp_path, "targets: {horizons_days: [1, 3]}\ntargetz: {x: 1}\n")
    r = run("temporal", "--dataset", str(tmp_path), "--out", str(tmp_path / "t.parquet"), "--config", cfg, ok=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"error: {cfg}: unknown section 'targetz'" in r.stderr


def _package_registering_tune(tmp_path):
    """A real installed distribution (dist-info on PYTHONPATH) that registers a `tune` section model."""
    site = tmp_path / "site"
    (site / "tfdemo_tune-0.1.dist-info").mkdir(parents=True)
    (site / "tfdemo_tune-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: tfdemo-tune\n"
                                                                 "Version: 0.1\n")
    (site / "tfdemo_tune-0.1.dist-info" / "entry_points.txt").write_text(
        "[trendflow.config_sections]\ntune = tfdemo_tune:TuneSection\n")
    (site / "tfdemo_tune.py").write_text(
        "from pydantic import Field\nfrom trendflow.config import Section\n\n"
        "class TuneSection(Section):\n    trials: int = Field(4, ge=1, description='sweep trials')\n")
    import os
    return {**os.environ, "PYTHONPATH": str(site)}


def test_a_registered_section_is_validated_by_its_owners_model(tmp_path):
    env = _package_registering_tune(tmp_path)

    def stats(text):
        return subprocess.run([*TRENDFLOW, "index", "stats", "--store", str(tmp_path / "store"), "--config",
                               _cfg(tmp_path, text)], capture_output=True, text=True, timeout=120, env=env)

    ok = stats("tune:\n  trials: 8\n")
    assert ok.returncode == 0, ok.stderr
    typo = stats("tune:\n  trails: 8\n")
    assert typo.returncode == 2 and "Traceback" not in typo.stderr
    assert "cfg.yaml: tune.trails: Extra inputs are not permitted" in typo.stderr
    bad = stats("tune:\n  trials: 0\n")
    assert bad.returncode == 2 and "tune.trials: Input should be greater than or equal to 1" in bad.stderr
