"""Neural forecasters, parametrised over the registry: shapes, masks, missing modalities, learning."""

import pytest
import torch

from tests.train.conftest import TINY
from train.losses import LossConfig, masked_multihorizon_loss
from train.registry import create_model, get_entry, list_models, model_kwargs
from train.synthetic_data import random_batch

NEURAL = list_models(kind="torch")
DIMS = {"meta_dim": 5, "e_dim": 16, "a_dim": 8, "n_targets": 2, "n_horizons": 3}


def _model(name, **kw):
    torch.manual_seed(0)
    return create_model(name, **{**TINY, **DIMS, **kw}).eval()


def test_registry_has_every_model_and_aliases():
    assert set(list_models()) >= {"baseline", "szabo_huberman", "v0", "v0_content", "v1_late_fusion",
                                  "v2_transformer"}
    assert get_entry("v2").name == "v2_transformer" and get_entry("v1").name == "v1_late_fusion"
    with pytest.raises(KeyError, match="unknown model"):
        get_entry("v3")


def test_keyword_overrides_win_over_config_and_defaults():
    kw = model_kwargs("v2_transformer", {"d_model": 32, "n_layers": 3}, d_model=16)
    assert kw["d_model"] == 16 and kw["n_layers"] == 3 and kw["n_heads"] == 4  # override > config > default
    model = create_model("v2_transformer", {"n_layers": 3}, **TINY, **DIMS)
    assert len(model.encoder.layers) == 3


@pytest.mark.parametrize("name", NEURAL)
@pytest.mark.parametrize("shots", [1, 256])
def test_output_shape_for_1_and_256_shots(name, shots):
    model = _model(name)
    batch = random_batch(b=3, s=shots, f=5, d=16, da=8)
    out = model(batch)
    assert out.shape == (3, 2, 3)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NEURAL)
def test_more_than_max_shots_is_rejected_or_pooled(name):
    model = _model(name, max_shots=8)
    batch = random_batch(b=2, s=9, f=5, d=16, da=8)
    if name == "v2_transformer":
        with pytest.raises(ValueError, match="max_shots"):
            model(batch)
    else:
        assert model(batch).shape == (2, 2, 3)  # attention pooling has no position table


@pytest.mark.parametrize("name", NEURAL)
def test_video_without_audio_ignores_audio_values(name):
    model = _model(name)
    batch = random_batch(b=3, s=6, f=5, d=16, da=8, audio=False)
    out = model(batch)
    batch["A_shot"] = torch.randn_like(batch["A_shot"]) * 100  # garbage behind an all-False mask
    assert torch.isfinite(out).all()
    assert torch.allclose(out, model(batch), atol=1e-5)


@pytest.mark.parametrize("name", NEURAL)
def test_missing_audio_changes_the_prediction(name):
    # The missing-modality token is used: hiding the audio must matter (it is not silently ignored).
    model = _model(name)
    batch = random_batch(b=3, s=6, f=5, d=16, da=8, audio=True)
    full = model(batch)
    batch["A_mask"] = torch.zeros_like(batch["A_mask"])
    assert not torch.allclose(full, model(batch), atol=1e-6)


@pytest.mark.parametrize("name", NEURAL)
def test_padding_does_not_change_predictions(name):
    model = _model(name)
    batch = random_batch(b=2, s=5, f=5, d=16, da=8)
    out = model(batch)
    padded = dict(batch)
    for key, width in (("E_shot", 16), ("A_shot", 8)):
        extra = torch.randn(2, 7, width) * 50  # padding values must be invisible
        padded[key] = torch.cat([batch[key], extra], dim=1)
    for key in ("E_mask", "A_mask"):
        padded[key] = torch.cat([batch[key], torch.zeros(2, 7, dtype=torch.bool)], dim=1)
    assert torch.allclose(out, model(padded), atol=1e-5)


@pytest.mark.parametrize("name", NEURAL)
def test_missing_meta_value_is_not_a_zero(name):
    model = _model(name)
    batch = random_batch(b=2, s=4, f=5, d=16, da=8)
    batch["meta"][:, 2] = float("nan")
    out_nan = model(batch)
    batch["meta"][:, 2] = 0.0
    assert torch.isfinite(out_nan).all()
    assert not torch.allclose(out_nan, model(batch), atol=1e-6)  # the presence mask tells them apart


@pytest.mark.parametrize("name", NEURAL)
def test_loss_decreases_over_a_few_steps(name):
    model = _model(name).train()
    batch = random_batch(b=16, s=10, f=5, d=16, da=8, seed=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    cfg = LossConfig(monotonic_penalty=0.1)
    losses = []
    for _ in range(40):
        loss, _ = masked_multihorizon_loss(model(batch), batch["targets"], batch["target_mask"], cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="divisible"):
        create_model("v2_transformer", **{**DIMS, "d_model": 18, "n_heads": 4})
    with pytest.raises(ValueError, match="meta_dim"):
        create_model("v1_late_fusion", **{**DIMS, "meta_dim": 0})


@pytest.mark.parametrize("name", NEURAL)
def test_content_aggregates_have_their_own_branch(name):
    model = _model(name, content_dim=2)
    assert model.meta_encoder.n_temporal == 3 and model.meta_encoder.content is not None
    batch = random_batch(b=3, s=4, f=5, d=16, da=8)
    out = model(batch)
    batch["meta"][:, 3:] = batch["meta"][:, 3:] + 5.0  # change only the two content columns
    assert out.shape == (3, 2, 3) and not torch.allclose(out, model(batch), atol=1e-6)
    with pytest.raises(ValueError, match="content_dim"):
        _model(name, content_dim=5)


def test_neural_meta_features_drop_masks_and_one_hots(train_dir):
    from train.data import load_schema
    schema = load_schema(train_dir)
    feats, content_dim = schema.neural_meta_features(use_content=True)
    assert "subscriberCount_present" not in feats and "subscriberCount" in feats
    assert feats[-content_dim:] == ["quality_mean", "shots_per_min", "loudness_lufs"]
    assert schema.neural_meta_features(use_content=False)[1] == 0


@pytest.mark.parametrize("name", NEURAL)
def test_batch_with_wrong_feature_count_is_a_clear_error(name):
    batch = random_batch(b=2, s=3, f=4, d=16, da=8)
    with pytest.raises(ValueError, match="meta has 4 features, model expects 5"):
        _model(name)(batch)
