"""Layers shared by the neural forecasters (v1 late fusion, v2 transformer).

- `FeatureNormalizer`: raw meta features with NaN for missing → standardised values + presence mask.
  Missing values become 0 *and* a 0 in the mask, so the model always knows they were absent.
- `MetaEncoder`: normaliser + MLP over the meta features.
- `ShotTokenizer`: per-shot embeddings (E_shot or A_shot) → d_model, plus position and time embeddings.
- `MaskedAttentionPool`: attention pooling over the valid shots only.
- `MissingToken`: a learnable vector used in place of a modality a video does not have.
- `MultiHorizonHead`: d → (targets × horizons), de-standardised with the training targets' stats.

Batch contract (built by `train.data.collate`; B videos, S shots, F meta features, T targets, H horizons):
    meta (B, F) float, NaN = missing      E_shot (B, S, D) float   E_mask (B, S) bool (True = real shot)
    A_shot (B, Sa, Da) float              A_mask (B, Sa) bool      targets (B, T, H), target_mask (B, T, H)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

Tensor = torch.Tensor


class FeatureNormalizer(nn.Module):
    """Standardise features (log1p first for heavy-tailed non-negative ones); NaN → 0 plus a mask."""

    def __init__(self, n_features: int, clip: float = 6.0):
        super().__init__()
        self.clip = clip
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.register_buffer("log_mask", torch.zeros(n_features, dtype=torch.bool))

    @staticmethod
    def compute_stats(x: np.ndarray) -> dict[str, np.ndarray]:
        """Stats from training rows x (N, F) with NaN for missing; constant/empty columns get std 1."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            lo = np.nanmin(np.where(np.isfinite(x), x, np.nan), axis=0) if len(x) else np.zeros(x.shape[1])
            hi = np.nanpercentile(x, 99, axis=0) if len(x) else np.zeros(x.shape[1])
            log_mask = np.nan_to_num(lo, nan=-1) >= 0
            log_mask &= np.nan_to_num(hi, nan=0) > 50  # counts and rates spanning orders of magnitude
            xt = np.where(log_mask, np.log1p(np.clip(x, 0, None)), x)
            mean = np.nan_to_num(np.nanmean(xt, axis=0)) if len(x) else np.zeros(x.shape[1])
            std = np.nan_to_num(np.nanstd(xt, axis=0), nan=1.0) if len(x) else np.ones(x.shape[1])
        std = np.where(std < 1e-6, 1.0, std)
        return {"mean": mean.astype(np.float32), "std": std.astype(np.float32), "log_mask": log_mask}

    def set_stats(self, mean, std, log_mask) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32))
        self.log_mask.copy_(torch.as_tensor(log_mask, dtype=torch.bool))

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, F) with NaN where missing → (B, 2F): standardised values, presence mask
        present = torch.isfinite(x)
        x = torch.where(present, x, torch.zeros_like(x))
        x = torch.where(self.log_mask, torch.log1p(x.clamp_min(0)), x)
        z = ((x - self.mean) / self.std).clamp(-self.clip, self.clip)
        z = torch.where(present, z, torch.zeros_like(z))
        return torch.cat([z, present.to(z.dtype)], dim=-1)


class MetaEncoder(nn.Module):
    """Meta features (B, F) with NaN → (B, d_out)."""

    def __init__(self, n_features: int, d_out: int, hidden: int, dropout: float):
        super().__init__()
        self.normalizer = FeatureNormalizer(n_features)
        self.mlp = nn.Sequential(
            nn.Linear(2 * n_features, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, d_out), nn.GELU(), nn.Dropout(dropout))

    def forward(self, meta: Tensor) -> Tensor:
        return self.mlp(self.normalizer(meta))  # (B, d_out)


class ShotTokenizer(nn.Module):
    """Shot embeddings (B, S, D_in) → tokens (B, S, d_model) with position and relative-time embeddings.

    Position is the shot index (0..max_shots-1); time is where the shot sits in the video (0..1),
    so a 10-shot clip and a 200-shot clip share a notion of "beginning" and "end".
    """

    def __init__(self, d_in: int, d_model: int, max_shots: int):
        super().__init__()
        self.proj = nn.Sequential(nn.LayerNorm(d_in), nn.Linear(d_in, d_model))
        self.position = nn.Embedding(max_shots, d_model)
        self.time = nn.Linear(1, d_model)
        nn.init.normal_(self.position.weight, std=0.02)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, s, _ = x.shape
        if s > self.position.num_embeddings:
            raise ValueError(f"{s} shots > max_shots={self.position.num_embeddings}; merge shots in the data")
        idx = torch.arange(s, device=x.device)  # (S,)
        # Length = last real shot + 1 (absent shots inside the video still count as time).
        length = (mask.long() * (idx + 1)).amax(dim=1, keepdim=True).clamp_min(1)  # (B, 1)
        rel_time = (idx.unsqueeze(0) / length.clamp_min(2).sub(1)).clamp(0, 1)  # (B, S)
        tok = self.proj(x) + self.position(idx).unsqueeze(0) + self.time(rel_time.unsqueeze(-1).to(x.dtype))
        return tok * mask.unsqueeze(-1).to(tok.dtype)  # padding tokens are exactly zero


class MaskedAttentionPool(nn.Module):
    """Attention pooling over valid positions: (B, S, d), (B, S) → (B, d); rows with no valid position → 0."""

    def __init__(self, d: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or d
        self.score = nn.Sequential(nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        scores = self.score(x).squeeze(-1)  # (B, S)
        scores = scores.masked_fill(~mask, float("-inf"))
        any_valid = mask.any(dim=1, keepdim=True)  # (B, 1)
        # All-masked rows would softmax to NaN; give them uniform zeros instead.
        scores = torch.where(any_valid, scores, torch.zeros_like(scores))
        weights = torch.softmax(scores, dim=1) * mask.to(x.dtype)  # (B, S)
        return torch.einsum("bs,bsd->bd", weights, x)


class MissingToken(nn.Module):
    """A learnable vector standing in for a modality the video does not have."""

    def __init__(self, d: int):
        super().__init__()
        self.token = nn.Parameter(torch.randn(d) * 0.02)

    def fill(self, x: Tensor, present: Tensor) -> Tensor:
        # x: (B, d), present: (B,) → x where present, the missing token elsewhere
        return torch.where(present.unsqueeze(-1), x, self.token.expand_as(x))


class MultiHorizonHead(nn.Module):
    """(B, d) → (B, T, H) on the log1p scale; outputs are de-standardised with the training targets' stats."""

    def __init__(self, d_in: int, n_targets: int, n_horizons: int, hidden: int, dropout: float):
        super().__init__()
        self.n_targets, self.n_horizons = n_targets, n_horizons
        self.mlp = nn.Sequential(nn.LayerNorm(d_in), nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_targets * n_horizons))
        self.register_buffer("y_mean", torch.zeros(n_targets, n_horizons))
        self.register_buffer("y_std", torch.ones(n_targets, n_horizons))

    def set_stats(self, mean, std) -> None:
        self.y_mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(self.y_mean.shape))
        self.y_std.copy_(torch.as_tensor(std, dtype=torch.float32).reshape(self.y_std.shape).clamp_min(1e-3))

    def forward(self, h: Tensor) -> Tensor:
        z = self.mlp(h).view(-1, self.n_targets, self.n_horizons)  # (B, T, H)
        return z * self.y_std + self.y_mean


def drop_modality(present: Tensor, p: float, training: bool) -> Tensor:
    """Randomly mark a modality absent for a share p of the batch while training (robustness to
    videos without audio/visual artifacts); a no-op at inference."""
    if not training or p <= 0:
        return present
    keep = torch.rand(present.shape, device=present.device) >= p
    return present & keep
