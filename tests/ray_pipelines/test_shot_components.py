"""The pure per-shot components on hand-made frames with known properties."""

import numpy as np
import pytest

from ray_pipelines.shot_pooling import assign_to_shots, pool_per_shot
from ray_pipelines.stages import scene_classification, shot_quality, video_pacing
from ray_pipelines.stages.fusion_aggregates import VISUAL_NAMES, diversity, visual_scalars
from trendflow.components import coerce_arrays, get_spec, validate_arrays


def test_assign_to_shots_edges():
    starts = np.array([0.0, 2.0, 5.0])
    times = np.array([0.0, 1.99, 2.0, 4.9, 5.0, 99.0, -1.0])
    assert assign_to_shots(times, starts).tolist() == [0, 0, 1, 1, 2, 2, 0]
    assert assign_to_shots(times, np.zeros(0)).tolist() == [-1] * 7


def test_pool_per_shot_masks_empty_shots_with_nan():
    values = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 10.0]])
    pooled, present, counts = pool_per_shot(values, np.array([0, 0, 2]), 3)
    np.testing.assert_allclose(pooled[0], [2.0, 3.0])
    assert np.isnan(pooled[1]).all() and present.tolist() == [True, False, True] and counts.tolist() == [2, 0, 1]
    weighted, _, _ = pool_per_shot(values[:2], np.array([0, 0]), 1, weights=np.array([1.0, 3.0]))
    np.testing.assert_allclose(weighted[0], [2.5, 3.5])


def frames_of(kind, n=4, h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "flat_dark":
        return np.full((n, h, w, 3), 10, np.uint8)
    if kind == "noise":
        return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    if kind == "edges":  # sharp, clean, mid exposure: a checkerboard
        yy, xx = np.mgrid[:h, :w]
        board = (((yy // 8) + (xx // 8)) % 2 * 200 + 28).astype(np.uint8)
        return np.repeat(np.repeat(board[None, :, :, None], 3, axis=3), n, axis=0)
    if kind == "colour":
        f = np.zeros((n, h, w, 3), np.uint8)
        f[..., 0] = 230
        f[:, :, w // 2:, 2] = 230
        return f
    raise ValueError(kind)


def test_shot_quality_orders_known_frames():
    frames = np.concatenate([frames_of("flat_dark"), frames_of("edges"), frames_of("noise"), frames_of("colour")])
    shot_of = np.repeat(np.arange(4), 4)
    out = shot_quality.compute(frames, shot_of, 5)  # shot 4 has no frames
    validate_arrays(get_spec("shot_quality"), coerce_arrays(get_spec("shot_quality"), out), "ok")
    dark, edges, noise, colour = range(4)
    assert out["exposure"][dark] < 0.05 and 0.3 < out["exposure"][edges] < 0.7
    assert out["sharpness"][edges] > 100 * max(out["sharpness"][dark], 1e-6)
    assert out["noise"][noise] > 5 * out["noise"][edges]
    assert out["colorfulness"][colour] > 5 * out["colorfulness"][edges]
    assert out["quality_score"][edges] > out["quality_score"][dark] and out["bad_shot"][dark]
    assert not out["quality_present"][4] and np.isnan(out["quality_score"][4]) and out["frames_per_shot"][4] == 0


def test_shot_quality_tiny_frames_do_not_crash():
    out = shot_quality.compute(np.zeros((2, 2, 2, 3), np.uint8), np.array([0, 0]), 1)
    assert np.isnan(out["sharpness"][0]) and out["quality_present"][0]


def test_video_pacing_shot_lengths_and_motion():
    starts, ends = np.array([0.0, 0.5, 1.0, 13.0]), np.array([0.5, 1.0, 13.0, 14.0])
    times = np.arange(0, 14, 0.5)
    shot_of = assign_to_shots(times, starts)
    frames = np.zeros((len(times), 16, 16, 3), np.uint8)
    frames[times >= 13] = np.arange(len(times))[times >= 13, None, None, None] * 40  # motion only in the last shot
    out = video_pacing.compute(starts, ends, frames, times, shot_of)
    validate_arrays(get_spec("video_pacing"), coerce_arrays(get_spec("video_pacing"), out), "ok")
    assert out["n_shots"] == 4 and out["shots_per_min"] == pytest.approx(4 / (14 / 60))
    assert out["fast_shot_share"] == pytest.approx(0.5) and out["long_shot_share"] == pytest.approx(0.25)
    assert out["motion_energy"].max() == pytest.approx(80.0)  # 40 levels per 0.5 s, within the last shot only
    assert 0.9 < out["static_share"] < 1.0


def test_scene_classification_distribution():
    label_emb = np.eye(3, 4, dtype=np.float32)
    frame_emb = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]], np.float32)
    probs = scene_classification.frame_label_probs(frame_emb, label_emb, 100.0)
    out = scene_classification.compute(["a", "b", "c"], probs, np.array([0, 0, 2]), 3, np.array([1.0, 1.0, 2.0]))
    assert out["shot_top_label"].tolist() == [0, -1, 2] and not out["shot_present"][1]
    assert out["shot_entropy"][0] < 0.01 and np.isnan(out["shot_entropy"][1])
    np.testing.assert_allclose(out["video_label_probs"], [1 / 3, 0, 2 / 3], atol=1e-3)


def test_diversity_and_missing_sources_are_nan():
    same = np.tile(np.array([[1.0, 0, 0]]), (4, 1)).astype(np.float32)
    d_same = diversity(same, np.ones(4, bool))
    varied = np.eye(4, 3, dtype=np.float32) + 0.01
    d_var = diversity(varied[:3], np.ones(3, bool))
    assert d_same["repetition_ratio"] == 1.0 and d_same["diversity_pairwise_dist"] == pytest.approx(0, abs=1e-6)
    assert d_var["repetition_ratio"] == 0.0 and d_var["diversity_pairwise_dist"] > 0.9
    empty = visual_scalars(None, None, None, None)
    assert list(empty) == list(VISUAL_NAMES) and all(np.isnan(v) for v in empty.values())
