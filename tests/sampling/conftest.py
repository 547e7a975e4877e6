"""Small real mp4 files with known cuts, written once per test session with PyAV."""

import pytest

from trendflow.synth.video import Shot, write_video

# Every visual source, each shot clearly different from the last; 0.8-1.6 s shots at 25 fps.
HARD_CUT_SHOTS = [
    Shot("noise", 1.2, color=(200, 60, 40), seed=1, motion=0.4),
    Shot("texture", 1.0, color=(60, 140, 90), seed=2, motion=0.6),
    Shot("text", 0.8, color=(230, 230, 220), seed=3, motion=0.5),
    Shot("shapes", 1.4, color=(20, 30, 60), seed=4, motion=0.9),
    Shot("gradient", 1.0, color=(250, 180, 0), seed=5, motion=0.5),
    Shot("noise", 1.0, color=(60, 70, 200), seed=6, motion=0.8),  # noise after noise-like texture
    Shot("texture", 1.6, color=(150, 100, 60), seed=7, motion=1.0),
    Shot("solid", 0.8, color=(90, 0, 120), seed=8),
    Shot("shapes", 1.2, color=(240, 240, 240), seed=9, motion=0.7),
    Shot("text", 1.0, color=(10, 10, 40), seed=10, motion=0.3),
]

GRADUAL_SHOTS = [
    Shot("texture", 2.0, color=(120, 160, 80), seed=1, motion=0.3, transition="fade", transition_s=0.6),
    Shot("shapes", 2.0, color=(30, 40, 90), seed=2, motion=0.5, transition="dissolve", transition_s=0.8),
    Shot("text", 2.0, color=(230, 220, 200), seed=3, motion=0.3, transition="cut"),
    Shot("noise", 2.0, color=(200, 50, 50), seed=4, motion=0.3, transition="dissolve", transition_s=0.5),
    Shot("gradient", 2.0, color=(20, 120, 220), seed=5, motion=0.4),
]


@pytest.fixture(scope="session")
def videos(tmp_path_factory):
    """name -> (path, VideoTruth) for the shared test videos."""
    d = tmp_path_factory.mktemp("sampling_videos")
    out = {}

    def make(name, shots, **kw):
        out[name] = (str(d / f"{name}.mp4"), write_video(d / f"{name}.mp4", shots, **kw))

    make("hard", HARD_CUT_SHOTS, width=128, height=72)
    make("gradual", GRADUAL_SHOTS, width=128, height=72)
    make("vfr_portrait", HARD_CUT_SHOTS[:6], width=72, height=128, fps=30, vfr=True)
    make("rotated_odd", HARD_CUT_SHOTS[:3], width=95, height=53, rotate_degrees=90)
    make("one_frame", [Shot("texture", 1 / 25)], width=64, height=36)
    make("half_second", [Shot("noise", 0.5, seed=3)], width=64, height=36)
    return out
