"""The extraction pipeline: dataset videos → Ray Data → per-video artifacts, index and tables.

    prepare (CPU tasks: decode sampled frames, cuts, quality, pacing, audio, loudness, tempo;
             streams chunk rows out while it decodes)
      → ClipEmbed (actor pool, GPU when present) → ClapEmbed (actor pool, GPU when present)
      → driver: pool per shot, write core_clip / scene / clap / fusion_aggregates, close runs

With `audio: {enabled: false}` (visual-only) prepare does no audio work and there is no CLAP pool.

Rows stream: a video is finalised as soon as its last chunk is back, so a crash loses only the
videos in flight; the next run skips every video the index already holds (or, with the same
--run-id, every component already written). Run: `trendflow extract --help`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field


from ray_pipelines.config import ExtractConfig
from ray_pipelines.finalize import Finalizer, VideoResult
from ray_pipelines.video_source import VideoItem, list_videos
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import ArtifactStore, RunKey, now_iso
from trendflow.config import IndexConfig, RunConfig, StorageConfig, load_section
from trendflow.ids import config_hash, new_run_id, validate_run_id
from trendflow.index import ArtifactIndex, IndexKey

VISUAL = ("sampling_plan", "cut_detection", "shot_quality", "video_pacing", "core_clip", "scene_classification")
AUDIO = ("video_audio_extractor", "loudness", "tempo", "clap_extractor")
AGGREGATES_TABLE = "_tables/aggregates.parquet"
BLOCK_BYTES = 16 * 2**20  # Ray Data block size target of the extraction pipeline


@dataclass
class ExtractRequest:
    dataset: str
    store: str | None = None
    config_path: str | None = None
    videos: list[str] | None = None
    run_id: str | None = None
    force: bool = False
    address: str | None = None
    progress: bool = True


@dataclass
class RunSummary:
    run_id: str
    store: str
    config_hash: str
    sampling_policy_version: str
    done: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    stage_s: dict[str, float] = field(default_factory=dict)
    frames_embedded: int = 0
    audio_seconds: float = 0.0
    peak_worker_rss_mb: float = 0.0
    summary_path: str = ""
    dataset_stats: str = ""  # Ray Data's per-operator stats (ds.stats()) of this run

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Configs:
    storage: StorageConfig
    extract: ExtractConfig
    sampling: object
    audio: object
    index: IndexConfig
    run: RunConfig

    @classmethod
    def load(cls, path: str | None, store: str | None) -> "Configs":
        from ray_pipelines.audio_config import AudioConfig
        from sampling.policy import SamplingPolicy
        return cls(
            storage=load_section(path, "storage", StorageConfig, {"store": store} if store else None),
            extract=load_section(path, "extract", ExtractConfig),
            sampling=load_section(path, "sampling", SamplingPolicy),
            audio=load_section(path, "audio", AudioConfig),
            index=load_section(path, "index", IndexConfig),
            run=load_section(path, "run", RunConfig),
        )

    @property
    def config_hash(self) -> str:
        # Only what changes the artifacts: not where they are stored, nor pool sizes.
        extract = self.extract.model_dump(mode="json", exclude={"max_actors", "decode_cpus", "no_progress_timeout_s"})
        return config_hash({"extract": extract, "sampling": self.sampling.model_dump(mode="json"),
                            "audio": self.audio.model_dump(mode="json")})

    @property
    def sampling_policy_version(self) -> str:
        return self.sampling.sampling_policy_version

    @property
    def components(self) -> tuple[str, ...]:
        """The per-video components this configuration runs (audio.enabled=false: visual only)."""
        return components_of(self.audio.enabled)


def components_of(audio_enabled: bool) -> tuple[str, ...]:
    return VISUAL + AUDIO if audio_enabled else VISUAL


def run_extract(req: ExtractRequest, log=print) -> RunSummary:
    from ray_pipelines.runtime import init_ray

    cfg = Configs.load(req.config_path, req.store)
    run_id = validate_run_id(req.run_id) if req.run_id else new_run_id("extract")
    store = ArtifactStore(cfg.storage.store, cfg.storage.storage_options)
    index = ArtifactIndex(store, cfg.storage.index_path, cfg.index.capacity)
    chash, spv = cfg.config_hash, cfg.sampling_policy_version
    summary = RunSummary(run_id, store.storage.root_url, chash, spv)

    items, rejected = list_videos(req.dataset, cfg.storage.storage_options,
                                  set(req.videos) if req.videos else None, cfg.run.platform_id)
    summary.rejected = {r.name: r.reason for r in rejected}
    todo: list[VideoItem] = []
    for item in items:
        hit = None if req.force else index.lookup(IndexKey(item.platform_id, item.video_id, chash, spv,
                                                           DATAPROCESSOR_VERSION))
        (summary.cached.append(f"{item.video_id} (run {hit})") if hit else todo.append(item))
    log(f"extract run {run_id}: {len(items)} video(s), {len(summary.cached)} cached, {len(todo)} to process, "
        f"{len(rejected)} rejected")

    t0 = time.perf_counter()
    if todo:
        if cfg.audio.enabled:
            from ray_pipelines.stages.clap_extractor import check_config
            check_config(cfg.audio)  # a model/sample-rate mismatch fails here, not in every actor
        init_ray(req.address)
        finalizer = Finalizer(store, index, cfg.extract.scene_labels, cfg.audio,
                              cfg.components + ("fusion_aggregates",))
        rows = [{**asdict(RunKey(i.platform_id, i.video_id, run_id, chash, spv)), "url": i.url, "force": req.force}
                for i in todo]
        try:
            ds = build_dataset(rows, cfg, store)
            for row in ds.iter_rows():
                result = finalizer.add(row)
                if result is not None:
                    _record(summary, result, log, req.progress)
            summary.dataset_stats = ds.stats()
        except Exception as e:  # the Ray job itself failed: every video still in flight is a failure
            reason = f"pipeline aborted: {root_cause(e)}"
            done = set(summary.done) | set(summary.resumed) | set(summary.failed)
            for i in todo:
                if i.video_id not in done:
                    summary.failed[i.video_id] = reason
            log(reason)
    summary.wall_s = time.perf_counter() - t0
    _update_aggregates_table(store, index, cfg, chash, spv)
    summary.summary_path = store.storage.url(f"_runs/{run_id}/summary.json")
    store.storage.write_bytes(f"_runs/{run_id}/summary.json",
                              json.dumps({**asdict(summary), "finished_at": now_iso()}, indent=2, default=float).encode())
    index.close()
    return summary


def root_cause(e: BaseException) -> str:
    """The innermost 'SomeError: message' line of a (Ray-wrapped) exception."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    causes = [ln for ln in lines if ln.split(":")[0].split(".")[-1].endswith(("Error", "Exception"))]
    return causes[-1] if causes else f"{type(e).__name__}: {lines[0] if lines else ''}"


def build_dataset(rows: list[dict], cfg: Configs, store: ArtifactStore):
    """The Ray Data pipeline over video rows (lazy: runs when iterated)."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext

    from ray_pipelines.encoders.clip import image_size
    from ray_pipelines.runtime import Resources
    from ray_pipelines.stages.clap_extractor import ClapEmbed
    from ray_pipelines.stages.core_clip import ClipEmbed
    from ray_pipelines.stages.prepare import prepare_batch, window_samples

    settings = {
        "enable_progress_bars": os.environ.get("RAY_DATA_DISABLE_PROGRESS_BARS") != "1",
        "execution_no_progress_timeout_s": cfg.extract.no_progress_timeout_s,
        "retried_map_errors": ["CUDA out of memory"], "max_map_retries": 2,
        # prepare yields a row per chunk; small blocks let them flow to the pools while the video is still
        # decoding (Ray's 128 MiB default would hold a long video's rows back, all in one block).
        "target_max_block_size": BLOCK_BYTES,
    }

    res = Resources.of_cluster()
    pool = res.actor_pool_size(cfg.extract.max_actors, cfg.extract.clip.gpus_per_actor)
    # Two model pools share the machine: on CPU each gets at most a quarter of the cores.
    clip_resources = ({"num_gpus": cfg.extract.clip.gpus_per_actor} if res.has_gpu
                      else {"num_cpus": res.actor_cpus(2 * pool)})
    clap_resources = ({"num_gpus": cfg.audio.clap.gpus_per_actor} if res.has_gpu
                      else {"num_cpus": res.actor_cpus(2 * pool)})
    pools_cpus = 0.0 if res.has_gpu else pool * (clip_resources["num_cpus"] +
                                                 (clap_resources["num_cpus"] if cfg.audio.enabled else 0.0))
    decode_cpus = cfg.extract.decode_cpus or res.decode_cpus(pools_cpus)
    if not res.has_gpu and abs(decode_cpus - clip_resources["num_cpus"]) < 1e-6:
        # Equal resources make Ray Data fuse the decode tasks into the CLIP actor: decoding would then
        # run inside the one model actor, serially with the model. A hair less keeps them apart.
        decode_cpus *= 0.99
    prepare_kwargs = {
        "store_root": store.storage.root_url, "storage_options": cfg.storage.storage_options,
        "extract_json": cfg.extract.model_dump_json(), "sampling_json": cfg.sampling.model_dump_json(),
        "audio_json": cfg.audio.model_dump_json(), "clip_size": image_size(cfg.extract.clip.model_name),
        "window_samples": window_samples(cfg.audio),
    }
    # The dataset keeps a copy of the context it was created under: set ours for it only, then give the
    # caller's datasets their own settings back.
    ctx = DataContext.get_current()
    previous = {k: getattr(ctx, k) for k in settings}
    try:
        for k, v in settings.items():
            setattr(ctx, k, v)
        ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    finally:
        for k, v in previous.items():
            setattr(ctx, k, v)
    ds = (
        ds.map_batches(prepare_batch, batch_size=1, fn_kwargs=prepare_kwargs, num_cpus=decode_cpus)
        .map_batches(ClipEmbed, batch_size=1, fn_constructor_kwargs={"cfg_json": cfg.extract.model_dump_json()},
                     compute=ActorPoolStrategy(size=pool), **clip_resources)
    )
    if cfg.audio.enabled:  # visual-only runs have no audio rows: no CLAP pool at all
        ds = ds.map_batches(ClapEmbed, batch_size=1, fn_constructor_kwargs={"cfg_json": cfg.audio.model_dump_json()},
                            compute=ActorPoolStrategy(size=pool), **clap_resources)
    return ds


def _record(summary: RunSummary, r: VideoResult, log, progress: bool) -> None:
    vid = r.key.video_id
    if r.status == "ok":
        (summary.resumed if r.resumed else summary.done).append(vid)
    else:
        summary.failed[vid] = r.error or "unknown error"
    for stage, s in r.timings.items():
        summary.stage_s[stage] = summary.stage_s.get(stage, 0.0) + float(s)
    summary.frames_embedded += r.n_frames
    summary.audio_seconds += r.audio_seconds
    summary.peak_worker_rss_mb = max(summary.peak_worker_rss_mb, r.rss_mb)
    if progress:
        n = len(summary.done) + len(summary.resumed) + len(summary.failed)
        extra = f" ({r.error})" if r.status != "ok" else (" (reused)" if r.resumed else "")
        log(f"  [{n}] {vid}: {r.status}{extra}")


def _update_aggregates_table(store: ArtifactStore, index: ArtifactIndex, cfg: Configs, chash: str, spv: str) -> None:
    """Rewrite <store>/_tables/aggregates.parquet from the latest successful run of each indexed video."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    records = []
    for platform_id, video_id in index.videos():
        run_id = index.lookup(IndexKey(platform_id, video_id, chash, spv, DATAPROCESSOR_VERSION), verify=False)
        if run_id is None:
            continue
        try:
            art = store.read(RunKey(platform_id, video_id, run_id, chash, spv), "fusion_aggregates")
        except Exception:
            continue  # a broken artifact is reported by verify_run/index; the table simply omits it
        rec = {"platform_id": platform_id, "video_id": video_id, "run_id": run_id}
        for name, value, present in zip(art.arrays["names"], art.arrays["values"], art.arrays["present"]):
            rec[str(name)] = float(value) if present else float("nan")
            rec[f"{name}_present"] = bool(present)
        records.append(rec)
    if not records:
        return
    table = pa.Table.from_pylist(records)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    store.storage.write_bytes(AGGREGATES_TABLE, buf.getvalue())


def format_summary(s: RunSummary) -> str:
    n_new = len(s.done)
    lines = [f"run {s.run_id}  config {s.config_hash}  sampling {s.sampling_policy_version}",
             f"videos: {n_new} done, {len(s.cached)} cached, {len(s.resumed)} reused, {len(s.failed)} failed, "
             f"{len(s.rejected)} rejected  in {s.wall_s:.1f} s"]
    if s.wall_s > 0 and n_new:
        lines.append(f"throughput: {60 * n_new / s.wall_s:.1f} videos/min, {s.frames_embedded / s.wall_s:.1f} frames/s "
                     f"embedded, {s.audio_seconds / s.wall_s:.1f} audio s/s; peak worker RSS {s.peak_worker_rss_mb:.0f} MB")
    lines.extend(f"  ray data: {ln.strip()}" for ln in s.dataset_stats.splitlines() if ln.startswith("Operator "))
    if s.stage_s:
        lines.append("stage time (summed over videos, s): " +
                     ", ".join(f"{k}={v:.1f}" for k, v in sorted(s.stage_s.items(), key=lambda kv: -kv[1])))
    for vid, reason in sorted(s.failed.items()):
        lines.append(f"  failed {vid}: {reason}")
    for name, reason in sorted(s.rejected.items()):
        lines.append(f"  rejected {name}: {reason}")
    lines.append(f"artifacts: {s.store}/<platform>/<video>/{s.run_id}/   summary: {s.summary_path}")
    return "\n".join(lines)
