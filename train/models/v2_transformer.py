"""v2 multimodal transformer: shot tokens of both modalities + a meta token through a transformer encoder.

Sequence per video (SPEC §4):
    [meta] [E missing] [A missing] [E shot 1..S] [A shot 1..Sa]
Shot tokens are E_shot / A_shot projected to d_model plus position, relative-time and modality
embeddings. The learnable "missing" token of a modality is visible (unmasked) only when the video has
no shot of that modality; padding and absent shots are hidden with the key-padding mask. Heads read
the meta token's output (it attends to everything, like a CLS token).
"""

from __future__ import annotations

import torch
from torch import nn

from train.layers import MetaEncoder, MultiHorizonHead, ShotTokenizer, drop_modality
from train.models.base import NeuralForecaster
from train.registry import register_model

META, VISUAL, AUDIO = 0, 1, 2  # modality ids


class MultimodalTransformer(NeuralForecaster):
    def __init__(self, meta_dim: int, e_dim: int, a_dim: int, n_targets: int = 2, n_horizons: int = 3,
                 d_model: int = 64, n_heads: int = 4, n_layers: int = 2, ff_mult: int = 2,
                 hidden: int = 128, dropout: float = 0.2, modality_dropout: float = 0.1, max_shots: int = 256,
                 content_dim: int = 0, content_hidden: int = 8):
        super().__init__(meta_dim, e_dim, a_dim, n_targets, n_horizons)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.modality_dropout = modality_dropout
        self.meta_encoder = MetaEncoder(meta_dim, d_model, hidden, dropout, content_dim, content_hidden)
        self.e_tokens = ShotTokenizer(e_dim, d_model, max_shots)
        self.a_tokens = ShotTokenizer(a_dim, d_model, max_shots)
        self.modality = nn.Embedding(3, d_model)
        self.missing = nn.Parameter(torch.randn(2, d_model) * 0.02)  # [E missing, A missing]
        layer = nn.TransformerEncoderLayer(d_model, n_heads, ff_mult * d_model, dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.head = MultiHorizonHead(d_model, n_targets, n_horizons, hidden, dropout)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        self.check_batch(batch)
        e_mask, a_mask = batch["E_mask"], batch["A_mask"]  # (B, S), (B, Sa)
        e_present = drop_modality(e_mask.any(1), self.modality_dropout, self.training)  # (B,)
        a_present = drop_modality(a_mask.any(1), self.modality_dropout, self.training)
        e_mask = e_mask & e_present.unsqueeze(1)  # a dropped modality hides all its shots
        a_mask = a_mask & a_present.unsqueeze(1)
        b = e_mask.shape[0]

        meta = self.meta_encoder(batch["meta"]) + self.modality.weight[META]  # (B, d)
        e = self.e_tokens(batch["E_shot"], e_mask) + self.modality.weight[VISUAL]  # (B, S, d)
        a = self.a_tokens(batch["A_shot"], a_mask) + self.modality.weight[AUDIO]  # (B, Sa, d)
        missing = self.missing + self.modality.weight[[VISUAL, AUDIO]]  # (2, d)
        seq = torch.cat([meta.unsqueeze(1), missing.expand(b, 2, -1), e, a], dim=1)  # (B, 3+S+Sa, d)

        ones = torch.ones(b, 1, dtype=torch.bool, device=seq.device)
        visible = torch.cat([ones, ~e_present.unsqueeze(1), ~a_present.unsqueeze(1), e_mask, a_mask], dim=1)
        out = self.encoder(seq, src_key_padding_mask=~visible)  # (B, 3+S+Sa, d)
        return self.head(out[:, 0])  # (B, T, H)


# needs shot embeddings: without them this network only sees the meta features behind two "missing"
# tokens, a weaker tabular model than v0, so counters-only data skips it instead of training it.
@register_model("v2_transformer", aliases=("v2",), version="1", needs=("shot_embeddings",), serve_tier="v2",
                serve_order=0,
                defaults={"d_model": 64, "n_heads": 4, "n_layers": 2, "ff_mult": 2, "hidden": 128,
                          "dropout": 0.2, "modality_dropout": 0.1})
def v2_transformer(**kwargs) -> MultimodalTransformer:
    """v2 multimodal transformer: E/A shot tokens + meta token → transformer encoder → heads."""
    return MultimodalTransformer(**kwargs)
