"""The author page in a real browser (system Chromium through Playwright) against the REAL running Serve app:
pick a test video by keyboard, submit, and the numbers shown equal the API's answer to the same request;
switch the locale; upload a small mp4 (written with PyAV) and get its forecast; over the duration limit and
a bad counter show the API's own message; a 375 px wide screen has no horizontal scroll. A screenshot of
each state is saved under the test's output folder (printed)."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests
import yaml

from tests.serve_apps.conftest import BATCH_SECTIONS, free_port, wait_healthy

CHROMIUM = "/usr/bin/chromium"
# environment.md: without the background-networking flags Chromium keeps dialling out on a closed network.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAX_VIDEO_SECONDS = 10
MAX_UPLOAD_BYTES = 2_000_000
FORECAST_TIMEOUT_MS = 240_000  # an upload is extracted on the first request (tiny models, shared 2 cores)


@pytest.fixture(scope="module")
def page_service(corpus, tmp_path_factory):
    """The Serve app (as `trendflow serve` builds it) with the dataset, on a free loopback port."""
    from ray import serve

    from serve_apps.app import build_app
    root = tmp_path_factory.mktemp("page_service")
    config = root / "serve.yaml"
    config.write_text(yaml.safe_dump({**BATCH_SECTIONS, "serve": {
        "allowed_roots": [str(corpus.dataset / "videos")], "max_video_seconds": MAX_VIDEO_SECONDS,
        "max_upload_bytes": MAX_UPLOAD_BYTES, "cache_capacity": 50}}))
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app({"models": str(corpus.models), "store": str(corpus.store), "cache": str(root / "cache"),
                         "config": str(config), "dataset": str(corpus.dataset)}),
              name="trendflow_page", route_prefix="/", blocking=False)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    yield {"url": url, "corpus": corpus, "root": root}
    serve.delete("trendflow_page")
    serve.shutdown()


@pytest.fixture(scope="module")
def browser_context():
    from playwright.sync_api import sync_playwright
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    profile = tempfile.mkdtemp(prefix="trendflow-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=CHROMIUM_FLAGS,
                                                   headless=True, viewport={"width": 1360, "height": 1000},
                                                   device_scale_factor=1)
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory):
    """Under the test's output folder (PAGE_SCREENSHOTS=DIR keeps them somewhere else)."""
    d = Path(os.environ["PAGE_SCREENSHOTS"]) if os.environ.get("PAGE_SCREENSHOTS") else \
        tmp_path_factory.mktemp("page_screenshots")
    d.mkdir(parents=True, exist_ok=True)
    print(f"\npage screenshots: {d}")
    return d


@pytest.fixture()
def page(browser_context, page_service):
    p = browser_context.new_page()
    p.set_default_timeout(60_000)
    p.goto(f"{page_service['url']}/?locale=en")
    p.wait_for_selector("body[data-state=ready]")
    yield p
    p.close()


# ------------------------------------------------------------------ helpers

def pick_by_keyboard(page, video_id):
    """Type the id into the search box, arrow down to the result, Enter."""
    page.focus("#search")
    page.keyboard.type(video_id)
    page.wait_for_selector(f"#results-list li[data-video-id='{video_id}']")
    page.wait_for_function("n => document.querySelectorAll('#results-list li[role=option]').length === n", arg=1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#selected:not([hidden])")


def submit_and_capture(page, timeout=FORECAST_TIMEOUT_MS):
    """Submit with the keyboard; the request the page sent and the state it ended in."""
    with page.expect_request(lambda r: r.url.endswith("/v1/predict") and r.method == "POST") as req:
        page.focus("#submit")
        page.keyboard.press("Enter")
    page.wait_for_function("() => ['forecast', 'error'].includes(document.body.dataset.state) && "
                           "!document.body.hasAttribute('aria-busy')", timeout=timeout)
    return json.loads(req.value.post_data), page.evaluate("document.body.dataset.state")


def shown_round(value: float) -> str:
    """What the page prints for a number (en-US, rounded half up like Math.round)."""
    return f"{math.floor(value + 0.5):,}"


def assert_page_shows(page, answer):
    """Every head's numbers on the page are the API's: exact in data-value, rounded in the text."""
    assert page.inner_text("#model-chip") == f"Model {answer['model']}"
    for target, heads in answer["forecast"].items():
        card = page.locator(f"[data-target='{target}']")
        for h, head in heads.items():
            row = card.locator(f"tr[data-horizon='{h}']")
            for field, cls in (("total", "total"), ("low", "low"), ("high", "high"), ("delta", "delta")):
                cell = row.locator(f".{cls}")
                value = head[field]
                if value is None:
                    assert cell.get_attribute("data-value") == ""
                    continue
                assert float(cell.get_attribute("data-value")) == value, (target, h, field)
                assert cell.inner_text().lstrip("+") == shown_round(value), (target, h, field)
    fallback = page.locator("#fallback")
    if answer["fallback"]:
        assert fallback.is_visible()
        for f in answer["fallback"]:
            assert f["reason"] in fallback.inner_text()
    else:
        assert not fallback.is_visible()


def assert_timeline(page, url, answer):
    """One card per shot of the answering run, each thumbnail a decoded 160 px wide image."""
    platform, video = answer["_platform"], answer["_video"]
    timeline = requests.get(f"{url}/v1/shots/{platform}/{video}",
                            params={"run_id": answer["features"]["run_id"]}, timeout=30).json()
    page.wait_for_function("n => document.querySelectorAll('#timeline li.shot').length === n",
                           arg=timeline["n_shots"])
    assert timeline["n_shots"] >= 1 and all(s["thumbnail"] for s in timeline["shots"])
    page.wait_for_function("() => [...document.querySelectorAll('#timeline img')].every(i => i.complete && "
                           "i.naturalWidth > 0)")
    widths = page.eval_on_selector_all("#timeline img", "imgs => imgs.map(i => i.naturalWidth)")
    assert widths == [160] * timeline["n_shots"]
    bad = page.eval_on_selector_all("#timeline li.shot", "lis => lis.map(l => l.classList.contains('bad'))")
    assert bad == [s["bad"] for s in timeline["shots"]]


def api_answer(url, body):
    return requests.post(f"{url}/v1/predict", json=body, timeout=240)


def dataset_snapshot(corpus, video_id):
    return json.loads((corpus.dataset / "snapshots" / "1" / f"{video_id}.json").read_text())


# ------------------------------------------------------------------ tests

def test_pick_a_test_video_and_the_page_shows_the_apis_numbers(page, page_service, shots_dir):
    url, corpus = page_service["url"], page_service["corpus"]
    page.screenshot(path=str(shots_dir / "1-empty.png"), full_page=True)
    vid = corpus.in_store[0]
    pick_by_keyboard(page, vid)
    snap = dataset_snapshot(corpus, vid)
    assert page.input_value("#viewCount") == str(snap["viewCount"])  # prefilled from the dataset
    body, state = submit_and_capture(page)
    assert state == "forecast", page.inner_text("#error")
    assert body["video_id"] == vid and body["snapshot"]["viewCount"] == snap["viewCount"] and "video" not in body
    r = api_answer(url, body)  # the same request, straight to the API
    assert r.status_code == 200, r.text
    answer = {**r.json(), "_platform": "youtube", "_video": vid}
    assert set(answer["forecast"]) >= {"views", "likes"} and set(answer["forecast"]["views"]) == {"7", "14", "21"}
    assert_page_shows(page, answer)
    assert_timeline(page, url, answer)
    assert page.locator("#summary .sum-sec, #summary p").count() >= 1
    page.screenshot(path=str(shots_dir / "2-forecast.png"), full_page=True)

    # RU: labels and the summary switch without a reload; the numbers stay the API's
    with page.expect_request(lambda r: r.url.endswith("/v1/predict")) as again:
        page.click(".seg[data-locale=ru]")
    assert json.loads(again.value.post_data)["locale"] == "ru"
    page.wait_for_function("() => document.querySelector('#timeline-card h3').textContent === 'Шкала кадров' && "
                           "!document.body.hasAttribute('aria-busy')")
    assert page.evaluate("document.documentElement.lang") == "ru"
    page.screenshot(path=str(shots_dir / "3-forecast-ru.png"), full_page=True)
    page.click(".seg[data-locale=en]")
    page.wait_for_function("() => !document.body.hasAttribute('aria-busy') && "
                           "document.querySelector('#model-chip').textContent.startsWith('Model')")
    assert_page_shows(page, answer)


def test_upload_a_small_mp4_and_get_its_forecast(page, page_service, shots_dir, tmp_path):
    from tests.ray_pipelines.conftest import write_good
    url = page_service["url"]
    write_good(tmp_path, "my_new_clip", seed=7, n_shots=5, seconds=1.2, width=256, height=144)
    page.set_input_files("#file", str(tmp_path / "my_new_clip.mp4"))
    page.wait_for_selector("#selected:not([hidden])")
    assert "Uploaded" in page.inner_text("#selected")
    page.fill("#viewCount", "1200")
    page.fill("#likeCount", "85")
    page.fill("#commentCount", "9")
    page.fill("#publishedAt", "2026-11-20T10:00:00")
    page.fill("#collected_at", "2026-11-22T10:00:00")
    page.fill("#channelTitle", "My channel")
    page.fill("#subscriberCount", "5400")
    page.screenshot(path=str(shots_dir / "4-upload-filled.png"), full_page=True)
    body, state = submit_and_capture(page)
    assert state == "forecast", page.inner_text("#error")
    assert body["platform_id"] == "upload" and body["video_id"].startswith("up-") and body["video"]
    answer = api_answer(url, body).json()  # now a cache hit: the same numbers
    assert answer["features"]["source"] == "cache"
    assert_page_shows(page, answer)
    assert_timeline(page, url, {**answer, "_platform": "upload", "_video": body["video_id"]})
    page.screenshot(path=str(shots_dir / "5-upload-forecast.png"), full_page=True)


def test_an_upload_over_the_duration_limit_shows_the_apis_message(page, page_service, shots_dir, tmp_path):
    from tests.ray_pipelines.conftest import write_good
    write_good(tmp_path, "too_long", seed=2, n_shots=2, seconds=(MAX_VIDEO_SECONDS + 2) / 2, width=64, height=48,
               fps=5, audio=False)
    path = tmp_path / "too_long.mp4"
    with open(path, "rb") as f:
        direct = requests.post(f"{page_service['url']}/v1/upload", files={"file": ("too_long.mp4", f, "video/mp4")},
                               timeout=60)
    assert direct.status_code == 413 and "limit" in direct.json()["detail"]
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#error:not([hidden])")
    assert direct.json()["detail"] in page.inner_text("#error")
    assert page.locator("#selected").is_hidden()
    page.screenshot(path=str(shots_dir / "6-upload-too-long.png"), full_page=True)


def test_a_bad_counter_shows_the_apis_error_message(page, page_service, shots_dir):
    url, corpus = page_service["url"], page_service["corpus"]
    pick_by_keyboard(page, corpus.in_store[-1])
    page.fill("#viewCount", "-5")
    body, state = submit_and_capture(page)
    assert state == "error"
    r = api_answer(url, body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    field = next(d for d in detail if "viewCount" in d["loc"])
    shown = page.inner_text("#error")
    assert f"snapshot.viewCount: {field['msg']}" in shown
    assert page.get_attribute("#viewCount", "aria-invalid") == "true"
    page.screenshot(path=str(shots_dir / "7-bad-value.png"), full_page=True)


def test_375_px_wide_screen_keyboard_only(browser_context, page_service, shots_dir):
    p = browser_context.new_page()
    p.set_viewport_size({"width": 375, "height": 812})
    try:
        p.goto(f"{page_service['url']}/?locale=en")
        p.wait_for_selector("body[data-state=ready]")
        pick_by_keyboard(p, page_service["corpus"].in_store[0])
        _, state = submit_and_capture(p)
        assert state == "forecast", p.inner_text("#error")
        p.wait_for_selector("#timeline li.shot")
        overflow = p.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 375, f"page is {overflow} px wide at a 375 px screen"
        p.focus("#timeline li.shot")
        p.keyboard.press("ArrowRight")
        assert p.evaluate("document.activeElement.dataset.shot") in ("0", "1")
        p.screenshot(path=str(shots_dir / "8-mobile-375.png"), full_page=True)
    finally:
        p.close()


def test_page_endpoints_answer_user_mistakes_with_4xx_naming_the_problem(page_service, tmp_path):
    url, corpus = page_service["url"], page_service["corpus"]
    vid = corpus.in_store[0]
    meta = json.loads((corpus.dataset / "metadata" / f"{vid}.json").read_text())
    word = max(meta["title"].split(), key=len)
    found = requests.get(f"{url}/v1/videos", params={"q": word.upper()}, timeout=30).json()["videos"]
    hit = next(v for v in found if v["video_id"] == vid)  # by title, case-insensitive
    assert hit["artifacts_in"] == ["store"] and hit["metadata"]["publishedAt"].startswith(meta["publishedAt"][:19])
    assert hit["snapshot"]["viewCount"] == dataset_snapshot(corpus, vid)["viewCount"]
    by_id = requests.get(f"{url}/v1/videos", params={"q": vid}, timeout=30).json()["videos"]
    assert [v["video_id"] for v in by_id] == [vid]

    page_js = requests.get(f"{url}/page/page.js", timeout=30)
    assert page_js.status_code == 200 and page_js.headers["content-type"].startswith("text/javascript")
    assert requests.get(f"{url}/page/..%2Fapp.py", timeout=30).status_code == 404
    assert requests.get(f"{url}/v1/thumbnails/youtube/{vid}/0.jpg", timeout=30).headers["content-type"] == "image/jpeg"
    r = requests.get(f"{url}/v1/thumbnails/youtube/bad..id/0.jpg", timeout=30)
    assert r.status_code == 400 and "'..'" in r.json()["detail"]
    r = requests.get(f"{url}/v1/thumbnails/youtube/{vid}/999.jpg", timeout=30)
    assert r.status_code == 404 and "shot 999" in r.json()["detail"]
    r = requests.get(f"{url}/v1/shots/youtube/nobody_has_this", timeout=30)
    assert r.status_code == 404 and "nobody_has_this" in r.json()["detail"]
    r = requests.get(f"{url}/v1/thumbnails/youtube/{vid}/first.jpg", timeout=30)
    assert r.status_code == 422 and "shot" in r.text

    def upload(name, data):
        return requests.post(f"{url}/v1/upload", files={"file": (name, data, "video/mp4")}, timeout=60)
    r = upload("notes.txt", b"hello")
    assert r.status_code == 415 and ".mp4" in r.json()["detail"]
    r = upload("fake.mp4", b"this is not a video\n" * 100)
    assert r.status_code == 422 and r.json()["detail"].startswith("file: not a video")
    r = upload("huge.mp4", b"\0" * (MAX_UPLOAD_BYTES + 1))
    assert r.status_code == 413 and "1.9 MB" in r.json()["detail"]
    r = requests.post(f"{url}/v1/upload", data={"nofile": "x"}, timeout=30)
    assert r.status_code == 422 and "file" in r.json()["detail"]
    cfg = requests.get(f"{url}/v1/page/config", timeout=30).json()
    assert cfg["max_upload_bytes"] == MAX_UPLOAD_BYTES and cfg["max_video_seconds"] == MAX_VIDEO_SECONDS
