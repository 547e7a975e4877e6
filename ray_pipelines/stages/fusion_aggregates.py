"""fusion_aggregates: the per-video scalars the tabular models use (SPEC §8), read from the
video's artifacts. Anything whose source is missing or empty is NaN with present=False."""

from __future__ import annotations

import numpy as np

from trendflow.artifacts import ArtifactError, ArtifactStore, RunKey

NAN = float("nan")
VISUAL_NAMES = (
    "quality_mean", "quality_median", "quality_p10", "quality_p90", "bad_shot_share",
    "sharpness_mean", "brightness_mean", "brightness_std", "contrast_mean", "colorfulness_mean", "noise_mean",
    "n_shots", "shots_per_min", "shot_len_mean", "shot_len_median", "shot_len_std", "shot_len_min",
    "shot_len_max", "fast_shot_share", "long_shot_share",
    "motion_mean", "motion_std", "motion_p90", "static_share",
    "diversity_pairwise_dist", "diversity_spectral_entropy", "repetition_ratio",
    "scene_top_prob", "scene_entropy",
)
REPEAT_SIMILARITY = 0.95


def _read(store: ArtifactStore, key: RunKey, component: str) -> dict | None:
    try:
        art = store.read(key, component)
    except (ArtifactError, KeyError):
        return None
    return art.arrays if art.status == "ok" else None


def _stats(x: np.ndarray, prefix: str) -> dict[str, float]:
    x = x[np.isfinite(x)]
    if not len(x):
        return {}
    return {f"{prefix}_mean": float(x.mean()), f"{prefix}_median": float(np.median(x)),
            f"{prefix}_p10": float(np.percentile(x, 10)), f"{prefix}_p90": float(np.percentile(x, 90))}


def diversity(e_shot: np.ndarray, present: np.ndarray) -> dict[str, float]:
    """How varied the shots look: mean pairwise cosine distance, spectral entropy of the shot
    embeddings (0 = one look), and the share of shots that repeat an earlier one."""
    e = e_shot[present]
    if len(e) < 2:
        return {}
    e = e / np.linalg.norm(e, axis=1, keepdims=True).clip(1e-8)
    sim = e @ e.T  # (S,S)
    iu = np.triu_indices(len(e), 1)
    sv = np.linalg.svd(e - e.mean(0), compute_uv=False) ** 2
    p = sv / sv.sum() if sv.sum() > 0 else np.ones(1)
    p = p[p > 0]
    earlier_max = np.array([sim[i, :i].max() for i in range(1, len(e))])
    return {"diversity_pairwise_dist": float(np.mean(1 - sim[iu])),
            "diversity_spectral_entropy": float(-(p * np.log(p)).sum() / np.log(max(len(e), 2))),
            "repetition_ratio": float(np.mean(earlier_max > REPEAT_SIMILARITY))}


def visual_scalars(q: dict | None, pacing: dict | None, clip: dict | None, scene: dict | None) -> dict[str, float]:
    out: dict[str, float] = {}
    if q is not None:
        s = {k: v for k, v in _stats(q["quality_score"], "quality").items()}
        out.update(s)
        present = q["quality_present"]
        if present.any():
            out["bad_shot_share"] = float(q["bad_shot"][present].mean())
            for src, name in (("sharpness", "sharpness_mean"), ("exposure", "brightness_mean"),
                              ("contrast", "contrast_mean"), ("colorfulness", "colorfulness_mean"),
                              ("noise", "noise_mean")):
                out[name] = float(np.nanmean(q[src][present]))
            out["brightness_std"] = float(np.nanstd(q["exposure"][present]))
    if pacing is not None:
        for name in ("n_shots", "shots_per_min", "shot_len_mean", "shot_len_median", "shot_len_std", "shot_len_min",
                     "shot_len_max", "fast_shot_share", "long_shot_share", "motion_mean", "motion_std",
                     "motion_p90", "static_share"):
            out[name] = float(pacing[name])
    if clip is not None:
        out.update(diversity(clip["E_shot"], clip["E_shot_present"]))
    if scene is not None and np.isfinite(scene["video_label_probs"]).all():
        p = scene["video_label_probs"].astype(np.float64)
        out["scene_top_prob"] = float(p.max())
        out["scene_entropy"] = float(-(p * np.log(np.clip(p, 1e-12, 1))).sum())
    return {k: out.get(k, NAN) for k in VISUAL_NAMES}


def compute(store: ArtifactStore, key: RunKey) -> dict[str, np.ndarray]:
    from ray_pipelines.stages.audio_aggregates import audio_scalars

    scalars = visual_scalars(_read(store, key, "shot_quality"), _read(store, key, "video_pacing"),
                             _read(store, key, "core_clip"), _read(store, key, "scene_classification"))
    scalars.update(audio_scalars(_read(store, key, "loudness"), _read(store, key, "tempo"),
                                 _read(store, key, "clap_extractor")))
    values = np.array([scalars[k] for k in scalars], np.float32)
    values[~np.isfinite(values)] = np.nan
    return {"names": np.array(list(scalars), dtype=np.str_), "values": values, "present": np.isfinite(values)}
