"""shot_thumbnails: one decodable JPEG per shot, from the frames the CPU stage already decodes."""

import io

import numpy as np
from PIL import Image

from ray_pipelines.online import extract_one
from ray_pipelines.pipeline import Configs
from ray_pipelines.stages import shot_thumbnails
from tests.ray_pipelines.conftest import write_audio_only, write_good
from tests.ray_pipelines.test_pipeline import TEST_CONFIG
from trendflow.artifacts import ArtifactStore
from trendflow.components import coerce_arrays, get_spec, validate_arrays


def decoded(arrays, shot):
    return np.asarray(Image.open(io.BytesIO(shot_thumbnails.jpeg_of(arrays, shot))).convert("RGB"))


def test_the_frame_nearest_mid_shot_is_kept_across_chunks_and_shots_without_frames_are_marked():
    starts, ends = np.array([0.0, 2.0, 4.0]), np.array([2.0, 4.0, 6.0])
    times = np.array([0.1, 0.9, 1.5, 2.1, 3.9])  # shot 2 gets no frame
    shot_of = np.array([0, 0, 0, 1, 1])
    frames = np.stack([np.full((90, 320, 3), 40 * (i + 1), np.uint8) for i in range(len(times))])
    picker = shot_thumbnails.ThumbnailPicker(starts, ends)
    picker.update(frames[:2], times[:2], shot_of[:2])  # two chunks: the best of shot 0 comes in the second
    picker.update(frames[2:], times[2:], shot_of[2:])
    out = picker.result()
    spec = get_spec("shot_thumbnails")
    validate_arrays(spec, coerce_arrays(spec, out), "ok")
    assert out["thumbnail_present"].tolist() == [True, True, False]
    assert out["width"].tolist() == [160, 160, 0] and out["height"].tolist() == [45, 45, 0]  # 320x90 → 160x45
    np.testing.assert_allclose(out["frame_time_sec"][:2], [0.9, 2.1], atol=1e-6)
    assert abs(int(decoded(out, 0).mean()) - 80) <= 2  # frame 1 (level 80), the nearest to t = 1.0
    assert abs(int(decoded(out, 1).mean()) - 160) <= 2  # frame 3 (2.1 s) beats frame 4 (3.9 s) for t = 3.0
    assert shot_thumbnails.jpeg_of(out, 2) is None and shot_thumbnails.jpeg_of(out, 3) is None
    assert np.isnan(out["frame_time_sec"][2])


def test_no_frames_is_an_empty_component_with_a_reason():
    arrays, status, reason = shot_thumbnails.compute(np.zeros((0, 8, 8, 3), np.uint8), np.zeros(0), np.zeros(0, int),
                                                     np.array([0.0]), np.array([1.0]))
    assert status == "empty" and reason == shot_thumbnails.NO_FRAMES
    validate_arrays(get_spec("shot_thumbnails"), coerce_arrays(get_spec("shot_thumbnails"), arrays), "empty")


def test_extracted_video_has_one_decodable_jpeg_per_shot_of_the_right_width(tmp_path):
    (tmp_path / "videos").mkdir()
    write_good(tmp_path / "videos", "thumbs", seed=3, n_shots=3, seconds=1.0, width=192, height=108)
    write_good(tmp_path / "videos", "tall", seed=4, n_shots=2, seconds=1.0, width=64, height=112)
    write_audio_only(tmp_path / "videos" / "no_frames.mp4")
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(TEST_CONFIG)
    cfg = Configs.load(str(cfg_path), str(tmp_path / "store"))
    store = ArtifactStore(str(tmp_path / "store"))

    for vid, (h, w) in {"thumbs": (108, 192), "tall": (112, 64)}.items():
        result = extract_one(str(tmp_path / "videos" / f"{vid}.mp4"), cfg)
        assert result.status == "ok", result.error
        key = store.key_for("youtube", vid, result.run_id)
        thumbs = store.read(key, "shot_thumbnails")  # validated against the contract on read
        cuts = store.read(key, "cut_detection").arrays
        n_shots = len(cuts["shot_start_sec"])
        assert thumbs.status == "ok" and len(thumbs.arrays["jpeg_sizes"]) == n_shots >= 2
        assert "shot_thumbnails" in store.manifest(key)["components"]
        for shot in range(n_shots):
            image = decoded(thumbs.arrays, shot)
            assert image.shape[1] == 160 and abs(image.shape[0] - 160 * h / w) <= 1, (vid, image.shape)
            t = thumbs.arrays["frame_time_sec"][shot]
            assert cuts["shot_start_sec"][shot] <= t <= cuts["shot_end_sec"][shot]
        assert thumbs.meta["thumbnail_width"] == 160

    failed = extract_one(str(tmp_path / "videos" / "no_frames.mp4"), cfg)
    assert failed.status == "error"  # no video stream: cut detection (required) fails the video...
    empty = store.read(store.key_for("youtube", "no_frames", failed.run_id), "shot_thumbnails")
    assert empty.status == "empty" and empty.meta["empty_reason"].startswith(shot_thumbnails.NO_FRAMES)
