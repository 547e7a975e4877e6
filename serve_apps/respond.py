"""The one place the answer's `summary` is made (serve_apps/summary/, issue #12).

The summary cites the training data of the model that answered (its card's `training_data_uri`), the
v0 LightGBM's contributions, and what-if runs of the answering model itself: the same predictor, the same
shots, one feature moved at a time. A summary that cannot be made costs the answer its summary, never
the forecast: the reason is logged and `summary` is null.
"""

from __future__ import annotations

import logging
from typing import Any

from serve_apps.summary import Summarizer, SummaryConfig, shots_from_store
from trendflow.artifacts import RunKey

log = logging.getLogger(__name__)

# The LightGBM whose pred_contrib explains "why": the one with content aggregates when it is served.
CONTRIBUTION_MODELS = ("v0_content", "v0")


class Summaries:
    """One Summarizer per training-data folder, loaded on first use (reading the train split once)."""

    def __init__(self, chain, config: SummaryConfig, storage_options: dict | None = None):
        self.chain, self.config, self.storage_options = chain, config, storage_options
        self._by_uri: dict[str, Summarizer] = {}
        self.v0 = next((chain.loaded[n] for n in CONTRIBUTION_MODELS if n in chain.loaded), None)

    def summarizer(self, train_dir_uri: str) -> Summarizer:
        if train_dir_uri not in self._by_uri:
            self._by_uri[train_dir_uri] = Summarizer.load(train_dir_uri, models={"v0": self.v0}, config=self.config,
                                                          storage_options=self.storage_options)
        return self._by_uri[train_dir_uri]

    def summary_for(self, *, answer, content, store, platform_id: str, video_id: str, category: str | None,
                    age_bucket: str | None, locale: str, detail: str) -> dict[str, Any] | None:
        card = answer.predictor.card
        uri = card.get("training_data_uri")
        if not uri:
            log.warning("no summary: the card of %s has no training_data_uri", answer.model)
            return None
        shots = content.shots

        def predict_many(rows: list[dict[str, Any]]) -> list[dict[str, float]]:  # one batch: same video, same shots
            return answer.predictor.predict_variants([dict(r, age_bucket=age_bucket) for r in rows], shots.e_shot,
                                                     shots.e_present, shots.a_shot, shots.a_present)

        try:
            per_shot = None
            if detail == "full" and content.run_id:
                key = RunKey(platform_id, video_id, content.run_id, content.config_hash,
                             content.sampling_policy_version)
                per_shot = shots_from_store(store, key)
            return self.summarizer(uri).summarize(
                features=answer.features, category=category, predict_many=predict_many, forecast=answer.forecast,
                card=card, shots=per_shot, locale=locale, detail=detail,
                cache_key=(video_id, content.run_id, card.get("model_name")))
        except Exception as e:  # noqa: BLE001 — the forecast stands without its summary
            log.warning("no summary for %s: %s: %s", video_id, type(e).__name__, e)
            return None
