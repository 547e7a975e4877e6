"""Sampling policy: budgets scale with duration, union/index round trips, versioning, config."""

import numpy as np
import pytest

from sampling.policy import ComponentBudget, SamplingPolicy, analysis_grid, frame_at, plan_sampling
from trendflow.config import ConfigError, load_section


def _cfr(duration_s, fps):
    return np.arange(int(round(duration_s * fps))) / fps


def _even_shots(n_frames, n_shots):
    return np.unique(np.linspace(0, n_frames, n_shots, endpoint=False).astype(np.int64))


def _check_plan(plan, times, starts):
    u = plan.union_frame_indices
    assert np.all(np.diff(u) > 0) and u[0] >= 0 and u[-1] < len(times)
    np.testing.assert_array_equal(plan.union_timestamps_sec, times[u])
    np.testing.assert_array_equal(plan.union_shot_index, np.searchsorted(starts, u, side="right") - 1)
    for name, idx in plan.component_union_idx.items():
        assert np.all(np.diff(idx) > 0) and idx.min() >= 0 and idx.max() < plan.n_union, name
        # round trip: union position -> source frame -> union position
        np.testing.assert_array_equal(np.searchsorted(u, plan.source_frames(name)), idx)
    every = np.concatenate(list(plan.component_union_idx.values()))
    assert set(every.tolist()) == set(range(plan.n_union))  # the union holds nothing unused


def test_budgets_for_a_4_second_video_are_capped_by_the_analysis_timeline():
    policy = SamplingPolicy()  # analysis_fps 12 -> 48 timeline points in 4 s
    times = _cfr(4.0, 25)
    starts = np.array([0, 30, 70])
    plan = plan_sampling(policy, times, starts)
    _check_plan(plan, times, starts)
    counts = {k: len(v) for k, v in plan.component_union_idx.items()}
    assert counts["cut_detection"] == 48
    # per-shot components: every timeline point, each shot covered
    for name in ("core_clip", "shot_quality"):
        assert 46 <= counts[name] <= 48
        assert set(plan.union_shot_index[plan.component_union_idx[name]]) == {0, 1, 2}
    assert plan.n_union <= 52  # shared timeline: components reuse each other's frames
    assert plan.duration_sec == pytest.approx(4.0)


def test_budgets_for_a_20_minute_60fps_video_reach_their_maximum():
    policy = SamplingPolicy()
    times = _cfr(1200.0, 60)  # 72,000 frames
    starts = _even_shots(len(times), 256)
    plan = plan_sampling(policy, times, starts, cut_confidence=np.linspace(0, 1, 255))
    _check_plan(plan, times, starts)
    counts = {k: len(v) for k, v in plan.component_union_idx.items()}
    assert counts["cut_detection"] == 1500
    assert 790 <= counts["core_clip"] <= 800 and 990 <= counts["shot_quality"] <= 1000
    for name in ("core_clip", "shot_quality"):
        per_shot = np.bincount(plan.union_shot_index[plan.component_union_idx[name]], minlength=256)
        assert per_shot.min() >= 1
    # every cut's boundary pair is in cut_detection's frames
    cd = set(plan.source_frames("cut_detection").tolist())
    assert all(c - 1 in cd and c in cd for c in starts[1:])
    assert plan.n_union < 1500 + 800 + 1000


def test_budget_grows_with_duration_within_its_bounds():
    b = ComponentBudget(min_frames=200, target_frames=400, max_frames=800)
    sizes = [b.frames_for(d, 10**9) for d in (4, 60, 300, 600, 1200, 3600)]
    assert sizes == sorted(sizes) and sizes[0] == 200 and sizes[2] == 400 and sizes[-1] == 800
    assert b.frames_for(1200, 100) == 100
    with pytest.raises(ValueError, match="min_frames <= target_frames"):
        ComponentBudget(min_frames=500, target_frames=400, max_frames=800)


def test_times_map_to_the_frame_on_screen_with_vfr_timestamps():
    times = np.array([0.0, 0.03, 0.09, 0.1, 0.17, 0.25])
    np.testing.assert_array_equal(frame_at(times, [0.0, 0.05, 0.1, 0.2, 9.0]), [0, 1, 3, 4, 5])
    grid = analysis_grid(times, 10.0)  # the video lasts 0.25 + median interval 0.06 = 0.31 s
    np.testing.assert_allclose(grid, [0.0, 0.1, 0.2, 0.3])
    plan = plan_sampling(SamplingPolicy(analysis_fps=10), times, np.array([0, 3]))
    _check_plan(plan, times, np.array([0, 3]))
    assert set(plan.source_frames("core_clip")) <= {0, 1, 2, 3, 4, 5}


def test_one_frame_video_plan():
    plan = plan_sampling(SamplingPolicy(), np.array([0.0]), np.array([0]))
    assert plan.union_frame_indices.tolist() == [0]
    assert all(v.tolist() == [0] for v in plan.component_union_idx.values())


def test_bad_shot_starts_are_rejected():
    with pytest.raises(ValueError, match="shot_start_frame"):
        plan_sampling(SamplingPolicy(), _cfr(2, 25), np.array([5, 10]))
    with pytest.raises(ValueError, match="shot_start_frame"):
        plan_sampling(SamplingPolicy(), _cfr(2, 25), np.array([0, 60]))


def test_policy_version_follows_output_affecting_settings_only():
    base = SamplingPolicy()
    assert base.sampling_policy_version == SamplingPolicy().sampling_policy_version
    assert base.sampling_policy_version.startswith("sp")
    changed = [
        SamplingPolicy(analysis_fps=8),
        SamplingPolicy(analysis_width=320),
        SamplingPolicy(cuts={"min_shot_sec": 0.5}),
        SamplingPolicy(budgets={"core_clip": {"min_frames": 100, "target_frames": 300, "max_frames": 600}}),
        SamplingPolicy(max_timeline_points=500),
    ]
    versions = {p.sampling_policy_version for p in changed}
    assert len(versions) == 5 and base.sampling_policy_version not in versions
    # chunk size, seek gap, the decode-once cache and the decoder change speed/memory only
    assert SamplingPolicy(decode_chunk_frames=7, seek_gap_sec=9, frame_cache_mb=0,
                          hw_decode="cuda").sampling_policy_version == base.sampling_policy_version


def test_policy_loads_from_config_file_and_env(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("sampling:\n  analysis_fps: 6\n  cuts: {max_len_shots: 128}\n")
    monkeypatch.setenv("TRENDFLOW__SAMPLING__ANALYSIS_HEIGHT", "160")
    policy = load_section(cfg, "sampling", SamplingPolicy)
    assert (policy.analysis_fps, policy.cuts.max_len_shots, policy.analysis_height) == (6, 128, 160)
    cfg.write_text("sampling:\n  budgets: {core_clip: {min_frames: 0, target_frames: 1, max_frames: 1}}\n")
    with pytest.raises(ConfigError, match="core_clip.min_frames"):
        load_section(cfg, "sampling", SamplingPolicy)
    cfg.write_text("sampling:\n  color_space: BGR\n")
    with pytest.raises(ConfigError, match="color_space"):
        load_section(cfg, "sampling", SamplingPolicy)
