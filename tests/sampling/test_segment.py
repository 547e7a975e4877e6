"""segment_video end to end: artifacts validate and round-trip through the store, frames stream, CLI."""

import json

import numpy as np
import pytest

from sampling import SamplingPolicy, VideoDecodeError, segment_video
from trendflow.artifacts import ArtifactStore, RunKey
from trendflow.cli import main


def test_artifacts_write_and_read_back(videos, tmp_path):
    path, truth = videos["hard"]
    seg = segment_video(path)
    store = ArtifactStore(str(tmp_path / "store"))
    key = RunKey("youtube", "vid1", "run-1", "cfg", seg.sampling_policy_version)
    store.write(key, "cut_detection", seg.cut_detection_arrays(), extra_meta=seg.cut_detection_meta())
    store.write(key, "sampling_plan", seg.sampling_plan_arrays())
    cuts = store.read(key, "cut_detection")
    plan = store.read(key, "sampling_plan")
    assert cuts.meta["sampling_policy_version"] == seg.sampling_policy_version
    assert cuts.meta["max_len_shots"] == 256 and cuts.meta["decode_warning"] is None
    np.testing.assert_array_equal(cuts.arrays["cut_frame"], seg.shots.cut_frame)
    np.testing.assert_allclose(cuts.arrays["shot_start_sec"][1:], np.asarray(truth.cut_times_s), atol=0.09)
    assert float(cuts.arrays["shot_end_sec"][-1]) == pytest.approx(truth.duration_s, abs=0.05)
    assert str(plan.arrays["color_space"]) == "RGB"
    np.testing.assert_array_equal(plan.arrays["union_frame_indices"], seg.plan.union_frame_indices)
    # union indices of a component, mapped back to source frames, are that component's frames
    clip = plan.arrays["union_frame_indices"][plan.arrays["core_clip_union_idx"]]
    np.testing.assert_array_equal(clip, seg.plan.source_frames("core_clip"))


def test_union_frames_stream_in_chunks_and_match_load_frames(videos):
    path, _ = videos["hard"]
    seg = segment_video(path, SamplingPolicy(decode_chunk_frames=16, analysis_width=64, analysis_height=64))
    assert (seg.plan.analysis_width, seg.plan.analysis_height) == (64, 36)
    chunks = list(seg.iter_frames())
    assert all(len(c.frames) <= 16 for c in chunks)
    streamed = np.concatenate([c.frames for c in chunks])
    assert streamed.shape == (seg.plan.n_union, 36, 64, 3) and streamed.dtype == np.uint8
    np.testing.assert_array_equal(streamed, seg.load_frames())
    clip_total = sum(int(c.mask("core_clip").sum()) for c in chunks)
    assert clip_total == len(seg.plan.component_union_idx["core_clip"])
    shots_seen = np.concatenate([c.shot_index[c.mask("core_clip")] for c in chunks])
    assert set(shots_seen.tolist()) == set(range(seg.shots.n_shots))  # every shot gets a CLIP frame


def test_union_frames_show_the_right_shot(videos):
    # Frames are decoded where the plan says: each sampled frame looks like its shot, not a neighbour.
    path, truth = videos["hard"]
    seg = segment_video(path, SamplingPolicy(analysis_width=64, analysis_height=64))
    frames = seg.load_frames().reshape(seg.plan.n_union, -1, 3).mean(1)  # (N, 3) mean colour
    true_shot = np.searchsorted(truth.shot_start_frames, seg.plan.union_frame_indices, side="right") - 1
    assert np.array_equal(seg.plan.union_shot_index, true_shot)
    solid = truth.shot_kinds.index("solid")
    on_solid = frames[true_shot == solid]
    np.testing.assert_allclose(on_solid, np.tile([90, 0, 120], (len(on_solid), 1)), atol=12)


def test_portrait_rotated_video_frames_are_upright(videos):
    path, _ = videos["rotated_odd"]
    seg = segment_video(path)
    assert seg.info.rotation == 90
    frames = seg.load_frames()
    assert frames.shape[1:] == (96, 54, 3)  # display 53x95 -> even 54x96 (never upscaled beyond rounding)


def test_cli_prints_shots_as_json(videos, capsys):
    path, truth = videos["gradual"]
    assert main(["shots", path, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_shots"] == len(truth.cut_frames) + 1
    assert [s["cut_in"] for s in report["shots"]] == [None] + truth.transition_kinds
    assert report["shots"][-1]["end_frame"] == truth.n_frames
    assert main(["shots", path]) == 0
    assert "dissolve" in capsys.readouterr().out


def test_cli_reports_undecodable_files(tmp_path, capsys):
    (tmp_path / "x.mp4").write_text("nope")
    assert main(["shots", str(tmp_path / "x.mp4")]) == 2
    assert "invalid_data" in capsys.readouterr().err


def test_segment_video_raises_typed_error(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoDecodeError) as e:
        segment_video(tmp_path / "empty.mp4")
    assert e.value.reason == "empty_file"


@pytest.mark.parametrize("name", ["hard", "gradual", "vfr_portrait", "rotated_odd", "one_frame", "half_second"])
def test_frames_kept_by_the_scan_equal_a_second_decode(videos, name):
    # Decode once (the scan keeps the timeline frames) must give the very pixels a second decode gives.
    path, _ = videos[name]
    once = segment_video(path)
    twice = segment_video(path, SamplingPolicy(frame_cache_mb=0))
    assert once.frame_cache is not None and twice.frame_cache is None
    np.testing.assert_array_equal(once.plan.union_frame_indices, twice.plan.union_frame_indices)
    for components in (None, ("core_clip", "shot_quality")):
        a, b = list(once.iter_frames(components=components)), list(twice.iter_frames(components=components))
        np.testing.assert_array_equal(np.concatenate([c.union_positions for c in a]),
                                      np.concatenate([c.union_positions for c in b]))
        np.testing.assert_array_equal(np.concatenate([c.frames for c in a]), np.concatenate([c.frames for c in b]))
    assert all(f in once.frame_cache for f in once.plan.source_frames("core_clip")[:-1])


def test_a_video_too_long_for_the_cache_is_decoded_again(videos):
    path, _ = videos["hard"]
    seg = segment_video(path, SamplingPolicy(frame_cache_mb=1))  # 10.6 s x 12 fps x 128x72 RGB = 3.5 MB
    assert seg.frame_cache is None
    np.testing.assert_array_equal(seg.load_frames(), segment_video(path).load_frames())


def test_the_cuda_decoder_switch_falls_back_to_the_cpu(videos):
    # hw_decode: cuda cannot be measured on this CPU-only machine; it must at least give the same shots here.
    path, _ = videos["hard"]
    cpu, cuda = segment_video(path), segment_video(path, SamplingPolicy(hw_decode="cuda"))
    np.testing.assert_array_equal(cpu.shots.cut_frame, cuda.shots.cut_frame)
    np.testing.assert_array_equal(cpu.load_frames(), cuda.load_frames())
    assert cpu.sampling_policy_version == cuda.sampling_policy_version  # a runtime setting


def test_a_long_video_keeps_every_kth_timeline_point_and_still_decodes_once(videos):
    # max_timeline_points stands in for a long video: 10.6 s x 12 fps = 128 points > 40 -> every 4th.
    path, _ = videos["hard"]
    policy = SamplingPolicy(max_timeline_points=40, budgets={"core_clip": {"min_frames": 20, "target_frames": 30,
                                                                          "max_frames": 40}})
    once, twice = segment_video(path, policy), segment_video(path, policy.model_copy(update={"frame_cache_mb": 0}))
    assert once.plan.analysis_fps == pytest.approx(12 / 4)
    assert once.sampling_policy_version != segment_video(path).sampling_policy_version
    reads = ("core_clip", "shot_quality")
    assert all(f in once.frame_cache for f in once.plan.union_frame_indices[
        np.unique(np.concatenate([once.plan.component_union_idx[c] for c in reads]))][:-1])
    assert len(once.frame_cache.frames) <= 40 + 1
    a = np.concatenate([c.frames for c in once.iter_frames(components=reads)])
    b = np.concatenate([c.frames for c in twice.iter_frames(components=reads)])
    np.testing.assert_array_equal(a, b)
