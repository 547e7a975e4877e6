"""shot_thumbnails: one small JPEG per shot, from the union frames the CPU stage already decodes.

The frames arrive in decode order, chunk by chunk (`ThumbnailPicker.update`); for each shot the frame
nearest its middle is kept, already resized to `THUMBNAIL_WIDTH` px wide (so memory holds at most one
small image per shot, never analysis frames). `result()` encodes the JPEGs and packs them into the
artifact's arrays; `jpeg_of(arrays, shot)` reads one back (the page's thumbnail endpoint).
"""

from __future__ import annotations

import io

import numpy as np

from trendflow.components.shot_thumbnails import THUMBNAIL_WIDTH

JPEG_QUALITY = 80  # 160x90: 1.7 kB mean, 2.7 kB max on the synthetic test corpus; 256 shots stay well under 1 MB
META = {"thumbnail_width": THUMBNAIL_WIDTH, "jpeg_quality": JPEG_QUALITY}
NO_FRAMES = "no decoded frames: the video has no frame to show"


def thumbnail_size(height: int, width: int, target_width: int = THUMBNAIL_WIDTH) -> tuple[int, int]:
    """(h, w) of a frame of (height, width) scaled to target_width, aspect kept (at least 1 px)."""
    return max(1, int(round(height * target_width / max(width, 1)))), target_width


def resize(frame: np.ndarray, target_width: int = THUMBNAIL_WIDTH) -> np.ndarray:
    """(H, W, 3) uint8 RGB → (h, target_width, 3) uint8, area-averaged when shrinking."""
    from PIL import Image

    h, w = thumbnail_size(*frame.shape[:2], target_width)
    return np.asarray(Image.fromarray(frame).resize((w, h), Image.Resampling.LANCZOS), np.uint8)


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


class ThumbnailPicker:
    """Keeps, per shot, the frame nearest the shot's middle seen so far (resized)."""

    def __init__(self, shot_start_sec: np.ndarray, shot_end_sec: np.ndarray, target_width: int = THUMBNAIL_WIDTH):
        starts, ends = np.asarray(shot_start_sec, np.float64), np.asarray(shot_end_sec, np.float64)
        self.middle = (starts + ends) / 2  # (n_shots,)
        self.target_width = target_width
        self.best_distance = np.full(len(starts), np.inf)
        self.time = np.full(len(starts), np.nan)
        self.images: dict[int, np.ndarray] = {}

    def update(self, frames: np.ndarray, times_sec: np.ndarray, shot_index: np.ndarray) -> None:
        """frames (B, H, W, 3) uint8 at times (B,) in shots (B,) (a shot index < 0 is outside every shot)."""
        shot_index = np.asarray(shot_index)
        distance = np.abs(np.asarray(times_sec, np.float64) - self.middle[np.clip(shot_index, 0, None)]
                          ) if len(self.middle) else np.zeros(len(shot_index))
        for shot in np.unique(shot_index[(shot_index >= 0) & (shot_index < len(self.middle))]):
            rows = np.flatnonzero(shot_index == shot)
            i = rows[np.argmin(distance[rows])]
            if distance[i] < self.best_distance[shot]:
                self.best_distance[shot], self.time[shot] = distance[i], times_sec[i]
                self.images[int(shot)] = resize(frames[i], self.target_width)

    def result(self):
        """The artifact's arrays, or (arrays, "empty", reason) when no frame of any shot was decoded."""
        n = len(self.middle)
        blobs = [encode_jpeg(self.images[s]) if s in self.images else b"" for s in range(n)]
        sizes = np.array([len(b) for b in blobs], np.int64)
        shapes = np.array([self.images[s].shape[:2] if s in self.images else (0, 0) for s in range(n)],
                          np.int32).reshape(n, 2)
        arrays = {
            "jpeg_bytes": np.frombuffer(b"".join(blobs), np.uint8),
            "jpeg_offsets": np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if n else sizes,
            "jpeg_sizes": sizes,
            "width": shapes[:, 1],
            "height": shapes[:, 0],
            "frame_time_sec": self.time.astype(np.float32),
            "thumbnail_present": sizes > 0,
        }
        if not self.images:
            return arrays, "empty", NO_FRAMES
        return arrays


def compute(frames: np.ndarray, times_sec: np.ndarray, shot_index: np.ndarray, shot_start_sec: np.ndarray,
            shot_end_sec: np.ndarray):
    """All frames at once (tests, short videos); the pipeline feeds a ThumbnailPicker chunk by chunk."""
    picker = ThumbnailPicker(shot_start_sec, shot_end_sec)
    if len(frames):
        picker.update(frames, times_sec, shot_index)
    return picker.result()


def jpeg_of(arrays, shot: int) -> bytes | None:
    """The JPEG file of one shot from the artifact's arrays (None: no such shot or no thumbnail)."""
    sizes = arrays["jpeg_sizes"]
    if not 0 <= shot < len(sizes) or sizes[shot] == 0:
        return None
    start = int(arrays["jpeg_offsets"][shot])
    return bytes(np.asarray(arrays["jpeg_bytes"][start:start + int(sizes[shot])], np.uint8))
