"""A trained model on disk: weights + a model card, and the `Predictor` that loads any of them.

    MODEL_DIR/model_card.json   model name/version, training_data_version, feature schema versions,
                                sampling_policy_version, dataprocessor_version, code commit, seed,
                                config, validation metrics (SPEC §12)
    MODEL_DIR/model.pt          neural models: {model_name, model_kwargs, meta_features, state_dict}
    MODEL_DIR/params.json       tabular models (+ lgbm_<head>.txt for LightGBM)
    MODEL_DIR/metrics.csv       per-epoch metrics (neural models), one row per epoch
    MODEL_DIR/intervals.json    split-conformal interval half-widths per head × age bucket (train.intervals)

`load_predictor(MODEL_DIR).predict(table)` gives (N, T, H) log1p growth predictions for an Arrow
table in the training-data format, whatever the model kind. MODEL_DIR may be a local folder or
`s3://bucket/prefix` (`ModelDir(uri, storage_options)`); every file goes through the storage adapter.
"""

from __future__ import annotations

import io
import os
import subprocess
from datetime import datetime, timezone
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

import trendflow
from train.data import SHOT_COLUMNS, DatasetSchema, iter_local_batches, read_json_doc
from train.uris import StorageFolder

CARD_FILE = "model_card.json"
# What `evaluate`, `predict` and serving read from every card; a card without them is not usable.
REQUIRED_CARD_FIELDS = ("model_name", "model_version", "kind", "targets", "horizons", "meta_features",
                        "training_data_version")
TORCH_CARD_FIELDS = ("e_dim", "a_dim", "max_shots")
TORCH_FILE = "model.pt"
# Inputs a neural model can be asked to ignore at prediction time: shot embeddings per modality, and the
# content aggregates (shown to the model as missing, NaN, which it was trained to handle).
ABLATIONS = ("visual", "audio", "aggregates")


class ModelDirError(ValueError):
    """A model folder is missing, or its card lacks what the command needs (the message names it)."""


class ModelDir(StorageFolder):
    """A model folder, local or `s3://bucket/prefix` (see `train.uris.StorageFolder`)."""


def as_model_dir(model_dir: "str | ModelDir") -> ModelDir:
    return model_dir if isinstance(model_dir, ModelDir) else ModelDir(model_dir)


def code_commit() -> str:
    """The git commit of this code (suffixed '+dirty' when the tree has local changes), or 'unknown'."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit + ("+dirty" if dirty else "")) if commit else "unknown"


def build_model_card(*, model_name: str, model_version: str, kind: str, schema: DatasetSchema,
                     config: dict[str, Any], seed: int, meta_features: Sequence[str], training_data_uri: str,
                     validation_metrics: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    card = schema.card
    return {
        "model_name": model_name,
        "model_version": model_version,
        "kind": kind,
        "training_data_version": schema.training_data_version,
        "training_data_uri": training_data_uri,  # where serving finds reference statistics of the training videos
        "feature_schema_versions": card.get("feature_schema_versions", {}),
        "sampling_policy_version": card.get("sampling_policy_version"),
        "dataprocessor_version": trendflow.DATAPROCESSOR_VERSION,
        "data_dataprocessor_versions": card.get("dataprocessor_versions", []),
        "code_commit": code_commit(),
        "seed": seed,
        "config": config,
        "validation_metrics": validation_metrics,
        "targets": list(schema.targets),
        "horizons": list(schema.horizons),
        "meta_features": list(meta_features),
        "e_dim": schema.e_dim,
        "a_dim": schema.a_dim,
        "max_shots": schema.max_shots,
        "count_t0_columns": {t: c for t, c in (card.get("count_t0_columns") or {}).items() if t in schema.targets},
        "trendflow_version": trendflow.__version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        **(extra or {}),
    }


def write_card(model_dir: "str | ModelDir", card: dict[str, Any]) -> str:
    return as_model_dir(model_dir).write_json(CARD_FILE, card)


def read_card(model_dir: "str | ModelDir") -> dict[str, Any]:
    """The model card; a missing folder or card, or one without the fields every command reads, is a
    ModelDirError naming what is missing."""
    md = as_model_dir(model_dir)
    card = read_json_doc(md.storage, CARD_FILE, "model folder", "is it a folder written by `trendflow train`?",
                         ModelDirError)
    required = REQUIRED_CARD_FIELDS + (TORCH_CARD_FIELDS if card.get("kind") == "torch" else ())
    missing = [k for k in required if k not in card]
    if missing:
        raise ModelDirError(f"{md.path(CARD_FILE)} lacks {missing}; retrain the model with `trendflow train`")
    return card


def save_torch_model(model_dir: "str | ModelDir", model_name: str, model_kwargs: dict[str, Any],
                     meta_features: Sequence[str], state_dict: dict) -> str:
    import torch
    buf = io.BytesIO()
    torch.save({"model_name": model_name, "model_kwargs": model_kwargs, "meta_features": list(meta_features),
                "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()}}, buf)
    return as_model_dir(model_dir).write_bytes(TORCH_FILE, buf.getvalue())


def load_torch_model(model_dir: "str | ModelDir"):
    """(model in eval mode, meta_features) from MODEL_DIR/model.pt."""
    import torch

    from train.registry import create_model
    blob = torch.load(io.BytesIO(as_model_dir(model_dir).read_bytes(TORCH_FILE)), map_location="cpu",
                      weights_only=True)
    model = create_model(blob["model_name"], **blob["model_kwargs"])
    model.load_state_dict(blob["state_dict"])
    return model.eval(), blob["meta_features"]


class Predictor:
    """Loads any trained model folder and predicts (N, T, H) on training-data-format tables."""

    def __init__(self, model_dir: "str | ModelDir"):
        from train.registry import get_entry
        self.dir = as_model_dir(model_dir)
        self.model_dir = self.dir.uri
        self.card = read_card(self.dir)
        self.name = self.card["model_name"]
        try:
            self.kind = get_entry(self.name).kind
        except KeyError as e:
            raise ModelDirError(f"{self.dir.uri}: {e.args[0]}") from None
        self.targets, self.horizons = self.card["targets"], self.card["horizons"]
        from train.intervals import Intervals
        self.intervals = Intervals.load(self.dir)  # None for folders written before intervals existed
        self.content_features: list[str] = []
        if self.kind == "torch":
            self.model, self.meta_features = load_torch_model(self.dir)
            n_content = self.model.meta_encoder.n_content  # content aggregates come last in meta_features
            self.content_features = self.meta_features[len(self.meta_features) - n_content:] if n_content else []
        else:
            from train.baselines import TABULAR_CLASSES
            self.model = TABULAR_CLASSES[self.name].load(self.dir)
            self.meta_features = self.card["meta_features"]

    @property
    def uses_shots(self) -> bool:
        return self.kind == "torch"

    def predict(self, table: pa.Table, ablate: Sequence[str] = (), batch_size: int = 64) -> np.ndarray:
        """(N, T, H) predictions. `ablate` hides inputs ("visual", "audio", "aggregates") from neural models."""
        unknown = set(ablate) - set(ABLATIONS)
        if unknown:
            raise ValueError(f"unknown ablation {sorted(unknown)}; choose from {ABLATIONS}")
        if self.kind != "torch":
            frame = table.drop_columns([c for c in SHOT_COLUMNS if c in table.column_names]).to_pandas()
            return np.maximum(self.model.predict(frame), 0.0)
        import torch
        schema = DatasetSchema(tuple(self.targets), tuple(self.horizons), tuple(self.meta_features), (),
                               int(self.card["e_dim"]), int(self.card["a_dim"]), int(self.card["max_shots"]),
                               None, self.card["training_data_version"])
        if "aggregates" in ablate:
            nan = pa.array(np.full(len(table), np.nan), pa.float64())
            for name in self.content_features:
                table = table.set_column(table.column_names.index(name), name, nan)
        outs = []
        with torch.inference_mode():
            for batch in iter_local_batches(table, schema, self.meta_features, batch_size):
                if "visual" in ablate:
                    batch["E_mask"] = torch.zeros_like(batch["E_mask"])
                if "audio" in ablate:
                    batch["A_mask"] = torch.zeros_like(batch["A_mask"])
                outs.append(self.model(batch).numpy())
        n_t, n_h = len(self.targets), len(self.horizons)
        preds = np.concatenate(outs) if outs else np.zeros((0, n_t, n_h), np.float32)
        # Targets are log1p of a growth clipped at 0, so a negative prediction can only be an error.
        return np.maximum(preds, 0.0)


    def predict_video(self, features: dict[str, float | None], e_shot: np.ndarray | None = None,
                      e_present: np.ndarray | None = None, a_shot: np.ndarray | None = None,
                      a_present: np.ndarray | None = None) -> dict[str, float]:
        """One video (for serving): meta features by name (missing → NaN), E_shot (n, D) / A_shot (n, Da)
        with their per-shot presence (None = modality absent) → {"views_7": log1p growth, ...}."""
        return self.predict_variants([features], e_shot, e_present, a_shot, a_present)[0]

    def predict_variants(self, variants: Sequence[dict[str, float | None]], e_shot: np.ndarray | None = None,
                         e_present: np.ndarray | None = None, a_shot: np.ndarray | None = None,
                         a_present: np.ndarray | None = None) -> list[dict[str, float]]:
        """Several feature dicts of ONE video (the summary's what-if runs) with the same shots, in one batch."""
        from train.build_dataset import merge_shots
        from train.data import shot_list_type
        max_shots, n = int(self.card["max_shots"]), len(variants)
        cols: dict[str, pa.Array] = {}
        if variants[0].get("age_bucket"):  # the naive baselines predict per age bucket
            cols["age_bucket"] = pa.array([str(f.get("age_bucket")) for f in variants])
        for name in self.meta_features:
            cols[name] = pa.array([float("nan") if f.get(name) is None else float(f[name]) for f in variants],
                                  pa.float64())
        for prefix, emb, present, dim in (("E", e_shot, e_present, int(self.card["e_dim"])),
                                          ("A", a_shot, a_present, int(self.card["a_dim"]))):
            if emb is None or len(emb) == 0:
                emb, present = np.zeros((0, dim), np.float32), np.zeros(0, bool)
            emb = np.asarray(emb, np.float32)
            present = np.ones(len(emb), bool) if present is None else np.asarray(present, bool)
            present = present & np.isfinite(emb).all(axis=1)
            emb, present = merge_shots(np.where(present[:, None], emb, 0.0).astype(np.float32), present, max_shots)
            if emb.shape[1] != dim:
                raise ValueError(f"{prefix}_shot has {emb.shape[1]} dims, the model was trained on {dim}")
            cols[f"{prefix}_shot"] = pa.array([emb.tolist()] * n, shot_list_type(dim))
            cols[f"{prefix}_mask"] = pa.array([present.tolist()] * n, pa.list_(pa.bool_()))
        preds = self.predict(pa.table(cols))  # (N, T, H)
        return [{f"{t}_{h}": float(p[i, j]) for i, t in enumerate(self.targets) for j, h in enumerate(self.horizons)}
                for p in preds]


def load_predictor(model_dir: "str | ModelDir") -> Predictor:
    return Predictor(model_dir)
