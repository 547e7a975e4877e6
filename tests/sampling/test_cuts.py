"""cut_detection against ground truth: hard cuts, fades, dissolves, flashes, shot-length rules, 256 shots."""

import numpy as np
import pytest

from sampling import segment_video
from sampling.candidates import compute_signals, find_candidates
from sampling.cuts import CutDetectionConfig, detect_shots
from trendflow.synth.video import Shot, write_video


def _f1(detected, truth_frames, tol=2):
    detected = list(detected)
    tp = 0
    for f in truth_frames:
        hit = [d for d in detected if abs(d - f) <= tol]
        if hit:
            detected.remove(min(hit, key=lambda d: abs(d - f)))
            tp += 1
    p = tp / max(1, tp + len(detected))
    r = tp / max(1, len(truth_frames))
    return 2 * p * r / max(p + r, 1e-9)


def test_hard_cuts_of_every_visual_source_are_found_exactly(videos):
    path, truth = videos["hard"]
    shots = detect_shots(compute_signals(path))
    assert _f1(shots.cut_frame, truth.cut_frames) >= 0.95
    # Most cuts land on the exact frame, not just within tolerance.
    exact = np.isin(truth.cut_frames, shots.cut_frame).mean()
    assert exact >= 0.9
    assert set(shots.cut_kind) == {"cut"}
    assert np.all(shots.cut_confidence > 0.3)


def test_fades_and_dissolves_are_found_inside_their_transitions(videos):
    path, truth = videos["gradual"]
    shots = detect_shots(compute_signals(path))
    assert len(shots.cut_frame) == len(truth.cut_frames)
    for frame, kind, (first, last), tkind in zip(shots.cut_frame, shots.cut_kind,
                                                 truth.transition_frame_ranges, truth.transition_kinds):
        assert first - 2 <= frame <= last + 2, (frame, first, last, tkind)
        assert kind == tkind


def test_candidates_are_a_superset_of_confirmed_cuts(videos):
    path, truth = videos["hard"]
    sig = compute_signals(path)
    cand = find_candidates(sig, min_cut_score=0.045)
    shots = detect_shots(sig)
    assert len(cand) >= len(shots.cut_frame)
    assert set(shots.cut_frame[shots.cut_kind == "cut"]) <= set(cand.frame[cand.kind == "cut"])


def test_steady_fast_motion_and_a_flash_are_not_cuts(tmp_path):
    shots = [Shot("texture", 2.0, color=(100, 120, 90), seed=1, motion=1.0),
             Shot("solid", 0.04, color=(255, 255, 255)),  # one white frame
             Shot("noise", 1.0, color=(100, 80, 160), seed=2, motion=0.0),
             Shot("solid", 0.04, color=(255, 255, 255)),
             Shot("noise", 1.0, color=(100, 80, 160), seed=2, motion=0.0)]
    truth = write_video(tmp_path / "flash.mp4", shots, width=96, height=54)
    found = detect_shots(compute_signals(tmp_path / "flash.mp4"))
    # Only the texture -> noise change is a real new shot (around frame 50-51).
    assert list(found.cut_frame) in ([truth.cut_frames[0]], [truth.cut_frames[1]])


def test_min_shot_length_keeps_the_stronger_of_two_close_cuts(tmp_path):
    shots = [Shot("solid", 1.0, color=(250, 0, 0)), Shot("solid", 0.16, color=(200, 60, 60)),
             Shot("solid", 1.0, color=(0, 0, 250))]
    write_video(tmp_path / "close.mp4", shots, width=64, height=36)
    sig = compute_signals(tmp_path / "close.mp4")
    loose = detect_shots(sig, CutDetectionConfig(min_shot_sec=0.0))
    strict = detect_shots(sig, CutDetectionConfig(min_shot_sec=0.3))
    assert list(loose.cut_frame) == [25, 29]
    assert len(strict.cut_frame) == 1 and strict.cut_frame[0] in (25, 29)
    assert np.all(np.diff(strict.start_sec) >= 0.3)


def test_over_long_shots_are_split_evenly(tmp_path):
    write_video(tmp_path / "long.mp4", [Shot("texture", 5.0, motion=0.2)], width=64, height=36)
    shots = detect_shots(compute_signals(tmp_path / "long.mp4"), CutDetectionConfig(max_shot_sec=2.0))
    assert shots.n_shots == 3 and list(shots.cut_kind) == ["split", "split"]
    assert np.all(shots.cut_confidence == 0)
    np.testing.assert_allclose(shots.end_sec - shots.start_sec, 5 / 3, atol=0.05)


def test_more_than_max_len_shots_are_merged_with_a_mapping(tmp_path):
    # 300 solid shots of 0.4 s at 10 fps: pairs (2k, 2k+1) are one colour and a lighter shade of
    # it, and consecutive pairs have unrelated colours -> the similar pairs must be merged first.
    palette = [(200, 30, 30), (30, 170, 30), (30, 30, 200), (190, 190, 30), (150, 30, 160)]
    shots = []
    for k in range(150):
        base = np.array(palette[k % len(palette)])
        for shade in (0, 60):
            shots.append(Shot("solid", 0.4, color=tuple(int(x) for x in np.clip(base + shade, 0, 255))))
    truth = write_video(tmp_path / "many.mp4", shots, fps=10, width=32, height=18, preset="ultrafast")
    sig = compute_signals(tmp_path / "many.mp4")
    cfg = CutDetectionConfig(min_shot_sec=0.2, max_len_shots=256)
    unmerged = detect_shots(sig, cfg.model_copy(update={"max_len_shots": 10_000}))
    assert unmerged.n_shots == 300 and list(unmerged.start_frame[1:]) == truth.cut_frames
    shots_ = detect_shots(sig, cfg)
    assert shots_.n_shots == 256
    assert len(shots_.detected_start_frame) == 300
    m = shots_.detected_to_shot
    assert m[0] == 0 and m[-1] == 255 and np.all(np.diff(m) >= 0) and np.all(np.diff(m) <= 1)
    # Final shot k starts where its first detected shot started and tiles the video.
    first_member = np.searchsorted(m, np.arange(256))
    assert np.array_equal(shots_.start_frame, shots_.detected_start_frame[first_member])
    assert np.array_equal(shots_.end_frame[:-1], shots_.start_frame[1:]) and shots_.end_frame[-1] == sig.n_frames
    # The 44 merges joined colour-family pairs (2k, 2k+1), not unrelated neighbours.
    merged_pairs = [k for k in range(299) if m[k] == m[k + 1]]
    assert len(merged_pairs) == 44 and all(k % 2 == 0 for k in merged_pairs)


def test_vfr_cuts_use_real_timestamps(videos):
    path, truth = videos["vfr_portrait"]
    seg = segment_video(path)
    assert _f1(seg.shots.cut_frame, truth.cut_frames) >= 0.95
    found_times = seg.shots.start_sec[1:]
    np.testing.assert_allclose(found_times, truth.frame_times_s[truth.cut_frames], atol=1e-3)
    assert seg.plan.duration_sec == pytest.approx(truth.duration_s, abs=0.05)


@pytest.mark.parametrize("name,n_frames", [("one_frame", 1), ("half_second", 13)])
def test_tiny_videos_give_one_shot(videos, name, n_frames):
    path, truth = videos[name]
    seg = segment_video(path)
    assert truth.n_frames == n_frames == seg.shots.n_frames
    assert seg.shots.n_shots == 1 and seg.shots.cut_frame.size == 0
    frames = seg.load_frames()
    assert frames.shape[0] == seg.plan.n_union >= 1 and frames.dtype == np.uint8


def test_fade_ramps_do_not_add_cuts(tmp_path):
    # A fade in to a still picture changes it a little every frame: the end of the ramp looks like
    # an isolated jump, and must not become a second boundary next to the fade.
    shots = [Shot("gradient", 3.14, color=(53, 91, 150), brightness=1.07, motion=0.04, seed=25,
                  transition="fade", transition_s=0.93),
             Shot("gradient", 3.92, color=(205, 106, 62), brightness=1.07, motion=0.46, seed=90,
                  transition="fade", transition_s=0.96),
             Shot("texture", 3.06, color=(66, 240, 254), motion=0.78, seed=36)]
    truth = write_video(tmp_path / "fades.mp4", shots, width=96, height=54)
    found = detect_shots(compute_signals(tmp_path / "fades.mp4"))
    assert list(found.cut_kind) == ["fade", "fade"]
    for frame, (first, last) in zip(found.cut_frame, truth.transition_frame_ranges):
        assert first <= frame <= last


def test_cuts_are_found_when_the_encoder_put_no_keyframe_at_them(tmp_path):
    # A fixed GOP (every 24th frame a keyframe, x264's scene-cut keyframes off): cut detection must not
    # lean on keyframes falling at the cuts, as they do with x264's defaults.
    import av

    from tests.sampling.conftest import HARD_CUT_SHOTS
    path = tmp_path / "fixed_gop.mp4"
    truth = write_video(path, HARD_CUT_SHOTS, width=128, height=72, gop_size=24, scenecut=False)
    with av.open(str(path)) as c:
        keyframes = [i for i, p in enumerate(pk for pk in c.demux(c.streams.video[0]) if pk.size) if p.is_keyframe]
    assert keyframes == list(range(0, truth.n_frames, 24))  # a keyframe starts every GOP in both orders
    assert len(set(truth.cut_frames) - set(keyframes)) >= len(truth.cut_frames) - 1  # cuts fall between them
    seg = segment_video(path)
    assert _f1(seg.shots.cut_frame, truth.cut_frames) >= 0.95
    assert np.isin(truth.cut_frames, seg.shots.cut_frame).mean() >= 0.9
