"""Video decoding for the Segmenter (PyAV): a cheap full scan and a sparse read of chosen frames.

Two ways in, both streaming (memory does not grow with the video's length beyond tiny per-frame
signals):
- `iter_small_yuv(path, ...)`: every frame, as a tiny planar YUV thumbnail (B, 3, h, w) taken straight
  from the decoder's planes (no colour conversion, no full-size copy), in chunks; this feeds the
  cut-candidate signals.
- `iter_frames(path, frame_indices, ...)`: only the requested frames, RGB at the analysis size,
  with the container's rotation applied, in chunks of at most `chunk_size` frames. Far-apart
  requests seek to the nearest keyframe instead of decoding everything in between.

Frame index = ordinal of a frame in presentation order (0-based), for variable frame rate too;
its time is the decoder's real timestamp. PyAV rather than decord: `bench/cuts.py` measures both
on the sparse reads of a real sampling plan, and PyAV was 1.2-1.3x faster (best of 3; at
1280x720 -> 398x224 and at 320x180; single runs on the shared 2-core box varied 0.8-3x). PyAV
also gives the real per-frame timestamps (VFR) and the display matrix; decord 0.6.0 (2021)
returns 4-channel garbage for videos with 90/270-degree rotation metadata.

Every failure is a `VideoDecodeError` with a short machine-readable `reason`, so a pipeline can
record it on the video's row and go on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np

# 8-bit planar YUV formats whose planes the scan reads directly (any chroma subsampling).
_PLANAR_YUV = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"})


class VideoDecodeError(RuntimeError):
    """A video cannot be decoded. `reason` is one of REASONS; the message says what happened."""

    REASONS = ("missing_file", "empty_file", "invalid_data", "no_video_stream", "no_frames",
               "corrupt", "frames_missing")

    def __init__(self, reason: str, path: str, detail: str = ""):
        assert reason in self.REASONS, reason
        self.reason, self.path = reason, str(path)
        super().__init__(f"{reason}: {path}" + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream (rotation: from the first frame)."""

    path: str
    width: int  # coded size
    height: int
    rotation: int  # counter-clockwise display rotation in degrees (0, 90, 180, 270)
    fps: float  # average frame rate from the container (nominal; see timestamps for VFR)
    duration_sec: float | None
    n_frames_hint: int | None  # container's frame count; None when unknown (mkv/webm)
    codec: str
    has_audio: bool

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) after the rotation metadata is applied."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)


def _open(path, hw_decode: str = "none"):
    import av

    p = str(path)
    if not os.path.exists(p):
        raise VideoDecodeError("missing_file", p)
    if os.path.getsize(p) == 0:
        raise VideoDecodeError("empty_file", p)
    try:
        container = _open_container(p, hw_decode)
    except av.error.InvalidDataError as e:
        raise VideoDecodeError("invalid_data", p, "not a video, or truncated before its index") from e
    except av.FFmpegError as e:
        raise VideoDecodeError("corrupt", p, str(e)) from e
    if not container.streams.video:
        container.close()
        raise VideoDecodeError("no_video_stream", p)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame + slice threads: ~1.5x faster on 2 cores
    return container, stream


def _open_container(p: str, hw_decode: str):
    """av.open with the `sampling.hw_decode` decoder: "none" = CPU; "cuda" = NVDEC, frames downloaded
    to system memory. A stream NVDEC cannot take falls back to the CPU decoder
    (allow_software_fallback), and so does a machine without a usable GPU (creating the device fails
    with EPERM here): the switch never turns a readable video into a failure."""
    import av

    if hw_decode in (None, "none"):
        return av.open(p)
    from av.codec.hwaccel import HWAccel

    try:
        return av.open(p, hwaccel=HWAccel(device_type=hw_decode, allow_software_fallback=True))
    except av.FFmpegError:
        return av.open(p)


@dataclass
class DecodeStatus:
    """What went wrong while decoding (the video may still have usable frames)."""

    errors: int = 0
    last_error: str = ""
    n_frames_hint: int | None = None  # frames the container announced
    n_decoded: int = 0

    def warning(self) -> str | None:
        """A one-line note for the artifact meta when the video decoded only partly, else None."""
        notes = []
        if self.errors:
            notes.append(f"{self.errors} decode error(s), last: {self.last_error}")
        if self.n_frames_hint and self.n_decoded < self.n_frames_hint:
            notes.append(f"decoded {self.n_decoded} of {self.n_frames_hint} announced frames (truncated?)")
        return "; ".join(notes) or None


def decode_frames(container, stream, status: DecodeStatus):
    """Decoded frames in presentation order, surviving damage.

    A packet that fails to decode is skipped (the decoder resyncs at the next keyframe); a read
    error (truncated file) ends demuxing, and the frames still inside the decoder's threads are
    flushed out rather than lost.
    """
    import av

    try:
        for packet in container.demux(stream):
            try:
                frames = stream.decode(packet)
            except av.FFmpegError as e:
                status.errors += 1
                status.last_error = str(e)
                continue
            yield from frames
    except av.FFmpegError as e:
        status.errors += 1
        status.last_error = str(e)
        try:
            yield from stream.decode(None)
        except av.FFmpegError:
            pass


def _rotation_of(frame) -> int:
    """Counter-clockwise display rotation from the frame's display matrix, in [0, 360)."""
    return int(round(frame.rotation or 0)) % 360


def probe(path) -> VideoInfo:
    """Container facts about the first video stream, and its rotation from the first frame."""
    container, stream = _open(path)
    try:
        status = DecodeStatus()
        first = next(decode_frames(container, stream, status), None)
        if first is None:
            if status.errors:
                raise VideoDecodeError("corrupt", path, status.last_error)
            raise VideoDecodeError("no_frames", path)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1e6
        return VideoInfo(
            path=str(path), width=first.width, height=first.height, rotation=_rotation_of(first),
            fps=float(rate) if rate else 0.0, duration_sec=duration,
            n_frames_hint=int(stream.frames) or None, codec=stream.codec_context.name,
            has_audio=bool(container.streams.audio),
        )
    finally:
        container.close()


def _frame_time(frame, index: int, fallback_fps: float) -> float:
    t = frame.time
    return float(t) if t is not None else index / (fallback_fps or 25.0)


def _block_mean(plane: np.ndarray, out: np.ndarray, samples: int = 3) -> None:
    """Downscale a uint8 plane (..., H, W) into `out` (..., h, w) float32, averaging samples x samples
    pixels per block (a batch of planes in one call: see `_SmallPlaneBatch`).

    Reading a few strided pixels per block instead of every pixel: a full-resolution average of a
    1080p plane costs more than decoding it, and 9 samples per block already remove the aliasing
    that would make noise-like content flicker.
    """
    H, W = plane.shape[-2:]
    h, w = out.shape[-2:]
    fy, fx = H // h, W // w
    if fy == 0 or fx == 0:  # frame smaller than the grid: nearest-neighbour upsample
        ys = np.arange(h) * H // h
        xs = np.arange(w) * W // w
        out[:] = plane[..., ys[:, None], xs[None, :]]
        return
    ky, kx = min(samples, fy), min(samples, fx)
    out[:] = 0
    for dy in range(ky):
        for dx in range(kx):
            oy, ox = dy * fy // ky, dx * fx // kx
            out += plane[..., oy: oy + fy * h: fy, ox: ox + fx * w: fx]
    out *= 1.0 / (ky * kx)


def _plane(frame, i: int) -> np.ndarray:
    p = frame.planes[i]
    buf = np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)
    return buf[:, : p.width]


def small_yuv(frame, out: np.ndarray) -> None:
    """Write a (3, h, w) float32 planar Y, U, V thumbnail of a decoded frame into `out`."""
    h, w = out.shape[1:]
    if frame.format.name not in _PLANAR_YUV:  # 10-bit, rgb, nv12...: let swscale convert once
        frame = frame.reformat(format="yuv444p", width=max(w * 4, 16), height=max(h * 4, 16))
    for i in range(3):  # chroma planes are smaller (4:2:0): fewer samples are enough
        _block_mean(_plane(frame, i), out[i], samples=3 if i == 0 else 2)


class _SmallPlaneBatch:
    """Planes of small planar-YUV frames copied side by side, thumbnailed in one call per chunk.

    Per frame, `small_yuv` makes ~20 numpy calls on tiny arrays, and at 320x180 their fixed cost
    (0.11 ms a frame) was a third of the scan; a copy of a 320x180 frame's planes costs ~10 us, and
    the same strided sums over 64 frames at once give bit-identical thumbnails. Frames whose luma
    plane is over `max_bytes` (HD: copying it would cost more than the strided reads) or that are
    not planar YUV, or whose size changes mid-stream, go through `small_yuv` one by one.
    """

    def __init__(self, chunk_size: int, max_bytes: int = 1 << 18):
        self.chunk_size, self.max_bytes = chunk_size, max_bytes
        self.planes: list[np.ndarray] | None = None  # (chunk_size, h_i, w_i) uint8 per plane
        self.rows: list[int] = []  # chunk rows whose planes are staged here

    def add(self, frame, k: int) -> bool:
        """Stage frame's planes as chunk row k; False when it must go through small_yuv."""
        if frame.format.name not in _PLANAR_YUV:
            return False
        planes = [_plane(frame, i) for i in range(3)]
        if self.planes is None:
            if planes[0].nbytes > self.max_bytes:
                return False
            self.planes = [np.empty((self.chunk_size, *p.shape), np.uint8) for p in planes]
        if any(p.shape != s.shape[1:] for p, s in zip(planes, self.planes)):
            return False
        for p, s in zip(planes, self.planes):
            s[k] = p
        self.rows.append(k)
        return True

    def flush(self, out: np.ndarray) -> None:
        """Thumbnails of the staged rows into out[rows] ((B, 3, h, w) float32)."""
        if not self.rows:
            return
        rows = self.rows
        contiguous = rows == list(range(rows[0], rows[0] + len(rows)))
        sel = slice(rows[0], rows[-1] + 1) if contiguous else np.asarray(rows)
        for i, staged in enumerate(self.planes):
            thumbs = np.empty((len(rows), *out.shape[2:]), np.float32)
            _block_mean(staged[sel], thumbs, samples=3 if i == 0 else 2)
            out[sel, i] = thumbs
        self.rows = []


def iter_small_yuv(path, *, width: int = 64, height: int = 36, chunk_size: int = 64,
                   status: "DecodeStatus | None" = None, on_frame=None, hw_decode: str = "none"
                   ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every frame of the video as tiny YUV thumbnails, in chunks.

    Yields (times_sec (B,) float64 container times, thumbs (B, 3, height, width) float32 planar
    Y, U, V in 0..255). Raises VideoDecodeError("corrupt") when nothing decodes because of errors,
    ("no_frames") when the stream is empty. A file damaged or truncated mid-stream yields the
    frames that decode (as a player would) and records what went wrong in `status`.
    on_frame(frame, time_sec_since_first_frame), when given, sees every decoded frame in order
    (the decode-once frame cache, `sampling.frame_cache`).
    """
    status = status if status is not None else DecodeStatus()
    container, stream = _open(path, hw_decode)
    status.n_frames_hint = int(stream.frames) or None
    rate = float(stream.average_rate or stream.guessed_rate or 25)
    buf = np.empty((chunk_size, 3, height, width), np.float32)
    times = np.empty(chunk_size, np.float64)
    batch = _SmallPlaneBatch(chunk_size)
    k, n = 0, 0
    try:
        t_first = None
        for frame in decode_frames(container, stream, status):
            times[k] = _frame_time(frame, n, rate)
            if on_frame is not None:
                t_first = times[k] if t_first is None else t_first
                on_frame(frame, float(times[k] - t_first))
            if not batch.add(frame, k):
                small_yuv(frame, buf[k])
            k, n = k + 1, n + 1
            if k == chunk_size:
                batch.flush(buf)
                yield times.copy(), buf.copy()
                k = 0
        if k:
            batch.flush(buf)
            yield times[:k].copy(), buf[:k].copy()
    finally:
        container.close()
    status.n_decoded = n
    if n == 0:
        if status.errors:
            raise VideoDecodeError("corrupt", path, status.last_error)
        raise VideoDecodeError("no_frames", path)


def analysis_size(display_w: int, display_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """Largest even (w, h) with the video's aspect ratio inside the box, turned to match the
    video's orientation (a portrait video uses the box on its side). Never upscales."""
    if (display_h > display_w) != (box_h > box_w):
        box_w, box_h = box_h, box_w
    scale = min(box_w / display_w, box_h / display_h, 1.0)
    w = max(2, int(display_w * scale / 2 + 0.5) * 2)  # nearest even size, halves rounded up
    h = max(2, int(display_h * scale / 2 + 0.5) * 2)
    return w, h


def _rotate(img: np.ndarray, rotation: int) -> np.ndarray:
    # `rotation` is counter-clockwise (FFmpeg display matrix); np.rot90 with k>0 is too.
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(img, k)) if k else img


def frame_reformatter():
    """One swscale context to reuse for every frame of a video (cheaper than one per frame)."""
    import av.video.reformatter

    return av.video.reformatter.VideoReformatter()


def analysis_rgb(reformatter, frame, width: int, height: int, rotation: int) -> np.ndarray:
    """A decoded frame as (height, width, 3) uint8 RGB after rotation (area-averaged resize)."""
    # Decode at the coded orientation, then rotate: swscale sizes are pre-rotation.
    sw, sh = (height, width) if rotation % 180 else (width, height)
    rgb = reformatter.reformat(frame, format="rgb24", width=sw, height=sh, interpolation="AREA").to_ndarray()
    return _rotate(rgb, rotation)


def iter_frames(path, frame_indices, frame_times_sec, *, width: int, height: int,
                rotation: int = 0, chunk_size: int = 64, seek_gap_sec: float = 2.0,
                time_offset_sec: float = 0.0, hw_decode: str = "none"
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Decode only `frame_indices` (sorted, unique), RGB, `width` x `height` after rotation.

    frame_times_sec: the timestamps of ALL frames (from the scan), used to recognise frames
    after a seek; time_offset_sec is added to them to get container times. Yields (positions
    (B,) int64 into frame_indices, frames (B, height, width, 3) uint8), at most chunk_size per
    chunk. After yielding every frame it could, raises VideoDecodeError("frames_missing") when
    some requested frames never came out of the decoder (damaged or truncated file).
    """
    want = np.asarray(frame_indices, dtype=np.int64)
    if want.size == 0:
        return
    if np.any(np.diff(want) <= 0):
        raise ValueError("frame_indices must be sorted and unique")
    times = np.asarray(frame_times_sec, dtype=np.float64) + time_offset_sec
    container, stream = _open(path, hw_decode)
    keyframe_times = _keyframe_times(stream)
    reformatter = frame_reformatter()
    pos, out_pos, out_frames, missing = 0, [], [], []
    index = -1  # index of the last decoded frame
    try:
        while pos < len(want):
            target_t = times[want[pos]]
            if _should_seek(keyframe_times, times[index] if index >= 0 else -1.0, target_t, seek_gap_sec):
                container.seek(int(target_t / stream.time_base), stream=stream, backward=True)
                index = None  # unknown until the next decoded frame's timestamp
            for frame in decode_frames(container, stream, DecodeStatus()):
                index = _index_of(frame.time, times, index)
                while pos < len(want) and want[pos] < index:  # the decoder skipped it (damage)
                    missing.append(int(want[pos]))
                    pos += 1
                if pos == len(want):
                    break
                if index == want[pos]:
                    out_pos.append(pos)
                    out_frames.append(analysis_rgb(reformatter, frame, width, height, rotation))
                    pos += 1
                    if len(out_frames) == chunk_size:
                        yield np.asarray(out_pos), np.stack(out_frames)
                        out_pos, out_frames = [], []
                    if pos == len(want):
                        break
                    if times[want[pos]] - times[index] > seek_gap_sec and _should_seek(
                            keyframe_times, times[index], times[want[pos]], seek_gap_sec):
                        break  # leave the decode loop to seek forward
            else:
                break  # decoder exhausted
        if out_frames:
            yield np.asarray(out_pos), np.stack(out_frames)
    finally:
        container.close()
    missing += want[pos:].tolist()
    if missing:
        raise VideoDecodeError("frames_missing", path,
                               f"{len(missing)} of {len(want)} requested frames did not decode, "
                               f"first missing index {missing[0]}")


def _index_of(t: float | None, times: np.ndarray, previous: int | None) -> int:
    """Frame index of a decoded frame: by its timestamp when it has one, else the next ordinal."""
    if t is None:
        return 0 if previous is None else previous + 1
    k = int(np.searchsorted(times, t))
    if k > 0 and (k == len(times) or t - times[k - 1] < times[k] - t):
        k -= 1
    return k


def _keyframe_times(stream) -> np.ndarray:
    """Keyframe times from the container index (mp4/mov have one; empty when unknown)."""
    try:
        tb = float(stream.time_base)
        ts = [e.timestamp for e in stream.index_entries if e.is_keyframe]
    except Exception:  # containers without an index: never seek
        return np.empty(0)
    return np.asarray(ts, dtype=np.float64) * tb


def _should_seek(keyframe_times: np.ndarray, current_t: float, target_t: float, gap: float) -> bool:
    """Seek only when the target is far and a keyframe lies between here and there."""
    if target_t - current_t <= gap or keyframe_times.size == 0:
        return False
    k = np.searchsorted(keyframe_times, target_t, side="right") - 1
    return k >= 0 and keyframe_times[k] > current_t + 1e-6
