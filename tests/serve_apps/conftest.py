"""A small real corpus for the serving tests, built through the batch path once per session:

synthetic dataset (real mp4s) → temporal table → extraction of some videos into STORE (the batch
stage code, in-process) → training data → v0_content, v1, v2 trained (tiny, real recipes) → MODELS.

Videos are chosen so that the tests have: test-split videos whose artifacts are in STORE (online = batch),
and a test-split video that is NOT in STORE (a cold request extracts it into the serving cache).
Videos without a run have masked content in the training data, as build-dataset does for them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.serve_apps.summary_fixtures import (  # noqa: F401  (the summary tests' fixtures)
    summarizer,
    summary_train_dir,
    summary_v0,
    train_dir,
    video_with_actions,
)
from tests.train.conftest import TINY

N_VIDEOS = 24
# Building the corpus is most of the serving tests' time (synthesis, extraction, three trainings). For
# repeated local runs, TRENDFLOW_TEST_SERVE_CORPUS=DIR builds it once into DIR and reuses it after (CI
# leaves it unset: a fresh corpus every run).
REUSE_ENV = "TRENDFLOW_TEST_SERVE_CORPUS"
EXTRACTED_TRAIN = 4  # train-split videos with content (v1/v2 need some shots to learn from)
BATCH_SECTIONS = {
    "extract": {"clip": {"model_name": "trendflow-clip-tiny"}, "chunk_frames": 16},
    "audio": {"clap": {"model_name": "trendflow-clap-tiny"}, "hop_s": 2.0},
}
SERVED = ("v0_content", "v1", "v2")


@dataclass
class Corpus:
    root: Path
    dataset: Path
    temporal: Path
    store: Path
    train_dir: Path
    models: Path
    config: Path  # the batch sections (what STORE was extracted with)
    in_store: list[str]  # test-split videos with artifacts in STORE
    cold: str  # a test-split video with no artifacts anywhere

    def video(self, video_id: str) -> Path:
        return next((self.dataset / "videos").glob(f"{video_id}.*"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _extract(corpus_videos: list[Path], config: Path, store: Path) -> None:
    from ray_pipelines.online import extract_one
    from ray_pipelines.pipeline import Configs
    cfg = Configs.load(str(config), str(store))
    for path in corpus_videos:
        result = extract_one(str(path), cfg, video_id=path.stem)
        assert result.status == "ok", (path.stem, result.error)


@pytest.fixture(scope="session")
def corpus(ray_cluster, tmp_path_factory) -> Corpus:
    import json
    import os
    reuse = os.environ.get(REUSE_ENV)
    root = Path(reuse) if reuse else tmp_path_factory.mktemp("serve_corpus")
    if reuse and (root / "corpus.json").exists():
        doc = json.loads((root / "corpus.json").read_text())
        return Corpus(**{k: Path(v) if k not in ("in_store", "cold") else v for k, v in doc.items()})
    if reuse and root.exists():
        raise RuntimeError(f"{REUSE_ENV}={root} exists but holds no finished corpus: remove it or choose another")
    corpus = _build(root)
    if reuse:
        (root / "corpus.json").write_text(json.dumps({k: (v if isinstance(v, list) or k == "cold" else str(v))
                                                      for k, v in corpus.__dict__.items()}))
    return corpus


def _build(root: Path) -> Corpus:
    from train.build_dataset import build_training_data
    from train.config import TrainConfig
    from train.evaluate import evaluate_model, write_metrics
    from train.pipeline import train_model
    from train.registry import canonical_name
    from trendflow.synth.corpus import generate_corpus
    from trendflow.temporal import build_temporal_table
    from trendflow.temporal.table import write_temporal_table

    dataset, temporal, store = root / "dataset", root / "temporal.parquet", root / "store"
    generate_corpus(dataset, N_VIDEOS, seed=6, max_video_seconds=5.0, workers=2)
    table = build_temporal_table(str(dataset))
    write_temporal_table(table, str(temporal))
    splits = dict(zip(table.table["video_id"].to_pylist(), table.table["split"].to_pylist()))
    test = sorted(v for v, s in splits.items() if s == "test")
    assert len(test) >= 2, splits
    in_store, cold = test[:-1], test[-1]
    train = sorted(v for v, s in splits.items() if s == "train")[:EXTRACTED_TRAIN]
    config = root / "batch.yaml"
    config.write_text(yaml.safe_dump(BATCH_SECTIONS))
    videos = {p.stem: p for p in (dataset / "videos").iterdir()}
    _extract([videos[v] for v in [*in_store, *train]], config, store)

    train_dir, models = root / "train_data", root / "models"
    build_training_data(str(dataset), str(store), str(train_dir), temporal_path=str(temporal), log=lambda *_: None)
    cfg = TrainConfig(model=TINY, max_epochs=2, batch_size=4, early_stopping_patience=50, wandb_mode="disabled")
    for name in SERVED:  # what `trendflow compare` does per model, without its ablations and report
        md = models / canonical_name(name)
        train_model(name, str(train_dir), str(md), cfg, log=lambda *_: None)
        doc, preds = evaluate_model(str(md), str(train_dir), "test", n_boot=0, ablations=False, log=lambda *_: None)
        write_metrics(doc, preds, str(md / "metrics.json"))
    return Corpus(root, dataset, temporal, store, train_dir, models, config, in_store, cold)


def wait_healthy(url: str, timeout: float = 180) -> None:
    """Poll GET /healthz of a Serve app until it answers 200."""
    import time

    import requests
    end = time.time() + timeout
    while time.time() < end:
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError("service did not become healthy")
