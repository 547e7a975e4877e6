"""The grounded summary of one forecast: "what is strong", "what is weak", "three actions", "why".

    from serve_apps.summary import Summarizer, SummaryConfig
    s = Summarizer.load(train_dir_uri, models={"v0": v0_predictor_or_None}, config=SummaryConfig())
    out = s.summarize(features=..., category="Music", predict_many=..., forecast=..., card=model_card,
                      shots=None, locale="en", detail="short", cache_key=(video_id, run_id, profile))

Where each number comes from:
- percentiles, medians, counts: the training data's train split (`reference.ReferenceStats`), per
  category, or all training videos when the category is small;
- strengths, weaknesses and actions: what-if runs of the SAME model that answered (`predict_many`),
  one lever moved to its category median at a time (`whatif`);
- "why": the v0 model's per-feature contributions (`contributions`, LightGBM pred_contrib);
- the first line: the answer's own forecast.
The text is a deterministic template (`templates`); an optional LLM may only rephrase it (`llm`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from serve_apps.summary.config import SummaryConfig
from serve_apps.summary.contributions import boosters_of, contributions_of
from serve_apps.summary.numbers import finite
from serve_apps.summary.reference import ReferenceStats
from serve_apps.summary.templates import (
    LOCALES,
    PHRASES,
    TEMPLATE_VERSION,
    action_item,
    finding_item,
    forecast_line,
    missing_items,
    section_text,
    tables_text,
    target_word,
    why_items,
)
from serve_apps.summary.whatif import assess_levers, run_what_if, split_findings

DETAILS = ("short", "full")


class SummaryInputError(ValueError):
    """A summarize() argument a caller got wrong (the message names it)."""


class Summarizer:
    def __init__(self, reference: ReferenceStats, v0=None, config: SummaryConfig | None = None):
        self.reference, self.v0, self.config = reference, v0, config or SummaryConfig()
        self.llm = None
        if self.config.llm is not None:
            from serve_apps.summary.llm import LLMRenderer
            self.llm = LLMRenderer(self.config.llm)

    @classmethod
    def load(cls, train_dir_uri: str, models: Mapping[str, Any] | None = None, config: SummaryConfig | None = None,
             storage_options: dict | None = None) -> "Summarizer":
        """Read the reference statistics of TRAIN_DIR (the model card's `training_data_uri`) once.
        `models["v0"]`: a loaded v0 `train.model_dir.Predictor` for the contributions, or None."""
        from train.data import TrainDir
        config = config or SummaryConfig()
        v0 = (models or {}).get("v0")
        td = TrainDir(train_dir_uri, storage_options)
        card = td.card()
        parts = boosters_of(v0) if v0 is not None else None
        features = [*config.levers, *(parts[2] if parts else []), *card.get("temporal_features", []),
                    *card.get("content_features", [])]
        reference = ReferenceStats.load(td, features, config.min_category_rows)
        return cls(reference, v0, config)

    def measured_head(self, card: Mapping[str, Any]) -> tuple[str, int]:
        """(target, horizon) the actions are measured on: the config's when the card has them, else the
        card's first target and middle horizon."""
        targets, horizons = list(card["targets"]), [int(h) for h in card["horizons"]]
        target = self.config.target if self.config.target in targets else targets[0]
        horizon = self.config.horizon if self.config.horizon in horizons else horizons[(len(horizons) - 1) // 2]
        return target, horizon

    def summarize(self, *, features: Mapping[str, Any], category: str | None,
                  predict_many: Callable[[list[dict[str, Any]]], list[Mapping[str, float]]],
                  forecast: Mapping[str, Any] | None, card: Mapping[str, Any],
                  shots: Mapping[str, Sequence] | None = None,
                  locale: str = "ru", detail: str = "short", cache_key: tuple | None = None) -> dict[str, Any]:
        if locale not in LOCALES:
            raise SummaryInputError(f"locale must be one of {list(LOCALES)}, got {locale!r}")
        if detail not in DETAILS:
            raise SummaryInputError(f"detail must be one of {list(DETAILS)}, got {detail!r}")
        cfg, p = self.config, PHRASES[locale]
        target, h = self.measured_head(card)
        head = f"{target}_{h}"
        findings = assess_levers(features, category, cfg.levers, self.reference, cfg.low_percentile,
                                 cfg.high_percentile)
        whatif_error = None
        try:
            run_what_if(findings, features, predict_many, head)
        except Exception as e:  # a failing what-if run loses the advice, not the answer
            whatif_error = f"{type(e).__name__}: {e}"
        strong, weak, actions = split_findings(findings, cfg.min_effect_pct, cfg.n_actions)
        contrib = contributions_of(self.v0, features, head)
        tw = target_word(target, locale)
        sections = {
            "strong": [finding_item(f, "strong", locale, target, h) for f in strong]
            or [{"kind": "none", "text": p["whatif_failed" if whatif_error else "none_strong"]}],
            "weak": [finding_item(f, "weak", locale, target, h) for f in weak]
            or [{"kind": "none", "text": p["whatif_failed" if whatif_error else "none_weak"]}],
            "actions": [action_item(f, locale, target, h) for f in actions]
            or [{"kind": "none", "text": p["whatif_failed"] if whatif_error else p["none_actions"].format(target=tw)}],
            "why": [*why_items(contrib, cfg.n_contributions, locale, target, h), *missing_items(findings, locale)],
        }
        text = section_text(forecast_line(forecast or {}, card, target, h, locale), sections, locale)
        renderer: dict[str, Any] = {"kind": "template", "template_version": TEMPLATE_VERSION}
        if self.llm is not None:
            text, info = self.llm.render(text, locale, cache_key)
            renderer.update(info)
        tables = None
        if detail == "full":
            tables = self._tables(features, category, contrib, findings, shots)
            text += tables_text(tables, locale)
        return {**sections, "text": text, "tables": tables, "renderer": renderer,
                "measured_on": {"model": card.get("model_name"), "model_version": card.get("model_version"),
                                "target": target, "horizon": h, "head": head,
                                "contributions_model": contrib.model_name if contrib else None},
                "reference": {"training_data_uri": self.reference.source,
                              "training_data_version": self.reference.training_data_version,
                              "category": category},
                "errors": {"what_if": whatif_error} if whatif_error else {}}

    def _tables(self, features, category, contrib, findings, shots) -> dict[str, list[dict[str, Any]]]:
        """Per-feature rows (value, percentile, median, v0 contribution) and per-shot rows (analysts)."""
        names = list(dict.fromkeys([*(contrib.values if contrib else []), *self.config.levers]))
        rows = []
        for name in names:
            value, ref = finite(features.get(name)), self.reference.lookup(name, category)
            rows.append({"feature": name, "value": value,
                         "percentile": ref.percentile(value) if ref is not None and value is not None else None,
                         "median": ref.median if ref is not None else None,
                         "reference_group": ref.group if ref is not None else None,
                         "reference_n": ref.n if ref is not None else None,
                         "contribution": contrib.values.get(name) if contrib else None})
        what_if = [{"feature": f.feature, "status": f.status, "value": f.value, "median": f.median,
                    "delta_now": f.delta_now, "delta_at_median": f.delta_moved, "effect_pct": f.effect_pct,
                    "effect_abs": f.effect_abs} for f in findings]
        return {"features": rows, "what_if": what_if, "shots": shot_rows(shots)}


def shot_rows(shots: Mapping[str, Sequence] | None) -> list[dict[str, Any]]:
    """{name: per-shot array} → one row per shot with every array of the shots' length (NaN → None)."""
    if not shots:
        return []
    import numpy as np
    arrays = {k: np.asarray(v) for k, v in shots.items() if np.ndim(v) == 1}
    if not arrays:
        return []
    n = max(len(v) for v in arrays.values())
    arrays = {k: v for k, v in arrays.items() if len(v) == n and v.dtype.kind in "fiub"}
    return [{"shot": i, **{k: finite(v[i]) for k, v in arrays.items()}} for i in range(n)]
