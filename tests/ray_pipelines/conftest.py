"""A small dataset of real mp4 files (good and bad) for the pipeline tests."""

import json
from pathlib import Path

import numpy as np
import pytest

from trendflow.synth.video import Shot, write_video

SR = 16000


def tone(seconds, freq=440.0, channels=1, sr=SR, level=0.3):
    t = np.arange(int(seconds * sr)) / sr
    wave = (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave] * channels) if channels > 1 else wave


def shots(n=3, seconds=1.0, seed=0):
    kinds = ("noise", "gradient", "shapes", "texture", "text")
    return [Shot(kinds[(i + seed) % len(kinds)], seconds, color=(40 + 60 * i % 200, 90, 200 - 50 * i % 150),
                 seed=seed * 10 + i) for i in range(n)]


def write_good(videos: Path, video_id: str, seed: int, n_shots=3, seconds=1.0, audio=True, **kw):
    total = n_shots * seconds
    return write_video(videos / f"{video_id}.mp4", shots(n_shots, seconds, seed),
                       audio=tone(total, 300 + 100 * seed) if audio else None, sample_rate=SR, seed=seed,
                       **{"width": 96, "height": 64, "fps": 15, **kw})


def write_metadata(root: Path, video_id: str, platform_id="youtube"):
    (root / "metadata").mkdir(exist_ok=True)
    (root / "metadata" / f"{video_id}.json").write_text(json.dumps({"video_id": video_id, "platform_id": platform_id}))


@pytest.fixture(scope="session")
def good_dataset(tmp_path_factory):
    """Three ordinary videos (one without an audio track)."""
    root = tmp_path_factory.mktemp("good_dataset")
    videos = root / "videos"
    videos.mkdir()
    truths = {}
    for i, vid in enumerate(["vidA", "vidB", "vidC"]):
        truths[vid] = write_good(videos, vid, seed=i, audio=(vid != "vidC"))
        write_metadata(root, vid)
    return root, truths


@pytest.fixture(scope="session")
def bad_dataset(tmp_path_factory):
    """Every kind of awkward input next to one good video."""
    root = tmp_path_factory.mktemp("bad_dataset")
    videos = root / "videos"
    videos.mkdir()
    write_good(videos, "good", seed=1)
    (videos / "zero_byte.mp4").write_bytes(b"")
    full = (videos / "good.mp4").read_bytes()
    (videos / "truncated.mp4").write_bytes(full[: len(full) // 3])
    (videos / "not_a_video.mp4").write_text("this is a text file, not a video\n" * 50)
    write_good(videos, "one_frame", seed=2, n_shots=1, seconds=1 / 15)
    write_good(videos, "half_second", seed=3, n_shots=1, seconds=0.5)
    write_good(videos, "portrait", seed=4, width=64, height=112)
    write_good(videos, "vfr", seed=5, vfr=True)
    write_good(videos, "rotated", seed=6, rotate_degrees=90)
    write_good(videos, "odd_size", seed=7, width=97, height=61)
    write_good(videos, "big_4k", seed=8, n_shots=2, seconds=0.4, width=3840, height=2160, fps=10)
    write_audio_only(videos / "audio_only.mp4")
    (videos / "bad..id.mp4").write_bytes(full)  # unsafe id: rejected before any path is built
    return root


def write_audio_only(path: Path):
    import av
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=SR)
        s.layout = "mono"
        samples = tone(1.0)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = SR
        for packet in s.encode(frame):
            c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
