"""Synthetic mp4 videos with ground truth: shots, cuts, fades and dissolves, written with PyAV.

Tests and benchmarks need real H.264 (+ AAC) files whose cut times are known exactly. A video is
a list of `Shot`s laid end to end in time; `write_video` renders them one frame at a time
(streaming: a 20-minute 60 fps video never holds more than one frame in memory) and returns a
`VideoTruth` with the cut times, the first frame index of every new shot and the transition kinds.

    from trendflow.synth.video import Shot, write_video
    truth = write_video("/tmp/x.mp4", [Shot("noise", 1.0), Shot("text", 1.5, transition="fade")])
    truth.cut_frames  # -> [25]

Time model: shot k covers [start_k, start_k + duration_s). A frame shown at time t renders the
shot containing t, so the first frame of shot k+1 is the first frame with timestamp >= its start
(with variable frame rate the timestamps are irregular and recorded in `frame_times_s`).
`Shot.transition` describes the passage *into the next shot*; a fade or dissolve of length
`transition_s` is centred on the boundary, and the boundary is the recorded cut time.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

KINDS = ("noise", "gradient", "text", "shapes", "texture", "solid")
TRANSITIONS = ("cut", "fade", "dissolve")
# Millisecond timestamps: fine enough for VFR jitter and every frame rate we write.
_TIME_BASE = Fraction(1, 1000)


@dataclass(frozen=True)
class Shot:
    """One shot of a synthetic video.

    kind: what the shot shows: "noise" (coarse coloured block noise with grain), "gradient"
    (a sliding two-colour gradient), "text" (scrolling lines of text), "shapes" (moving circles
    and rectangles), "texture" (1/f "cloudy" natural-looking texture, panning), "solid" (one colour).
    color: base RGB colour; brightness multiplies the whole frame (0..2).
    motion: 0 = still, 1 = fast (pan speed, shape speed, grain strength scale with it).
    transition: how this shot passes into the NEXT one ("cut", "fade" through black, "dissolve"),
    transition_s its length in seconds (ignored for "cut"); the last shot's transition is unused.
    seed: makes the content of two shots of the same kind differ.
    """

    kind: str = "noise"
    duration_s: float = 1.0
    color: tuple[int, int, int] = (128, 128, 128)
    brightness: float = 1.0
    motion: float = 0.3
    transition: str = "cut"
    transition_s: float = 0.0
    seed: int = 0
    text: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Shot.kind {self.kind!r} not in {KINDS}")
        if self.transition not in TRANSITIONS:
            raise ValueError(f"Shot.transition {self.transition!r} not in {TRANSITIONS}")
        if not self.duration_s > 0:
            raise ValueError(f"Shot.duration_s must be > 0, got {self.duration_s}")
        if self.transition != "cut" and not self.transition_s > 0:
            raise ValueError(f"a {self.transition} needs transition_s > 0")


@dataclass
class VideoTruth:
    """Ground truth of a written video. Cuts are listed in time order, one per shot boundary."""

    path: str
    width: int  # coded width (before rotation)
    height: int
    fps: float  # nominal frame rate (the mean rate when vfr=True)
    n_frames: int
    duration_s: float  # sum of the shot durations
    frame_times_s: np.ndarray  # (n_frames,) float64 presentation time of every frame
    shot_start_frames: list[int]  # first frame of every shot; [0, cut_frames...]
    shot_kinds: list[str]
    cut_times_s: list[float]  # boundary times (centre of a fade/dissolve)
    cut_frames: list[int]  # first frame index at or after each boundary
    transition_kinds: list[str]  # "cut" | "fade" | "dissolve" per boundary
    transition_s: list[float]  # 0 for hard cuts
    transition_frame_ranges: list[tuple[int, int]]  # [first, last] frames touched by the transition
    vfr: bool = False
    rotate_degrees: int = 0
    has_audio: bool = False
    sample_rate: int | None = None

    @property
    def hard_cut_frames(self) -> list[int]:
        return [f for f, k in zip(self.cut_frames, self.transition_kinds) if k == "cut"]

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a player shows it, after the rotation metadata."""
        if self.rotate_degrees % 180:
            return self.height, self.width
        return self.width, self.height

    def to_dict(self) -> dict:
        d = asdict(self)
        d["frame_times_s"] = self.frame_times_s.tolist()
        return d


# ---------------------------------------------------------------- frame timeline

def frame_times(duration_s: float, fps: float, vfr: bool, seed: int = 0) -> np.ndarray:
    """Presentation times of all frames: regular, or jittered (0.5..1.5 of the nominal interval)."""
    if not vfr:
        n = max(1, int(math.ceil(duration_s * fps - 1e-9)))
        return np.arange(n, dtype=np.float64) / fps
    rng = np.random.default_rng(seed + 7919)
    times, t = [], 0.0
    while t < duration_s - 1e-9 or not times:
        times.append(round(t, 3))  # what the millisecond time base can store
        t += rng.uniform(0.5, 1.5) / fps
    return np.unique(np.asarray(times, dtype=np.float64))


# ---------------------------------------------------------------- shot renderers

def _rng(shot: Shot) -> np.random.Generator:
    # crc32, not hash(): str hashes change between processes, content must not.
    return np.random.default_rng(zlib.crc32(repr((shot.kind, shot.seed, tuple(shot.color))).encode()))


def _second_color(shot: Shot) -> np.ndarray:
    """A contrasting colour derived from the seed, for gradients and shapes."""
    rng = np.random.default_rng(shot.seed + 101)
    return rng.integers(0, 256, 3).astype(np.float32)


def _wrap_crop(tex: np.ndarray, x0: float, y0: float, w: int, h: int) -> np.ndarray:
    """Crop (h, w) from a periodic texture at an offset, wrapping around its edges."""
    th, tw = tex.shape[:2]
    ys = (int(y0) + np.arange(h)) % th
    xs = (int(x0) + np.arange(w)) % tw
    return tex[ys[:, None], xs[None, :]]


class _Renderer:
    """Renders one shot at any time t (seconds since the shot started) as float32 RGB (H, W, 3)."""

    def __init__(self, shot: Shot, width: int, height: int):
        self.shot, self.w, self.h = shot, width, height
        self.color = np.asarray(shot.color, dtype=np.float32)
        self.speed = shot.motion * 0.5 * max(width, height)  # pan speed in px/s
        rng = _rng(shot)
        kind = shot.kind
        if kind == "noise":
            block = max(2, min(width, height) // 12)  # coarse blocks survive downscaling
            bh, bw = max(2, height // block + 2), max(2, width // block + 2)
            small = rng.normal(0, 60, (bh, bw, 3)).astype(np.float32)
            self.tex = np.repeat(np.repeat(small, block, 0), block, 1) + self.color
            self.grain = rng
        elif kind == "texture":
            self.tex = _fractal_texture(rng, max(height, 16) * 2, max(width, 16) * 2, self.color)
        elif kind == "gradient":
            angle = rng.uniform(0, 2 * np.pi)
            yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
            self.proj = (xx * np.cos(angle) + yy * np.sin(angle)) / max(width, height)  # (H, W)
            self.c2 = _second_color(shot)
        elif kind == "shapes":
            n = int(rng.integers(3, 7))
            self.pos = rng.uniform(0, 1, (n, 2)) * (width, height)
            self.vel = rng.normal(0, 1, (n, 2)) * self.speed
            self.size = rng.uniform(0.08, 0.25, n) * min(width, height)
            self.colors = rng.integers(0, 256, (n, 3))
            self.is_circle = rng.uniform(size=n) < 0.5
        elif kind == "text":
            self.lines = (shot.text or f"TrendFlow shot {shot.seed}").split("\n")
            self.lines = [f"{ln} {i}" for i in range(12) for ln in self.lines]
            self.ink = 255.0 - self.color

    def render(self, t: float) -> np.ndarray:
        s, w, h = self.shot, self.w, self.h
        if s.kind == "solid":
            img = np.broadcast_to(self.color, (h, w, 3)).astype(np.float32)
        elif s.kind == "noise":
            img = _wrap_crop(self.tex, self.speed * t, 0.3 * self.speed * t, w, h)
            if s.motion > 0:  # film grain, stronger with motion
                img = img + self.grain.normal(0, 12 * s.motion, (h, w, 1)).astype(np.float32)
        elif s.kind == "texture":
            img = _wrap_crop(self.tex, self.speed * t, 0.5 * self.speed * t, w, h)
        elif s.kind == "gradient":
            phase = 0.5 + 0.5 * np.sin(2 * np.pi * (self.proj + 0.3 * s.motion * t))  # (H, W)
            img = self.color * (1 - phase[..., None]) + self.c2 * phase[..., None]
        elif s.kind == "shapes":
            img = self._shapes(t)
        else:
            img = self._text(t)
        return img * s.brightness

    def _shapes(self, t: float) -> np.ndarray:
        import cv2

        w, h = self.w, self.h
        img = np.empty((h, w, 3), np.uint8)
        img[:] = self.color.astype(np.uint8)
        p = self.pos + self.vel * t
        # Bounce off the edges: a triangle wave keeps each shape inside the frame.
        p = np.abs((p + (w, h)) % (2 * np.array((w, h))) - (w, h))
        for (x, y), r, c, circle in zip(p, self.size, self.colors, self.is_circle):
            col = tuple(int(v) for v in c)
            if circle:
                cv2.circle(img, (int(x), int(y)), max(1, int(r)), col, -1)
            else:
                cv2.rectangle(img, (int(x - r), int(y - r / 2)), (int(x + r), int(y + r / 2)), col, -1)
        return img.astype(np.float32)

    def _text(self, t: float) -> np.ndarray:
        import cv2

        w, h = self.w, self.h
        img = np.empty((h, w, 3), np.uint8)
        img[:] = self.color.astype(np.uint8)
        scale = max(0.25, h / 240)
        step = max(8, int(30 * scale))
        scroll = self.speed * 0.3 * t
        ink = tuple(int(v) for v in self.ink)
        for i, line in enumerate(self.lines):
            y = int(step * (i + 1) - scroll) % (step * len(self.lines))
            if 0 <= y < h + step:
                cv2.putText(img, line, (4, y), cv2.FONT_HERSHEY_SIMPLEX, scale, ink,
                            max(1, int(2 * scale)), cv2.LINE_AA)
        return img.astype(np.float32)


def _fractal_texture(rng: np.random.Generator, h: int, w: int, color: np.ndarray) -> np.ndarray:
    """Periodic 1/f^2 noise (looks like clouds/terrain), tinted around `color`. (h, w, 3) float32."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    amp = 1.0 / np.maximum(np.hypot(fy, fx), 1.0 / max(h, w)) ** 1.8  # (h, w//2+1)
    out = np.empty((h, w, 3), np.float32)
    for c in range(3):
        spec = amp * np.exp(2j * np.pi * rng.uniform(size=amp.shape))
        field_ = np.fft.irfft2(spec, s=(h, w))
        field_ = (field_ - field_.mean()) / (field_.std() + 1e-9)
        out[..., c] = color[c] + 55.0 * field_
    return out


# ---------------------------------------------------------------- timeline of shots

@dataclass
class _Timeline:
    shots: list[Shot]
    starts: np.ndarray  # (n_shots,) start time of each shot
    half: np.ndarray  # (n_shots - 1,) half-length of each boundary's transition (0 for cuts)
    renderers: dict = field(default_factory=dict)
    width: int = 0
    height: int = 0

    @classmethod
    def build(cls, shots: list[Shot], width: int, height: int) -> "_Timeline":
        durations = np.array([s.duration_s for s in shots])
        starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
        half = np.array([s.transition_s / 2 if s.transition != "cut" else 0.0 for s in shots[:-1]])
        for k, hl in enumerate(half):
            if hl > min(durations[k], durations[k + 1]) / 2 + 1e-9:
                raise ValueError(f"transition after shot {k} ({2 * hl}s) is longer than the shots "
                                 "around it allow (at most the shorter shot's duration)")
        return cls(list(shots), starts, half, width=width, height=height)

    def _shot_frame(self, k: int, t: float) -> np.ndarray:
        r = self.renderers.get(k)
        if r is None:
            # Keep only the renderers of the current neighbourhood: bounded memory for long videos.
            for old in [j for j in self.renderers if j < k - 1]:
                del self.renderers[old]
            r = self.renderers[k] = _Renderer(self.shots[k], self.width, self.height)
        return r.render(t - self.starts[k])

    def frame(self, t: float) -> np.ndarray:
        """RGB uint8 (H, W, 3) at time t, with transitions blended in."""
        t += 1e-9  # shot starts are float sums (0.4 + 0.4 + 0.4 != 1.2): same tolerance as the truth
        k = max(0, int(np.searchsorted(self.starts, t, side="right")) - 1)
        img = None
        # A boundary b influences t when |t - b| < half; check the boundary after and before.
        for b_idx in (k, k - 1):
            if 0 <= b_idx < len(self.half) and self.half[b_idx] > 0:
                b, hl = self.starts[b_idx + 1], self.half[b_idx]
                if b - hl <= t < b + hl:
                    img = self._blend(b_idx, b, hl, t)
                    break
        if img is None:
            img = self._shot_frame(k, t)
        return np.clip(img, 0, 255).astype(np.uint8)

    def _blend(self, b_idx: int, b: float, hl: float, t: float) -> np.ndarray:
        kind = self.shots[b_idx].transition
        if kind == "fade":  # out to black, then in from black
            if t < b:
                return self._shot_frame(b_idx, t) * ((b - t) / hl)
            return self._shot_frame(b_idx + 1, t) * ((t - b) / hl)
        alpha = (t - (b - hl)) / (2 * hl)  # dissolve: 0 -> 1 across the window
        return self._shot_frame(b_idx, t) * (1 - alpha) + self._shot_frame(b_idx + 1, t) * alpha


# ---------------------------------------------------------------- writer

def write_video(
    path: str | Path,
    shots: list[Shot],
    *,
    fps: float = 25,
    width: int = 160,
    height: int = 90,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    vfr: bool = False,
    rotate_degrees: int = 0,
    crf: int = 23,
    preset: str = "veryfast",
    gop_size: int | None = None,
    scenecut: bool = True,
    faststart: bool = False,
    seed: int = 0,
) -> VideoTruth:
    """Render `shots` into an H.264 mp4 (AAC audio when `audio` is given) and return its truth.

    audio: float32 in [-1, 1], shape (n_samples,) or (channels, n_samples) with 1 or 2 channels.
    vfr: irregular frame intervals (0.5..1.5 of 1/fps) with millisecond timestamps.
    rotate_degrees: counter-clockwise display rotation written as container metadata (the coded
    frames are not rotated; a player/decoder that honours the metadata shows them rotated).
    Odd width/height are encoded as yuv444p (4:2:0 needs even sizes); even sizes as yuv420p.
    gop_size: keyframe interval in frames (None = x264's default).
    scenecut: let x264 put a keyframe at a scene change (its default); False with `gop_size` gives a
    fixed GOP whose keyframes fall wherever the interval says, not at the cuts.
    faststart: put the mp4 index first (as streaming sites do), so a truncated copy stays readable.
    seed: varies the VFR frame intervals.
    """
    import av

    if not shots:
        raise ValueError("write_video needs at least one Shot")
    if width < 2 or height < 2:
        raise ValueError(f"frame size {width}x{height} is too small (need >= 2x2)")
    timeline = _Timeline.build(shots, width, height)
    duration = float(sum(s.duration_s for s in shots))
    times = frame_times(duration, fps, vfr, seed)
    truth = _truth(path, shots, timeline, times, fps, width, height, duration, vfr, rotate_degrees)
    audio_planar = _planar_audio(audio) if audio is not None else None
    truth.has_audio, truth.sample_rate = audio_planar is not None, sample_rate if audio is not None else None

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    container = av.open(str(path), mode="w", format="mp4",
                        options={"movflags": "faststart"} if faststart else None)
    try:
        vstream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        vstream.width, vstream.height = width, height
        vstream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        vstream.time_base = _TIME_BASE
        vstream.codec_context.time_base = _TIME_BASE
        options = {"preset": preset, "crf": str(crf)}
        if gop_size:
            options["g"] = str(gop_size)
        if not scenecut:
            options["sc_threshold"] = "0"
        vstream.options = options
        if rotate_degrees % 360:
            vstream.set_display_rotation(rotate_degrees)
        audio_writer = (_AudioWriter(container, audio_planar, sample_rate)
                        if audio_planar is not None else None)
        for t in times:
            frame = av.VideoFrame.from_ndarray(timeline.frame(float(t)), format="rgb24")
            frame.pts, frame.time_base = int(round(t * 1000)), _TIME_BASE
            for packet in vstream.encode(frame):
                container.mux(packet)
            if audio_writer is not None:  # interleave: keep the muxer's buffers small
                audio_writer.write_until(float(t) + 1.0 / fps)
        for packet in vstream.encode(None):
            container.mux(packet)
        if audio_writer is not None:
            audio_writer.finish()
    finally:
        container.close()
    return truth


def _truth(path, shots, timeline: _Timeline, times: np.ndarray, fps, width, height, duration,
           vfr, rotate_degrees) -> VideoTruth:
    starts = timeline.starts
    shot_start_frames = [int(np.searchsorted(times, s - 1e-9)) for s in starts]
    for k in range(len(shots)):
        end = shot_start_frames[k + 1] if k + 1 < len(shots) else len(times)
        if end <= shot_start_frames[k]:
            raise ValueError(f"shot {k} ({shots[k].duration_s}s) gets no frame at {fps} fps; "
                             "make it at least one frame long")
    ranges = []
    for b_idx, hl in enumerate(timeline.half):
        b = starts[b_idx + 1]
        if hl == 0:
            first = last = shot_start_frames[b_idx + 1]
        else:
            first = int(np.searchsorted(times, b - hl - 1e-9))
            last = int(np.searchsorted(times, b + hl - 1e-9)) - 1
        ranges.append((first, max(first, last)))
    return VideoTruth(
        path=str(path), width=width, height=height, fps=float(fps), n_frames=len(times),
        duration_s=duration, frame_times_s=times, shot_start_frames=shot_start_frames,
        shot_kinds=[s.kind for s in shots], cut_times_s=[float(s) for s in starts[1:]],
        cut_frames=shot_start_frames[1:], transition_kinds=[s.transition for s in shots[:-1]],
        transition_s=[s.transition_s if s.transition != "cut" else 0.0 for s in shots[:-1]],
        transition_frame_ranges=ranges, vfr=vfr, rotate_degrees=int(rotate_degrees) % 360,
    )


def _planar_audio(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] not in (1, 2):
        raise ValueError(f"audio must be (n_samples,) or (channels<=2, n_samples), got {a.shape}")
    return np.ascontiguousarray(np.clip(a, -1.0, 1.0))  # (C, S)


class _AudioWriter:
    """Encodes planar float audio to AAC in step with the video, 1024-sample frames."""

    FRAME = 1024

    def __init__(self, container, audio: np.ndarray, sample_rate: int):
        layout = "mono" if audio.shape[0] == 1 else "stereo"
        self.stream = container.add_stream("aac", rate=sample_rate, layout=layout)
        self.container, self.audio, self.sr, self.layout, self.pos = container, audio, sample_rate, layout, 0

    def _chunks(self, stop: int) -> Iterator[np.ndarray]:
        while self.pos < stop:
            end = min(stop, self.pos + self.FRAME)
            yield self.audio[:, self.pos:end]
            self.pos = end

    def write_until(self, t: float) -> None:
        self._write(min(self.audio.shape[1], int(t * self.sr)))

    def finish(self) -> None:
        self._write(self.audio.shape[1])
        for packet in self.stream.encode(None):
            self.container.mux(packet)

    def _write(self, stop: int) -> None:
        import av

        for chunk in self._chunks(stop):
            start = self.pos - chunk.shape[1]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=self.layout)
            frame.sample_rate, frame.pts = self.sr, start
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
