"""Lightning wrapper of a registered neural forecaster: masked multi-horizon loss, AdamW, val metrics.

Runs inside Ray Train workers (see `train.recipe`); also usable in a plain process for tests.
`val_loss` (the regression part of the loss, no penalty) drives early stopping and checkpoint ranking.
Given `head_names`, validation also logs `val_head_loss` (the masked loss of each head, unweighted, averaged
over the heads: comparable between configs with different `head_weights`) and `val_spearman_<head>`; both
are torchmetrics, so they are exact over the whole validation split even with several workers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import lightning.pytorch as pl
import torch
from torch import nn

from train.losses import LossConfig, masked_multihorizon_loss
from train.registry import create_model


class ForecastModule(pl.LightningModule):
    def __init__(self, model_name: str, model_kwargs: dict[str, Any], loss: dict[str, Any],
                 lr: float = 2e-3, weight_decay: float = 0.05, stats: dict[str, Any] | None = None,
                 head_names: Sequence[str] | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["stats"])
        self.model = create_model(model_name, **model_kwargs)
        self.loss_cfg = LossConfig(**loss)
        if stats is not None:  # training-set normalisation; restored from the state_dict on load
            self.model.set_stats(stats["meta"], stats["y_mean"], stats["y_std"])
        self.head_names = list(head_names or [])  # target-major, like the (T, H) output
        if self.head_names:
            from torchmetrics import MeanMetric, SpearmanCorrCoef
            self.val_head_losses = nn.ModuleList(MeanMetric(nan_strategy="ignore") for _ in self.head_names)
            self.val_spearman = nn.ModuleList(SpearmanCorrCoef() for _ in self.head_names)

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
            if self.head_names:
                self._update_head_metrics(pred, batch)
        return loss

    def _update_head_metrics(self, pred: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        # Every head is updated on every batch, even with no label in it (weight 0, empty tensors): the
        # metrics sync across workers with collectives, which must run the same on every rank.
        unweighted = replace(self.loss_cfg, head_weights=None, monotonic_penalty=0.0)
        n_h = pred.shape[-1]
        for k in range(len(self.head_names)):
            head = (slice(None), slice(k // n_h, k // n_h + 1), slice(k % n_h, k % n_h + 1))  # (B, 1, 1)
            y, p = batch["targets"][head], pred[head]
            mask = batch["target_mask"][head].bool() & torch.isfinite(y)
            loss, _ = masked_multihorizon_loss(p, y, mask, unweighted)
            self.val_head_losses[k].update(loss, weight=mask.sum())
            self.val_spearman[k].update(p[mask].float(), y[mask].float())

    def on_validation_epoch_end(self) -> None:
        if not self.head_names:
            return
        losses = []
        for name, loss_metric, rank_metric in zip(self.head_names, self.val_head_losses, self.val_spearman):
            losses.append(loss_metric.compute())  # NaN when the head has no label in the split
            self.log(f"val_spearman_{name}", rank_metric.compute(), on_epoch=True)
            loss_metric.reset()
            rank_metric.reset()
        self.log("val_head_loss", torch.stack(losses).nanmean(), on_epoch=True)

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=8)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}
