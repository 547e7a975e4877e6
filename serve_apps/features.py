"""A video's content for the service: the batch STORE first (read-only), then the serving CACHE, else
extract it now into the CACHE with the batch pipeline's own stage code and config (issue #12).

    service = FeatureService(store="demo_out/store", cache="serve_cache", cfg=Configs.load("cfg.yaml", None),
                             capacity=10_000)
    content = await service.content("youtube", "abc123", video="/data/uploads/abc123.mp4")
    content.source, content.run_id, content.aggregates, content.shots     # "store" | "cache" | "extracted"

- STORE is the batch corpus: only read (index pointers are looked up without verification writes, and
  nothing there is ever touched or deleted).
- CACHE is an artifact store of its own whose index has a capacity (default 10,000 videos): eviction
  is on there only (`ray_pipelines.online.extract_one` runs it after each new video).
- Concurrent requests for the same uncached video share one extraction (an in-flight future per key).
- Content already read is kept in memory per run (bounded), so a hot video costs no storage read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from train.build_dataset import AUDIO_COMPONENT, VISUAL_COMPONENT, aggregates_from_artifact, latest_ok_run, read_shots
from train.config import MAX_SHOTS_LIMIT
from trendflow import DATAPROCESSOR_VERSION
from trendflow.artifacts import ArtifactStore, RunKey
from trendflow.index import ArtifactIndex, IndexKey

from serve_apps.predictor import Shots

MEMORY_ENTRIES = 2048  # videos whose content stays in memory (a few KB each)


class VideoNeeded(LookupError):
    """Neither the store nor the cache has the video, and the request named no `video` file (HTTP 404)."""


class ExtractionFailed(ValueError):
    """The video file could not be turned into artifacts (HTTP 422 with the reason)."""


@dataclass
class VideoContent:
    source: str  # "store" | "cache" | "extracted"
    run_id: str
    config_hash: str
    sampling_policy_version: str
    aggregates: dict[str, float] | None
    shots: Shots
    problems: list[str]
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def cached(self) -> bool:
        return self.source != "extracted"


class FeatureService:
    def __init__(self, store: str | None, cache: str, cfg, capacity: int, storage_options: dict | None = None):
        from trendflow.config import IndexConfig
        # The batch config, with the cache's capacity: eviction runs in the cache store only.
        self.cfg = dataclasses.replace(cfg, index=IndexConfig(capacity=capacity)).resolved()
        self.config_hash, self.spv = self.cfg.config_hash, self.cfg.sampling_policy_version
        self.store = ArtifactStore(store, storage_options) if store else None
        self.store_index = ArtifactIndex(self.store) if self.store else None  # capacity None: never writes
        self.cache = ArtifactStore(cache, storage_options)
        self.cache_index = ArtifactIndex(self.cache, capacity)
        self._memory: OrderedDict[tuple[str, str], VideoContent] = OrderedDict()
        self._memory_lock = threading.Lock()  # `find` runs in worker threads (asyncio.to_thread)
        self._in_flight: dict[tuple[str, str], asyncio.Future] = {}
        self.extractions = 0  # videos this process extracted (the tests count it)

    def _index_key(self, platform_id: str, video_id: str) -> IndexKey:
        return IndexKey(platform_id, video_id, self.config_hash, self.spv, DATAPROCESSOR_VERSION)

    # ------------------------------------------------------------ lookups
    def find(self, platform_id: str, video_id: str) -> VideoContent | None:
        """The video's content from memory, the STORE or the CACHE (in that order), or None."""
        key = (platform_id, video_id)
        with self._memory_lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        run_key, source = None, None
        if self.store is not None:
            run_id = self.store_index.lookup(self._index_key(platform_id, video_id), verify=False)
            if run_id is None:  # a store written before the index existed: its manifests say it
                run_key, _ = latest_ok_run(self.store, platform_id, video_id, self.config_hash, self.spv)
            else:
                run_key = RunKey(platform_id, video_id, run_id, self.config_hash, self.spv)
            source = "store" if run_key else None
        if run_key is None:
            run_id = self.cache_index.lookup(self._index_key(platform_id, video_id))  # a hit refreshes its LRU
            if run_id is None:
                return None
            run_key, source = RunKey(platform_id, video_id, run_id, self.config_hash, self.spv), "cache"
        content = self._read(self.store if source == "store" else self.cache, run_key, source)
        self._remember(key, content)
        return content

    def _read(self, store: ArtifactStore, key: RunKey, source: str) -> VideoContent:
        visual = read_shots(store, key, VISUAL_COMPONENT, "E_shot", MAX_SHOTS_LIMIT)
        audio = read_shots(store, key, AUDIO_COMPONENT, "A_shot", MAX_SHOTS_LIMIT)
        aggregates = aggregates_from_artifact(store, key)
        problems = [s.reason for s in (visual, audio) if s.reason]
        if aggregates is None:
            problems.append("no content aggregates for the run")
        return VideoContent(source, key.run_id, key.config_hash, key.sampling_policy_version, aggregates,
                            Shots(visual.emb, visual.present, audio.emb, audio.present), problems)

    def _remember(self, key: tuple[str, str], content: VideoContent) -> None:
        with self._memory_lock:
            self._memory[key] = content
            self._memory.move_to_end(key)
            while len(self._memory) > MEMORY_ENTRIES:
                self._memory.popitem(last=False)

    # ------------------------------------------------------------ the request path
    async def content(self, platform_id: str, video_id: str, video: str | None) -> VideoContent:
        """Content of a video, extracting it (once, however many requests ask at the same time) when needed."""
        found = await asyncio.to_thread(self.find, platform_id, video_id)
        if found is not None:
            return found
        if video is None:
            raise VideoNeeded(f"video {platform_id}/{video_id} is in neither the store nor the serving cache; "
                              f"send `video` (a path or URL of the file) so it can be extracted")
        key = (platform_id, video_id)
        if key not in self._in_flight:
            self._in_flight[key] = asyncio.ensure_future(self._extract(platform_id, video_id, video))
        future = self._in_flight[key]
        try:
            return await asyncio.shield(future)
        finally:
            if future.done():
                self._in_flight.pop(key, None)

    async def _extract(self, platform_id: str, video_id: str, video: str) -> VideoContent:
        import time
        from ray_pipelines.online import extract_one
        t0 = time.perf_counter()
        result = await asyncio.to_thread(extract_one, video, self.cfg, video_id=video_id, platform_id=platform_id,
                                         store=self.cache)
        extract_s = time.perf_counter() - t0
        if not result.ok:
            raise ExtractionFailed(f"the video could not be processed: {result.error}")
        self.extractions += result.status == "ok"
        run_key = RunKey(platform_id, video_id, result.run_id, result.config_hash, result.sampling_policy_version)
        content = await asyncio.to_thread(self._read, self.cache, run_key,
                                          "extracted" if result.status == "ok" else "cache")
        content.timings = {"extract_s": round(extract_s, 3), **_stage_timings(self.cache, run_key)}
        # Later requests find it in the cache: they are told so, without this extraction's timings.
        self._remember((platform_id, video_id), dataclasses.replace(content, source="cache", timings={}))
        return content

    def describe(self) -> dict[str, Any]:
        return {"store": self.store.storage.root_url if self.store else None, "cache": self.cache.storage.root_url,
                "cache_capacity": self.cache_index.capacity, "config_hash": self.config_hash,
                "sampling_policy_version": self.spv, "extractions": self.extractions}


def _stage_timings(store: ArtifactStore, key: RunKey) -> dict[str, float]:
    """Per-stage seconds the run's manifest recorded (empty when it recorded none)."""
    try:
        timings = store.manifest(key).get("timings") or {}
    except Exception:  # noqa: BLE001 — timings are informative only
        return {}
    return {k: round(float(v), 3) for k, v in timings.items() if isinstance(v, (int, float))}
