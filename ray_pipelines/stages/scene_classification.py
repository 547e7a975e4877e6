"""scene_classification: CLIP zero-shot labels per shot from per-frame label probabilities."""

from __future__ import annotations

import numpy as np

from ray_pipelines.shot_pooling import pool_per_shot


def frame_label_probs(frame_emb: np.ndarray, label_emb: np.ndarray, logit_scale: float) -> np.ndarray:
    """Softmax over labels of scaled cosine similarity: (N,D),(L,D) → (N,L)."""
    logits = logit_scale * frame_emb @ label_emb.T
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def compute(labels, frame_probs: np.ndarray, frame_shot_index: np.ndarray, n_shots: int,
            shot_lengths_sec: np.ndarray) -> dict[str, np.ndarray]:
    probs, present, _ = pool_per_shot(frame_probs, frame_shot_index, n_shots)  # (S,L)
    safe = np.where(present[:, None], probs, 1.0)
    entropy = np.where(present, -(safe * np.log(np.clip(safe, 1e-12, 1))).sum(1), np.nan)
    top = np.where(present, np.nanargmax(np.where(present[:, None], probs, 0), axis=1), -1)
    w = np.where(present, shot_lengths_sec, 0.0)
    video = (np.nansum(probs * w[:, None], axis=0) / w.sum()) if w.sum() > 0 else np.full(len(labels), np.nan)
    return {
        "labels": np.asarray(labels, dtype=np.str_),
        "shot_label_probs": probs,
        "shot_top_label": top.astype(np.int32),
        "shot_entropy": entropy.astype(np.float32),
        "shot_present": present,
        "video_label_probs": video.astype(np.float32),
    }
