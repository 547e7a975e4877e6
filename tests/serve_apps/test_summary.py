"""The grounded summary on a real training set and a real v0_content model: every number in the text is
recomputed here from the training data and the model through their public calls."""

import json
import math

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import percentileofscore

from serve_apps.summary import Summarizer, SummaryConfig, SummaryInputError
from serve_apps.summary.levers import LEVERS
from serve_apps.summary.numbers import extract, pct_decimals
from tests.serve_apps.summary_fixtures import batched_predict_many, summarize
from train.data import float_column, read_split

HEAD, TARGET, H = "views_14", "views", 14  # the default: the card's first target, its middle horizon


@pytest.fixture(scope="module")
def train_table(summary_train_dir):
    return read_split(summary_train_dir, "train")


def counting(predict_many):
    """predict_many that records every batch it is given."""
    def wrapped(rows):
        wrapped.batches.append([dict(r) for r in rows])
        return predict_many(rows)
    wrapped.batches = []
    return wrapped


def reference(train_table, feature, category, min_rows=20):
    """(values, group) recomputed from the train split: the category's finite values, else all videos'."""
    x = float_column(train_table, feature)
    cats = np.array(train_table["category"].to_pylist(), dtype=object)
    v = x[(cats == category) & np.isfinite(x)]
    if len(v) >= min_rows:
        return v, category
    return x[np.isfinite(x)], "all"


def present(v) -> bool:
    return v is not None and math.isfinite(v)


def growth(v0, features) -> float:
    return math.expm1(v0.predict_video(features)[HEAD])


def test_percentiles_medians_and_effects_are_the_data_and_the_model(summarizer, summary_v0, train_table,
                                                                   video_with_actions):
    features, category = video_with_actions
    pm = counting(batched_predict_many(summary_v0))
    out, _ = summarize(summarizer, summary_v0, features, category, predict_many=pm)
    assert len(pm.batches) == 1  # every what-if in one batched call, the video itself first
    assert pm.batches[0][0] == features
    items = [i for sec in ("strong", "weak", "actions") for i in out[sec] if "feature" in i]
    assert items
    now = growth(summary_v0, features)
    for item in items:
        name = item["feature"]
        values, group = reference(train_table, name, category)
        assert item["reference_group"] == group and item["reference_n"] == len(values)
        assert item["percentile"] == pytest.approx(percentileofscore(values, features[name], kind="mean"))
        assert item["median"] == pytest.approx(float(np.median(values)))
        moved = growth(summary_v0, {**features, name: float(np.median(values))})  # the same model, one video
        assert item["effect_abs"] == pytest.approx(moved - now, rel=1e-5, abs=1e-6)
        assert item["effect_pct"] == pytest.approx(100 * (moved / now - 1), rel=1e-5, abs=1e-6)
        if "direction" in item:  # an action: "louder mix, −23 → −14 LUFS: +12% views at 14 days"
            lever = LEVERS[name]
            pct = round(item["effect_pct"], pct_decimals(item["effect_pct"]))
            nums = extract(item["text"], "en")
            assert nums[:3] == [round(features[name], lever.decimals), round(item["median"], lever.decimals), pct]
            assert f"at {H} days" in item["text"]


def test_actions_are_ranked_by_the_models_what_if_effect(summarizer, summary_v0, train_table, video_with_actions):
    features, category = video_with_actions
    out, _ = summarize(summarizer, summary_v0, features, category)
    cfg, now = summarizer.config, growth(summary_v0, features)
    effects = {}
    for name in cfg.levers:
        if name not in train_table.column_names or not present(features.get(name)):
            continue
        values, _ = reference(train_table, name, category)
        p = percentileofscore(values, features[name], kind="mean")
        if p <= cfg.low_percentile or p >= cfg.high_percentile:
            effects[name] = 100 * (growth(summary_v0, {**features, name: float(np.median(values))}) / now - 1)
    gains = sorted((n for n, e in effects.items() if e >= cfg.min_effect_pct), key=lambda n: -effects[n])
    assert [a["feature"] for a in out["actions"]] == gains[:3]
    losses = sorted((n for n, e in effects.items() if e <= -cfg.min_effect_pct), key=lambda n: effects[n])
    assert [s.get("feature") for s in out["strong"] if "feature" in s] == losses


def test_every_number_in_the_text_comes_from_the_artifacts_or_the_model(summarizer, summary_v0, train_table,
                                                                       video_with_actions):
    features, category = video_with_actions
    out, fc = summarize(summarizer, summary_v0, features, category)
    known: set[float] = {H, 80.0}  # the horizon and the interval level (model card)
    for k in ("delta", "total", "low", "high"):
        known.add(round(abs(fc[TARGET][str(H)][k])))
    for item in (i for sec in ("strong", "weak", "actions") for i in out[sec] if "feature" in i):
        d = LEVERS[item["feature"]].decimals
        known |= {abs(round(features[item["feature"]], d)), abs(round(item["median"], d)), round(item["percentile"]),
                  item["reference_n"], abs(round(item["effect_pct"], pct_decimals(item["effect_pct"]))),
                  abs(round(item["effect_abs"]))}
    # "why": the booster's own SHAP values for this video, recomputed here.
    booster = summary_v0.model.boosters[HEAD]
    names = summary_v0.model.params["features"]
    x = np.array([[np.nan if features.get(n) is None else float(features[n]) for n in names]], np.float32)
    contrib = booster.predict(x, pred_contrib=True)[0]
    assert contrib.sum() == pytest.approx(float(booster.predict(x)[0]), rel=1e-5)  # bias + Σ = the prediction
    why = [i for i in out["why"] if i.get("kind") == "contribution"]
    top = sorted(range(len(names)), key=lambda j: -abs(contrib[j]))[:3]
    assert [i["feature"] for i in why] == [names[j] for j in top]
    for j in top:
        known.add(round(math.exp(contrib[j]), 2))
        v = features.get(names[j])
        if present(v):
            known |= {abs(round(v, d)) for d in (0, 1, 2, 4)}
    cited = {abs(n) for n in extract(out["text"], "en")}
    assert cited, out["text"]
    assert {round(n, 6) for n in cited} <= {round(n, 6) for n in known}, out["text"]
    assert f"+{round(fc[TARGET][str(H)]['delta']):,}" in out["text"]  # the answer's own forecast comes first


def test_missing_loudness_is_said_missing_never_guessed(summarizer, summary_v0, video_with_actions):
    features, category = video_with_actions
    features = {**features, "audio_integrated_lufs": None}
    pm = counting(batched_predict_many(summary_v0))
    for locale, word, lead in (("en", "loudness", "Missing data"), ("ru", "громкость", "Нет данных")):
        out, _ = summarize(summarizer, summary_v0, features, category, locale=locale, predict_many=pm)
        assert all(i.get("feature") != "audio_integrated_lufs" for s in ("strong", "weak", "actions") for i in out[s])
        missing = [i for i in out["why"] if i.get("kind") == "missing_value"]
        assert missing and "audio_integrated_lufs" in missing[0]["features"]
        line = next(ln for ln in out["text"].splitlines() if lead in ln)
        assert word in line
    # no what-if run filled the loudness in
    assert all(r["audio_integrated_lufs"] is None for batch in pm.batches for r in batch)
    # levers the training data never measured are said to be absent there (colourfulness is not a column)
    out, _ = summarize(summarizer, summary_v0, features, category)
    absent = next(i for i in out["why"] if i.get("kind") == "missing_reference")
    assert "colorfulness_mean" in absent["features"] and "Not in the training data" in out["text"]


def test_ru_and_en_say_the_same_numbers_and_are_deterministic(summarizer, summary_v0, summary_train_dir,
                                                            video_with_actions):
    features, category = video_with_actions
    en, _ = summarize(summarizer, summary_v0, features, category, locale="en")
    ru, _ = summarize(summarizer, summary_v0, features, category, locale="ru")
    for heading in ("What is strong", "What is weak", "Three actions", "Why"):
        assert heading in en["text"]
    for heading in ("Что сильно", "Что слабо", "Три действия", "Почему"):
        assert heading in ru["text"]
    assert sorted(extract(en["text"], "en")) == sorted(extract(ru["text"], "ru"))
    assert "," in ru["text"] and "просмотры" in ru["text"]
    # a second Summarizer loaded from the same data gives the same answer, word for word
    again = Summarizer.load(summary_train_dir, models={"v0": summary_v0})
    ru2, _ = summarize(again, summary_v0, features, category, locale="ru")
    assert json.dumps(ru2, sort_keys=True, default=str) == json.dumps(ru, sort_keys=True, default=str)
    assert en["renderer"] == {"kind": "template", "template_version": "1"}


def test_full_detail_adds_feature_and_shot_tables(summarizer, summary_v0, train_table, video_with_actions):
    features, category = video_with_actions
    shots = {"shot_start_sec": np.array([0.0, 2.5, 4.0]), "quality_score": np.array([0.61, np.nan, 0.4]),
             "shot_motion_mean": np.array([0.1, 0.2, 0.05], np.float32)}
    out, _ = summarize(summarizer, summary_v0, features, category, detail="full", shots=shots)
    short, _ = summarize(summarizer, summary_v0, features, category)
    assert short["tables"] is None and out["text"].startswith(short["text"])
    rows = {r["feature"]: r for r in out["tables"]["features"]}
    names = summary_v0.model.params["features"]
    x = np.array([[np.nan if features.get(n) is None else float(features[n]) for n in names]], np.float32)
    contrib = summary_v0.model.boosters[HEAD].predict(x, pred_contrib=True)[0]
    for j, name in enumerate(names):  # every feature v0 saw, with its contribution
        assert rows[name]["contribution"] == pytest.approx(float(contrib[j]), abs=1e-9)
        if present(features.get(name)):
            values, group = reference(train_table, name, category)
            assert rows[name]["percentile"] == pytest.approx(percentileofscore(values, features[name], kind="mean"))
            assert rows[name]["reference_group"] == group
    assert out["tables"]["shots"] == [
        {"shot": 0, "shot_start_sec": 0.0, "quality_score": 0.61, "shot_motion_mean": pytest.approx(0.1)},
        {"shot": 1, "shot_start_sec": 2.5, "quality_score": None, "shot_motion_mean": pytest.approx(0.2)},
        {"shot": 2, "shot_start_sec": 4.0, "quality_score": 0.4, "shot_motion_mean": pytest.approx(0.05)}]
    assert "\nFeatures\n" in out["text"] and "\nShots\n" in out["text"]
    json.dumps(out, allow_nan=False)  # the Serve app returns it as JSON: no NaN, no numpy scalars


def test_a_small_category_is_compared_with_all_training_videos(summarizer, summary_v0, train_table,
                                                               video_with_actions):
    features, _ = video_with_actions
    n_small = sum(c == "Education" for c in train_table["category"].to_pylist())
    assert 0 < n_small < summarizer.config.min_category_rows
    for category in ("Education", None):
        out, _ = summarize(summarizer, summary_v0, features, category)
        items = [i for s in ("strong", "weak", "actions") for i in out[s] if "feature" in i]
        assert items and {i["reference_group"] for i in items} == {"all"}
        assert "training videos in" not in out["text"] and "of all " in out["text"]


def test_no_v0_and_a_failing_what_if_are_said_not_raised(summary_train_dir, summary_v0, video_with_actions):
    features, category = video_with_actions
    s = Summarizer.load(summary_train_dir, models={"v0": None})

    def broken(rows):
        raise RuntimeError("replica died")
    out, _ = summarize(s, summary_v0, features, category, predict_many=broken)
    assert out["errors"]["what_if"] == "RuntimeError: replica died"
    assert "what-if runs failed" in out["text"] and "no v0 model" in out["text"]
    assert all("feature" not in i for sec in ("strong", "weak", "actions") for i in out[sec])


def test_user_mistakes_name_the_field(summarizer, summary_v0, video_with_actions):
    features, category = video_with_actions
    with pytest.raises(SummaryInputError, match="locale"):
        summarize(summarizer, summary_v0, features, category, locale="de")
    with pytest.raises(SummaryInputError, match="detail"):
        summarize(summarizer, summary_v0, features, category, detail="long")
    with pytest.raises(ValidationError, match="loudnes"):
        SummaryConfig(levers=["loudnes"])
    with pytest.raises(ValidationError, match="bogus"):
        SummaryConfig(bogus=1)  # a typo in the config section is an error, not ignored


def test_reference_data_on_s3_gives_the_same_summary(s3_server, summarizer, summary_train_dir, summary_v0,
                                                     video_with_actions):
    from train.data import SPLITS, TrainDir, load_card, write_training_data
    opts = s3_server["storage_options"]
    uri = "s3://trendflow/summary/train_data"
    card = {k: v for k, v in load_card(summary_train_dir).items() if k not in ("training_data_version", "splits")}
    write_training_data(TrainDir(uri, opts), {s: read_split(summary_train_dir, s) for s in SPLITS}, card)
    on_s3 = Summarizer.load(uri, models={"v0": summary_v0}, storage_options=opts)
    features, category = video_with_actions
    remote, _ = summarize(on_s3, summary_v0, features, category)
    local, _ = summarize(summarizer, summary_v0, features, category)
    assert remote["text"] == local["text"] and remote["reference"]["training_data_uri"] == uri
