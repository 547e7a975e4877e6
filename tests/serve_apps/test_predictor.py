"""The fallback chain in-process on the real trained models: a corrupt or deleted v2 → v1 answers; only v0
left → v0 answers; a model raising at request time → the next one answers, and the answer says why."""

from __future__ import annotations

import json
import shutil

import pytest

from serve_apps.predictor import ModelChain, NoModelAnswered, Shots, UnknownModel

TEMPORAL = {"video_age_hours_at_snapshot1": 100.0, "views_s1": 1000.0, "likes_s1": 20.0}


@pytest.fixture()
def models_copy(corpus, tmp_path):
    shutil.copytree(corpus.models, tmp_path / "models")
    return tmp_path / "models"


def _answer(models):
    return ModelChain(str(models)).predict(TEMPORAL, None, Shots(), "d1_30")


def test_all_models_present_v2_answers(corpus):
    chain = ModelChain(str(corpus.models))
    assert chain.names[:3] == ["v2_transformer", "v1_late_fusion", "v0_content"]  # from the registry
    answer = chain.predict(TEMPORAL, None, Shots(), "d1_30")
    assert answer.model == "v2_transformer" and answer.fallback == []
    assert answer.forecast["views"]["7"]["total"] >= 1000.0


@pytest.mark.parametrize("damage", ["corrupt", "deleted"])
def test_a_broken_v2_checkpoint_makes_v1_answer(models_copy, damage):
    ckpt = models_copy / "v2_transformer" / "model.pt"
    if damage == "corrupt":
        ckpt.write_bytes(ckpt.read_bytes()[:100])
    else:
        ckpt.unlink()
    answer = _answer(models_copy)
    assert answer.model == "v1_late_fusion"
    assert [f["model"] for f in answer.fallback] == ["v2_transformer"]
    assert answer.fallback[0]["reason"].startswith("failed to load")


def test_only_v0_left_v0_answers(models_copy):
    for name in ("v2_transformer", "v1_late_fusion"):
        shutil.rmtree(models_copy / name)
    answer = _answer(models_copy)
    assert answer.model == "v0_content"
    assert [(f["model"], f["reason"].split(":")[0]) for f in answer.fallback] == [
        ("v2_transformer", "missing"), ("v1_late_fusion", "missing")]


def test_a_model_raising_at_request_time_falls_back(models_copy):
    card_path = models_copy / "v2_transformer" / "model_card.json"
    card = json.loads(card_path.read_text())
    card["e_dim"] = card["e_dim"] + 3  # loads fine, but no real E_shot fits it: predict raises
    card_path.write_text(json.dumps(card))
    import numpy as np
    e = np.ones((2, card["e_dim"] - 3), np.float32)
    answer = ModelChain(str(models_copy)).predict(TEMPORAL, None, Shots(e, np.ones(2, bool)), "d1_30")
    assert answer.model == "v1_late_fusion"
    assert answer.fallback[0]["model"] == "v2_transformer"
    assert answer.fallback[0]["reason"].startswith("failed at request time: ValueError")


def test_requested_models_and_unknown_names(corpus):
    chain = ModelChain(str(corpus.models))
    assert chain.order("v1") == ["v1_late_fusion", "v0_content", "v0"]
    assert chain.order("v0")[0] == "v0_content" and chain.order("v0_content")[0] == "v0_content"
    with pytest.raises(UnknownModel, match="'v7' is not served"):
        chain.order("v7")
    with pytest.raises(UnknownModel):
        chain.order("szabo_huberman")


def test_no_model_left_is_an_error_listing_every_reason(tmp_path):
    with pytest.raises(NoModelAnswered, match="v2_transformer: missing"):
        ModelChain(str(tmp_path)).predict(TEMPORAL, None, Shots(), "d1_30")
