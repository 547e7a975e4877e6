"""core_clip: CLIP embeddings of sampled frames in a Ray Data actor pool, pooled into E_shot.

`ClipEmbed` is the actor (one model load per actor, GPU when it was given one): it reads chunk rows
of frames already resized to the model's input (the decode stage does that, so only small frames
cross the object store) and writes per-frame embeddings and scene-label probabilities. The row
loop (errors kept on the row) is `stages.embed.EmbedStage`, shared with ClapEmbed.
`build_artifact` pools a video's frames into E_shot once all its chunks are back.
"""

from __future__ import annotations


import numpy as np

from ray_pipelines.config import ExtractConfig
from ray_pipelines.shot_pooling import pool_per_shot
from ray_pipelines.stages import scene_classification
from ray_pipelines.stages.embed import EmbedStage

COMPONENTS = ("core_clip", "scene_classification")  # the artifacts made from this stage's outputs
WRITES = ("frame_embeddings", "frame_label_probs", "clip_s", "clip_model_name", "clip_model_version", "clip_weights",
          "clip_image_size", "error")


class ClipEmbed(EmbedStage):
    """Ray Data callable class: chunk rows of frames → the same rows with embeddings and scene-label
    probabilities (frames dropped). `ClipEmbed(cfg_json)` loads the model once per actor;
    `ClipEmbed.with_encoder(cfg, encoder)` wraps an encoder the caller already has (the online path)."""

    name = "ClipEmbed"
    component = "core_clip"
    input_column = "frames"
    timing_column = "clip_s"
    writes = WRITES

    def __init__(self, cfg_json: str):
        from ray_pipelines.encoders import actor_device
        from ray_pipelines.encoders.clip import load_clip

        cfg = ExtractConfig.model_validate_json(cfg_json)
        self._setup(cfg, load_clip(cfg.clip, actor_device()))

    @classmethod
    def with_encoder(cls, cfg: ExtractConfig, encoder) -> "ClipEmbed":
        """encoder: anything with embed_images(frames, batch_size), embed_texts(texts), logit_scale,
        embed_dim, image_size, model_name, model_version, weights (e.g. `encoders.clip.ClipEncoder`)."""
        stage = cls.__new__(cls)
        stage._setup(cfg, encoder)
        return stage

    def _setup(self, cfg: ExtractConfig, encoder) -> None:
        self.cfg, self.encoder = cfg, encoder
        self.label_emb = encoder.embed_texts(list(cfg.scene_labels))  # (L,D)

    def encode(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """(k,S,S,3) uint8 at the model's input size → (k,D) embeddings, (k,L) label probabilities."""
        size = self.encoder.image_size
        if frames.ndim != 4 or frames.shape[1:] != (size, size, 3):
            raise ValueError(f"frames of shape {frames.shape[1:]}, the model takes ({size}, {size}, 3)")
        e = self.encoder.embed_images(frames, self.cfg.clip.batch_size)
        return {"frame_embeddings": e,
                "frame_label_probs": scene_classification.frame_label_probs(e, self.label_emb,
                                                                            self.encoder.logit_scale)}

    def empty(self) -> dict[str, np.ndarray]:
        return {"frame_embeddings": np.zeros((0, self.encoder.embed_dim), np.float32),
                "frame_label_probs": np.zeros((0, len(self.label_emb)), np.float32)}

    def model_columns(self) -> dict:
        # clip_* names: the CLAP pool adds its own model columns to the same rows
        return {"clip_model_name": self.encoder.model_name, "clip_model_version": self.encoder.model_version,
                "clip_weights": self.encoder.weights, "clip_image_size": self.encoder.image_size}


def build_artifact(frame_indices: np.ndarray, frame_times: np.ndarray, embeddings: np.ndarray,
                   frame_shot_index: np.ndarray, n_shots: int) -> dict[str, np.ndarray]:
    """Arrays of the core_clip artifact: per-frame embeddings and their mean per shot."""
    e_shot, present, _ = pool_per_shot(embeddings, frame_shot_index, n_shots)  # (S,D)
    return {
        "frame_indices": frame_indices.astype(np.int64),
        "frame_times_sec": frame_times.astype(np.float32),
        "frame_embeddings": embeddings.astype(np.float32),
        "frame_shot_index": frame_shot_index.astype(np.int32),
        "E_shot": e_shot,
        "E_shot_present": present,
    }
