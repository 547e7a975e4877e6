"""What every neural forecaster shares: input sizes, normalisation stats, and the batch contract.

A forecaster is an `nn.Module` whose `forward(batch)` maps the batch dict described in
`train.layers` to predictions (B, T, H) on the log1p scale. The feature and target statistics are
buffers, so a saved state_dict is self-contained: serving feeds raw features with NaN.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from train.layers import MetaEncoder, MultiHorizonHead


class NeuralForecaster(nn.Module):
    meta_encoder: MetaEncoder
    head: MultiHorizonHead

    def __init__(self, meta_dim: int, e_dim: int, a_dim: int, n_targets: int, n_horizons: int):
        super().__init__()
        for name, v in (("meta_dim", meta_dim), ("e_dim", e_dim), ("a_dim", a_dim),
                        ("n_targets", n_targets), ("n_horizons", n_horizons)):
            if int(v) < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be ≥ 1, got {v}")
        self.meta_dim, self.e_dim, self.a_dim = int(meta_dim), int(e_dim), int(a_dim)
        self.n_targets, self.n_horizons = int(n_targets), int(n_horizons)

    def set_stats(self, meta_stats: dict[str, np.ndarray], y_mean: np.ndarray, y_std: np.ndarray) -> None:
        """Install training-set statistics (see `FeatureNormalizer.compute_stats`)."""
        self.meta_encoder.normalizer.set_stats(**meta_stats)
        self.head.set_stats(y_mean, y_std)

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        if batch["meta"].shape[-1] != self.meta_dim:
            raise ValueError(f"meta has {batch['meta'].shape[-1]} features, model expects {self.meta_dim}")
        if batch["E_shot"].shape[-1] != self.e_dim or batch["A_shot"].shape[-1] != self.a_dim:
            raise ValueError(f"shot dims E={batch['E_shot'].shape[-1]} A={batch['A_shot'].shape[-1]}, "
                             f"model expects E={self.e_dim} A={self.a_dim}")
