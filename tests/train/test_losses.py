"""The masked multi-horizon loss: masked heads contribute nothing (not even gradient), weights, penalty."""

import pytest
import torch

from train.losses import LossConfig, masked_multihorizon_loss


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(5, 2, 3, generator=g, requires_grad=True)
    target = torch.randn(5, 2, 3, generator=g)
    mask = torch.rand(5, 2, 3, generator=g) > 0.4
    return pred, target, mask


@pytest.mark.parametrize("kind", ["huber", "mse"])
def test_masked_heads_get_exactly_zero_gradient(kind):
    pred, target, mask = _inputs()
    target = torch.where(mask, target, torch.full_like(target, float("nan")))  # masked labels are NaN
    loss, _ = masked_multihorizon_loss(pred, target, mask, LossConfig(kind=kind))
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.all(pred.grad[~mask] == 0)
    assert torch.all(pred.grad[mask] != 0)


def test_masked_entries_do_not_change_the_loss():
    pred, target, mask = _inputs()
    loss_a, _ = masked_multihorizon_loss(pred, target, mask)
    target_b = torch.where(mask, target, target + 1000.0)  # wild values where masked
    loss_b, _ = masked_multihorizon_loss(pred, target_b, mask)
    assert torch.allclose(loss_a, loss_b)


def test_matches_hand_computed_mse_with_head_weights():
    pred = torch.tensor([[[1.0, 2.0], [0.0, 0.0]]])  # (1, T=2, H=2)
    target = torch.tensor([[[0.0, 0.0], [3.0, 0.0]]])
    mask = torch.tensor([[[True, True], [True, False]]])
    weights = ((1.0, 2.0), (0.5, 1.0))
    loss, _ = masked_multihorizon_loss(pred, target, mask, LossConfig(kind="mse", head_weights=weights))
    expected = (1.0 * 1 + 2.0 * 4 + 0.5 * 9) / (1.0 + 2.0 + 0.5)
    assert loss.item() == pytest.approx(expected)


def test_monotonic_penalty_only_when_shorter_horizon_exceeds_longer():
    target = torch.zeros(1, 1, 3)
    mask = torch.ones(1, 1, 3, dtype=torch.bool)
    ordered = torch.tensor([[[1.0, 2.0, 3.0]]])
    inverted = torch.tensor([[[3.0, 2.0, 1.0]]])
    cfg = LossConfig(kind="mse", monotonic_penalty=1.0)
    _, parts_ok = masked_multihorizon_loss(ordered, target, mask, cfg)
    _, parts_bad = masked_multihorizon_loss(inverted, target, mask, cfg)
    assert parts_ok["monotonic"].item() == 0.0
    assert parts_bad["monotonic"].item() == pytest.approx(1.0)  # mean(relu([1, 1]))


def test_all_masked_batch_gives_zero_loss_not_nan():
    pred, target, _ = _inputs()
    loss, _ = masked_multihorizon_loss(pred, target, torch.zeros_like(target, dtype=torch.bool))
    assert loss.item() == 0.0


def test_shape_mismatch_and_unknown_kind_are_rejected():
    pred, target, mask = _inputs()
    with pytest.raises(ValueError, match="shapes differ"):
        masked_multihorizon_loss(pred, target[:, :1], mask)
    with pytest.raises(ValueError, match="huber"):
        LossConfig(kind="l1")
