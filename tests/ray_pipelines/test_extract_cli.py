"""`trendflow extract` exit codes as a user sees them: 2 for bad input, 1 for failed videos."""

import subprocess
import sys

from tests.ray_pipelines.test_pipeline import TEST_CONFIG

TRENDFLOW = [sys.executable, "-m", "trendflow.cli"]


def extract(*args, timeout=600):
    return subprocess.run([*TRENDFLOW, "extract", *args], capture_output=True, text=True, timeout=timeout)


def test_missing_or_empty_dataset_is_a_clear_error(tmp_path):
    r = extract("--dataset", str(tmp_path / "no" / "such" / "dir"), "--store", str(tmp_path / "store"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"error: dataset {tmp_path / 'no' / 'such' / 'dir'}: no such folder" in r.stderr
    (tmp_path / "empty" / "videos").mkdir(parents=True)
    (tmp_path / "empty" / "videos" / "notes.txt").write_text("not a video")
    r = extract("--dataset", str(tmp_path / "empty"), "--store", str(tmp_path / "store"))
    assert r.returncode == 2 and "holds no video" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "store").exists()  # nothing was started or written


def test_failed_videos_exit_1_unless_allowed(tmp_path):
    (tmp_path / "ds" / "videos").mkdir(parents=True)
    (tmp_path / "ds" / "videos" / "broken.mp4").write_bytes(b"")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TEST_CONFIG)
    args = ("--dataset", str(tmp_path / "ds"), "--store", str(tmp_path / "store"), "--config", str(cfg))
    r = extract(*args)
    assert r.returncode == 1, r.stderr
    assert "failed broken:" in r.stdout and "1 failed" in r.stdout
    r = extract(*args, "--allow-failures")
    assert r.returncode == 0 and "failed broken:" in r.stdout
