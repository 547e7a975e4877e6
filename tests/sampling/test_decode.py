"""Decoding: sparse reads match a full decode, rotation/odd sizes/VFR, bad files give typed errors."""

import av
import numpy as np
import pytest

from sampling.candidates import compute_signals
from sampling.decode import VideoDecodeError, analysis_size, iter_frames, iter_small_yuv, probe
from trendflow.synth.video import Shot, write_video


def _full_decode(path, w, h):
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA")
                         for f in c.decode(video=0)])


@pytest.mark.parametrize("seek_gap_sec", [100.0, 0.3])  # never seek / seek at every gap
def test_sparse_frames_equal_the_same_frames_of_a_full_decode(tmp_path, seek_gap_sec):
    shots = [Shot("texture", 2.0, seed=1, motion=0.8), Shot("shapes", 2.0, seed=2, motion=0.8)]
    write_video(tmp_path / "v.mp4", shots, width=64, height=36, gop_size=10)
    times = compute_signals(tmp_path / "v.mp4").times_sec
    want = np.array([0, 3, 4, 30, 31, 57, 90, 99])
    chunks = list(iter_frames(tmp_path / "v.mp4", want, times, width=64, height=36, chunk_size=3,
                              seek_gap_sec=seek_gap_sec))
    assert all(len(fr) <= 3 for _, fr in chunks)
    positions = np.concatenate([p for p, _ in chunks])
    frames = np.concatenate([fr for _, fr in chunks])
    np.testing.assert_array_equal(positions, np.arange(len(want)))
    np.testing.assert_array_equal(frames, _full_decode(tmp_path / "v.mp4", 64, 36)[want])


def test_requested_frames_beyond_the_end_are_reported(tmp_path):
    write_video(tmp_path / "v.mp4", [Shot("noise", 0.4)], width=32, height=32)
    times = np.arange(20) / 25  # pretend the scan saw 20 frames; the file has 10
    with pytest.raises(VideoDecodeError) as e:
        list(iter_frames(tmp_path / "v.mp4", [2, 15], times, width=32, height=32))
    assert e.value.reason == "frames_missing"


def test_rotation_is_applied_and_odd_sizes_work(videos):
    path, truth = videos["rotated_odd"]  # coded 95x53, displayed rotated 90 degrees
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (95, 53, 90)
    assert info.display_size == (53, 95) == truth.display_size
    times = compute_signals(path).times_sec
    (_, frames), = list(iter_frames(path, [0], times, width=53, height=95, rotation=90))
    assert frames.shape == (1, 95, 53, 3)
    coded = _full_decode(path, 95, 53)[0]
    np.testing.assert_array_equal(frames[0], np.rot90(coded, 1))  # counter-clockwise


def test_analysis_size_keeps_aspect_and_orientation():
    assert analysis_size(1920, 1080, 400, 224) == (398, 224)
    assert analysis_size(1080, 1920, 400, 224) == (224, 398)  # portrait: the box turns
    assert analysis_size(320, 180, 400, 224) == (320, 180)  # never upscaled
    assert analysis_size(95, 53, 400, 224) == (96, 54)  # even sizes for every codec downstream
    w, h = analysis_size(4000, 100, 400, 224)
    assert w <= 400 and h >= 2


def test_vfr_scan_returns_real_timestamps(videos):
    path, truth = videos["vfr_portrait"]
    sig = compute_signals(path)
    assert sig.n_frames == truth.n_frames
    np.testing.assert_allclose(sig.times_sec, truth.frame_times_s, atol=1e-3)
    assert sig.fps == pytest.approx(30, rel=0.15)


def test_small_yuv_scan_covers_every_frame_in_bounded_chunks(videos):
    path, truth = videos["hard"]
    chunks = list(iter_small_yuv(path, width=16, height=9, chunk_size=50))
    assert [len(t) for t, _ in chunks][:-1] == [50] * (len(chunks) - 1)
    assert sum(len(t) for t, _ in chunks) == truth.n_frames
    assert chunks[0][1].shape[1:] == (3, 9, 16)  # planar Y, U, V


def _bad_files(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video\n" * 50)
    write_video(tmp_path / "ok.mp4", [Shot("noise", 1.0), Shot("texture", 1.0)], width=64, height=36)
    data = (tmp_path / "ok.mp4").read_bytes()
    (tmp_path / "no_index.mp4").write_bytes(data[: len(data) // 2])  # index (moov) is at the end
    with av.open(str(tmp_path / "audio.m4a"), "w") as c:
        s = c.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for p in [*s.encode(frame), *s.encode(None)]:
            c.mux(p)
    return {"missing.mp4": "missing_file", "empty.mp4": "empty_file", "text.mp4": "invalid_data",
            "no_index.mp4": "invalid_data", "audio.m4a": "no_video_stream"}


def test_bad_files_raise_typed_errors(tmp_path):
    for name, reason in _bad_files(tmp_path).items():
        with pytest.raises(VideoDecodeError) as e:
            compute_signals(tmp_path / name)
        assert e.value.reason == reason, name
        assert name in str(e.value)
        with pytest.raises(VideoDecodeError):
            probe(tmp_path / name)


def test_truncated_streamable_file_keeps_decoded_frames_and_says_so(tmp_path):
    truth = write_video(tmp_path / "ok.mp4", [Shot("noise", 2.0, motion=1.0), Shot("texture", 2.0)],
                        width=128, height=72, faststart=True)
    data = (tmp_path / "ok.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    sig = compute_signals(tmp_path / "cut.mp4")
    assert 0 < sig.n_frames < truth.n_frames
    assert "truncated" in sig.decode_warning


@pytest.mark.parametrize("name", ["hard", "vfr_portrait", "rotated_odd", "one_frame"])
def test_chunked_thumbnails_equal_frame_by_frame_ones(videos, name):
    # The scan thumbnails small frames a chunk at a time; the values must be those of small_yuv per frame.
    from sampling.decode import small_yuv
    path, _ = videos[name]
    chunked = np.concatenate([y for _, y in iter_small_yuv(path, chunk_size=7)])
    with av.open(path) as c:
        frames = list(c.decode(c.streams.video[0]))
    one_by_one = np.empty((len(frames), 3, 36, 64), np.float32)
    for f, out in zip(frames, one_by_one):
        small_yuv(f, out)
    np.testing.assert_array_equal(chunked, one_by_one)
