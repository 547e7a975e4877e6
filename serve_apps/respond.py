"""The one place the answer's `summary` is made (the summary helper's contract, issue #12).

Until serve_apps/summary/ is merged this returns None, and /v1/predict answers `summary: null`.
When it lands, this function becomes:

    from serve_apps.summary import Summarizer
    s = Summarizer.load(card["training_data_uri"], models={"v0": chain.loaded.get("v0_content")},
                        config=serve_cfg.summary)
    return s.summarize(features=features, category=category, predict_many=..., forecast=answer.forecast,
                       card=answer.predictor.card, shots=None, locale=locale, detail=detail,
                       cache_key=(video_id, run_id, profile))
"""

from __future__ import annotations

from typing import Any


def summary_for(*, answer, features: dict[str, Any], category: str | None, video_id: str, run_id: str,
                locale: str, detail: str) -> dict[str, Any] | None:
    """The answer's summary (None until the summary branch lands)."""
    return None
