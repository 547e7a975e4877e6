"""Fixtures for the summary tests: the training tests' synthetic TRAIN_DIR with categories and real
content-aggregate lever columns added (loudness, brightness, tempo: names as the extraction writes
them), a planted effect of loudness and brightness on growth, and v0_content trained on it through
the real `train_model` path. Import the fixtures into a test module (they are not in a conftest, so
they cannot clash with the Serve app's tests/serve_apps/conftest.py)."""

import numpy as np
import pyarrow as pa
import pytest

from tests.train.conftest import train_dir  # noqa: F401  (the synthetic TRAIN_DIR, reused)
from train.data import SPLITS, load_card, read_split, write_training_data
from train.forecast import forecast_video
from train.model_dir import load_predictor

CATEGORIES = ("Music", "Gaming", "Education")  # Education is kept small: it falls back to all videos
LEVER_COLUMNS = ("audio_integrated_lufs", "brightness_mean", "audio_bpm")


def _add_levers(table: pa.Table, rng: np.random.Generator) -> pa.Table:
    n = len(table)
    cat = rng.choice(CATEGORIES, size=n, p=[0.55, 0.4, 0.05])
    lufs = np.where(cat == "Music", -12.0, -18.0) + rng.normal(size=n) * 4.0
    lufs = np.where(rng.random(n) < 0.15, np.nan, lufs)  # no audio track / loudness not measured
    bright = np.clip(rng.normal(0.5, 0.12, size=n), 0.05, 0.95)
    bpm = rng.uniform(70, 170, size=n)
    # Planted: louder (towards -10 LUFS) and brighter videos grow more; tempo has no effect.
    effect = 0.12 * np.clip(np.nan_to_num(lufs, nan=-16.0) + 16.0, -12, 8) + 2.5 * (bright - 0.5)
    for name in table.column_names:
        if name.startswith("y_"):
            y = table[name].to_numpy(zero_copy_only=False).astype(np.float64)
            table = table.set_column(table.column_names.index(name), name,
                                     pa.array(np.where(np.isfinite(y), np.clip(y + effect, 0, None), np.nan)))
    return (table.append_column("category", pa.array(cat.tolist(), pa.string()))
            .append_column("audio_integrated_lufs", pa.array(lufs)).append_column("brightness_mean", pa.array(bright))
            .append_column("audio_bpm", pa.array(bpm)))


@pytest.fixture(scope="session")
def summary_train_dir(train_dir, tmp_path_factory):  # noqa: F811
    """TRAIN_DIR: the synthetic training set + category and three lever columns (content aggregates)."""
    rng = np.random.default_rng(7)
    tables = {s: _add_levers(read_split(train_dir, s), rng) for s in SPLITS}
    card = {k: v for k, v in load_card(train_dir).items() if k not in ("training_data_version", "splits")}
    card["content_features"] = [*card["content_features"], *LEVER_COLUMNS]
    out = str(tmp_path_factory.mktemp("summary_train_data"))
    write_training_data(out, tables, card)
    return out


@pytest.fixture(scope="session")
def summary_v0(summary_train_dir, tmp_path_factory):
    """v0_content trained on it by `train.pipeline.train_model` (LightGBM, in-process), loaded."""
    from train.config import TrainConfig
    from train.pipeline import train_model
    model_dir = str(tmp_path_factory.mktemp("summary_models") / "v0_content")
    train_model("v0_content", summary_train_dir, model_dir, TrainConfig(wandb_mode="disabled"), log=lambda *_: None)
    return load_predictor(model_dir)


def batched_predict_many(predictor):
    """What the Serve app passes: list of feature dicts -> list of {head: log1p}, one batched predict call."""
    def predict_many(rows):
        cols = {name: pa.array([np.nan if r.get(name) is None else float(r[name]) for r in rows], pa.float64())
                for name in predictor.meta_features}
        cols["age_bucket"] = pa.array([str(r.get("age_bucket")) for r in rows])
        preds = predictor.predict(pa.table(cols))  # (N, T, H)
        return [{f"{t}_{h}": float(p[i, j]) for i, t in enumerate(predictor.targets)
                 for j, h in enumerate(predictor.horizons)} for p in preds]
    return predict_many


def video_features(summary_train_dir, split="test"):
    """[(features dict, category)] for every video of a split: the values the model saw."""
    rows = read_split(summary_train_dir, split).drop_columns(["E_shot", "E_mask", "A_shot", "A_mask"]).to_pylist()
    return [({k: v for k, v in r.items()}, r["category"]) for r in rows]


@pytest.fixture(scope="session")
def summarizer(summary_train_dir, summary_v0):
    from serve_apps.summary import Summarizer, SummaryConfig
    return Summarizer.load(summary_train_dir, models={"v0": summary_v0}, config=SummaryConfig())


def summarize(s, v0, features, category, locale="en", detail="short", **kw):
    """(summary, forecast) of one video answered by `v0`, the way the Serve app calls it."""
    fc = forecast_video(v0.card, v0.intervals, v0.predict_video(features), features, features["age_bucket"])
    kw.setdefault("predict_many", batched_predict_many(v0))
    kw.setdefault("cache_key", (features["video_id"], "run-1", "author"))
    return s.summarize(features=features, category=category, forecast=fc, card=v0.card, locale=locale,
                       detail=detail, **kw), fc


@pytest.fixture(scope="session")
def video_with_actions(summarizer, summary_v0, summary_train_dir):
    """The first test video whose summary has at least two actions (the planted loudness/brightness effects)."""
    for features, category in video_features(summary_train_dir):
        out, _ = summarize(summarizer, summary_v0, features, category)
        if sum(1 for a in out["actions"] if "feature" in a) >= 2:
            return features, category
    pytest.fail("no test video has two actions; the planted lever effects did not reach the model")
