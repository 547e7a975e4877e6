"""The `serve:` config section: where the service listens, its limits and its cache (issue #12).

    # serve.yaml        used by: trendflow serve --models MODELS --store STORE --config serve.yaml
    serve:
      port: 8000
      cache_capacity: 10000          # unique videos kept in the serving cache store (LRU eviction)
      allowed_roots: [/data/uploads, s3://bucket/uploads]   # where a request's `video` may point
      max_video_seconds: 1200
      max_queued_requests: 64        # beyond that: 503 + Retry-After

The same file carries the batch sections (`extract`, `sampling`, `audio`): a video the store lacks is
extracted with exactly those, so online features equal batch features. A typo under `serve:` is an
error (the section is registered in pyproject.toml like every other).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from serve_apps.summary.config import SummaryConfig
from trendflow.config import Section

DEFAULT_CACHE_CAPACITY = 10_000


class ServeConfig(Section):
    host: str = Field("127.0.0.1", description="Address the HTTP proxy binds (0.0.0.0 inside a container).")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port of the service.")
    cache_capacity: int = Field(
        DEFAULT_CACHE_CAPACITY, ge=1,
        description="Unique videos the serving cache store keeps; older ones are evicted (least recently used). "
                    "Only the cache is ever evicted: the batch STORE is read-only to the service.")
    max_video_seconds: float = Field(1200.0, gt=0, description="Longer videos are refused with 413 before any "
                                                               "decoding (the training data holds 4..1200 s).")
    max_upload_bytes: int = Field(2 * 1024 ** 3, ge=1, description="Larger video files are refused with 413.")
    allowed_roots: list[str] = Field(
        default_factory=list,
        description="Folders (local paths or s3://bucket/prefix) a request's `video` may point into; anything "
                    "else is refused with 400. Empty: requests may not name a video file at all (only videos "
                    "already in the store or the cache can be predicted).")
    max_ongoing_requests: int = Field(32, ge=1, description="Requests one ingress replica works on at once.")
    max_queued_requests: int = Field(64, ge=1, description="Requests waiting for a replica; beyond that the "
                                                           "service answers 503 with Retry-After.")
    retry_after_s: int = Field(1, ge=1, description="Retry-After (seconds) on a 503 for overload.")
    replicas: int = Field(1, ge=1, description="Ingress replicas (each loads every model).")
    embed_max_batch_size: int = Field(16, ge=1, description="@serve.batch size of the CLIP/CLAP endpoints.")
    embed_batch_wait_s: float = Field(0.01, ge=0, description="How long a batch waits to fill up.")
    embed_max_items: int = Field(64, ge=1, description="Images (or audio clips) one /v1/embed request may hold.")
    default_locale: Literal["ru", "en"] = Field("ru", description="Locale of the summary when a request names none.")
    summary: SummaryConfig = Field(default_factory=SummaryConfig,
                                   description="The answer's summary: levers, thresholds, optional LLM renderer.")
