"""Decode once: keep the analysis-timeline frames of the pass-1 scan, so pass 2 need not decode again.

Every frame the per-shot strategies pick (core_clip, shot_quality: the frames the CPU stage reads) is
the source frame shown at a point of the analysis timeline (`policy.analysis_grid` / `frame_at`). The
pass-1 scan decodes every frame anyway, so while it runs, `GridFrameCache` converts those timeline
frames to RGB at the analysis size and keeps them. After cut detection and planning, pass 2 takes the
planned frames from here and decodes only the few that are not (a shot shorter than one timeline step
gets its middle frame). Measured on the 20 s, 30 fps bench video: pass 2 cost 0.44 CPU-s per minute of
video (it decoded every frame a second time, since the sampled frames are < 2 s apart); from the
cache it is the reformat alone.

Memory is the price: timeline frames x analysis size (12 fps x 320x180 RGB = 2.1 MB per second of
video), at most `max_timeline_points` (2000) frames: a video longer than 167 s has a sparser timeline
(policy.timeline_step), <= 350 MB at 320x180, <= 540 MB at 400x224 (`frame_cache_mb` 600). A video whose timeline would not fit in
`max_bytes` is not cached at all (its pass 2 decodes as before, with seeks); the limit is also enforced
while scanning, for containers that under-report their duration. The step is computed from the
container's duration here and from the real timestamps in the plan; where they disagree (a video
right at a step boundary) the frames the cache lacks are simply decoded in pass 2.
"""

from __future__ import annotations

import numpy as np

from sampling.decode import analysis_rgb, frame_reformatter


class GridFrameCache:
    """Scan-time consumer: `offer(frame, time_rel_sec)` for every decoded frame in order, then `finish()`.

    A frame is kept when a timeline point t0 + k / fps falls in [its time, the next frame's time): the
    frame shown at that point, as `frame_at` picks it (one frame of look-ahead). The last frame is
    always kept (it is shown until the video ends).
    """

    def __init__(self, analysis_fps: float, width: int, height: int, rotation: int, max_bytes: int,
                 step: int = 1):
        self.fps, self.width, self.height, self.rotation = analysis_fps, width, height, rotation
        self.step = step  # every step-th point of the analysis_fps timeline (policy.timeline_step)
        self.max_frames = max(0, max_bytes // (width * height * 3))
        self.frames: dict[int, np.ndarray] = {}  # source frame index -> (H, W, 3) uint8
        self.enabled = self.max_frames > 0
        self._reformatter = frame_reformatter()
        self._prev = None  # (frame, index, time) waiting for the next frame's time
        self._next_grid = 0  # index k of the next timeline point not yet covered

    def offer(self, frame, t_rel: float) -> None:
        if not self.enabled:
            return
        if self._prev is not None:
            prev_frame, prev_index, _ = self._prev
            if self._covers(t_rel):
                self._keep(prev_frame, prev_index)
        index = 0 if self._prev is None else self._prev[1] + 1
        self._prev = (frame, index, t_rel)

    def _covers(self, t_next: float) -> bool:
        """Does a timeline point fall before the next frame's time? (advances past those points)"""
        covered = False
        # frame_at shows frame i at time g when t_i <= g + 1e-9 < t_{i+1}.
        while (self._next_grid * self.step * 1.0) / self.fps + 1e-9 < t_next:  # as analysis_grid computes it
            self._next_grid += 1
            covered = True
        return covered

    def _keep(self, frame, index: int) -> None:
        if len(self.frames) >= self.max_frames:  # longer than announced: give up, pass 2 decodes
            self.enabled, self.frames = False, {}
            return
        self.frames[index] = analysis_rgb(self._reformatter, frame, self.width, self.height, self.rotation)

    def finish(self) -> None:
        """The last frame (shown until the end) and no decoded frame held any longer."""
        if self.enabled and self._prev is not None:
            self._keep(self._prev[0], self._prev[1])
        self._prev = None

    def __contains__(self, index: int) -> bool:
        return self.enabled and int(index) in self.frames

    def take(self, index: int) -> np.ndarray:
        return self.frames[int(index)]
