"""The Serve app end to end: a real Serve application on a local Ray cluster, real HTTP for every endpoint
and every error path, online = batch (features and predictions), the cache, one extraction for
concurrent cold requests, fallback when models are broken, and the store left untouched."""

from __future__ import annotations

import base64
import io
import json
import math
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
import yaml

from tests.serve_apps.conftest import BATCH_SECTIONS, free_port, wait_healthy

HEADS_FIELDS = ("delta", "total", "low", "high")


def _files(root):
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def service(corpus, tmp_path_factory):
    """The app on a free loopback port, plus a second app whose v2 is corrupt and v1 deleted."""
    from ray import serve

    from serve_apps.app import build_app
    root = tmp_path_factory.mktemp("service")
    uploads = root / "uploads"
    uploads.mkdir()
    config = root / "serve.yaml"
    config.write_text(yaml.safe_dump({**BATCH_SECTIONS, "serve": {
        "allowed_roots": [str(corpus.dataset / "videos"), str(uploads)], "max_video_seconds": 20,
        "max_ongoing_requests": 8, "max_queued_requests": 4, "cache_capacity": 50, "embed_max_batch_size": 8}}))
    degraded = root / "degraded_models"
    shutil.copytree(corpus.models, degraded)
    (degraded / "v2_transformer" / "model.pt").write_bytes(b"not a checkpoint")
    shutil.rmtree(degraded / "v1_late_fusion")
    store_before = _files(corpus.store)

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app({"models": str(corpus.models), "store": str(corpus.store), "cache": str(root / "cache"),
                         "config": str(config)}), name="trendflow", route_prefix="/", blocking=False)
    serve.run(build_app({"models": str(degraded), "store": str(corpus.store), "cache": str(root / "cache2"),
                         "config": str(config)}), name="degraded", route_prefix="/degraded", blocking=False)
    wait_healthy(f"http://127.0.0.1:{port}")
    yield {"url": f"http://127.0.0.1:{port}", "uploads": uploads, "cache": root / "cache", "corpus": corpus}
    serve.shutdown()
    assert _files(corpus.store) == store_before  # the batch store is only ever read


def body(corpus, video_id, **kw):
    """A /v1/predict body from the dataset's own files (metadata + snapshot 1, as a client would send)."""
    meta = json.loads((corpus.dataset / "metadata" / f"{video_id}.json").read_text())
    snap = json.loads((corpus.dataset / "snapshots" / "1" / f"{video_id}.json").read_text())
    snap.setdefault("collected_at", json.loads((corpus.dataset / "snapshots" / "1" / "snapshot.json")
                                               .read_text())["collected_at"])
    return {"video_id": video_id, "metadata": meta, "snapshot": snap, **kw}


def renamed(payload, video_id):
    """The same request for another (unknown) video id."""
    out = json.loads(json.dumps(payload))
    out["video_id"] = out["metadata"]["video_id"] = out["snapshot"]["video_id"] = video_id
    return out


def post(service, path, payload, **kw):
    return requests.post(f"{service['url']}{path}", json=payload, timeout=120, **kw)


# ------------------------------------------------------------------ online = batch

def test_online_prediction_equals_the_batch_row_for_every_model(service):
    from train.predict import predict_table
    corpus = service["corpus"]
    vid = corpus.in_store[0]
    for tier, name in (("v2", "v2_transformer"), ("v1", "v1_late_fusion"), ("v0", "v0_content")):
        r = post(service, "/v1/predict", body(corpus, vid, model=tier))
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["model"] == name and doc["fallback"] is None
        assert doc["features"]["source"] == "store" and doc["features"]["cached"] is True
        row = predict_table(str(corpus.models / name), str(corpus.train_dir), "test").to_pandas() \
            .set_index("video_id").loc[vid]
        assert doc["age_bucket"] == row["age_bucket"]
        assert doc["features"]["run_id"] == row.get("content_run_id", doc["features"]["run_id"])
        for target, by_h in doc["forecast"].items():
            for h, head in by_h.items():
                for f in HEADS_FIELDS:
                    batch = row[f"{f}_{target}_{h}"]
                    if head[f] is None:
                        assert not math.isfinite(batch), (name, target, h, f)
                    else:
                        assert head[f] == pytest.approx(batch, rel=1e-5, abs=1e-5), (name, target, h, f)
        assert doc["model_versions"]["model_name"] == name


def test_online_features_equal_the_training_data_row(service):
    """The features the service builds for a video equal its row in the training data (1e-5)."""
    import pyarrow.dataset as pads

    from ray_pipelines.pipeline import Configs
    from serve_apps.api import PredictRequest
    from serve_apps.features import FeatureService
    from train.data import load_schema
    from train.video_features import video_feature_values
    from trendflow.temporal.features import snapshot1_features
    corpus = service["corpus"]
    schema = load_schema(str(corpus.train_dir))
    names = schema.meta_features(use_content=True)
    rows = pads.dataset(str(corpus.train_dir / "test")).to_table().to_pandas().set_index("video_id")
    features = FeatureService(str(corpus.store), str(service["cache"]), Configs.load(str(corpus.config), None), 50)
    for vid in corpus.in_store:
        req = PredictRequest.model_validate(body(corpus, vid))
        temporal = snapshot1_features(req.metadata, req.snapshot, req.snapshot.collected_at,
                                      len(req.snapshot.comments) if req.snapshot.comments is not None else None)
        content = features.find("youtube", vid)
        assert content is not None and content.source == "store"
        online = video_feature_values(temporal, content.aggregates, names)
        batch = rows.loc[vid]
        assert any("=" in n for n in names) and any(n in (content.aggregates or {}) for n in names)
        for n in names:
            a, b = online[n], float(batch[n])
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-5, abs=1e-5), (vid, n, a, b)


def test_the_summary_is_grounded_in_the_answering_model_and_the_artifacts(service):
    """/v1/predict's summary: the four sections in EN and RU with the same numbers; every what-if starts
    from the answer's own forecast and moves one lever to its category median with the SAME model (we redo
    it in-process); detail=full lists the video's own shots."""
    import pyarrow.dataset as pads

    from ray_pipelines.pipeline import Configs
    from serve_apps.api import PredictRequest
    from serve_apps.features import FeatureService
    from serve_apps.predictor import model_features
    from train.model_dir import load_predictor
    from trendflow.artifacts import ArtifactStore, RunKey
    from trendflow.temporal.features import age_bucket, snapshot1_features
    corpus = service["corpus"]
    vid = corpus.in_store[0]
    docs = {}
    for locale in ("en", "ru"):
        r = post(service, "/v1/predict", body(corpus, vid, model="v1", locale=locale, detail="full"))
        assert r.status_code == 200, r.text
        docs[locale] = r.json()
    en, ru = docs["en"]["summary"], docs["ru"]["summary"]
    assert en is not None and ru is not None
    for s in (en, ru):
        assert all(s[k] for k in ("strong", "weak", "actions", "why")) and s["text"]
    assert en["text"] != ru["text"]
    strip = lambda items: [{k: v for k, v in i.items() if k != "text"} for i in items]  # noqa: E731
    for k in ("strong", "weak", "actions"):
        assert strip(en[k]) == strip(ru[k])
    assert en["measured_on"]["model"] == docs["en"]["model"] == "v1_late_fusion"
    target, h = en["measured_on"]["target"], en["measured_on"]["horizon"]
    delta = docs["en"]["forecast"][target][str(h)]["delta"]

    # redo every what-if with the model in-process: the video's features, one lever at its median
    predictor = load_predictor(str(corpus.models / "v1_late_fusion"))
    req = PredictRequest.model_validate(body(corpus, vid))
    temporal = snapshot1_features(req.metadata, req.snapshot, req.snapshot.collected_at,
                                  len(req.snapshot.comments) if req.snapshot.comments is not None else None)
    bucket = age_bucket(temporal["video_age_hours_at_snapshot1"])
    content = FeatureService(str(corpus.store), str(service["cache"]), Configs.load(str(corpus.config), None),
                             50).find("youtube", vid)
    features = model_features(predictor, temporal, content.aggregates)
    sh = content.shots
    moved_rows = [row for row in en["tables"]["what_if"] if row["delta_at_median"] is not None]
    assert moved_rows, en["tables"]["what_if"]
    for row in moved_rows:
        assert row["delta_now"] == pytest.approx(delta, rel=1e-6)
        pred = predictor.predict_video(dict(features, **{row["feature"]: row["median"]}, age_bucket=bucket),
                                       sh.e_shot, sh.e_present, sh.a_shot, sh.a_present)
        assert row["delta_at_median"] == pytest.approx(math.expm1(pred[f"{target}_{h}"]), rel=1e-5, abs=1e-6)
    actions = [a for a in en["actions"] if a.get("kind") != "none"]
    assert [a["effect_abs"] for a in actions] == sorted((a["effect_abs"] for a in actions), reverse=True)

    # per-shot table = the run's own shots
    run = docs["en"]["features"]
    key = RunKey("youtube", vid, run["run_id"], run["config_hash"], run["sampling_policy_version"])
    cuts = ArtifactStore(str(corpus.store)).read(key, "cut_detection")
    assert len(en["tables"]["shots"]) == len(cuts.arrays["shot_start_sec"]) > 0


# ------------------------------------------------------------------ cache, cold requests

def test_concurrent_cold_requests_extract_once_then_hit_the_cache(service):
    corpus = service["corpus"]
    vid = corpus.cold
    payload = body(corpus, vid, video=str(corpus.video(vid)))
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: post(service, "/v1/predict", payload), range(5)))
    assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
    docs = [r.json() for r in answers]
    assert {d["features"]["source"] for d in docs} == {"extracted"}  # all waited for the same extraction
    assert len({d["features"]["run_id"] for d in docs}) == 1
    assert docs[0]["features"]["timings"]["extract_s"] > 0
    runs = list((service["cache"] / "youtube" / vid).iterdir())
    assert len(runs) == 1  # one run folder: computed once
    assert not (corpus.store / "youtube" / vid).exists()  # extracted into the cache, never into the store
    models = requests.get(f"{service['url']}/v1/models", timeout=30).json()
    assert models["features"]["extractions"] == 1

    again = post(service, "/v1/predict", payload).json()
    assert again["features"]["source"] == "cache" and again["features"]["cached"] is True
    assert again["features"]["run_id"] == docs[0]["features"]["run_id"]
    assert again["forecast"] == docs[0]["forecast"]


# ------------------------------------------------------------------ models, health

def test_models_lists_the_chain_with_versions_metrics_and_coverage(service):
    doc = requests.get(f"{service['url']}/v1/models", timeout=30).json()
    by_name = {m["name"]: m for m in doc["models"]}
    assert list(by_name)[:3] == ["v2_transformer", "v1_late_fusion", "v0_content"]
    for name in ("v2_transformer", "v1_late_fusion", "v0_content"):
        m = by_name[name]
        assert m["loaded"] and m["version"] and m["training_data_version"]
        assert m["validation_metrics"] and m["interval"]["level"] == pytest.approx(0.8)
        assert set(m["interval"]["test_coverage"]) == {f"{t}_{h}" for t in m["targets"] for h in m["horizons"]}
    assert by_name["v0"]["loaded"] is False and by_name["v0"]["reason"].startswith("missing")


def test_healthz_runs_a_real_prediction(service):
    r = requests.get(f"{service['url']}/healthz", timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["model"] == "v2_transformer"


def test_broken_models_fall_back_and_say_why(service):
    corpus = service["corpus"]
    r = post(service, "/degraded/v1/predict", body(corpus, corpus.in_store[0]))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["model"] == "v0_content"
    reasons = {f["model"]: f["reason"] for f in doc["fallback"]}
    assert list(reasons) == ["v2_transformer", "v1_late_fusion"]
    assert reasons["v2_transformer"].startswith("failed to load") and reasons["v1_late_fusion"].startswith("missing")
    h = requests.get(f"{service['url']}/degraded/healthz", timeout=30).json()
    assert h["model"] == "v0_content"


# ------------------------------------------------------------------ bad input: 4xx naming the field

def test_malformed_bodies_are_422_naming_the_field(service):
    corpus = service["corpus"]
    vid = corpus.in_store[0]
    good = body(corpus, vid)
    no_snapshot = {k: v for k, v in good.items() if k != "snapshot"}
    r = post(service, "/v1/predict", no_snapshot)
    assert r.status_code == 422 and ["body", "snapshot"] in [e["loc"] for e in r.json()["detail"]]
    bad_count = json.loads(json.dumps(good))
    bad_count["snapshot"]["viewCount"] = "lots"
    r = post(service, "/v1/predict", bad_count)
    assert r.status_code == 422 and any(e["loc"][-1] == "viewCount" for e in r.json()["detail"])
    no_time = json.loads(json.dumps(good))
    no_time["snapshot"].pop("collected_at")
    r = post(service, "/v1/predict", no_time)
    assert r.status_code == 422 and any(e["loc"][-1] == "collected_at" for e in r.json()["detail"])
    r = requests.post(f"{service['url']}/v1/predict", data=b"{not json", timeout=30,
                      headers={"content-type": "application/json"})
    assert r.status_code == 422
    r = post(service, "/v1/predict", {**good, "locale": "de"})
    assert r.status_code == 422 and any(e["loc"][-1] == "locale" for e in r.json()["detail"])


@pytest.mark.parametrize("video_id", ["../etc", "a/b", "x" * 300])
def test_unsafe_ids_are_400(service, video_id):
    corpus = service["corpus"]
    r = post(service, "/v1/predict", renamed(body(corpus, corpus.in_store[0]), video_id))
    assert r.status_code == 400 and "video_id" in r.json()["detail"]


def test_video_files_are_checked_before_extraction(service):
    from tests.ray_pipelines.conftest import write_good
    corpus, uploads = service["corpus"], service["uploads"]
    unknown = renamed(body(corpus, corpus.in_store[0]), "notstored1")
    cases = []
    r = post(service, "/v1/predict", dict(unknown, video="/etc/passwd"))
    cases.append((r, 400, "outside the allowed roots"))
    r = post(service, "/v1/predict", dict(unknown, video=str(uploads / ".." / ".." / "x.mp4")))
    cases.append((r, 400, "outside the allowed roots"))
    write_good(uploads, "long_video", seed=1, n_shots=5, seconds=5.0)  # 25 s > serve.max_video_seconds = 20
    r = post(service, "/v1/predict", dict(unknown, video=str(uploads / "long_video.mp4")))
    cases.append((r, 413, "over the limit"))
    (uploads / "text.mp4").write_text("this is not a video\n" * 100)
    r = post(service, "/v1/predict", dict(unknown, video=str(uploads / "text.mp4")))
    cases.append((r, 422, "cannot be decoded"))
    r = post(service, "/v1/predict", dict(unknown, video=str(uploads / "missing.mp4")))
    cases.append((r, 422, "does not exist"))
    r = post(service, "/v1/predict", unknown)
    cases.append((r, 404, "send `video`"))
    for r, status, words in cases:
        assert r.status_code == status and words in r.json()["detail"], (status, r.status_code, r.text)
        assert r.json()["detail"].startswith("video")


def test_unknown_model_is_404(service):
    corpus = service["corpus"]
    r = post(service, "/v1/predict", body(corpus, corpus.in_store[0], model="v9"))
    assert r.status_code == 404 and "v9" in r.json()["detail"]
    r = post(service, "/v1/predict", body(corpus, corpus.in_store[0], model="baseline"))
    assert r.status_code == 404  # registered, but not a served model


def test_overload_is_503_with_retry_after(service):
    corpus = service["corpus"]
    payload = body(corpus, corpus.in_store[0])
    with ThreadPoolExecutor(48) as pool:
        answers = list(pool.map(lambda _: post(service, "/v1/predict", payload), range(96)))
    codes = [r.status_code for r in answers]
    assert set(codes) <= {200, 503} and 200 in codes and 503 in codes, codes
    assert all(r.headers.get("Retry-After") == "1" for r in answers if r.status_code == 503)


# ------------------------------------------------------------------ embeddings

def _encoders():
    from ray_pipelines.audio_config import AudioConfig
    from ray_pipelines.config import ExtractConfig
    from ray_pipelines.encoders.clap import load_clap
    from ray_pipelines.encoders.clip import load_clip
    return (load_clip(ExtractConfig(**BATCH_SECTIONS["extract"]).clip),
            load_clap(AudioConfig(**BATCH_SECTIONS["audio"]).clap), AudioConfig(**BATCH_SECTIONS["audio"]))


def test_clip_endpoint_equals_the_batch_encoder(service):
    from PIL import Image

    from ray_pipelines.encoders.clip import to_model_input
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (48, 80, 3), dtype=np.uint8), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)]
    encoded = []
    for img, fmt in zip(images, ("PNG", "PNG")):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format=fmt)
        encoded.append(base64.b64encode(buf.getvalue()).decode())
    clip, _, _ = _encoders()
    expected = clip.embed_images(np.concatenate([to_model_input(i[None], clip.image_size) for i in images]))
    r = post(service, "/v1/embed/clip", {"images_base64": encoded})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["dim"] == expected.shape[1] and doc["model"] == "trendflow-clip-tiny"
    np.testing.assert_allclose(np.array(doc["embeddings"]), expected, atol=1e-5)
    r = post(service, "/v1/embed/clip", {"images_rgb": [images[0].tolist()]})
    np.testing.assert_allclose(np.array(r.json()["embeddings"]), expected[:1], atol=1e-5)
    buf = io.BytesIO()
    Image.fromarray(images[0]).save(buf, format="JPEG")
    r = post(service, "/v1/embed/clip", {"images_base64": [base64.b64encode(buf.getvalue()).decode()]})
    assert r.status_code == 200 and len(r.json()["embeddings"]) == 1

    for payload, field in (({"images_base64": ["%%%"]}, "images_base64[0]"),
                           ({"images_base64": [base64.b64encode(b"GIF89a....").decode()]}, "images_base64[0]"),
                           ({"images_rgb": [[[[1, 2]]]]}, "images_rgb[0]"),  # a pixel of 2 channels
                           ({"images_rgb": [[[[300, 0, 0]]]]}, "images_rgb[0]")):
        r = post(service, "/v1/embed/clip", payload)
        assert r.status_code == 422 and r.json()["detail"].startswith(field), r.text
    r = post(service, "/v1/embed/clip", {"images_rgb": [images[0].tolist()], "images_base64": encoded})
    assert r.status_code == 422


def test_concurrent_clip_requests_are_batched(service):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8).tolist()
    def client(_):
        """A client that honours Retry-After: at the edge of max_ongoing_requests a 503 can still happen (seen
        in CI once in 32 requests), and it must carry Retry-After."""
        import time
        for _attempt in range(5):
            r = post(service, "/v1/embed/clip", {"images_rgb": [img]})
            if r.status_code != 503:
                return r.status_code
            assert r.headers.get("Retry-After"), r.headers
            time.sleep(float(r.headers["Retry-After"]))
        return r.status_code

    with ThreadPoolExecutor(8) as pool:  # within the ingress's max_ongoing_requests
        codes = list(pool.map(client, range(32)))
    assert codes == [200] * 32
    from ray import serve
    batches = serve.get_deployment_handle("ClipEmbedder", "trendflow").info.remote().result()["recent_batches"]
    assert max(batches) > 1, batches


def test_clap_endpoint_equals_the_batch_encoder(service):
    from types import SimpleNamespace

    from ray_pipelines.stages.audio_extract import resample
    from ray_pipelines.stages.clap_extractor import window_audio
    _, clap, cfg = _encoders()
    t = np.arange(16000 * 5) / 16000
    samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    mono = resample(samples, 16000, cfg.sample_rate)
    windows, start, _ = window_audio(SimpleNamespace(mono=mono, analysis_rate=cfg.sample_rate), cfg)
    expected = clap.embed(windows)
    r = post(service, "/v1/embed/clap", {"samples": samples.tolist(), "sample_rate": 16000})
    assert r.status_code == 200, r.text
    doc = r.json()
    np.testing.assert_allclose(np.array(doc["embeddings"]), expected, atol=1e-5)
    np.testing.assert_allclose(doc["window_start_sec"], start, atol=1e-6)
    r = post(service, "/v1/embed/clap", {"samples": samples[:100].tolist()})
    assert r.status_code == 422 and any(e["loc"][-1] == "sample_rate" for e in r.json()["detail"])
    r = post(service, "/v1/embed/clap", {"samples": [], "sample_rate": 16000})
    assert r.status_code == 422 and any(e["loc"][-1] == "samples" for e in r.json()["detail"])
    # found by schemathesis: an uncommon rate (a huge resampling filter) and samples far outside [-1, 1]
    r = post(service, "/v1/embed/clap", {"samples": [0.0], "sample_rate": 383999})
    assert r.status_code == 422 and any(e["loc"][-1] == "sample_rate" for e in r.json()["detail"])
    r = post(service, "/v1/embed/clap", {"samples": [0.1, -1.8e16], "sample_rate": 16000})
    assert r.status_code == 422 and any(e["loc"][-2:] == ["samples", 1] for e in r.json()["detail"])
    r = post(service, "/v1/embed/clap", {"samples": [0.1], "sample_rate": 16000})  # shorter than a window
    assert r.status_code == 200 and len(r.json()["embeddings"]) == 1
