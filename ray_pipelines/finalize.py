"""Driver side of the pipeline: collect a video's rows as they stream back, then write the
model artifacts (core_clip, scene_classification, clap_extractor) and fusion_aggregates, close the
run and record it in the index. Light work (pooling, small writes): the heavy parts ran in Ray."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ray_pipelines.rows import VideoStatus, key_of
from ray_pipelines.stages import core_clip, fusion_aggregates, scene_classification
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import ArtifactError, ArtifactStore, RunKey
from trendflow.components import get_spec
from trendflow.index import ArtifactIndex, IndexKey


@dataclass
class VideoResult:
    key: RunKey
    status: str  # ok | error
    error: str | None
    resumed: bool
    timings: dict[str, float]
    components: dict[str, str]
    errors: dict[str, str]
    n_frames: int = 0
    audio_seconds: float = 0.0
    rss_mb: float = 0.0
    aggregates: dict[str, float] = field(default_factory=dict)


class Finalizer:
    def __init__(self, store: ArtifactStore, index: ArtifactIndex, scene_labels: tuple[str, ...], audio_cfg,
                 expected: tuple[str, ...]):
        self.store, self.index = store, index
        self.scene_labels = scene_labels
        self.audio_cfg = audio_cfg
        self.expected = expected  # components this pipeline runs; required ones must be ok or empty
        self._rows: dict[RunKey, list[dict]] = defaultdict(list)
        self._expected: dict[RunKey, int] = {}  # rows of a video, known once its status row is in

    def add(self, row: dict) -> VideoResult | None:
        """Take one streamed row; return the video's result when its last row arrived. Rows come in
        any order; only the status row knows how many there are (chunk rows say n_chunks=0)."""
        key = key_of(row)
        rows = self._rows[key]
        rows.append(row)
        if row["kind"] == "status":
            self._expected[key] = int(row["n_chunks"])
        if len(rows) < self._expected.get(key, len(rows) + 1):
            return None
        del self._rows[key], self._expected[key]
        return self.finalize(key, rows)

    def finalize(self, key: RunKey, rows: list[dict]) -> VideoResult:
        head = next(r for r in rows if r["kind"] == "status")
        st = VideoStatus.from_json(head["status"])
        t_start = time.perf_counter()
        res = VideoResult(key, "ok", None, st.resumed, dict(st.timings), dict(st.components), dict(st.errors),
                          rss_mb=st.rss_mb)
        try:
            if st.fatal:
                raise ArtifactError(st.fatal)
            if not st.resumed:
                shot_start = np.asarray(head["shot_start_sec"], np.float64)
                shot_end = np.asarray(head["shot_end_sec"], np.float64)
                res.n_frames = self._visual(key, rows, shot_start, shot_end, res)
                res.audio_seconds = self._audio(key, rows, shot_start, shot_end, res)
            t0 = time.perf_counter()
            arrays = fusion_aggregates.compute(self.store, key)
            self.store.write(key, "fusion_aggregates", arrays, timing_s=time.perf_counter() - t0)
            res.aggregates = dict(zip(arrays["names"].tolist(), arrays["values"].tolist()))
            self._check_required(key)
        except ArtifactError as e:
            res.status, res.error = "error", str(e)
        res.timings["finalize"] = time.perf_counter() - t_start  # driver-side work for this video
        manifest = self.store.finish_run(key, res.status, res.error, res.timings)
        if res.status == "ok":
            self.index.record_success(
                IndexKey(key.platform_id, key.video_id, key.config_hash, key.sampling_policy_version,
                         DATAPROCESSOR_VERSION), key.run_id, manifest["finished_at"])
        return res

    # ---------------------------------------------------------------- components
    def _visual(self, key: RunKey, rows: list[dict], shot_start: np.ndarray, shot_end: np.ndarray,
                res: VideoResult) -> int:
        visual = sorted((r for r in rows if r["kind"] == "visual"), key=lambda r: r["chunk_index"])
        if not visual:
            raise ArtifactError("core_clip: no frames were sampled")
        emb = np.concatenate([np.asarray(r["frame_embeddings"], np.float32) for r in visual])  # (N,D)
        probs = np.concatenate([np.asarray(r["frame_label_probs"], np.float32) for r in visual])  # (N,L)
        idx = np.concatenate([np.asarray(r["frame_indices"]) for r in visual])
        times = np.concatenate([np.asarray(r["frame_times"]) for r in visual])
        shot_of = np.concatenate([np.asarray(r["frame_shot"], np.int32) for r in visual])  # the Segmenter's mapping
        n_shots = len(shot_start)
        model = {"model_name": str(visual[0]["clip_model_name"]), "model_version": str(visual[0]["clip_model_version"]),
                 "weights": str(visual[0]["clip_weights"])}
        clip_s = float(sum(r["clip_s"] for r in visual))
        self.store.write(key, "core_clip", core_clip.build_artifact(idx, times, emb, shot_of, n_shots),
                         timing_s=clip_s, extra_meta={"embed_dim": emb.shape[1], "pooling": "mean",
                                                      "image_size": int(visual[0]["clip_image_size"])}, **model)
        res.timings["core_clip"], res.components["core_clip"] = clip_s, "ok"
        arrays = scene_classification.compute(self.scene_labels, probs, shot_of, n_shots, shot_end - shot_start)
        self.store.write(key, "scene_classification", arrays, **model)
        res.components["scene_classification"] = "ok"
        return len(emb)

    def _audio(self, key: RunKey, rows: list[dict], shot_start: np.ndarray, shot_end: np.ndarray,
               res: VideoResult) -> float:
        audio = sorted((r for r in rows if r["kind"] == "audio"), key=lambda r: r["chunk_index"])
        if not audio:
            return 0.0  # the CPU stage wrote clap_extractor as empty (no/silent audio) or as an error
        from ray_pipelines.stages import clap_extractor
        w_start, w_end, emb = clap_extractor.collect(audio)
        arrays = clap_extractor.build_artifact(w_start, w_end, emb, shot_start, shot_end)
        clap_s = float(sum(r["clap_s"] for r in audio))
        self.store.write(key, "clap_extractor", arrays, timing_s=clap_s,
                         extra_meta=clap_extractor.meta(self.audio_cfg, emb.shape[1]),
                         model_name=str(audio[0]["clap_model_name"]), model_version=str(audio[0]["clap_model_version"]),
                         weights=str(audio[0]["clap_weights"]))
        res.timings["clap_extractor"], res.components["clap_extractor"] = clap_s, "ok"
        return float(w_end.max() - w_start.min()) if len(w_start) else 0.0

    def _check_required(self, key: RunKey) -> None:
        components = self.store.manifest(key)["components"]
        failed = [f"{name}: {components[name].get('empty_reason')}" if name in components else f"{name}: missing"
                  for name in self.expected
                  if get_spec(name).required and components.get(name, {}).get("status", "error") == "error"]
        if failed:
            raise ArtifactError("required component failed: " + "; ".join(failed))
