"""video_pacing: editing rhythm (shot lengths) and motion energy over time (CPU, numpy only)."""

from __future__ import annotations

import numpy as np

from ray_pipelines.stages.shot_quality import luma

FAST_SHOT_SEC = 1.0
LONG_SHOT_SEC = 10.0
STATIC_THRESHOLD = 2.0  # luma levels per second: below this a sample counts as static
META = {"fast_shot_sec": FAST_SHOT_SEC, "long_shot_sec": LONG_SHOT_SEC, "static_threshold": STATIC_THRESHOLD}


class MotionCurve:
    """Mean absolute luma change per second between consecutive sampled frames of the same shot,
    fed chunk by chunk (the last frame of a chunk pairs with the first of the next).

    Pairs that straddle a cut are skipped: a cut is an edit, not motion.
    """

    def __init__(self):
        self.times: list[np.ndarray] = []
        self.energy: list[np.ndarray] = []
        self._last = None  # (luma, time, shot) of the previous frame

    def update(self, frames: np.ndarray, times_sec: np.ndarray, shot_index: np.ndarray) -> None:
        if not len(frames):
            return
        y = luma(frames[:, ::2, ::2])  # half resolution is plenty for a motion proxy
        t, s = np.asarray(times_sec, np.float64), np.asarray(shot_index)
        if self._last is not None:
            y, t, s = (np.concatenate([self._last[i], x]) for i, x in enumerate((y, t, s)))
        self._last = (y[-1:], t[-1:], s[-1:])
        if len(y) < 2:
            return
        diff = np.abs(np.diff(y, axis=0)).reshape(len(y) - 1, -1).mean(1)
        dt = np.diff(t)
        keep = (s[1:] == s[:-1]) & (dt > 0)
        self.times.append(t[1:][keep])
        self.energy.append(diff[keep] / dt[keep])

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.times:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return np.concatenate(self.times).astype(np.float32), np.concatenate(self.energy).astype(np.float32)


def motion_curve(frames: np.ndarray, times_sec: np.ndarray, shot_index: np.ndarray):
    curve = MotionCurve()
    curve.update(frames, times_sec, shot_index)
    return curve.result()


def compute(shot_start_sec: np.ndarray, shot_end_sec: np.ndarray, frames: np.ndarray,
            times_sec: np.ndarray, shot_index: np.ndarray) -> dict[str, np.ndarray]:
    return from_motion(shot_start_sec, shot_end_sec, *motion_curve(frames, times_sec, shot_index))


def from_motion(shot_start_sec: np.ndarray, shot_end_sec: np.ndarray, m_times: np.ndarray,
                energy: np.ndarray) -> dict[str, np.ndarray]:
    lengths = (shot_end_sec - shot_start_sec).astype(np.float32)
    duration = float(shot_end_sec[-1] - shot_start_sec[0]) if len(lengths) else 0.0
    nan = np.float32(np.nan)

    def stat(fn, x):
        return np.float32(fn(x)) if len(x) else nan

    return {
        "shot_lengths_sec": lengths,
        "motion_times_sec": m_times,
        "motion_energy": energy,
        "n_shots": np.float32(len(lengths)),
        "shots_per_min": np.float32(len(lengths) / (duration / 60.0)) if duration > 0 else nan,
        "shot_len_mean": stat(np.mean, lengths),
        "shot_len_median": stat(np.median, lengths),
        "shot_len_std": stat(np.std, lengths),
        "shot_len_min": stat(np.min, lengths),
        "shot_len_max": stat(np.max, lengths),
        "fast_shot_share": stat(lambda x: np.mean(x < FAST_SHOT_SEC), lengths),
        "long_shot_share": stat(lambda x: np.mean(x > LONG_SHOT_SEC), lengths),
        "motion_mean": stat(np.mean, energy),
        "motion_std": stat(np.std, energy),
        "motion_p90": stat(lambda x: np.percentile(x, 90), energy),
        "static_share": stat(lambda x: np.mean(x < STATIC_THRESHOLD), energy),
    }
