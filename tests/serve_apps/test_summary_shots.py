"""The per-shot table from a real extraction run (`extract_one`, the code the Serve app uses on a cold
video): one row per detected shot, values equal to the artifacts, a missing audio track adds no column."""

import numpy as np
import pytest

from ray_pipelines.online import extract_one
from ray_pipelines.pipeline import Configs
from serve_apps.summary.shots import shots_from_store
from serve_apps.summary.summarizer import shot_rows
from tests.ray_pipelines.conftest import good_dataset  # noqa: F401  (three generated mp4s, real cuts)
from tests.ray_pipelines.test_pipeline import TEST_CONFIG
from trendflow.artifacts import ArtifactStore


@pytest.fixture(scope="module")
def extracted(good_dataset, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("summary_store")
    cfg_path = root / "test.yaml"
    cfg_path.write_text(TEST_CONFIG)
    cfg = Configs.load(str(cfg_path), str(root / "store"))
    store = ArtifactStore(str(root / "store"))
    keys = {}
    for vid in ("vidA", "vidC"):  # vidC has no audio track
        r = extract_one(str(good_dataset[0] / "videos" / f"{vid}.mp4"), cfg)
        assert r.status == "ok", r.error
        keys[vid] = store.key_for("youtube", vid, r.run_id)
    return store, keys


def test_shot_rows_are_the_run_artifacts(extracted, good_dataset):  # noqa: F811
    store, keys = extracted
    shots = shots_from_store(store, keys["vidA"])
    cuts, quality = store.read(keys["vidA"], "cut_detection").arrays, store.read(keys["vidA"], "shot_quality").arrays
    loud = store.read(keys["vidA"], "loudness").arrays
    n = len(cuts["shot_start_sec"])
    assert n == len(good_dataset[1]["vidA"].shot_start_frames)  # the generated video's real shots
    rows = shot_rows(shots)
    assert [r["shot"] for r in rows] == list(range(n))
    for k, r in enumerate(rows):
        assert r["shot_start_sec"] == pytest.approx(cuts["shot_start_sec"][k])
        assert r["quality_score"] == pytest.approx(float(quality["quality_score"][k]))
        t, lufs = loud["short_term_times_sec"], loud["short_term_lufs"].astype(np.float64)
        inside = (t >= cuts["shot_start_sec"][k]) & (t < cuts["shot_end_sec"][k])
        if inside.any():  # energy mean of the 3 s windows centred in the shot
            assert r["loudness_lufs"] == pytest.approx(10 * np.log10(np.mean(10 ** (lufs[inside] / 10))))
        else:
            assert r["loudness_lufs"] is None  # no window: said missing, not interpolated


def test_a_video_without_audio_has_no_loudness_column(extracted):
    store, keys = extracted
    shots = shots_from_store(store, keys["vidC"])
    assert "loudness_lufs" not in shots and "quality_score" in shots
