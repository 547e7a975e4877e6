"""The extraction pipeline: dataset videos → Ray Data → per-video artifacts, index and tables.

    prepare (CPU tasks: plan the run from one listing, decode sampled frames, cuts, quality, pacing,
             audio, loudness, tempo; streams chunk rows out while it decodes)
      → ClipEmbed (actor pool, GPU when present) → ClapEmbed (actor pool, GPU when present)
      → finalize (router tasks → keyed assembler actors: pool per shot, write the model artifacts,
                  the manifest and the index pointer) → one small result row per video to the driver

With `audio: {enabled: false}` (visual-only) prepare does no audio work and there is no CLAP pool.
The driver only plans (one listing of the index finds the cached videos), resolves every path to an
absolute URI, and collects result rows: the summary and the aggregates table parts (Ray Data
`write_parquet`). A video is finalised as soon as its last row is in, so a crash loses only the
videos in flight, and the next run continues their unfinished run folders. Run: `trendflow extract --help`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

from ray_pipelines.config import ExtractConfig
from ray_pipelines.video_source import VideoItem, list_videos
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import RUNS_DIR, ArtifactStore, RunKey, now_iso
from trendflow.config import ConfigError, IndexConfig, RunConfig, StorageConfig, load_section
from trendflow.ids import config_hash, new_run_id, validate_run_id
from trendflow.index import ArtifactIndex, IndexKey
from trendflow.storage import is_url, resolve_uri
from trendflow.tables import aggregate_record, aggregates_dir

VISUAL = ("sampling_plan", "cut_detection", "shot_quality", "video_pacing", "shot_thumbnails", "core_clip",
          "scene_classification")
AUDIO = ("video_audio_extractor", "loudness", "tempo", "clap_extractor")
BLOCK_BYTES = 16 * 2**20  # Ray Data block size target of the extraction pipeline
TABLE_FLUSH_ROWS = 1000  # the aggregates table gets a part file per this many finished videos (and at the end)
LOST = "lost when a worker died; run again (its finished components are reused)"
# Not part of config_hash: how fast, not what, is computed.
RESOURCE_FIELDS = {"max_actors": True, "min_actors": True, "decode_cpus": True, "no_progress_timeout_s": True,
                   "device": True, "assemblers": True, "assembler_threads": True, "clip": {"gpus_per_actor"}}


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
    adopted: dict[str, str] = field(default_factory=dict)  # video -> the unfinished run it continued
    failed: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    stage_s: dict[str, float] = field(default_factory=dict)
    frames_embedded: int = 0
    audio_seconds: float = 0.0
    peak_worker_rss_mb: float = 0.0
    nodes: dict[str, int] = field(default_factory=dict)  # Ray node id -> videos whose CPU stage ran there
    evicted: list[str] = field(default_factory=list)
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

    def resolved(self) -> "Configs":
        """The same configs with the store as an absolute URI (what every worker receives)."""
        storage = self.storage.model_copy(update={"store": resolve_uri(self.storage.store)})
        return Configs(storage, self.extract, self.sampling, self.audio, self.index, self.run)

    @property
    def config_hash(self) -> str:
        # Only what changes the artifacts: not where they are stored, nor resources.
        extract = self.extract.model_dump(mode="json", exclude=RESOURCE_FIELDS)
        audio = self.audio.model_dump(mode="json", exclude={"clap": {"gpus_per_actor"}})
        return config_hash({"extract": extract, "sampling": self.sampling.model_dump(mode="json"), "audio": audio})

    @property
    def sampling_policy_version(self) -> str:
        return self.sampling.sampling_policy_version

    @property
    def components(self) -> tuple[str, ...]:
        """The per-video components this configuration runs (audio.enabled=false: visual only)."""
        return components_of(self.audio.enabled)


def components_of(audio_enabled: bool) -> tuple[str, ...]:
    return VISUAL + AUDIO if audio_enabled else VISUAL


# ---------------------------------------------------------------------- the run

def run_extract(req: ExtractRequest, log=print) -> RunSummary:
    cfg = Configs.load(req.config_path, req.store).resolved()
    dataset = resolve_uri(req.dataset)
    run_id = validate_run_id(req.run_id) if req.run_id else new_run_id("extract")
    store = ArtifactStore.from_config(cfg.storage)
    index = ArtifactIndex(store, cfg.index.capacity)
    chash, spv = cfg.config_hash, cfg.sampling_policy_version
    summary = RunSummary(run_id, store.storage.root_url, chash, spv)

    items, rejected = list_videos(dataset, cfg.storage.storage_options, set(req.videos) if req.videos else None,
                                  cfg.run.platform_id, cfg.storage.call_log)
    summary.rejected = {r.name: r.reason for r in rejected}
    if not items:
        raise FileNotFoundError(f"none of the requested videos is in dataset {dataset}: "
                                + "; ".join(f"{r.name}: {r.reason}" for r in rejected))
    hits = set() if req.force else index.hits(chash, spv, DATAPROCESSOR_VERSION)  # one listing
    todo: list[VideoItem] = [i for i in items if (i.platform_id, i.video_id) not in hits]
    summary.cached = [i.video_id for i in items if (i.platform_id, i.video_id) in hits]
    index.touch([IndexKey(i.platform_id, i.video_id, chash, spv, DATAPROCESSOR_VERSION)
                 for i in items if (i.platform_id, i.video_id) in hits])  # LRU use, only with eviction on
    log(f"extract run {run_id}: {len(items)} video(s), {len(summary.cached)} cached, {len(todo)} to process, "
        f"{len(rejected)} rejected")

    t0 = time.perf_counter()
    if todo:
        _process(todo, req, cfg, store, run_id, dataset, summary, log)
    summary.wall_s = time.perf_counter() - t0
    summary.evicted = [f"{e.key.platform_id}/{e.key.video_id} run {e.run_id}" for e in index.evict()]
    rel = f"{RUNS_DIR}/{run_id}/summary.json"
    summary.summary_path = store.storage.url(rel)
    store.storage.write_bytes(rel, json.dumps({**asdict(summary), "finished_at": now_iso()}, indent=2,
                                              default=float).encode())
    return summary


def _process(todo: list[VideoItem], req: ExtractRequest, cfg: Configs, store: ArtifactStore, run_id: str,
             dataset: str, summary: RunSummary, log) -> None:
    """Run the Ray Data pipeline over the videos to process; fill the summary as results stream in."""
    from ray_pipelines.runtime import Resources, alive_nodes, init_ray, plan_resources
    from ray_pipelines.stages.finalize import RESULT_COLUMN, FinalizeStage, VideoResult

    if cfg.audio.enabled:
        from ray_pipelines.stages.clap_extractor import check_config
        check_config(cfg.audio)  # a model/sample-rate mismatch fails here, not in every actor
    init_ray(req.address)
    check_shared_paths(cfg.storage, dataset, alive_nodes())
    plan = plan_resources(Resources.of_cluster(), cfg.extract, cfg.audio)
    started_at = now_iso()
    rows = [{**asdict(RunKey(i.platform_id, i.video_id, run_id, cfg.config_hash, cfg.sampling_policy_version)),
             "url": i.url, "force": req.force, "pinned": req.run_id is not None, "started_at": started_at}
            for i in todo]
    finalize = FinalizeStage.start(cfg.extract.assemblers or max(2, alive_nodes()), cfg.extract.assembler_threads,
                                   stage_context(cfg, store)["finalize"])
    table = AggregatesParts(store, run_id)
    progress = Progress(len(todo), log if req.progress else None)
    try:
        ds = build_dataset(rows, cfg, store, finalize, plan)
        for row in ds.iter_rows():
            result = VideoResult.from_json(str(row[RESULT_COLUMN]))
            _record(summary, result, progress)
            table.add(result)
        summary.dataset_stats = ds.stats()
    except Exception as e:  # the Ray job itself failed: every video still in flight is a failure
        reason = f"pipeline aborted: {root_cause(e)}"
        _fail_missing(todo, summary, reason)
        log(reason)
    finally:
        finalize.stop()
        table.flush()
    _fail_missing(todo, summary, LOST)  # rows lost with a dead assembler: their videos never completed


def _fail_missing(todo: list[VideoItem], summary: RunSummary, reason: str) -> None:
    done = set(summary.done) | set(summary.resumed) | set(summary.failed)
    for i in todo:
        if i.video_id not in done:
            summary.failed[i.video_id] = reason


def check_shared_paths(storage: StorageConfig, dataset: str, nodes: int) -> None:
    """On a cluster of several nodes, local store/dataset paths are refused (workers on other nodes
    would read and write their own disks) unless `storage.local_is_shared` says they are one share."""
    if nodes <= 1 or storage.local_is_shared:
        return
    local = [f"{what} {path}" for what, path in (("storage.store", storage.store), ("dataset", dataset))
             if not is_url(path)]
    if local:
        raise ConfigError(f"{' and '.join(local)}: a local path, but the Ray cluster has {nodes} alive nodes; "
                          f"use shared storage (s3://bucket/prefix, with storage.storage_options for MinIO) or, "
                          f"if the path is one shared filesystem (NFS) mounted on every node, set "
                          f"storage.local_is_shared: true")


def root_cause(e: BaseException) -> str:
    """The innermost 'SomeError: message' line of a (Ray-wrapped) exception."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    causes = [ln for ln in lines if ln.split(":")[0].split(".")[-1].endswith(("Error", "Exception"))]
    return causes[-1] if causes else f"{type(e).__name__}: {lines[0] if lines else ''}"


# ---------------------------------------------------------------------- the dataset

def stage_context(cfg: Configs, store: ArtifactStore) -> dict[str, dict]:
    """The JSON each stage rebuilds its context from, in every worker (URIs and configs only)."""
    from ray_pipelines.encoders.clip import image_size
    from ray_pipelines.stages.prepare import window_samples

    storage = StorageConfig(store=store.storage.root_url, storage_options=store.storage.storage_options,
                            local_is_shared=cfg.storage.local_is_shared, call_log=store.storage.call_log)
    common = {"storage_json": storage.model_dump_json(), "extract_json": cfg.extract.model_dump_json(),
              "audio_json": cfg.audio.model_dump_json(), "components": (*cfg.components, "fusion_aggregates")}
    return {"prepare": {**common, "sampling_json": cfg.sampling.model_dump_json(),
                        "clip_size": image_size(cfg.extract.clip.model_name),
                        "window_samples": window_samples(cfg.audio)},
            "finalize": common}


def pipeline_stages(cfg: Configs, store: ArtifactStore, finalize=None) -> list:
    """The stages in order; without `finalize` the dataset yields the embedded rows themselves."""
    from ray_pipelines.stages.clap_extractor import ClapEmbed
    from ray_pipelines.stages.core_clip import ClipEmbed
    from ray_pipelines.stages.embed import PoolStage
    from ray_pipelines.stages.prepare import PrepareStage

    stages = [PrepareStage(stage_context(cfg, store)["prepare"]), PoolStage(ClipEmbed, cfg.extract.model_dump_json(), "clip")]
    if cfg.audio.enabled:  # visual-only runs have no audio rows: no CLAP pool at all
        stages.append(PoolStage(ClapEmbed, cfg.audio.model_dump_json(), "clap"))
    if finalize is not None:
        stages.append(finalize)
    return stages


def build_dataset(rows: list[dict], cfg: Configs, store: ArtifactStore, finalize=None, plan=None):
    """The Ray Data pipeline over video rows (lazy: runs when iterated)."""
    import ray
    from ray.data import DataContext

    from ray_pipelines.runtime import Resources, plan_resources

    plan = plan or plan_resources(Resources.of_cluster(), cfg.extract, cfg.audio)
    settings = {
        "enable_progress_bars": os.environ.get("RAY_DATA_DISABLE_PROGRESS_BARS") != "1",
        "execution_no_progress_timeout_s": cfg.extract.no_progress_timeout_s,
        "retried_map_errors": ["CUDA out of memory"], "max_map_retries": 2,
        # prepare yields a row per chunk; small blocks let them flow to the pools while the video is still
        # decoding (Ray's 128 MiB default would hold a long video's rows back, all in one block).
        "target_max_block_size": BLOCK_BYTES,
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
    for stage in pipeline_stages(cfg, store, finalize):
        ds = ds.map_batches(stage.fn, **stage.ray_args(plan))
    return ds


# ---------------------------------------------------------------------- results

class AggregatesParts:
    """The run's rows of the aggregates table, written as Parquet part files with Ray Data
    (`<store>/_tables/aggregates/<run_id>/`) every TABLE_FLUSH_ROWS videos and at the end."""

    def __init__(self, store: ArtifactStore, run_id: str):
        self.store, self.run_id, self.records = store, run_id, []

    def add(self, result) -> None:
        if result.status == "ok" and result.aggregates:
            self.records.append(aggregate_record({**asdict(result.key), "dataprocessor_version": DATAPROCESSOR_VERSION},
                                                 result.finished_at, result.aggregates))
        if len(self.records) >= TABLE_FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.records:
            return
        import ray

        fs, root = self.store.storage.arrow_filesystem()
        path = f"{root.rstrip('/')}/{aggregates_dir(self.run_id)}"
        ray.data.from_items(self.records, override_num_blocks=1).write_parquet(path, filesystem=fs)
        self.records = []


class Progress:
    """One line per finished video, with the rate and the time left (None: silent)."""

    def __init__(self, total: int, log):
        self.total, self.log, self.n, self.t0 = total, log, 0, time.perf_counter()

    def video(self, text: str) -> None:
        self.n += 1
        if self.log is None:
            return
        elapsed = time.perf_counter() - self.t0
        rate = self.n / elapsed * 60 if elapsed > 0 else 0.0
        left = (self.total - self.n) / (self.n / elapsed) if elapsed > 0 else 0.0
        self.log(f"  [{self.n}/{self.total}] {text}  ({rate:.1f} videos/min, ~{left:.0f} s left)")


def _record(summary: RunSummary, r, progress: Progress) -> None:
    vid = r.key.video_id
    if r.status == "ok":
        (summary.resumed if r.resumed else summary.done).append(vid)
        if r.adopted:
            summary.adopted[vid] = r.key.run_id
    else:
        summary.failed[vid] = r.error or "unknown error"
    for stage, s in r.timings.items():
        summary.stage_s[stage] = summary.stage_s.get(stage, 0.0) + float(s)
    summary.frames_embedded += r.n_frames
    summary.audio_seconds += r.audio_seconds
    summary.peak_worker_rss_mb = max(summary.peak_worker_rss_mb, r.rss_mb)
    node = r.nodes.get("prepare") or "?"
    summary.nodes[node] = summary.nodes.get(node, 0) + 1
    extra = f" ({r.error})" if r.status != "ok" else (" (reused)" if r.resumed else
                                                      f" (continued run {r.key.run_id})" if r.adopted else "")
    progress.video(f"{vid}: {r.status}{extra}")


def format_summary(s: RunSummary) -> str:
    n_new = len(s.done)
    lines = [f"run {s.run_id}  config {s.config_hash}  sampling {s.sampling_policy_version}",
             f"videos: {n_new} done, {len(s.cached)} cached, {len(s.resumed)} reused, {len(s.failed)} failed, "
             f"{len(s.rejected)} rejected  in {s.wall_s:.1f} s"]
    if s.wall_s > 0 and n_new:
        lines.append(f"throughput: {60 * n_new / s.wall_s:.1f} videos/min, {s.frames_embedded / s.wall_s:.1f} frames/s "
                     f"embedded, {s.audio_seconds / s.wall_s:.1f} audio s/s; peak worker RSS {s.peak_worker_rss_mb:.0f} MB")
    if len(s.nodes) > 1:
        lines.append("CPU stage per node: " + ", ".join(f"{n[:8]}={c}" for n, c in sorted(s.nodes.items())))
    lines.extend(f"  ray data: {ln.strip()}" for ln in s.dataset_stats.splitlines() if ln.startswith("Operator "))
    if s.stage_s:
        lines.append("stage time (summed over videos, s): " +
                     ", ".join(f"{k}={v:.1f}" for k, v in sorted(s.stage_s.items(), key=lambda kv: -kv[1])))
    for vid, run in sorted(s.adopted.items()):
        lines.append(f"  continued {vid}: unfinished run {run} (its valid components were reused)")
    for vid, reason in sorted(s.failed.items()):
        lines.append(f"  failed {vid}: {reason}")
    for name, reason in sorted(s.rejected.items()):
        lines.append(f"  rejected {name}: {reason}")
    for e in s.evicted:
        lines.append(f"  evicted {e} (index.capacity)")
    lines.append(f"artifacts: {s.store}/<platform>/<video>/{s.run_id}/   summary: {s.summary_path}")
    return "\n".join(lines)
