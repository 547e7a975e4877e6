"""`trendflow tune --resume` after the sweep driver is killed (kill -9), with the sweep stored on S3 (the
moto server): finished trials are not rerun, the others finish, and the outputs cover every trial."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import fsspec

from tests.tune.conftest import write_sweep_config
from train.config import load_train_config
from trendflow.cli import main

SAMPLES = 3
PREFIX = "trendflow/sweeps/resume"  # bucket/prefix on the moto server


def _trial_states(fs) -> dict[str, dict]:
    """{trial_id: {"status", "last_result"}} from the newest Tune experiment state on storage ({} if none)."""
    states = sorted(fs.glob(f"{PREFIX}/sweep/experiment_state-*.json"))
    if not states:
        return {}
    try:
        doc = json.loads(fs.cat_file(states[-1]))
    except (ValueError, FileNotFoundError):  # being rewritten
        return {}
    out = {}
    for trial_json, run_json in doc["trial_data"]:
        trial, run = json.loads(trial_json), json.loads(run_json)
        out[trial["trial_id"]] = {"status": trial["status"], "last_result": run.get("last_result") or {}}
    return out


def _kill_after_a_finished_trial(cmd, env, fs, log_path, deadline_s=420) -> dict[str, dict]:
    """Run the sweep driver; SIGKILL it (and only it: the trials run on the test's cluster) as soon as
    the stored experiment state records a finished trial. Returns the trial states at that moment."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline, states = time.time() + deadline_s, {}
    try:
        while time.time() < deadline and proc.poll() is None:
            states = _trial_states(fs)
            if any(s["status"] == "TERMINATED" for s in states.values()):
                break
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return states


def test_killed_sweep_on_s3_resumes_without_rerunning_finished_trials(ray_cluster, train_dir, s3_server,
                                                                      tmp_path, capsys):
    options = s3_server["storage_options"]
    config = write_sweep_config(tmp_path / "sweep.yaml", tune={
        "max_epochs": 4, "grace_period": 2, "storage_path": f"s3://{PREFIX}", "storage_options": options})
    out = tmp_path / "out"
    env = {**os.environ, "RAY_ADDRESS": ray_cluster.get_runtime_context().gcs_address}
    cmd = [sys.executable, "-m", "trendflow", "tune", "--model", "v1", "--data", train_dir,
           "--samples", str(SAMPLES), "--config", config, "--out", str(out)]
    fs = fsspec.filesystem("s3", **options)
    before = _kill_after_a_finished_trial(cmd, env, fs, tmp_path / "driver.log")
    finished = {t: s for t, s in before.items() if s["status"] == "TERMINATED"}
    assert finished, f"no trial finished before the kill:\n{(tmp_path / 'driver.log').read_text()[-3000:]}"
    assert len(finished) < SAMPLES, "the sweep ended before it was killed: nothing left to resume"
    assert not (out / "trials.csv").exists()

    assert main(["tune", "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "(resumed)" in printed and "sweep finished" in printed

    after = _trial_states(fs)
    assert len(after) == SAMPLES and all(s["status"] == "TERMINATED" for s in after.values()), after
    for trial_id, state in finished.items():  # not rerun: the same last result, reported before the kill
        assert after[trial_id]["last_result"]["timestamp"] == state["last_result"]["timestamp"], trial_id
        assert after[trial_id]["last_result"]["epochs"] == state["last_result"]["epochs"], trial_id
    with open(out / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["trial_id"] for r in rows) == sorted(after)
    assert load_train_config(str(out / "best.yaml")).lr == float(rows[0]["lr"])
