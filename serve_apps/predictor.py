"""The models behind /v1/predict: every model folder of MODELS_DIR, tried best first (SPEC §4).

    chain = ModelChain("demo_out/models")          # what `trendflow compare` wrote: one folder per model
    answer = chain.predict(temporal, aggregates, shots, age_bucket="d1_30", requested=None)
    answer.model, answer.fallback, answer.forecast   # "v2_transformer", [], {"views": {"7": {...}}}

The chain and its order come from the registry (`train.registry.serving_chain`: v2 → v1 → v0).
A model is skipped — and the answer says so in `fallback: [{model, reason}]` — when its folder is
missing, when it fails to load, or when it raises at request time; the next model answers. The
forecast is `train.forecast.forecast_video`, the function `trendflow predict` uses too, so an online
prediction equals the batch row for the same video.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from train.forecast import forecast_video
from train.model_dir import ModelDir, Predictor
from train.uris import join
from train.video_features import video_feature_values

log = logging.getLogger(__name__)


class UnknownModel(LookupError):
    """A requested model name the service does not serve (HTTP 404)."""


class NoModelAnswered(RuntimeError):
    """Every model of the chain is missing or failed (HTTP 503); `fallback` says why for each."""

    def __init__(self, fallback: list[dict[str, str]]):
        super().__init__("no model could answer: " + "; ".join(f"{f['model']}: {f['reason']}" for f in fallback))
        self.fallback = fallback


@dataclass
class Shots:
    """One video's per-shot embeddings (None = the modality is absent)."""
    e_shot: np.ndarray | None = None
    e_present: np.ndarray | None = None
    a_shot: np.ndarray | None = None
    a_present: np.ndarray | None = None


@dataclass
class Answer:
    model: str
    predictor: Predictor
    predictions: dict[str, float]  # {"views_7": log1p growth, ...}
    forecast: dict[str, dict[str, dict[str, Any]]]
    features: dict[str, float]  # what the model saw, by name (the summary cites them)
    fallback: list[dict[str, str]] = field(default_factory=list)


class ModelChain:
    """Loads every servable model folder under MODELS_DIR once; answers with the best that works."""

    def __init__(self, models_dir: str, storage_options: dict | None = None):
        from train.registry import serving_chain
        self.models_dir = models_dir
        self.entries = serving_chain()
        self.tiers = {e.name: e.serve_tier for e in self.entries}
        self.loaded: dict[str, Predictor] = {}
        self.unavailable: dict[str, str] = {}  # model -> why it is not loaded
        for entry in self.entries:
            folder = ModelDir(join(models_dir, entry.name), storage_options)
            if not folder.exists("model_card.json"):
                self.unavailable[entry.name] = f"missing: no model folder {folder.uri}"
                continue
            try:
                self.loaded[entry.name] = Predictor(folder)
            except Exception as e:  # noqa: BLE001 — any load failure means: use the next model
                self.unavailable[entry.name] = f"failed to load: {type(e).__name__}: {e}"
                log.warning("model %s not loaded: %s", entry.name, self.unavailable[entry.name])

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def order(self, requested: str | None) -> list[str]:
        """Model names to try, best first; a requested name (canonical, alias or tier) starts the chain there."""
        if not requested:
            return self.names
        from train.registry import UnknownModelError, canonical_name
        start = next((n for n in self.names if self.tiers[n] == requested), None)
        if start is None:
            try:
                start = canonical_name(requested)
            except UnknownModelError:
                start = None
        if start not in self.names:
            served = sorted({*self.names, *self.tiers.values()})
            raise UnknownModel(f"model {requested!r} is not served; choose one of {served}")
        return self.names[self.names.index(start):]

    def predict(self, temporal: Mapping[str, Any], aggregates: Mapping[str, float] | None, shots: Shots,
                age_bucket: str | None, requested: str | None = None) -> Answer:
        """temporal: `snapshot1_features` of the video; aggregates: its content aggregates (None: no content)."""
        fallback: list[dict[str, str]] = []
        for name in self.order(requested):
            predictor = self.loaded.get(name)
            if predictor is None:
                fallback.append({"model": name, "reason": self.unavailable[name]})
                continue
            try:
                features = model_features(predictor, temporal, aggregates)
                preds = predictor.predict_video(dict(features, age_bucket=age_bucket), shots.e_shot,
                                                shots.e_present, shots.a_shot, shots.a_present)
                forecast = forecast_video(predictor.card, predictor.intervals, preds, features, age_bucket)
            except Exception as e:  # noqa: BLE001 — a model failing inside is a fallback, not an error
                log.warning("model %s failed at request time: %s", name, e)
                fallback.append({"model": name, "reason": f"failed at request time: {type(e).__name__}: {e}"})
                continue
            return Answer(name, predictor, preds, forecast, features, fallback)
        raise NoModelAnswered(fallback)

    def describe(self) -> list[dict[str, Any]]:
        """GET /v1/models: each model of the chain, loaded or not, with its card's identity and metrics."""
        out = []
        for name in self.names:
            p = self.loaded.get(name)
            if p is None:
                out.append({"name": name, "tier": self.tiers[name], "loaded": False, "reason": self.unavailable[name]})
                continue
            card = p.card
            out.append({
                "name": name, "tier": self.tiers[name], "loaded": True,
                "version": card["model_version"], "training_data_version": card["training_data_version"],
                "trained_at": card.get("created_at"), "targets": card["targets"], "horizons": card["horizons"],
                "validation_metrics": (card.get("validation_metrics") or {}).get("heads"),
                "interval": interval_summary(p),
            })
        return out


def model_features(predictor: Predictor, temporal: Mapping[str, Any],
                   aggregates: Mapping[str, float] | None) -> dict[str, float]:
    """The model's inputs by name (`train.video_features`, as build-dataset makes them), plus the snapshot-1
    count columns its forecast totals need."""
    names = [*predictor.meta_features, *(predictor.card.get("count_t0_columns") or {}).values()]
    return video_feature_values(temporal, aggregates, dict.fromkeys(names))


def interval_summary(predictor: Predictor) -> dict[str, Any] | None:
    """The level of the model's intervals and, where `trendflow compare` evaluated it, the test coverage."""
    if predictor.intervals is None:
        return None
    out: dict[str, Any] = {"level": predictor.intervals.level, "method": predictor.intervals.method}
    if predictor.dir.exists("metrics.json"):
        try:
            doc = predictor.dir.read_json("metrics.json")
            out["test_coverage"] = {h: {k: v for k, v in m.items() if k in ("coverage", "mean_width", "n")}
                                    for h, m in (doc.get("intervals") or {}).items()}
        except (ValueError, OSError):
            pass
    return out
