"""Lightning wrapper of a registered neural forecaster: masked multi-horizon loss, AdamW, val metrics.

Runs inside Ray Train workers (see `train.recipe`); also usable in a plain process for tests.
`val_loss` (the regression part of the loss, no penalty) drives early stopping and checkpoint ranking.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

from train.losses import LossConfig, masked_multihorizon_loss
from train.registry import create_model


class ForecastModule(pl.LightningModule):
    def __init__(self, model_name: str, model_kwargs: dict[str, Any], loss: dict[str, Any],
                 lr: float = 2e-3, weight_decay: float = 0.05, stats: dict[str, Any] | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["stats"])
        self.model = create_model(model_name, **model_kwargs)
        self.loss_cfg = LossConfig(**loss)
        if stats is not None:  # training-set normalisation; restored from the state_dict on load
            self.model.set_stats(stats["meta"], stats["y_mean"], stats["y_std"])

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(batch)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        pred = self.model(batch)  # (B, T, H)
        loss, parts = masked_multihorizon_loss(pred, batch["targets"], batch["target_mask"], self.loss_cfg)
        b = pred.shape[0]
        mask = batch["target_mask"]
        mae = ((pred - batch["targets"]).abs() * mask).sum() / mask.sum().clamp_min(1)
        if stage == "train":
            self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=b, sync_dist=True)
        else:
            self.log("val_loss", parts["regression"], on_step=False, on_epoch=True, batch_size=b, sync_dist=True)
            self.log("val_mae", mae, on_step=False, on_epoch=True, batch_size=b, sync_dist=True)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=8)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}
