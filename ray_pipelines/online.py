"""Extract ONE video in-process, through the same stage objects as the batch pipeline (for the Serve app).

    from ray_pipelines.online import extract_one
    from ray_pipelines.pipeline import Configs
    cfg = Configs.load("cfg.yaml", "s3://bucket/cache_store")
    result = extract_one("s3://bucket/uploads/abc.mp4", cfg, video_id="abc",
                         clip_encoder=my_clip, clap_encoder=my_clap)   # encoders: optional
    result.status, result.run_id, result.config_hash, result.error

The CPU stage (`PrepareVideo.process`) → the embed stages' row loop (`ClipEmbed` / `ClapEmbed`
`.process_row`, errors kept on the row) → the same `finalize_video` as the assembler actors →
the index pointer. So online artifacts equal batch artifacts for the same video and config.
Encoders: anything with the methods `ClipEmbed.with_encoder` / `ClapEmbed.with_encoder` name (a Serve
app passes wrappers around its CLIP/CLAP deployment handles); by default the configured models are
loaded once per process. A hit in the index (same video and config) returns the cached run unless
`force`; with `index.capacity` set (a serving cache store), eviction runs after each new video.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import ArtifactStore, RunKey, now_iso
from trendflow.ids import new_run_id, validate_platform_id, validate_run_id, validate_video_id
from trendflow.index import ArtifactIndex, IndexKey
from trendflow.storage import resolve_uri


@dataclass
class OnlineResult:
    platform_id: str
    video_id: str
    run_id: str | None
    config_hash: str
    sampling_policy_version: str
    status: str  # ok | error | cached
    error: str | None = None
    components: dict[str, str] = field(default_factory=dict)
    aggregates: dict[str, float] = field(default_factory=dict)
    evicted: list[str] = field(default_factory=list)  # runs the cache evicted to make room

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "cached")


@lru_cache(maxsize=4)
def _default_clip(clip_json: str):
    from ray_pipelines.config import ClipConfig
    from ray_pipelines.encoders.clip import load_clip
    return load_clip(ClipConfig.model_validate_json(clip_json))


@lru_cache(maxsize=4)
def _default_clap(clap_json: str):
    from ray_pipelines.audio_config import ClapConfig
    from ray_pipelines.encoders.clap import load_clap
    return load_clap(ClapConfig.model_validate_json(clap_json))


def extract_one(video_url: str, cfg, *, video_id: str | None = None, platform_id: str = "youtube",
                run_id: str | None = None, store: ArtifactStore | None = None, clip_encoder=None,
                clap_encoder=None, force: bool = False) -> OnlineResult:
    """Extract one video (a local path or s3://... URL) into `store` (default: cfg.storage) with the
    batch pipeline's stage objects; record it in the index. `cfg` is a `ray_pipelines.pipeline.Configs`."""
    from ray_pipelines.pipeline import stage_context
    from ray_pipelines.stages.clap_extractor import ClapEmbed, check_config
    from ray_pipelines.stages.core_clip import ClipEmbed
    from ray_pipelines.stages.finalize import finalize_context, finalize_video
    from ray_pipelines.stages.prepare import PrepareVideo, prepare_context

    cfg = cfg.resolved()
    video_url = resolve_uri(video_url)
    video_id = validate_video_id(video_id or os.path.splitext(os.path.basename(video_url))[0])
    platform_id = validate_platform_id(platform_id)
    store = store or ArtifactStore.from_config(cfg.storage)
    index = ArtifactIndex(store, cfg.index.capacity)
    chash, spv = cfg.config_hash, cfg.sampling_policy_version
    if not force:
        hit = index.lookup(IndexKey(platform_id, video_id, chash, spv, DATAPROCESSOR_VERSION))
        if hit is not None:
            return OnlineResult(platform_id, video_id, hit, chash, spv, "cached")

    key = RunKey(platform_id, video_id, validate_run_id(run_id) if run_id else new_run_id("online"), chash, spv)
    contexts = stage_context(cfg, store)
    clip = ClipEmbed.with_encoder(cfg.extract, clip_encoder or _default_clip(cfg.extract.clip.model_dump_json()))
    clap = None
    if cfg.audio.enabled:
        check_config(cfg.audio)
        clap = ClapEmbed.with_encoder(cfg.audio, clap_encoder or _default_clap(cfg.audio.clap.model_dump_json()))
    item = {**asdict(key), "url": video_url, "force": force, "pinned": run_id is not None, "started_at": now_iso()}
    rows = []
    for row in PrepareVideo(prepare_context(**contexts["prepare"])).process(item):  # streams: frames dropped per row
        if row["kind"] == "visual":
            row = clip.process_row(row)
        elif row["kind"] == "audio" and clap is not None:
            row = clap.process_row(row)
        rows.append(row)
    result = finalize_video(rows, finalize_context(**contexts["finalize"]))
    evicted = [f"{e.key.platform_id}/{e.key.video_id} run {e.run_id}" for e in index.evict()]
    return OnlineResult(platform_id, video_id, result.key.run_id, chash, spv, result.status, result.error,
                        result.components, result.aggregates, evicted)
