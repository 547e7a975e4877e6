"""The author page's HTTP routes (issue #13): the page itself, its static files, and the small JSON
endpoints it calls next to `/v1/predict`. A FastAPI `APIRouter` the ingress includes:

    fastapi_app.include_router(page_router)         # serve_apps/app.py

Routes: `GET /` (the page), `GET /page/{file}` (page.css, page.js), `GET /v1/page/config` (limits, locale),
`GET /v1/videos?q=` (search the store's, the cache's and the dataset's videos by id or title, with the
dataset's metadata and snapshot-1 counters to prefill the form), `GET /v1/shots/{platform}/{video}`
(the shot timeline), `GET /v1/thumbnails/{platform}/{video}/{shot}.jpg` (from `shot_thumbnails`),
`POST /v1/upload` (multipart `file` → the serving cache under a generated id; 413 over the size or
duration limit). The handlers only translate: the work is in serve_apps/page_data.py.

The ingress instance is `request.app.state.ingress`, with `store` (batch STORE, read-only), `cache`
(the serving cache), `cfg` (the `serve:` section, or an object holding it as `.serve`) and `dataset_root`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from serve_apps.page_data import (NotFound, ShotReader, UnsafeIdError, UploadRejected, VideoCatalog, as_store,
                                  check_ids, store_upload)

PAGE_DIR = Path(__file__).parent / "page"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}
STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(css|js|svg)$")  # no separators, no dots but the extension
DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024 ** 3
DEFAULT_MAX_VIDEO_SECONDS = 1200.0
FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries and headers around the file

page_router = APIRouter(tags=["page"])


# ---------------------------------------------------------------------- what the ingress holds

def _ingress(request: Request):
    ingress = getattr(request.app.state, "ingress", None)
    if ingress is None:
        raise HTTPException(503, "the service is still starting (no ingress yet)")
    return ingress


def _serve_setting(ingress, name: str, default):
    """A `serve:` setting from the ingress's cfg (a ServeConfig, or an object with `.serve`)."""
    cfg = getattr(ingress, "cfg", None)
    for holder in (cfg, getattr(cfg, "serve", None)):
        if holder is not None and getattr(holder, name, None) is not None:
            return getattr(holder, name)
    return default


class PageState:
    """Per-ingress objects of the page (built on first use, kept on the FastAPI app's state)."""

    def __init__(self, ingress):
        self.ingress = ingress
        options = getattr(ingress, "storage_options", None)
        self.store = as_store(getattr(ingress, "store", None), options)
        self.cache = as_store(getattr(ingress, "cache", None), options)
        stores = [(name, s) for name, s in (("store", self.store), ("cache", self.cache)) if s is not None]
        dataset = getattr(ingress, "dataset_root", None)
        self.catalog = VideoCatalog(str(dataset) if dataset else None, stores, options)
        self.shots = ShotReader(stores)
        self.max_upload_bytes = int(_serve_setting(ingress, "max_upload_bytes", DEFAULT_MAX_UPLOAD_BYTES))
        self.max_video_seconds = float(_serve_setting(ingress, "max_video_seconds", DEFAULT_MAX_VIDEO_SECONDS))
        self.default_locale = _serve_setting(ingress, "default_locale", "ru")


def _state(request: Request) -> PageState:
    ingress = _ingress(request)
    state = getattr(request.app.state, "page", None)
    if state is None or state.ingress is not ingress:
        state = request.app.state.page = PageState(ingress)
    return state


def _ids(platform_id: str, video_id: str) -> tuple[str, str]:
    try:
        return check_ids(platform_id, video_id)
    except UnsafeIdError as e:
        raise HTTPException(400, str(e)) from None


# ---------------------------------------------------------------------- the page

@page_router.get("/", include_in_schema=False)
def page_index() -> FileResponse:
    return FileResponse(PAGE_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@page_router.get("/page/{name}", include_in_schema=False)
def page_static(name: str) -> FileResponse:
    path = PAGE_DIR / name
    if not STATIC_NAME.match(name) or not path.is_file():
        raise HTTPException(404, f"no page file {name!r}")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@page_router.get("/v1/page/config", summary="What the page needs to know: limits and the default locale")
def page_config(request: Request) -> dict[str, Any]:
    state = _state(request)
    return {"max_upload_bytes": state.max_upload_bytes, "max_video_seconds": state.max_video_seconds,
            "default_locale": state.default_locale, "has_dataset": state.catalog.dataset_root is not None}


# ---------------------------------------------------------------------- videos, shots, thumbnails

@page_router.get("/v1/videos", summary="Search videos by id or title (store, serving cache, dataset)")
def search_videos(request: Request, q: str = Query("", max_length=200, description="Part of an id or a title."),
                  limit: int = Query(20, ge=1, le=100)) -> dict[str, Any]:
    videos = _state(request).catalog.search(q, limit)
    return {"query": q, "count": len(videos), "videos": videos}


@page_router.get("/v1/shots/{platform_id}/{video_id}", summary="The shot timeline of a video's artifacts")
def shot_timeline(request: Request, platform_id: str, video_id: str,
                  run_id: str | None = Query(None, max_length=128, description="Default: the newest ok run.")):
    platform_id, video_id = _ids(platform_id, video_id)
    try:
        return _state(request).shots.timeline(platform_id, video_id, run_id)
    except NotFound as e:
        raise HTTPException(404, str(e)) from None
    except UnsafeIdError as e:
        raise HTTPException(400, str(e)) from None


@page_router.get("/v1/thumbnails/{platform_id}/{video_id}/{shot}.jpg", summary="One shot's thumbnail (JPEG)",
                 response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
def shot_thumbnail(request: Request, platform_id: str, video_id: str, shot: int,
                   run_id: str | None = Query(None, max_length=128)) -> Response:
    platform_id, video_id = _ids(platform_id, video_id)
    try:
        jpeg = _state(request).shots.thumbnail(platform_id, video_id, shot, run_id)
    except NotFound as e:
        raise HTTPException(404, str(e)) from None
    except UnsafeIdError as e:
        raise HTTPException(400, str(e)) from None
    # A run's artifacts never change: a named run may be cached by the browser for long.
    cache = "public, max-age=86400, immutable" if run_id else "no-cache"
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": cache})


# ---------------------------------------------------------------------- uploads

UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "the video (mp4/webm/mkv/mov)"}},
}}}}}


@page_router.post("/v1/upload", summary="Upload a video file into the serving cache (multipart field `file`)",
                  openapi_extra=UPLOAD_BODY, status_code=201)
async def upload_video(request: Request) -> dict[str, Any]:
    """Answers the generated `video_id` and the `video` location to send to /v1/predict. Over the size or
    duration limit: 413 with the limit; a file that is not a decodable video: 422."""
    state = _state(request)
    if state.cache is None:
        raise HTTPException(503, "this service has no serving cache to upload into")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > state.max_upload_bytes + FORM_OVERHEAD_BYTES:
        raise HTTPException(413, f"file: the video is larger than the limit of {state.max_upload_bytes / 2**20:.1f} MB")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(422, "file: send the video as multipart/form-data with a field named `file`")
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            raise HTTPException(422, "file: the form has no file field named `file`")
        saved = await run_in_threadpool(store_upload, upload.file, upload.filename, state.cache,
                                        max_bytes=state.max_upload_bytes, max_seconds=state.max_video_seconds)
    except UploadRejected as e:
        raise HTTPException(e.status, str(e)) from None
    finally:
        await form.close()
    return {"platform_id": saved.platform_id, "video_id": saved.video_id, "video": saved.video,
            "size_bytes": saved.size_bytes, "duration_sec": saved.duration_sec}
