"""The finalize stage: a video's rows in, its model artifacts, manifest and index pointer written,
one small result row out. Distributed and streaming: no driver work, no all-to-all barrier.

    router (Ray Data task, last stage) --rows of video v--> assembler[crc32(v) % N] (plain Ray actors,
        spread over the nodes, threaded) --buffers v's rows; on the last one--> finalize_video(rows)

- `finalize_video(rows, ctx)` is a plain function over the rows of one video: it pools the frame and
  window embeddings per shot, writes core_clip, scene_classification, clap_extractor and
  fusion_aggregates (from the scalars the CPU stage sent plus the ones computed here: no artifact
  is read back), then manifest.json once (with the CPU stage's entries from the status row), then
  the index pointer. Every exception fails that video with `Type: message`; the run goes on.
  The online path (`ray_pipelines.online`) calls it in-process.
- `RowBuffer` holds a video's rows until its status row says all have arrived. Rows are keyed by
  (video, kind, chunk_index), so duplicates (a task retried after a node died) are dropped, and so
  are late duplicates of a video already finalised.
- An assembler that dies loses the rows it buffered: those videos never complete, and the driver
  reports every video without a result as lost ("run again": their finished components are reused).
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

from ray_pipelines.rows import ERROR_COLUMN, KEY_COLUMNS, VideoStatus, batch_rows, key_of, node_id
from ray_pipelines.stages import clap_extractor, core_clip, fusion_aggregates, scene_classification
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import ArtifactStore, RunKey, RunWriter
from trendflow.components import get_spec
from trendflow.config import StorageConfig
from trendflow.index import ArtifactIndex, IndexKey

RESULT_COLUMN = "result"


class VideoFailed(RuntimeError):
    """A video cannot be finalised; the message is its reason."""


@dataclass
class VideoResult:
    key: RunKey
    status: str  # ok | error
    error: str | None
    resumed: bool  # nothing was computed: every artifact was reused
    timings: dict[str, float]
    components: dict[str, str]
    errors: dict[str, str]
    adopted: bool = False  # continued an unfinished run of the same video and config
    n_frames: int = 0
    audio_seconds: float = 0.0
    rss_mb: float = 0.0
    aggregates: dict[str, float] = field(default_factory=dict)
    finished_at: str | None = None
    nodes: dict[str, str] = field(default_factory=dict)  # stage -> Ray node id

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "key": asdict(self.key)}, default=float)

    @classmethod
    def from_json(cls, text: str) -> "VideoResult":
        d = json.loads(text)
        return cls(**{**d, "key": RunKey(**d["key"])})


@dataclass
class FinalizeContext:
    store: ArtifactStore
    index: ArtifactIndex
    scene_labels: tuple[str, ...]
    audio_cfg: object  # AudioConfig
    components: tuple[str, ...]  # every per-video component of this config, fusion_aggregates included


_CONTEXTS: dict[str, FinalizeContext] = {}


def finalize_context(*, storage_json: str, extract_json: str, audio_json: str,
                     components: tuple[str, ...]) -> FinalizeContext:
    """The stage's context from JSON (built once per process and kept)."""
    from ray_pipelines.audio_config import AudioConfig
    from ray_pipelines.config import ExtractConfig

    cache_key = "|".join((storage_json, extract_json, audio_json, ",".join(components)))
    if cache_key not in _CONTEXTS:
        store = ArtifactStore.from_config(StorageConfig.model_validate_json(storage_json))
        _CONTEXTS[cache_key] = FinalizeContext(
            store=store, index=ArtifactIndex(store),
            scene_labels=ExtractConfig.model_validate_json(extract_json).scene_labels,
            audio_cfg=AudioConfig.model_validate_json(audio_json), components=tuple(components))
    return _CONTEXTS[cache_key]


# ---------------------------------------------------------------------- one video

def finalize_video(rows: list[dict], ctx: FinalizeContext) -> VideoResult:
    """All rows of one video (any order) → its artifacts, manifest and index pointer."""
    head = next(r for r in rows if r["kind"] == "status")
    key, st = key_of(head), VideoStatus.from_json(str(head["status"]))
    t_start = time.perf_counter()
    res = VideoResult(key, "ok", None, st.resumed, dict(st.timings), dict(st.components), dict(st.errors),
                      adopted=st.adopted, rss_mb=st.rss_mb, nodes={"prepare": st.node, "finalize": node_id()})
    if st.complete:  # a finished ok run whose pointer was missing: only the pointer to write
        return _record_complete(key, st, res, ctx)
    writer = RunWriter(ctx.store, key, st.entries)
    try:
        if st.fatal:
            raise VideoFailed(st.fatal)
        res.aggregates = _write_model_artifacts(rows, head, st, writer, res, ctx)
        _check_required(writer.entries, ctx.components)
    except Exception as e:  # this video fails with its reason; the run goes on
        res.status = "error"
        res.error = str(e) if isinstance(e, VideoFailed) else f"{type(e).__name__}: {e}"
    res.timings["finalize"] = time.perf_counter() - t_start  # this stage's work for the video
    try:
        manifest = writer.finish(res.status, res.error, res.timings, res.nodes)
        res.finished_at = manifest["finished_at"]
        if res.status == "ok":
            ctx.index.record_success(_index_key(key), key.run_id, manifest["finished_at"])
    except Exception as e:  # storage failed: no manifest, an unfinished run the next extraction adopts
        res.status, res.error = "error", f"finalize could not write the manifest: {type(e).__name__}: {e}"
    return res


def _write_model_artifacts(rows: list[dict], head: dict, st: VideoStatus, writer: RunWriter, res: VideoResult,
                           ctx: FinalizeContext) -> dict[str, float]:
    """core_clip + scene_classification, clap_extractor and fusion_aggregates unless the CPU stage reused
    them; returns the fusion_aggregates scalars."""
    arrays: dict[str, dict] = {}
    if not st.resumed:
        shot_start = np.asarray(head["shot_start_sec"], np.float64)
        shot_end = np.asarray(head["shot_end_sec"], np.float64)
        if not set(core_clip.COMPONENTS) <= set(writer.entries):
            res.n_frames = _visual(rows, shot_start, shot_end, writer, arrays, res, ctx)
        if ctx.audio_cfg.enabled and "clap_extractor" not in writer.entries:
            res.audio_seconds = _audio(rows, shot_start, shot_end, writer, arrays, res, ctx)
    if "fusion_aggregates" in writer.entries:  # reused with all its sources
        return dict(st.scalars)
    t0 = time.perf_counter()
    scalars = fusion_aggregates.merge(st.scalars, fusion_aggregates.scalars_from(arrays))
    writer.write("fusion_aggregates", fusion_aggregates.to_arrays(scalars), timing_s=time.perf_counter() - t0)
    res.components["fusion_aggregates"] = "ok"
    return scalars


def _chunks(rows: list[dict], kind: str, component: str, writer: RunWriter) -> list[dict]:
    """The video's chunk rows of `kind` in order; a row an embed stage failed fails the component."""
    chunks = sorted((r for r in rows if r["kind"] == kind), key=lambda r: int(r["chunk_index"]))
    failed = [str(r[ERROR_COLUMN]) for r in chunks if str(r.get(ERROR_COLUMN, "") or "")]
    if failed:
        reason = failed[0].removeprefix(f"{component}: ")
        writer.write(component, {}, status="error", empty_reason=reason[:2000])
        raise VideoFailed(failed[0])
    return chunks


def _visual(rows, shot_start, shot_end, writer: RunWriter, arrays: dict, res: VideoResult,
            ctx: FinalizeContext) -> int:
    visual = _chunks(rows, "visual", "core_clip", writer)
    if not visual:
        raise VideoFailed("core_clip: no frames were sampled")
    emb = np.concatenate([np.asarray(r["frame_embeddings"], np.float32) for r in visual])  # (N,D)
    probs = np.concatenate([np.asarray(r["frame_label_probs"], np.float32) for r in visual])  # (N,L)
    idx = np.concatenate([np.asarray(r["frame_indices"]) for r in visual])
    times = np.concatenate([np.asarray(r["frame_times"]) for r in visual])
    shot_of = np.concatenate([np.asarray(r["frame_shot"], np.int32) for r in visual])  # the Segmenter's mapping
    n_shots = len(shot_start)
    model = {"model_name": str(visual[0]["clip_model_name"]), "model_version": str(visual[0]["clip_model_version"]),
             "weights": str(visual[0]["clip_weights"])}
    clip_s = float(sum(float(r["clip_s"]) for r in visual))
    arrays["core_clip"] = writer.write(
        "core_clip", core_clip.build_artifact(idx, times, emb, shot_of, n_shots), timing_s=clip_s,
        extra_meta={"embed_dim": emb.shape[1], "pooling": "mean", "image_size": int(visual[0]["clip_image_size"])},
        **model)
    res.timings["core_clip"], res.components["core_clip"] = clip_s, "ok"
    scene = scene_classification.compute(ctx.scene_labels, probs, shot_of, n_shots, shot_end - shot_start)
    arrays["scene_classification"] = writer.write("scene_classification", scene, **model)
    res.components["scene_classification"] = "ok"
    return len(emb)


def _audio(rows, shot_start, shot_end, writer: RunWriter, arrays: dict, res: VideoResult,
           ctx: FinalizeContext) -> float:
    audio = _chunks(rows, "audio", "clap_extractor", writer)
    if not audio:
        raise VideoFailed("clap_extractor: the CPU stage sent no audio windows and wrote no clap_extractor")
    w_start, w_end, emb = clap_extractor.collect(audio)
    clap_s = float(sum(float(r["clap_s"]) for r in audio))
    arrays["clap_extractor"] = writer.write(
        "clap_extractor", clap_extractor.build_artifact(w_start, w_end, emb, shot_start, shot_end), timing_s=clap_s,
        extra_meta=clap_extractor.meta(ctx.audio_cfg, emb.shape[1]), model_name=str(audio[0]["clap_model_name"]),
        model_version=str(audio[0]["clap_model_version"]), weights=str(audio[0]["clap_weights"]))
    res.timings["clap_extractor"], res.components["clap_extractor"] = clap_s, "ok"
    return float(w_end.max() - w_start.min()) if len(w_start) else 0.0


def _check_required(entries: dict[str, dict], components: tuple[str, ...]) -> None:
    failed = [f"{name}: {entries[name].get('empty_reason')}" if name in entries else f"{name}: missing"
              for name in components
              if get_spec(name).required and entries.get(name, {}).get("status", "error") == "error"]
    if failed:
        raise VideoFailed("required component failed: " + "; ".join(failed))


def _record_complete(key: RunKey, st: VideoStatus, res: VideoResult, ctx: FinalizeContext) -> VideoResult:
    try:
        finished_at = ctx.store.manifest(key).get("finished_at")
        ctx.index.record_success(_index_key(key), key.run_id, finished_at)
        res.finished_at, res.aggregates = finished_at, dict(st.scalars)
    except Exception as e:
        res.status, res.error = "error", f"{type(e).__name__}: {e}"
    return res


def _index_key(key: RunKey) -> IndexKey:
    return IndexKey(key.platform_id, key.video_id, key.config_hash, key.sampling_policy_version,
                    DATAPROCESSOR_VERSION)


# ---------------------------------------------------------------------- buffering and routing

class RowBuffer:
    """Rows of videos in flight, until each is complete (its status row carries the row count)."""

    def __init__(self):
        self._rows: dict[RunKey, dict[tuple[str, int], dict]] = {}
        self._expected: dict[RunKey, int] = {}
        self._done: set[RunKey] = set()

    def add(self, row: dict) -> list[dict] | None:
        """Take one row; the video's rows when this was its last one, else None. Duplicates are dropped."""
        key = key_of(row)
        if key in self._done:
            return None  # a late duplicate of a finalised video (a task retried after a node died)
        rows = self._rows.setdefault(key, {})
        slot = (str(row["kind"]), int(row["chunk_index"]))
        if slot in rows:
            return None
        rows[slot] = row
        if slot[0] == "status":
            self._expected[key] = int(row["n_chunks"])
        if len(rows) < self._expected.get(key, len(rows) + 1):
            return None
        del self._rows[key], self._expected[key]
        self._done.add(key)
        return list(rows.values())

    @property
    def pending(self) -> int:
        return len(self._rows)


class Assembler:
    """A plain Ray actor (threaded): owns the videos routed to it, finalises each when complete."""

    def __init__(self, context_json: dict):
        self.ctx = finalize_context(**context_json)
        self.buffer = RowBuffer()
        self.lock = threading.Lock()

    def add(self, rows: list[dict]) -> list[str]:
        """Buffer rows; finalise the videos they complete (outside the lock: several at once)."""
        with self.lock:
            complete = [done for done in (self.buffer.add(r) for r in rows) if done is not None]
        return [finalize_video(video, self.ctx).to_json() for video in complete]

    def pending(self) -> int:
        with self.lock:
            return self.buffer.pending


def owner(row: dict, n: int) -> int:
    """Assembler of a row's video: a stable hash (Python's hash() differs between processes)."""
    return zlib.crc32(f"{row['platform_id']}/{row['video_id']}".encode()) % n


def route_batch(batch: dict, *, assemblers: list) -> dict:
    """Router task: send each row to its video's assembler; emit the results of videos completed."""
    import ray

    by_owner: dict[int, list[dict]] = defaultdict(list)
    for row in batch_rows(batch):
        by_owner[owner(row, len(assemblers))].append(row)
    refs = [assemblers[i].add.remote(rows) for i, rows in by_owner.items()]
    results: list[str] = []
    for ref in refs:
        try:
            results.extend(ray.get(ref))
        except Exception as e:  # the assembler is gone for good: its videos never complete (reported lost)
            print(f"finalize: an assembler call failed ({type(e).__name__}: {e}); its videos are lost")
    return {RESULT_COLUMN: np.array(results, dtype=str)}


@dataclass
class FinalizeStage:
    """The last stage: routes rows to `assemblers` (created by `start`, stopped by `stop`)."""
    assemblers: list
    name: str = "finalize"
    reads: tuple[str, ...] = (*KEY_COLUMNS, "kind", "chunk_index", "n_chunks", "status", ERROR_COLUMN,
                              *core_clip.WRITES, *clap_extractor.WRITES)
    writes: tuple[str, ...] = (RESULT_COLUMN,)

    @classmethod
    def start(cls, n: int, threads: int, context_json: dict) -> "FinalizeStage":
        import ray

        actor = ray.remote(Assembler).options(
            num_cpus=0,  # storage-latency bound; a CPU each would starve the decode tasks on small machines
            max_concurrency=threads, max_restarts=-1, max_task_retries=-1, scheduling_strategy="SPREAD")
        return cls([actor.remote(context_json) for _ in range(n)])

    def stop(self) -> None:
        import ray

        for a in self.assemblers:
            ray.kill(a)

    @property
    def fn(self):
        return route_batch

    def ray_args(self, plan) -> dict:
        # batch_size=None: each block as it arrives (a row count would hold rows back until it filled)
        return {"batch_size": None, "batch_format": "numpy", "fn_kwargs": {"assemblers": self.assemblers},
                "num_cpus": plan.router_cpus}
