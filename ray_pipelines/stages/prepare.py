"""The CPU stage: one video in, its CPU components written, chunk rows out for the model pools.

For each video row it decodes only the frames the sampling policy asks for (at analysis
resolution), runs cut detection, shot_quality and video_pacing, decodes the audio track once and
runs loudness and tempo (unless `audio.enabled` is false), writing each artifact as it goes. It
streams out the frames for CLIP (resized to the model input, in chunks) as they are decoded and
the audio windows for CLAP (in chunks), then one status row. Errors are recorded per component on
the status row; a required component that fails stops that video only.
"""

from __future__ import annotations

import itertools
import json
import resource
import time
import traceback
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ray_pipelines.config import ExtractConfig
from ray_pipelines.rows import KEY_COLUMNS, VideoStatus, empty_payload, to_batch
from ray_pipelines.stages import shot_quality, video_pacing
from ray_pipelines.video_source import local_file
from trendflow.artifacts import ArtifactError, ArtifactStore, RunKey
from trendflow.components import get_spec



class RequiredComponentFailed(RuntimeError):
    def __init__(self, component: str, reason: str):
        super().__init__(f"{component}: {reason}")
        self.component, self.reason = component, reason


@dataclass
class PrepareContext:
    """Everything the stage needs, rebuilt from JSON in each worker (no heavy objects shipped)."""
    store: ArtifactStore
    storage_options: dict
    extract: ExtractConfig
    policy: object  # sampling.SamplingPolicy
    audio: object  # ray_pipelines.audio_config.AudioConfig
    clip_size: int
    window_samples: int
    all_components: tuple[str, ...]


class PrepareVideo:
    """Ray Data task callable: batch of video rows → chunk rows for each video as they are decoded,
    then its status row (a generator: rows stream to the model pools while the video is still being
    decoded, and Ray Data's backpressure pauses it when they fall behind, so memory stays bounded)."""

    def __init__(self, ctx: PrepareContext):
        self.ctx = ctx

    def __call__(self, batch: dict) -> Iterator[dict]:
        for i in range(len(batch["video_id"])):
            for row in self.process({k: batch[k][i] for k in batch}):
                yield to_batch([row])

    # ---------------------------------------------------------------- one video
    def process(self, item: dict) -> Iterator[dict]:
        """Chunk rows (chunk_index 1, 2, ...; n_chunks 0 = not known yet), then the status row
        (chunk_index 0) whose n_chunks counts every row of the video, itself included."""
        key = RunKey(*(str(item[c]) for c in KEY_COLUMNS))
        status = VideoStatus(components={}, errors={}, fatal=None, resumed=False, timings={}, source={},
                             rss_mb=0.0)
        shots = (np.zeros(0), np.zeros(0))
        index = itertools.count(1)  # chunk_index of the next chunk row
        if not item.get("force") and self._all_valid(key):
            status.resumed = True
            status.components = {c: "reused" for c in self.ctx.all_components}
        else:
            try:
                with local_file(str(item["url"]), self.ctx.storage_options) as path:
                    shots, time_offset = yield from self._numbered(key, self._visual(key, path, status), index)
                    if self.ctx.audio.enabled:  # visual-only: no audio decoded, no audio artifacts written
                        yield from self._numbered(key, self._audio(key, path, time_offset, status), index)
            except RequiredComponentFailed as e:  # rows already sent are dropped by the driver
                status.fatal = str(e)
            except Exception as e:  # unexpected: this video fails, the run goes on
                status.fatal = f"unexpected {type(e).__name__}: {e}"
                status.errors["prepare"] = traceback.format_exc(limit=5)
        status.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this worker's peak (KiB → MiB)
        n_rows = next(index)  # the chunk rows sent + this status row
        head = {**self._base(key, "status", 0, n_rows), "status": status.to_json()}
        head["shot_start_sec"], head["shot_end_sec"] = (np.asarray(s, np.float64) for s in shots)
        yield head

    def _numbered(self, key: RunKey, chunks: Iterator[dict], index: Iterator[int]):
        """Chunk dicts → chunk rows numbered across the video; returns what `chunks` returns."""
        while True:
            try:
                chunk = next(chunks)
            except StopIteration as done:
                return done.value
            yield {**self._base(key, chunk.pop("kind"), next(index), 0), "status": "", **chunk}

    def _base(self, key: RunKey, kind: str, index: int, n: int) -> dict:
        return {**{c: getattr(key, c) for c in KEY_COLUMNS}, "kind": kind, "chunk_index": index, "n_chunks": n,
                **empty_payload(self.ctx.clip_size, self.ctx.window_samples)}

    def _all_valid(self, key: RunKey) -> bool:
        """Idempotence within a run: every component already written and valid → reuse."""
        for component in self.ctx.all_components:
            try:
                art = self.ctx.store.read(key, component)
            except (ArtifactError, KeyError):
                return False
            if art.meta["config_hash"] != key.config_hash or art.status == "error":
                return False
        return True

    # ---------------------------------------------------------------- components
    def _run(self, key: RunKey, component: str, status: VideoStatus, fn, arrays_of=None, meta_of=None,
             **write_kwargs):
        """Run one component, write its artifact, record status/timing; fail fast if required.

        `fn()` returns the artifact arrays, or (arrays, status, reason); with `arrays_of` it returns
        any object, `arrays_of(obj)` gives the arrays and `meta_of(obj)` extra meta, and `obj` is returned.
        """
        t0 = time.perf_counter()
        try:
            value = fn()
            result = arrays_of(value) if arrays_of else value
            if meta_of:
                write_kwargs["extra_meta"] = meta_of(value)
        except Exception as e:
            reason = f"{type(e).__name__}: {e}"
            dt = time.perf_counter() - t0
            status.components[component], status.errors[component] = "error", reason
            self.ctx.store.write(key, component, {}, status="error", empty_reason=reason[:2000], timing_s=dt)
            if get_spec(component).required:
                raise RequiredComponentFailed(component, reason) from e
            return None
        dt = time.perf_counter() - t0
        arrays, st, reason = result if isinstance(result, tuple) else (result, "ok", None)
        self.ctx.store.write(key, component, arrays, status=st, empty_reason=reason, timing_s=dt, **write_kwargs)
        status.components[component] = st
        status.timings[component] = dt
        return value if arrays_of else arrays

    def _visual(self, key: RunKey, path: str, status: VideoStatus):
        """Segment, then stream the union frames once: quality and motion per chunk, CLIP frame rows
        yielded as they fill; returns (shot starts, shot ends), time offset."""
        from ray_pipelines.encoders.clip import to_model_input
        from sampling import segment_video

        t0 = time.perf_counter()
        try:
            seg = segment_video(path, self.ctx.policy)
        except Exception as e:
            reason = f"{getattr(e, 'reason', type(e).__name__)}: {e}"
            for c in ("sampling_plan", "cut_detection"):
                status.components[c], status.errors[c] = "error", reason
                self.ctx.store.write(key, c, {}, status="error", empty_reason=reason[:2000])
            raise RequiredComponentFailed("cut_detection", reason) from e
        status.timings.update({f"segment_{k}": v for k, v in seg.timing_s.items()})
        status.source = {"duration_sec": seg.plan.duration_sec, "fps": seg.plan.source_fps,
                         "n_frames": seg.plan.source_n_frames, "width": seg.info.width, "height": seg.info.height,
                         "rotation": seg.info.rotation}
        self._run(key, "sampling_plan", status, seg.sampling_plan_arrays)
        self._run(key, "cut_detection", status, seg.cut_detection_arrays, extra_meta=seg.cut_detection_meta())
        starts, ends = seg.shots.start_sec, seg.shots.end_sec
        n_shots = len(starts)

        t0 = time.perf_counter()
        metrics: dict[str, list] = {k: [] for k in shot_quality.FRAME_METRICS}
        q_shot: list[np.ndarray] = []
        motion = video_pacing.MotionCurve()
        pending: list = []
        paused = 0.0  # time spent handing rows downstream (backpressure), not decoding
        for chunk in seg.iter_frames():
            times = seg.plan.union_timestamps_sec[chunk.union_positions]
            q = chunk.mask("shot_quality")
            if q.any():
                for k, v in shot_quality.frame_metrics(chunk.frames[q]).items():
                    metrics[k].append(v)
                q_shot.append(chunk.shot_index[q])
                motion.update(chunk.frames[q], times[q], chunk.shot_index[q])
            c = chunk.mask("core_clip")
            if c.any():
                pending.append((to_model_input(chunk.frames[c], self.ctx.clip_size),
                                seg.plan.union_frame_indices[chunk.union_positions[c]], times[c],
                                chunk.shot_index[c]))
                for row in self._clip_chunks(pending, flush=False):
                    t1 = time.perf_counter()
                    yield row
                    paused += time.perf_counter() - t1
        for row in self._clip_chunks(pending, flush=True):
            yield row
        status.timings["decode_union"] = time.perf_counter() - t0 - paused

        shot_of = np.concatenate(q_shot) if q_shot else np.zeros(0, np.int32)
        self._run(key, "shot_quality", status, lambda: shot_quality.from_frame_metrics(
            {k: np.concatenate(v) if v else np.zeros(0) for k, v in metrics.items()}, shot_of, n_shots))
        self._run(key, "video_pacing", status, lambda: video_pacing.from_motion(starts, ends, *motion.result()),
                  extra_meta=video_pacing.META)
        return (starts, ends), seg.time_offset_sec

    def _clip_chunks(self, pending: list, flush: bool) -> list[dict]:
        """Regroup decoded CLIP frames into rows of exactly chunk_frames (the last may be shorter)."""
        size = self.ctx.extract.chunk_frames
        out = []
        while pending and (flush or sum(len(p[0]) for p in pending) >= size):
            frames, idx, times, shot = (np.concatenate(x) for x in zip(*pending))
            pending.clear()
            take = len(frames) if flush else size
            out.append({"kind": "visual", "frames": frames[:take], "frame_indices": idx[:take].astype(np.int64),
                        "frame_times": times[:take].astype(np.float64), "frame_shot": shot[:take].astype(np.int32)})
            if take < len(frames):
                pending.append((frames[take:], idx[take:], times[take:], shot[take:]))
        return out

    def _audio(self, key: RunKey, path: str, time_offset_sec: float, status: VideoStatus) -> Iterator[dict]:
        """Decode the audio track once; loudness and tempo here, CLAP windows out as chunk rows.
        Audio time 0 is the first video frame, the same clock as the shots."""
        from ray_pipelines.stages import audio_extract, clap_extractor, loudness, tempo

        cfg = self.ctx.audio
        t0 = time.perf_counter()
        track = self._run(key, "video_audio_extractor", status,
                          lambda: audio_extract.extract_audio(path, cfg, time_offset_sec),
                          arrays_of=lambda tr: (audio_extract.compute(tr, cfg), tr.status, tr.empty_reason),
                          meta_of=audio_extract.meta)
        status.timings["audio_decode"] = time.perf_counter() - t0
        if track is None or track.status == "empty":
            reason = track.empty_reason if track is not None else "audio track could not be decoded"
            for component in ("loudness", "tempo", "clap_extractor"):
                self.ctx.store.write(key, component, {}, status="empty", empty_reason=reason)
                status.components[component] = "empty"
            return
        self._run(key, "loudness", status, lambda: loudness.compute(track, cfg), extra_meta=loudness.meta(track))
        self._run(key, "tempo", status, lambda: tempo.compute(track, cfg), extra_meta=tempo.meta())
        track.samples = np.zeros((track.n_channels, 0), np.float32)  # free early: only the mono mix is still needed
        for row in clap_extractor.iter_window_rows(track, cfg):
            row.pop("chunk_index")  # renumbered per video with the visual rows
            yield {**row, "kind": "audio", "window_start_sec": row["window_start_sec"].astype(np.float64),
                   "window_end_sec": row["window_end_sec"].astype(np.float64)}


def window_samples(audio_cfg) -> int:
    """Samples per CLAP window (the width of the empty `windows` payload of non-audio rows)."""
    return int(round(audio_cfg.window_s * audio_cfg.sample_rate))


_CONTEXTS: dict[str, PrepareContext] = {}


def prepare_batch(batch: dict, *, store_root: str, storage_options: dict, extract_json: str, sampling_json: str,
                  audio_json: str, clip_size: int, window_samples: int) -> Iterator[dict]:
    """Ray Data task entry point (configs travel as JSON; the context is built once per worker)."""
    from ray_pipelines.audio_config import AudioConfig
    from ray_pipelines.pipeline import components_of
    from sampling.policy import SamplingPolicy

    cache_key = "|".join((store_root, json.dumps(storage_options, sort_keys=True), extract_json, sampling_json,
                          audio_json))
    if cache_key not in _CONTEXTS:
        audio = AudioConfig.model_validate_json(audio_json)
        _CONTEXTS[cache_key] = PrepareContext(
            store=ArtifactStore(store_root, storage_options), storage_options=storage_options,
            extract=ExtractConfig.model_validate_json(extract_json),
            policy=SamplingPolicy.model_validate_json(sampling_json),
            audio=audio, clip_size=clip_size, window_samples=window_samples,
            all_components=components_of(audio.enabled))
    yield from PrepareVideo(_CONTEXTS[cache_key])(batch)
