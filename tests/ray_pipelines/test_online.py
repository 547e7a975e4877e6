"""In-process extraction (`ray_pipelines.online`, what the Serve app calls) and the stage objects it
shares with the batch pipeline: errors stay on rows, a crashed run is continued, resume is per component."""

import numpy as np
import pytest

from ray_pipelines.audio_config import AudioConfig, ClapConfig
from ray_pipelines.config import ClipConfig, ExtractConfig
from ray_pipelines.online import _default_clip, extract_one
from ray_pipelines.pipeline import Configs
from ray_pipelines.stages.clap_extractor import ClapEmbed
from ray_pipelines.stages.core_clip import ClipEmbed
from tests.ray_pipelines.test_pipeline import PER_VIDEO, TEST_CONFIG
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import ArtifactStore, RunKey
from trendflow.index import ArtifactIndex, IndexKey


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    p = tmp_path_factory.mktemp("cfg_online") / "test.yaml"
    p.write_text(TEST_CONFIG)
    return str(p)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the pipeline catches it."""


class Encoder:
    """The real CLIP encoder behind a switch: `fail` raises (a broken GPU), `crash` kills the run."""

    def __init__(self, real):
        self.real, self.fail, self.crash = real, False, False

    def __getattr__(self, name):
        return getattr(self.real, name)

    def embed_images(self, frames, batch_size=32):
        if self.crash:
            raise Crash()
        if self.fail:
            raise RuntimeError("CUDA error: device fell off the bus")
        return self.real.embed_images(frames, batch_size)


@pytest.fixture()
def encoder(config):
    return Encoder(_default_clip(Configs.load(config, None).extract.clip.model_dump_json()))


def video(good_dataset, vid):
    return str(good_dataset[0] / "videos" / f"{vid}.mp4")


def created(store, key, components):
    return {c: store.read(key, c).meta["created_at"] for c in components}


def test_embed_stages_fail_only_the_bad_row():
    clip = ClipEmbed(ExtractConfig(clip=ClipConfig(model_name="trendflow-clip-tiny")).model_dump_json())
    frames = np.empty(3, dtype=object)
    frames[:] = [np.random.default_rng(0).integers(0, 255, (3, 64, 64, 3), dtype=np.uint8),
                 np.zeros((2, 5, 5), np.uint8),  # a planted bad frame array
                 np.zeros((0, 64, 64, 3), np.uint8)]  # a row of another kind: nothing to encode
    out = clip({"video_id": np.array(["a", "b", "c"]), "frames": frames})
    assert "frames" not in out
    assert out["error"][0] == "" and out["error"][2] == ""
    assert out["error"][1].startswith("core_clip: ValueError: frames of shape (5, 5)")
    assert [e.shape for e in out["frame_embeddings"]] == [(3, 128), (0, 128), (0, 128)]
    assert np.isfinite(out["frame_embeddings"][0]).all() and out["frame_label_probs"][0].shape[0] == 3

    cfg = AudioConfig(clap=ClapConfig(model_name="trendflow-clap-tiny"))
    clap = ClapEmbed(cfg.model_dump_json())
    windows = np.empty(2, dtype=object)
    windows[:] = [np.zeros((2, 96000), np.float32), np.zeros((1, 2, 3), np.float32)]
    out = clap({"video_id": np.array(["a", "b"]), "windows": windows})
    assert out["error"][0] == "" and out["error"][1].startswith("clap_extractor: ValueError")
    assert out["window_embeddings"][0].shape == (2, 128) and out["window_embeddings"][1].shape == (0, 128)


def test_an_encoder_failure_fails_only_that_video(good_dataset, config, encoder, tmp_path):
    cfg = Configs.load(config, str(tmp_path / "store"))
    a = extract_one(video(good_dataset, "vidA"), cfg, clip_encoder=encoder)
    assert a.status == "ok", a.error
    encoder.fail = True
    b = extract_one(video(good_dataset, "vidB"), cfg, clip_encoder=encoder)
    assert b.status == "error" and b.error == "core_clip: RuntimeError: CUDA error: device fell off the bus"
    store = ArtifactStore(str(tmp_path / "store"))
    key_b = store.key_for("youtube", "vidB", b.run_id)
    manifest = store.manifest(key_b)
    assert manifest["status"] == "error" and manifest["error"] == b.error
    clip = store.read(key_b, "core_clip")
    assert clip.status == "error" and "device fell off" in clip.meta["empty_reason"]
    assert store.read(key_b, "loudness").status == "ok"  # what the CPU stage did is kept
    index = ArtifactIndex(store)
    ikey = IndexKey("youtube", "vidB", b.config_hash, b.sampling_policy_version, DATAPROCESSOR_VERSION)
    assert index.lookup(ikey) is None  # a failed run is never indexed
    key_a = store.key_for("youtube", "vidA", a.run_id)  # the earlier result is untouched
    assert store.verify_run(key_a) == [] and store.manifest(key_a)["status"] == "ok"


def test_a_crashed_run_is_continued_not_orphaned(good_dataset, config, encoder, tmp_path):
    cfg = Configs.load(config, str(tmp_path / "store"))
    store = ArtifactStore(str(tmp_path / "store"))
    encoder.crash = True
    with pytest.raises(Crash):  # the process "dies" at the first CLIP chunk
        extract_one(video(good_dataset, "vidA"), cfg, clip_encoder=encoder, run_id="extract-crashed")
    (folder,) = store.list_video("youtube", "vidA").values()
    assert folder.run_id == "extract-crashed" and not folder.has_manifest
    left = sorted(folder.artifact_files())
    assert left == ["cut_detection", "sampling_plan"]  # written before the crash
    crashed = RunKey("youtube", "vidA", "extract-crashed", cfg.config_hash, cfg.sampling_policy_version)
    before = created(store, crashed, left)

    encoder.crash = False
    result = extract_one(video(good_dataset, "vidA"), cfg, clip_encoder=encoder)  # a new run id...
    assert result.status == "ok" and result.run_id == "extract-crashed"  # ...continues the unfinished run
    folders = store.list_video("youtube", "vidA")
    assert list(folders) == ["extract-crashed"] and folders["extract-crashed"].has_manifest
    assert created(store, crashed, left) == before  # reused, not recomputed nor rewritten
    assert set(PER_VIDEO) <= set(store.manifest(crashed)["components"]) and store.verify_run(crashed) == []


def test_reused_run_id_resumes_at_component_level(good_dataset, config, encoder, tmp_path):
    cfg = Configs.load(config, str(tmp_path / "store"))
    store = ArtifactStore(str(tmp_path / "store"))
    first = extract_one(video(good_dataset, "vidB"), cfg, clip_encoder=encoder, run_id="run-pinned")
    assert first.status == "ok", first.error
    key = store.key_for("youtube", "vidB", "run-pinned")
    kept = [c for c in PER_VIDEO if c not in ("shot_quality", "fusion_aggregates")]
    before = created(store, key, kept)
    store.storage.remove(store.artifact_path(key, "shot_quality"))  # a half-written run
    store.storage.remove(f"{key.run_dir}/manifest.json")
    encoder.fail = True  # CLIP must not be needed: core_clip is valid and kept
    again = extract_one(video(good_dataset, "vidB"), cfg, clip_encoder=encoder, run_id="run-pinned")
    assert again.status == "ok" and again.run_id == "run-pinned", again.error
    assert again.components["core_clip"] == "reused" and again.components["shot_quality"] == "ok"
    assert created(store, key, kept) == before
    assert store.verify_run(key) == [] and store.manifest(key)["status"] == "ok"
    np.testing.assert_allclose(store.read(key, "fusion_aggregates").arrays["values"],
                               np.array(list(first.aggregates.values()), np.float32), atol=1e-6)
