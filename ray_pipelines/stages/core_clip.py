"""core_clip: CLIP embeddings of sampled frames in a Ray Data actor pool, pooled into E_shot.

`ClipEmbed` is the actor (one model load per actor, GPU when it was given one): it reads chunk rows
of frames already resized to the model's input (the decode stage does that, so only small frames
cross the object store) and writes per-frame embeddings and scene-label probabilities.
`build_artifact` pools a video's frames into E_shot once all its chunks are back.
"""

from __future__ import annotations

import numpy as np

from ray_pipelines.config import ExtractConfig
from ray_pipelines.rows import ragged_column
from ray_pipelines.shot_pooling import pool_per_shot
from ray_pipelines.stages import scene_classification

READS = ("frames",)
WRITES = ("frame_embeddings", "frame_label_probs", "clip_s", "clip_model_name", "clip_model_version", "clip_weights",
          "clip_image_size")


class ClipEmbed:
    """Ray Data callable class: batch of chunk rows → the same rows with embeddings attached."""

    def __init__(self, cfg_json: str):
        from ray_pipelines.encoders import actor_device
        from ray_pipelines.encoders.clip import load_clip

        self.cfg = ExtractConfig.model_validate_json(cfg_json)
        self.encoder = load_clip(self.cfg.clip, actor_device())
        self.label_emb = self.encoder.embed_texts(list(self.cfg.scene_labels))  # (L,D)

    def __call__(self, batch: dict) -> dict:
        import time

        embs, probs, secs = [], [], []
        for frames in batch["frames"]:  # each (k,S,S,3) uint8; k=0 on rows of other kinds
            t0 = time.perf_counter()
            e = self.encoder.embed_images(np.asarray(frames), self.cfg.clip.batch_size)  # (k,D)
            embs.append(e)
            probs.append(scene_classification.frame_label_probs(e, self.label_emb, self.encoder.logit_scale))
            secs.append(time.perf_counter() - t0)
        out = {k: v for k, v in batch.items() if k != "frames"}  # frames are dropped here: never shipped back
        out["frame_embeddings"] = ragged_column(embs)
        out["frame_label_probs"] = ragged_column(probs)
        n = len(embs)
        # clip_* names: the CLAP pool adds its own model columns to the same rows
        out["clip_s"] = np.array(secs)
        out["clip_model_name"] = np.array([self.encoder.model_name] * n)
        out["clip_model_version"] = np.array([self.encoder.model_version] * n)
        out["clip_weights"] = np.array([self.encoder.weights] * n)
        out["clip_image_size"] = np.array([self.encoder.image_size] * n)
        return out


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
