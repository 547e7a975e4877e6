"""The feature service in-process: the store is found first and never written; videos it lacks are extracted
into the cache, whose capacity evicts the least recently used video (the cache only)."""

from __future__ import annotations

import asyncio

import pyarrow.parquet as pq

from ray_pipelines.pipeline import Configs
from serve_apps.features import FeatureService
from trendflow.index import ArtifactIndex


def _files(root):
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_store_first_then_cache_with_eviction_in_the_cache_only(corpus, tmp_path):
    ids = pq.read_table(corpus.temporal, columns=["video_id"])["video_id"].to_pylist()
    not_stored = [v for v in sorted(ids) if not (corpus.store / "youtube" / v).exists() and v != corpus.cold][:2]
    store_before = _files(corpus.store)
    service = FeatureService(str(corpus.store), str(tmp_path / "cache"), Configs.load(str(corpus.config), None),
                             capacity=1)
    stored = service.find("youtube", corpus.in_store[0])
    assert stored.source == "store" and stored.shots.e_shot is not None and stored.aggregates

    first, second = (asyncio.run(service.content("youtube", v, str(corpus.video(v)))) for v in not_stored)
    assert first.source == second.source == "extracted" and service.extractions == 2
    cache_index = ArtifactIndex(service.cache, 1)
    assert cache_index.videos() == [("youtube", not_stored[1])]  # capacity 1: the older video was evicted
    assert not (tmp_path / "cache" / "youtube" / not_stored[0]).exists() or \
        not any((tmp_path / "cache" / "youtube" / not_stored[0]).iterdir())
    assert _files(corpus.store) == store_before  # the batch store: never written, never evicted
    assert service.describe()["cache_capacity"] == 1
