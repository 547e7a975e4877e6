"""Masked multi-horizon regression loss on log1p targets (SPEC §3–4).

    loss = Σ w[t,h] · mask[b,t,h] · ℓ(pred, y) / Σ w[t,h] · mask[b,t,h]  +  λ · monotonicity

ℓ is Huber (default) or squared error. A masked head (a missing horizon or label) contributes
nothing — not even a gradient: its target is replaced before ℓ is evaluated, so a NaN label can
never leak in. The optional soft penalty λ · mean(relu(pred[h_i] − pred[h_{i+1}])) discourages a
shorter horizon's predicted growth from exceeding a longer one's (growth deltas are cumulative).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossConfig:
    kind: str = "huber"  # "huber" | "mse"
    huber_delta: float = 1.0
    head_weights: tuple[tuple[float, ...], ...] | None = None  # (T, H); None = all ones
    monotonic_penalty: float = 0.0

    def __post_init__(self):
        if self.kind not in ("huber", "mse"):
            raise ValueError(f"loss kind must be 'huber' or 'mse', got {self.kind!r}")


def masked_multihorizon_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                             cfg: LossConfig = LossConfig()) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """pred, target, mask: (B, T, H) → (scalar loss, parts). Horizons must be ascending along H."""
    if pred.shape != target.shape or pred.shape != mask.shape:
        raise ValueError(f"shapes differ: pred {tuple(pred.shape)}, target {tuple(target.shape)}, "
                         f"mask {tuple(mask.shape)}")
    mask = mask.bool() & torch.isfinite(target)
    safe_target = torch.where(mask, target, pred.detach())  # masked entries: zero error, zero gradient
    if cfg.kind == "huber":
        per = F.huber_loss(pred, safe_target, reduction="none", delta=cfg.huber_delta)  # (B, T, H)
    else:
        per = (pred - safe_target) ** 2
    w = mask.to(pred.dtype)
    if cfg.head_weights is not None:
        w = w * torch.as_tensor(cfg.head_weights, dtype=pred.dtype, device=pred.device)  # (T, H) broadcast
    regression = (per * w).sum() / w.sum().clamp_min(1e-8)
    parts = {"regression": regression.detach()}
    loss = regression
    if cfg.monotonic_penalty > 0 and pred.shape[-1] > 1:
        violation = F.relu(pred[..., :-1] - pred[..., 1:])  # (B, T, H-1)
        mono = violation.mean()
        parts["monotonic"] = mono.detach()
        loss = loss + cfg.monotonic_penalty * mono
    return loss, parts
