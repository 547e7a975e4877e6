"""The TrendFlow Serve application: HTTP ingress (FastAPI), model chain, features, CLIP/CLAP embedders.

    trendflow serve --models demo_out/models --store demo_out/store --config configs/demo.yaml
    serve run serve_apps.app:build_app models=demo_out/models store=demo_out/store config=configs/demo.yaml
    serve deploy cluster/serve.yaml          # `app` below, configured by TRENDFLOW_SERVE_* variables

Endpoints (OpenAPI page at /docs): POST /v1/predict, POST /v1/embed/clip, POST /v1/embed/clap,
GET /v1/models, GET /healthz. The handlers only translate HTTP ↔ library calls: `ModelChain`
(serve_apps/predictor.py), `FeatureService` (serve_apps/features.py), the embedders
(serve_apps/embedders.py). User mistakes are 4xx naming the field, never a 500: 422 malformed body or
undecodable video, 400 unsafe id or a path outside `serve.allowed_roots`, 413 a video over the limits,
404 an unknown model (or a video nobody has and no `video` to extract it from), 503 + Retry-After on
overload (Serve's `max_queued_requests`) or when no model can answer.
"""


import asyncio
import base64
import io
import os
import time
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException
from ray import serve
from ray.serve.handle import DeploymentHandle

from serve_apps.api import ClapAudio, ClipImages, EmbedResponse, PredictRequest, PredictResponse
from serve_apps.page_api import page_router
from serve_apps.page_data import UPLOADS_DIR


fastapi_app = FastAPI(
    title="TrendFlow", version="1",
    description="Forecasts of a published video's growth (views/likes at 7/14/21 days) with intervals, "
                "from its first counter snapshot, metadata and content; CLIP/CLAP embeddings.")

fastapi_app.include_router(page_router)  # the author page (issue #13): GET /, /v1/videos, /v1/upload, ...

INGRESS_CPUS = 0.25  # the ingress mostly waits on storage and small models; leaves CPUs to the encoders


def _fail(status: int, message: str, headers: dict | None = None) -> HTTPException:
    return HTTPException(status_code=status, detail=message, headers=headers)


# Helpers sit above the class: `@serve.ingress` captures the module's names as they are when the class
# is defined (names defined below it were missing in the replicas: NameError).
def _model_fields(info: dict) -> dict[str, Any]:
    return {"model": info["model"], "model_version": info["model_version"], "dim": info["dim"]}


def _decode_images(req: ClipImages, max_items: int) -> np.ndarray | list[np.ndarray]:
    """Request images → list of (H, W, 3) uint8 RGB arrays; 422 naming the bad item."""
    items = req.images_base64 or req.images_rgb
    field = "images_base64" if req.images_base64 else "images_rgb"
    if len(items) > max_items:
        raise _fail(413, f"{field}: {len(items)} images, at most {max_items} per request (serve.embed_max_items)")
    out = []
    for i, item in enumerate(items):
        try:
            img = _decode_base64(item) if req.images_base64 else _rgb_array(item)
        except ValueError as e:
            raise _fail(422, f"{field}[{i}]: {e}") from None
        out.append(img)
    return out


def _decode_base64(text: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError
    try:
        data = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ValueError("not valid base64") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("PNG", "JPEG"):
                raise ValueError(f"a {im.format} image; send PNG or JPEG")
            return np.asarray(im.convert("RGB"), np.uint8)
    except (UnidentifiedImageError, OSError):
        raise ValueError("not a PNG or JPEG image") from None


def _rgb_array(rows) -> np.ndarray:
    try:
        a = np.asarray(rows, dtype=np.int64)
    except ValueError:
        raise ValueError("rows of different lengths; send a (height, width, 3) array") from None
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"shape {a.shape}; send a (height, width, 3) array")
    if a.min() < 0 or a.max() > 255:
        raise ValueError("values outside 0..255")
    return a.astype(np.uint8)


@serve.deployment(ray_actor_options={"num_cpus": INGRESS_CPUS})
@serve.ingress(fastapi_app)
class Ingress:
    def __init__(self, clip: DeploymentHandle, clap: DeploymentHandle, models: str, store: str | None,
                 cache: str, config: str | None = None, dataset: str | None = None):
        import torch

        from ray_pipelines.pipeline import Configs
        from serve_apps.config import ServeConfig
        from serve_apps.features import FeatureService
        from serve_apps.respond import Summaries
        from serve_apps.predictor import ModelChain
        from trendflow.config import load_section
        torch.set_num_threads(1)  # tiny models, shared cores: threads only add contention
        self.cfg = load_section(config, "serve", ServeConfig)
        batch = Configs.load(config, None)
        self.storage_options = batch.storage.storage_options
        self.chain = ModelChain(models, self.storage_options)
        self.features = FeatureService(store, cache, batch, self.cfg.cache_capacity, self.storage_options)
        self.summaries = Summaries(self.chain, self.cfg.summary, self.storage_options)
        # What the author page's router (issue #13) reads through `request.app.state.ingress`.
        self.store, self.cache, self.dataset_root = self.features.store, self.features.cache, dataset
        self.clip, self.clap = clip, clap
        self._embed_info: dict[str, dict] = {}
        fastapi_app.state.ingress = self
        # The page's uploads land in the cache (serve_apps/page_data.py): predictable like any allowed root.
        self.allowed_roots = [*self.cfg.allowed_roots, self.cache.storage.url(UPLOADS_DIR)]

    # ------------------------------------------------------------------ predict
    @fastapi_app.post("/v1/predict", response_model=PredictResponse)
    async def predict(self, req: PredictRequest) -> dict[str, Any]:
        """Forecast every head of the video with the best model that works (v2 → v1 → v0)."""
        from serve_apps.predictor import NoModelAnswered, UnknownModel
        from trendflow.ids import UnsafeIdError, validate_platform_id, validate_video_id
        from trendflow.temporal.features import age_bucket, snapshot1_features
        try:
            platform_id, video_id = validate_platform_id(req.platform_id), validate_video_id(req.video_id)
        except UnsafeIdError as e:
            raise _fail(400, f"video_id/platform_id: {e}") from None
        if req.metadata.video_id != video_id or req.snapshot.video_id != video_id:
            raise _fail(422, "metadata.video_id and snapshot.video_id must equal video_id (or be left out)")
        t0 = req.snapshot.collected_at
        if t0 < req.metadata.publishedAt:
            raise _fail(422, "snapshot.collected_at is before metadata.publishedAt")
        try:
            self.chain.order(req.model)  # an unknown model is refused before any extraction
        except UnknownModel as e:
            raise _fail(404, f"model: {e}") from None
        content = await self._content(platform_id, video_id, req.video)
        comments = req.snapshot.comments
        temporal = snapshot1_features(req.metadata, req.snapshot, t0, None if comments is None else len(comments))
        bucket = age_bucket(temporal["video_age_hours_at_snapshot1"])
        try:
            answer = self.chain.predict(temporal, content.aggregates, content.shots, bucket, req.model)
        except NoModelAnswered as e:
            raise _fail(503, str(e), {"Retry-After": str(self.cfg.retry_after_s)}) from None
        card = answer.predictor.card
        locale = req.locale or self.cfg.default_locale
        summary = await asyncio.to_thread(
            self.summaries.summary_for, answer=answer, content=content,
            store=self.store if content.source == "store" else self.cache, platform_id=platform_id,
            video_id=video_id, category=temporal.get("category"), age_bucket=bucket, locale=locale, detail=req.detail)
        return {
            "model": answer.model, "fallback": answer.fallback or None, "forecast": answer.forecast,
            "interval_level": answer.predictor.intervals.level if answer.predictor.intervals else None,
            "age_bucket": bucket,
            "features": {"cached": content.cached, "source": content.source, "run_id": content.run_id,
                         "config_hash": content.config_hash,
                         "sampling_policy_version": content.sampling_policy_version,
                         "problems": content.problems, "timings": content.timings},
            "model_versions": {k: card.get(k) for k in ("model_name", "model_version", "training_data_version",
                                                        "code_commit", "dataprocessor_version")},
            "summary": summary,
        }

    async def _content(self, platform_id: str, video_id: str, video: str | None):
        from serve_apps.features import ExtractionFailed, VideoNeeded
        from serve_apps.video_input import VideoRejected, check_video, inside_allowed_roots
        found = await asyncio.to_thread(self.features.find, platform_id, video_id)
        if found is not None:
            return found
        try:
            if video is not None:
                uri = inside_allowed_roots(video, self.allowed_roots)
                await asyncio.to_thread(check_video, uri, self.cfg.max_upload_bytes, self.cfg.max_video_seconds,
                                        self.storage_options)
                video = uri
            return await self.features.content(platform_id, video_id, video)
        except VideoRejected as e:
            raise _fail(e.status, str(e)) from None
        except VideoNeeded as e:
            raise _fail(404, f"video: {e}") from None
        except ExtractionFailed as e:
            raise _fail(422, f"video: {e}") from None

    # ------------------------------------------------------------------ embeddings
    @fastapi_app.post("/v1/embed/clip", response_model=EmbedResponse)
    async def embed_clip(self, req: ClipImages) -> dict[str, Any]:
        """CLIP image embeddings (the batch pipeline's encoder), batched across concurrent requests."""
        images = _decode_images(req, self.cfg.embed_max_items)
        emb = await self.clip.embed.remote(images)
        info = await self._info("clip", self.clip)
        return {**_model_fields(info), "embeddings": np.asarray(emb).tolist()}

    @fastapi_app.post("/v1/embed/clap", response_model=EmbedResponse)
    async def embed_clap(self, req: ClapAudio) -> dict[str, Any]:
        """CLAP embeddings of the batch pipeline's windows (audio.window_s / hop_s) of a mono clip."""
        samples = np.asarray(req.samples, np.float32)
        if not np.isfinite(samples).all():
            raise _fail(422, "samples: must be finite numbers")
        if len(samples) > self.cfg.max_video_seconds * req.sample_rate:
            raise _fail(413, f"samples: over serve.max_video_seconds={self.cfg.max_video_seconds:.0f} s of audio")
        out = await self.clap.embed.remote((samples, req.sample_rate))
        info = await self._info("clap", self.clap)
        return {**_model_fields(info), "embeddings": np.asarray(out["embeddings"]).tolist(),
                "window_start_sec": np.asarray(out["window_start_sec"]).tolist()}

    async def _info(self, name: str, handle: DeploymentHandle) -> dict:
        if name not in self._embed_info:
            self._embed_info[name] = await handle.info.remote()
        return self._embed_info[name]

    # ------------------------------------------------------------------ models, health
    @fastapi_app.get("/v1/models")
    async def models(self) -> dict[str, Any]:
        """Each model of the fallback chain: loaded or why not, version, training data, metrics, intervals."""
        return {"models": self.chain.describe(), "features": self.features.describe()}

    @fastapi_app.get("/healthz")
    async def healthz(self) -> dict[str, Any]:
        """A real tiny prediction through the chain (ray-2.60.md pitfall #9), not just "the process is up"."""
        from serve_apps.predictor import NoModelAnswered
        try:
            return self.tiny_prediction()
        except NoModelAnswered as e:
            raise _fail(503, str(e), {"Retry-After": str(self.cfg.retry_after_s)}) from None

    def tiny_prediction(self) -> dict[str, Any]:
        from serve_apps.predictor import Shots
        t = time.perf_counter()
        answer = self.chain.predict({"video_age_hours_at_snapshot1": 48.0}, None, Shots(), "d1_30")
        if not np.isfinite(list(answer.predictions.values())).all():
            raise RuntimeError(f"{answer.model} predicts non-finite values")
        return {"status": "ok", "model": answer.model, "fallback": answer.fallback or None,
                "ms": round((time.perf_counter() - t) * 1000, 2)}

    def check_health(self) -> None:
        self.tiny_prediction()  # raises when no model can predict: Serve restarts the replica


# ---------------------------------------------------------------------- building the application

def build_app(args: dict[str, Any], resolve: bool = True) -> serve.Application:
    """The application for `serve run serve_apps.app:build_app models=... store=... [cache=...] [config=...]`
    and `trendflow serve`. args: models (MODELS_DIR), store (batch STORE, optional), cache (serving cache
    store; default <models>/../serve_cache), config (YAML with `serve` and the batch sections), dataset.
    Relative paths are made absolute here (`resolve`), since replicas may run in another folder."""
    from ray_pipelines.pipeline import Configs
    from serve_apps.config import ServeConfig
    from serve_apps.embedders import ClapEmbedder, ClipEmbedder, gpu_options
    from trendflow.config import load_section
    from trendflow.storage import resolve_uri

    def where(name: str) -> str | None:
        value = args.get(name)
        return (resolve_uri(value) if resolve else value) if value else None
    models, config = where("models"), where("config")
    cfg = load_section(config, "serve", ServeConfig)
    batch = Configs.load(config, None)
    cache = where("cache") or os.path.join(os.path.dirname(models.rstrip("/")), "serve_cache")
    embed_args = (cfg.embed_max_batch_size, cfg.embed_batch_wait_s)
    clip = ClipEmbedder.options(ray_actor_options=gpu_options()).bind(batch.extract.model_dump_json(), *embed_args)
    clap = ClapEmbedder.options(ray_actor_options=gpu_options()).bind(batch.audio.model_dump_json(), *embed_args)
    ingress = Ingress.options(
        num_replicas=cfg.replicas, max_ongoing_requests=cfg.max_ongoing_requests,
        max_queued_requests=cfg.max_queued_requests,
        backpressure_config={"status_code": 503, "retry_after_s": cfg.retry_after_s})
    return ingress.bind(clip, clap, models, where("store"), cache, config, where("dataset"))


# `serve build serve_apps.app:app` / `serve deploy cluster/serve.yaml`: paths come from the environment
# (the KubeRay manifest sets them), so the generated YAML holds no machine-specific path.
app = build_app({"models": os.environ.get("TRENDFLOW_SERVE_MODELS", "models"),
                 "store": os.environ.get("TRENDFLOW_SERVE_STORE", "result_store"),
                 "cache": os.environ.get("TRENDFLOW_SERVE_CACHE", "serve_cache"),
                 "config": os.environ.get("TRENDFLOW_SERVE_CONFIG") or None}, resolve=False)
