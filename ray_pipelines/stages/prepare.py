"""The CPU stage: one video in, its CPU components written, chunk rows out for the model pools.

For each video row it first lists the video's folder in the store once and plans the run:
- a folder of this run (a reused --run-id, or a retried task), or an unfinished (a crash: no
  manifest) or failed run of the same video and config, is continued: its artifacts are read and
  validated, valid ones are reused (not recomputed, not rewritten), so no orphan or duplicate run
  folder stays behind; with --force only those written since this extraction started (a retried
  task) are reused;
- a finished ok run of the same config whose index pointer is missing is reused whole.
Then it decodes only the frames the sampling policy asks for (at analysis resolution), runs cut
detection, shot_quality and video_pacing, decodes the audio track once and runs loudness and tempo
(unless `audio.enabled` is false), writing each artifact with one PUT. It streams out the frames
for CLIP (resized to the model input, in chunks) as they are decoded and the audio windows for
CLAP (in chunks), then one status row with the manifest entries it wrote or reused and the
fusion_aggregates inputs it already has. Errors are recorded per component on the status row; a
required component that fails stops that video only.
"""

from __future__ import annotations

import itertools
import json
import resource
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Iterator

import numpy as np

from ray_pipelines.config import ExtractConfig
from ray_pipelines.rows import KEY_COLUMNS, VideoStatus, empty_payload, node_id, to_batch
from ray_pipelines.stages import (clap_extractor, core_clip, fusion_aggregates, shot_quality, shot_thumbnails,
                                  video_pacing)
from ray_pipelines.video_source import local_file
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import Artifact, ArtifactError, ArtifactStore, RunFolder, RunKey, RunWriter
from trendflow.components import get_spec
from trendflow.config import StorageConfig

VISUAL_CPU = ("sampling_plan", "cut_detection", "shot_quality", "video_pacing", "shot_thumbnails")  # written here
AUDIO_CPU = ("video_audio_extractor", "loudness", "tempo")  # written here (and clap_extractor when empty)
# The sampled frames this stage reads (cut_detection's are planned, not read: not decoded).
_READ_FRAMES = ("core_clip", "shot_quality")


class RequiredComponentFailed(RuntimeError):
    def __init__(self, component: str, reason: str):
        super().__init__(f"{component}: {reason}")
        self.component, self.reason = component, reason


@dataclass
class PrepareContext:
    """Everything the stage needs, rebuilt from JSON in each worker (no heavy objects shipped)."""
    store: ArtifactStore
    storage: StorageConfig
    extract: ExtractConfig
    policy: object  # sampling.SamplingPolicy
    audio: object  # ray_pipelines.audio_config.AudioConfig
    clip_size: int
    window_samples: int
    components: tuple[str, ...]  # every per-video component of this config, fusion_aggregates included


@dataclass
class RunPlan:
    """Where a video's artifacts go and which of them already exist and validate."""
    key: RunKey
    reuse: dict[str, tuple[Artifact, dict]] = field(default_factory=dict)  # component -> (artifact, entry)
    complete: bool = False  # a finished ok run: nothing to compute, only the index pointer to write
    adopted: bool = False


@dataclass
class VideoWork:
    """One video in progress: its writer (entries in memory) and the ok arrays at hand."""
    key: RunKey
    writer: RunWriter
    status: VideoStatus
    reused: frozenset[str]
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # component -> arrays (status ok)

    def record(self, component: str, stored: dict, st: str, seconds: float | None = None) -> None:
        self.status.components[component] = st
        if seconds is not None:
            self.status.timings[component] = seconds
        if st == "ok":
            self.arrays[component] = stored


class PrepareVideo:
    """Ray Data task callable: batch of video rows → chunk rows for each video as they are decoded,
    then its status row (a generator: rows stream to the model pools while the video is still being
    decoded, and Ray Data's backpressure pauses it when they fall behind, so memory stays bounded)."""

    name = "prepare"

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
                             rss_mb=0.0, node=node_id())
        shots = (np.zeros(0), np.zeros(0))
        index = itertools.count(1)  # chunk_index of the next chunk row
        work = None
        try:
            t0 = time.perf_counter()
            plan = self._plan(item, key)
            status.timings["plan"] = time.perf_counter() - t0
            key, status.adopted, status.complete = plan.key, plan.adopted, plan.complete
            work = VideoWork(key, RunWriter(self.ctx.store, key, {c: e for c, (_, e) in plan.reuse.items()}),
                             status, frozenset(plan.reuse),
                             {c: a.arrays for c, (a, _) in plan.reuse.items() if a.status == "ok"})
            status.components.update({c: "reused" for c in plan.reuse})
            status.resumed = plan.complete or all(c in plan.reuse for c in self.ctx.components)
            if not status.resumed:
                shots = yield from self._compute(work, str(item["url"]), index)
        except RequiredComponentFailed as e:  # rows already sent are dropped by the finalize stage
            status.fatal = str(e)
        except Exception as e:  # unexpected: this video fails, the run goes on
            status.fatal = f"unexpected {type(e).__name__}: {e}"
            status.errors["prepare"] = traceback.format_exc(limit=5)
        if work is not None:
            status.entries = dict(work.writer.entries)
            status.scalars = (self._stored_scalars(work) if status.complete
                              else fusion_aggregates.scalars_from(work.arrays))
        status.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this worker's peak (KiB → MiB)
        n_rows = next(index)  # the chunk rows sent + this status row
        head = {**self._base(key, "status", 0, n_rows), "status": status.to_json()}
        head["shot_start_sec"], head["shot_end_sec"] = (np.asarray(s, np.float64) for s in shots)
        yield head

    def _compute(self, work: VideoWork, url: str, index: Iterator[int]):
        """Decode and compute what the plan does not reuse; returns (shot starts, shot ends)."""
        missing = set(self.ctx.components) - work.reused
        need_visual = bool(missing & {*VISUAL_CPU, *core_clip.COMPONENTS})
        need_audio = bool(missing & {*AUDIO_CPU, *clap_extractor.COMPONENTS})  # none listed when visual-only
        storage = self.ctx.storage
        with local_file(url, storage.storage_options, storage.call_log) as path:
            time_offset = None  # audio-only recompute: the container's video start time (= first frame)
            if need_visual:
                shots, time_offset = yield from self._numbered(work.key, self._visual(work, path), index)
            else:
                cuts = work.arrays["cut_detection"]
                shots = (cuts["shot_start_sec"], cuts["shot_end_sec"])
            if need_audio:
                yield from self._numbered(work.key, self._audio(work, path, time_offset), index)
        return shots

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
                "error": "", **empty_payload(self.ctx.clip_size, self.ctx.window_samples)}

    # ---------------------------------------------------------------- the run plan (one listing)
    def _plan(self, item: dict, key: RunKey) -> RunPlan:
        folders = self.ctx.store.list_video(key.platform_id, key.video_id)
        force, started = bool(item["force"]), str(item["started_at"])
        adopted = False
        if not bool(item["pinned"]) and key.run_id not in folders:
            found = self._earlier_run(key, folders, force)
            if found is not None:
                folder, complete = found
                key, adopted = replace(key, run_id=folder.run_id), not complete
                if complete:
                    return RunPlan(key, self._complete_entries(key), complete=True)
        folder = folders.get(key.run_id)
        if folder is None:
            return RunPlan(key)
        if folder.has_manifest and not force:
            m = self._manifest(key)
            if m is not None and _matches(m, key) and self._is_complete(m, folder):
                return RunPlan(key, self._complete_entries(key), complete=True)
        return RunPlan(key, self._reusable(key, folder, force, started), adopted=adopted)

    def _earlier_run(self, key: RunKey, folders: dict[str, RunFolder], force: bool):
        """(folder, complete) of the newest earlier run of this config the video can continue: a finished
        ok run (reused whole, unless force), else an unfinished (no manifest) or failed one (continued:
        its valid components are kept, so a retried video never leaves a second run folder)."""
        for folder in sorted(folders.values(), key=lambda f: f.run_id, reverse=True):
            earlier = replace(key, run_id=folder.run_id)
            if not folder.has_manifest:
                if self._same_config(earlier, folder):
                    return folder, False
                continue
            m = self._manifest(earlier)
            if m is None or not _matches(m, earlier):
                continue
            if m.get("status") != "ok":
                return folder, False
            if not force and self._is_complete(m, folder):
                return folder, True
        return None

    def _manifest(self, key: RunKey) -> dict | None:
        try:
            return self.ctx.store.manifest(key)
        except (ArtifactError, json.JSONDecodeError):
            return None

    def _is_complete(self, m: dict, folder: RunFolder) -> bool:
        """A finished ok run with every component of this config, all its files there."""
        return (m.get("status") == "ok" and set(self.ctx.components) <= set(m.get("components", {}))
                and not self.ctx.store.listing_problems(m, folder))

    def _complete_entries(self, key: RunKey) -> dict[str, tuple[Artifact, dict]]:
        """A finished run is reused as it is; its fusion_aggregates feed the aggregates table."""
        art, entry = self.ctx.store.read_with_entry(key, "fusion_aggregates")
        return {"fusion_aggregates": (art, entry)}

    def _same_config(self, key: RunKey, folder: RunFolder) -> bool:
        """An unfinished folder's config, from the meta of its smallest artifact (one read)."""
        files = folder.artifact_files()
        if not files:
            return False
        smallest = min(files, key=lambda c: files[c].size)
        try:
            meta = self.ctx.store.read(key, smallest, validate=False).meta
        except (ArtifactError, KeyError):
            return False
        return _matches(meta, key)

    def _reusable(self, key: RunKey, folder: RunFolder, force: bool, started: str) -> dict:
        """Components of the folder that validate for this config (with force: written since `started`)."""
        out = {}
        for component in folder.artifact_files():
            if component not in self.ctx.components:
                continue
            try:
                art, entry = self.ctx.store.read_with_entry(key, component)
            except (ArtifactError, KeyError):
                continue  # corrupt or unknown: recomputed
            fresh = not force or str(art.meta.get("created_at") or "") >= started
            if _matches(art.meta, key) and art.status != "error" and fresh:
                out[component] = (art, entry)
        # core_clip and scene_classification come from the same CLIP rows: both or neither; and
        # fusion_aggregates only with every source it was computed from.
        if not set(core_clip.COMPONENTS) <= set(out):
            for c in core_clip.COMPONENTS:
                out.pop(c, None)
        if not set(self.ctx.components) - {"fusion_aggregates"} <= set(out):
            out.pop("fusion_aggregates", None)
        return out

    def _stored_scalars(self, work: VideoWork) -> dict[str, float]:
        agg = work.arrays.get("fusion_aggregates", {})
        return {str(n): float(v) if p else float("nan")
                for n, v, p in zip(agg.get("names", ()), agg.get("values", ()), agg.get("present", ()))}

    # ---------------------------------------------------------------- components
    def _run(self, work: VideoWork, component: str, fn, arrays_of=None, meta_of=None, **write_kwargs):
        """Run one component, write its artifact, record status/timing; fail fast if required.

        `fn()` returns the artifact arrays, or (arrays, status, reason); with `arrays_of` it returns
        any object, `arrays_of(obj)` gives the arrays and `meta_of(obj)` extra meta, and `obj` is returned.
        A reused component is not recomputed (with `arrays_of`, whose object the next steps need, it is
        recomputed but not rewritten)."""
        reused = component in work.reused
        if reused and arrays_of is None:
            return work.arrays.get(component)
        t0 = time.perf_counter()
        try:
            value = fn()
            result = arrays_of(value) if arrays_of else value
            if meta_of:
                write_kwargs["extra_meta"] = meta_of(value)
        except Exception as e:
            self._fail(work, component, f"{type(e).__name__}: {e}", time.perf_counter() - t0)
            return None
        dt = time.perf_counter() - t0
        arrays, st, reason = result if isinstance(result, tuple) else (result, "ok", None)
        if not reused:
            stored = work.writer.write(component, arrays, status=st, empty_reason=reason, timing_s=dt, **write_kwargs)
            work.record(component, stored, st, dt)
        return value if arrays_of else work.arrays.get(component)

    def _fail(self, work: VideoWork, component: str, reason: str, seconds: float | None = None) -> None:
        work.status.components[component], work.status.errors[component] = "error", reason
        work.writer.write(component, {}, status="error", empty_reason=reason[:2000], timing_s=seconds)
        if get_spec(component).required:
            raise RequiredComponentFailed(component, reason)

    def _write_empty(self, work: VideoWork, component: str, reason: str) -> None:
        if component not in work.reused:
            work.writer.write(component, {}, status="empty", empty_reason=reason)
            work.status.components[component] = "empty"

    def _visual(self, work: VideoWork, path: str):
        """Segment, then stream the union frames once: quality and motion per chunk, CLIP frame rows
        yielded as they fill (unless core_clip is reused); returns (shot starts, shot ends), time offset."""
        from ray_pipelines.encoders.clip import to_model_input
        from sampling import segment_video

        status = work.status
        try:
            seg = segment_video(path, self.ctx.policy)
        except Exception as e:
            reason = f"{getattr(e, 'reason', type(e).__name__)}: {e}"
            for c in ("sampling_plan", "cut_detection"):
                status.components[c], status.errors[c] = "error", reason
                work.writer.write(c, {}, status="error", empty_reason=reason[:2000])
            self._write_empty(work, "shot_thumbnails", f"{shot_thumbnails.NO_FRAMES} ({reason[:500]})")
            raise RequiredComponentFailed("cut_detection", reason) from e
        status.timings.update({f"segment_{k}": v for k, v in seg.timing_s.items()})
        status.source = {"duration_sec": seg.plan.duration_sec, "fps": seg.plan.source_fps,
                         "n_frames": seg.plan.source_n_frames, "width": seg.info.width, "height": seg.info.height,
                         "rotation": seg.info.rotation}
        self._run(work, "sampling_plan", seg.sampling_plan_arrays)
        self._run(work, "cut_detection", seg.cut_detection_arrays, extra_meta=seg.cut_detection_meta())
        starts, ends = seg.shots.start_sec, seg.shots.end_sec
        n_shots = len(starts)
        emit_clip = not set(core_clip.COMPONENTS) <= work.reused

        t0 = time.perf_counter()
        metrics: dict[str, list] = {k: [] for k in shot_quality.FRAME_METRICS}
        q_shot: list[np.ndarray] = []
        motion = video_pacing.MotionCurve()
        thumbs = shot_thumbnails.ThumbnailPicker(starts, ends)
        pending: list = []
        paused = 0.0  # time spent handing rows downstream (backpressure), not decoding
        for chunk in seg.iter_frames(components=_READ_FRAMES):
            times = seg.plan.union_timestamps_sec[chunk.union_positions]
            thumbs.update(chunk.frames, times, chunk.shot_index)  # any union frame: the one nearest mid-shot
            q = chunk.mask("shot_quality")
            if q.any():
                for k, v in shot_quality.frame_metrics(chunk.frames[q]).items():
                    metrics[k].append(v)
                q_shot.append(chunk.shot_index[q])
                motion.update(chunk.frames[q], times[q], chunk.shot_index[q])
            c = chunk.mask("core_clip")
            if emit_clip and c.any():
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
        self._run(work, "shot_quality", lambda: shot_quality.from_frame_metrics(
            {k: np.concatenate(v) if v else np.zeros(0) for k, v in metrics.items()}, shot_of, n_shots))
        self._run(work, "video_pacing", lambda: video_pacing.from_motion(starts, ends, *motion.result()),
                  extra_meta=video_pacing.META)
        self._run(work, "shot_thumbnails", thumbs.result, extra_meta=shot_thumbnails.META)
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

    def _audio(self, work: VideoWork, path: str, time_offset_sec: float | None) -> Iterator[dict]:
        """Decode the audio track once; loudness and tempo here, CLAP windows out as chunk rows
        (unless clap_extractor is reused). Audio time 0 is the first video frame, the clock of the shots."""
        from ray_pipelines.stages import audio_extract, loudness, tempo

        cfg = self.ctx.audio
        t0 = time.perf_counter()
        track = self._run(work, "video_audio_extractor",
                          lambda: audio_extract.extract_audio(path, cfg, time_offset_sec),
                          arrays_of=lambda tr: (audio_extract.compute(tr, cfg), tr.status, tr.empty_reason),
                          meta_of=audio_extract.meta)
        work.status.timings["audio_decode"] = time.perf_counter() - t0
        if track is None or track.status == "empty":
            reason = track.empty_reason if track is not None else "audio track could not be decoded"
            for component in ("loudness", "tempo", "clap_extractor"):
                self._write_empty(work, component, reason)
            return
        self._run(work, "loudness", lambda: loudness.compute(track, cfg), extra_meta=loudness.meta(track))
        self._run(work, "tempo", lambda: tempo.compute(track, cfg), extra_meta=tempo.meta())
        if set(clap_extractor.COMPONENTS) <= work.reused:
            return
        track.samples = np.zeros((track.n_channels, 0), np.float32)  # free early: only the mono mix is still needed
        for row in clap_extractor.iter_window_rows(track, cfg):
            row.pop("chunk_index")  # renumbered per video with the visual rows
            yield {**row, "kind": "audio", "window_start_sec": row["window_start_sec"].astype(np.float64),
                   "window_end_sec": row["window_end_sec"].astype(np.float64)}


def _matches(meta: dict, key: RunKey) -> bool:
    """An artifact or manifest of this video's config (and of this extraction stack)."""
    return (meta.get("config_hash") == key.config_hash
            and meta.get("sampling_policy_version") == key.sampling_policy_version
            and meta.get("dataprocessor_version") == DATAPROCESSOR_VERSION)


def window_samples(audio_cfg) -> int:
    """Samples per CLAP window (the width of the empty `windows` payload of non-audio rows)."""
    return int(round(audio_cfg.window_s * audio_cfg.sample_rate))


_CONTEXTS: dict[str, PrepareContext] = {}


def prepare_context(*, storage_json: str, extract_json: str, sampling_json: str, audio_json: str,
                    clip_size: int, window_samples: int, components: tuple[str, ...]) -> PrepareContext:
    """The stage's context from JSON (built once per worker and kept)."""
    from ray_pipelines.audio_config import AudioConfig
    from sampling.policy import SamplingPolicy

    cache_key = "|".join((storage_json, extract_json, sampling_json, audio_json, str(clip_size), ",".join(components)))
    if cache_key not in _CONTEXTS:
        storage = StorageConfig.model_validate_json(storage_json)
        _CONTEXTS[cache_key] = PrepareContext(
            store=ArtifactStore.from_config(storage), storage=storage,
            extract=ExtractConfig.model_validate_json(extract_json),
            policy=SamplingPolicy.model_validate_json(sampling_json),
            audio=AudioConfig.model_validate_json(audio_json), clip_size=clip_size, window_samples=window_samples,
            components=tuple(components))
    return _CONTEXTS[cache_key]


def prepare_batch(batch: dict, **context_json) -> Iterator[dict]:
    """Ray Data task entry point (configs travel as JSON; see `prepare_context`)."""
    yield from PrepareVideo(prepare_context(**context_json))(batch)


@dataclass(frozen=True)
class PrepareStage:
    """The CPU stage as the pipeline runs it: Ray tasks, one video row per call."""
    context_json: dict  # prepare_context keyword arguments
    name: str = "prepare"
    reads: tuple[str, ...] = (*KEY_COLUMNS, "url", "force", "pinned", "started_at")
    writes: tuple[str, ...] = (*KEY_COLUMNS, "kind", "chunk_index", "n_chunks", "status", "error",
                               "frames", "frame_indices", "frame_times", "frame_shot", "windows",
                               "window_start_sec", "window_end_sec", "shot_start_sec", "shot_end_sec")

    @property
    def fn(self):
        return prepare_batch

    def ray_args(self, plan) -> dict:
        return {"batch_size": 1, "fn_kwargs": self.context_json, "num_cpus": plan.decode_cpus}
