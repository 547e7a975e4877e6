"""v1 late fusion: masked attention pooling over E_shot, over A_shot, an MLP over meta → concat → heads.

The sanity check and fallback for v2 (SPEC §4). A modality a video lacks is replaced by a learnable
"missing" vector, never by zeros that would look like a real embedding.
"""

from __future__ import annotations

import torch
from torch import nn

from train.layers import (
    MaskedAttentionPool,
    MetaEncoder,
    MissingToken,
    MultiHorizonHead,
    drop_modality,
)
from train.models.base import NeuralForecaster
from train.registry import register_model


class LateFusion(NeuralForecaster):
    def __init__(self, meta_dim: int, e_dim: int, a_dim: int, n_targets: int = 2, n_horizons: int = 3,
                 d_model: int = 64, hidden: int = 128, dropout: float = 0.2, modality_dropout: float = 0.1,
                 max_shots: int = 256, content_dim: int = 0, content_hidden: int = 8):
        super().__init__(meta_dim, e_dim, a_dim, n_targets, n_horizons)
        self.modality_dropout = modality_dropout
        self.meta_encoder = MetaEncoder(meta_dim, d_model, hidden, dropout, content_dim, content_hidden)
        self.e_proj = nn.Sequential(nn.LayerNorm(e_dim), nn.Linear(e_dim, d_model), nn.GELU())
        self.a_proj = nn.Sequential(nn.LayerNorm(a_dim), nn.Linear(a_dim, d_model), nn.GELU())
        self.e_pool, self.a_pool = MaskedAttentionPool(d_model), MaskedAttentionPool(d_model)
        self.e_missing, self.a_missing = MissingToken(d_model), MissingToken(d_model)
        self.fuse = nn.Sequential(nn.Linear(3 * d_model, hidden), nn.GELU(), nn.Dropout(dropout))
        self.head = MultiHorizonHead(hidden, n_targets, n_horizons, hidden, dropout)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        self.check_batch(batch)
        e_mask, a_mask = batch["E_mask"], batch["A_mask"]  # (B, S), (B, Sa)
        e_present = drop_modality(e_mask.any(1), self.modality_dropout, self.training)  # (B,)
        a_present = drop_modality(a_mask.any(1), self.modality_dropout, self.training)
        m = self.meta_encoder(batch["meta"])  # (B, d)
        e = self.e_pool(self.e_proj(batch["E_shot"]), e_mask)  # (B, d)
        a = self.a_pool(self.a_proj(batch["A_shot"]), a_mask)  # (B, d)
        e, a = self.e_missing.fill(e, e_present), self.a_missing.fill(a, a_present)
        h = self.fuse(torch.cat([m, e, a], dim=-1))  # (B, hidden)
        return self.head(h)  # (B, T, H)


# needs shot embeddings: without them this network only sees the meta features behind two "missing"
# tokens, a weaker tabular model than v0, so counters-only data skips it instead of training it.
@register_model("v1_late_fusion", aliases=("v1",), version="1", needs=("shot_embeddings",), serve_tier="v1",
                serve_order=1,
                defaults={"d_model": 64, "hidden": 128, "dropout": 0.2, "modality_dropout": 0.1})
def v1_late_fusion(**kwargs) -> LateFusion:
    """v1 late fusion: attention-pooled E_shot and A_shot + meta MLP → MLP heads."""
    return LateFusion(**kwargs)
