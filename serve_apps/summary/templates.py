"""Deterministic RU/EN text of a summary: the same facts always give the same words and numbers.

Every number printed here is a value of the video's artifacts (its features), of the training data's
reference statistics (percentile, median, count), of the answering model (forecast, what-if runs) or
of the v0 model's contributions. Config values are never printed. Phrases live in `PHRASES`, one
entry per locale with the same keys, so both languages say the same things.
"""

from __future__ import annotations

import math
from typing import Any

from serve_apps.summary.contributions import Contributions
from serve_apps.summary.levers import LEVERS, feature_label
from serve_apps.summary.numbers import fmt, pct_decimals
from serve_apps.summary.reference import ALL, Reference
from serve_apps.summary.whatif import LeverFinding

TEMPLATE_VERSION = "1"
LOCALES = ("ru", "en")
SECTIONS = ("strong", "weak", "actions", "why")

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "strong": "What is strong", "weak": "What is weak", "actions": "Three actions", "why": "Why",
        "forecast": "{model} forecast of {target} in {h} days: {delta}",
        "forecast_total": " (total {total})",
        "forecast_interval": ", {level}% interval {low}–{high}",
        "group_cat": "of {n} training videos in “{cat}”", "group_all": "of all {n} training videos",
        "state": "{label} {value} (percentile {p} {group}, median {median})",
        "strong_item": "{state}: at the median the model predicts {pct}% {target} in {h} days",
        "weak_item": "{state}: at the median the model predicts {pct}% {target} in {h} days",
        "action": "{direction}, {src} → {dst}: {pct}% {target} at {h} days ({abs} {target})",
        "action_abs": "{direction}, {src} → {dst}: {abs} {target} at {h} days",
        "none_strong": "No lever far from typical is predicted to help the forecast.",
        "none_weak": "No lever far from typical is predicted to hold the forecast back.",
        "none_actions": "No single lever moved to its category's median is predicted to raise {target}.",
        "whatif_failed": "The model's what-if runs failed, so no lever effects can be given.",
        "why_head": "Largest contributions to the v0 forecast of {target} in {h} days (× is how much each one "
                    "multiplies the forecast):",
        "why_item": "{label} = {value}: ×{factor}",
        "why_item_missing": "{label} (missing): ×{factor}",
        "why_none": "Per-feature contributions are unavailable: no v0 model with this head is loaded.",
        "missing": "Missing data, so nothing is said about it: {labels}.",
        "missing_ref": "Not in the training data: {labels}.",
        "features": "Features", "shots": "Shots",
        "table_feature": "{label}: value {value}; percentile {p}; median {median}; contribution {c}",
        "missing_word": "missing", "shot": "shot",
    },
    "ru": {
        "strong": "Что сильно", "weak": "Что слабо", "actions": "Три действия", "why": "Почему",
        "forecast": "Прогноз {model}, {target} за {h} дн.: {delta}",
        "forecast_total": " (всего {total})",
        "forecast_interval": ", интервал {level}%: {low}–{high}",
        "group_cat": "среди {n} обучающих видео категории «{cat}»", "group_all": "среди всех {n} обучающих видео",
        "state": "{label} {value} (перцентиль {p} {group}, медиана {median})",
        "strong_item": "{state}: при медианном значении модель предсказывает {pct}% ({target}, {h} дн.)",
        "weak_item": "{state}: при медианном значении модель предсказывает {pct}% ({target}, {h} дн.)",
        "action": "{direction}, {src} → {dst}: {pct}% ({target} за {h} дн., {abs})",
        "action_abs": "{direction}, {src} → {dst}: {abs} ({target} за {h} дн.)",
        "none_strong": "Ни один заметно нетипичный параметр не помогает прогнозу.",
        "none_weak": "Ни один заметно нетипичный параметр не тянет прогноз вниз.",
        "none_actions": "Перенос одного параметра к медиане категории, по модели, не увеличит {target}.",
        "whatif_failed": "Расчёт «что если» на модели не удался, поэтому влияние параметров не приводится.",
        "why_head": "Самые большие вклады в прогноз v0 ({target} за {h} дн.; × — во сколько раз каждый "
                    "меняет прогноз):",
        "why_item": "{label} = {value}: ×{factor}",
        "why_item_missing": "{label} (нет данных): ×{factor}",
        "why_none": "Вклады признаков недоступны: модель v0 с этим прогнозом не загружена.",
        "missing": "Нет данных, поэтому об этом ничего не сказано: {labels}.",
        "missing_ref": "Нет в обучающих данных: {labels}.",
        "features": "Признаки", "shots": "Планы",
        "table_feature": "{label}: значение {value}; перцентиль {p}; медиана {median}; вклад {c}",
        "missing_word": "нет данных", "shot": "план",
    },
}
TARGET_WORDS = {"en": {"views": "views", "likes": "likes", "comments": "comments"},
                "ru": {"views": "просмотры", "likes": "лайки", "comments": "комментарии"}}


def target_word(target: str, locale: str) -> str:
    return TARGET_WORDS[locale].get(target, target)


def value_text(feature: str, value: float | None, locale: str) -> str:
    """A feature value with the lever's unit and precision; other features: up to 4 significant decimals."""
    if value is None:
        return PHRASES[locale]["missing_word"]
    lever = LEVERS.get(feature)
    if lever is None:
        decimals = 0 if float(value).is_integer() or abs(value) >= 100 else (2 if abs(value) >= 1 else 4)
        return fmt(value, decimals, locale)
    unit = lever.unit_in(locale)
    return f"{fmt(value, lever.decimals, locale)} {unit}".strip()


def group_text(ref: Reference, locale: str) -> str:
    p = PHRASES[locale]
    n = fmt(ref.n, 0, locale)
    return p["group_all"].format(n=n) if ref.group == ALL else p["group_cat"].format(n=n, cat=ref.group)


def state_text(f: LeverFinding, locale: str) -> str:
    return PHRASES[locale]["state"].format(
        label=feature_label(f.feature, locale), value=value_text(f.feature, f.value, locale),
        p=fmt(f.percentile, 0, locale), group=group_text(f.reference, locale),
        median=value_text(f.feature, f.median, locale))


def _pct(x: float, locale: str) -> str:
    return fmt(x, pct_decimals(x), locale, sign=True)


def finding_item(f: LeverFinding, kind: str, locale: str, target: str, h: int) -> dict[str, Any]:
    """A strength or weakness: the lever's state and what the model predicts at the median."""
    text = PHRASES[locale][f"{kind}_item"].format(
        state=state_text(f, locale), pct=_pct(f.effect_pct, locale) if f.effect_pct is not None else
        fmt(f.effect_abs, 0, locale, sign=True), target=target_word(target, locale), h=h)
    return {**finding_fields(f), "text": text}


def action_item(f: LeverFinding, locale: str, target: str, h: int) -> dict[str, Any]:
    """"louder mix, −23 → −14 LUFS: +12% views at 14 days (+148 views)"."""
    lever = LEVERS[f.feature]
    up = f.median > f.value
    direction = (lever.up if up else lever.down)[locale]
    unit = lever.unit_in(locale)
    src = fmt(f.value, lever.decimals, locale)
    dst = f"{fmt(f.median, lever.decimals, locale)} {unit}".strip()
    kw = dict(direction=direction, src=src, dst=dst, target=target_word(target, locale), h=h,
              abs=fmt(f.effect_abs, 0, locale, sign=True))
    key = "action" if f.effect_pct is not None else "action_abs"
    if f.effect_pct is not None:
        kw["pct"] = _pct(f.effect_pct, locale)
    return {**finding_fields(f), "direction": "up" if up else "down", "text": PHRASES[locale][key].format(**kw)}


def finding_fields(f: LeverFinding) -> dict[str, Any]:
    ref = f.reference
    return {"feature": f.feature, "status": f.status, "value": f.value, "percentile": f.percentile,
            "median": f.median, "reference_group": ref.group if ref else None, "reference_n": ref.n if ref else None,
            "delta_now": f.delta_now, "delta_at_median": f.delta_moved, "effect_pct": f.effect_pct,
            "effect_abs": f.effect_abs}


def why_items(contrib: Contributions | None, k: int, locale: str, target: str, h: int) -> list[dict[str, Any]]:
    p = PHRASES[locale]
    if contrib is None:
        return [{"kind": "no_contributions", "text": p["why_none"]}]
    items: list[dict[str, Any]] = [{"kind": "contributions_head", "model": contrib.model_name,
                                    "text": p["why_head"].format(target=target_word(target, locale), h=h)}]
    for name, c in contrib.largest(k):
        value = contrib.inputs.get(name)
        factor = fmt(math.exp(c), 2, locale)
        key = "why_item" if value is not None else "why_item_missing"
        items.append({"kind": "contribution", "feature": name, "value": value, "contribution": c,
                      "factor": math.exp(c),
                      "text": p[key].format(label=feature_label(name, locale),
                                            value=value_text(name, value, locale), factor=factor)})
    return items


def missing_items(findings: list[LeverFinding], locale: str) -> list[dict[str, Any]]:
    p, out = PHRASES[locale], []
    for status, key in (("missing_value", "missing"), ("missing_reference", "missing_ref")):
        names = [f.feature for f in findings if f.status == status]
        if names:
            out.append({"kind": status, "features": names,
                        "text": p[key].format(labels=", ".join(feature_label(n, locale) for n in names))})
    return out


def forecast_line(forecast: dict, card: dict, target: str, h: int, locale: str) -> str | None:
    head = (forecast or {}).get(target, {}).get(str(h))
    if not head or head.get("delta") is None:
        return None
    p = PHRASES[locale]
    text = p["forecast"].format(model=card.get("model_name", "?"), target=target_word(target, locale), h=h,
                                delta=fmt(head["delta"], 0, locale, sign=True))
    if head.get("total") is not None:
        text += p["forecast_total"].format(total=fmt(head["total"], 0, locale))
    level = (card.get("intervals") or {}).get("level")
    if level is not None and head.get("low") is not None and head.get("high") is not None:
        text += p["forecast_interval"].format(level=fmt(100 * level, 0, locale), low=fmt(head["low"], 0, locale),
                                              high=fmt(head["high"], 0, locale))
    return text + "."


def section_text(header: str | None, sections: dict[str, list[dict[str, Any]]], locale: str) -> str:
    p = PHRASES[locale]
    lines = [header, ""] if header else []
    for name in SECTIONS:
        lines.append(p[name])
        for item in sections[name]:
            lines.append(f"- {item['text']}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def tables_text(tables: dict[str, list[dict[str, Any]]], locale: str) -> str:
    p = PHRASES[locale]
    lines = ["", p["features"]]
    for row in tables["features"]:
        lines.append("- " + p["table_feature"].format(
            label=feature_label(row["feature"], locale), value=value_text(row["feature"], row["value"], locale),
            p=fmt(row["percentile"], 0, locale) if row["percentile"] is not None else "—",
            median=value_text(row["feature"], row["median"], locale) if row["median"] is not None else "—",
            c=fmt(row["contribution"], 3, locale, sign=True) if row["contribution"] is not None else "—"))
    if tables.get("shots"):
        lines += ["", p["shots"]]
        for row in tables["shots"]:
            cells = "; ".join(f"{k} {value_text(k, v, locale)}" for k, v in row.items() if k != "shot")
            lines.append(f"- {p['shot']} {row['shot']}: {cells}")
    return "\n".join(lines) + "\n"
