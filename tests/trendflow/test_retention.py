from datetime import datetime, timedelta, timezone

import numpy as np

from trendflow.artifacts import RunKey
from trendflow.config import RetentionConfig
from trendflow.retention import purge


def write_raw(store, video):
    k = RunKey("youtube", video, "r1", "c", "s")
    store.write(k, "toy_comments_raw", {"text": np.array(["nice video", "lol"])})
    store.write(k, "toy_shots", {"shot_start_sec": [0.0], "E_shot": [[1.0]], "E_shot_present": [True]})
    return k


def test_raw_text_is_purged_by_default_and_features_kept(store, toy_components):
    k = write_raw(store, "a")
    done = purge(store, RetentionConfig())
    assert [(p.run_dir, p.component) for p in done] == [("youtube/a/r1", "toy_comments_raw")]
    assert not store.storage.exists(store.artifact_path(k, "toy_comments_raw"))
    assert store.read(k, "toy_shots").status == "ok"
    assert list(store.manifest(k)["components"]) == ["toy_shots"]
    assert store.verify_run(k) == []


def test_retention_window(store, toy_components):
    k = write_raw(store, "a")
    cfg = RetentionConfig(retain_raw_comments=True, retention_days=7)
    assert purge(store, cfg) == []
    later = datetime.now(timezone.utc) + timedelta(days=8)
    assert len(purge(store, cfg, now=later, dry_run=True)) == 1
    assert store.storage.exists(store.artifact_path(k, "toy_comments_raw"))  # dry run deletes nothing
    assert len(purge(store, cfg, now=later)) == 1
    assert not store.storage.exists(store.artifact_path(k, "toy_comments_raw"))
