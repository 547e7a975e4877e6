"""fusion_aggregates: the per-video scalars the tabular models use (SPEC §8), from the arrays of
the video's other artifacts. Anything whose source is missing or empty is NaN with present=False.

Each scalar comes from exactly one source artifact, so the work splits where the data already is:
the CPU stage computes `scalars_from(...)` of the artifacts it wrote (quality, pacing, loudness,
tempo) and sends that small dict on its status row; the finalize stage computes the rest from the
embeddings it pools (diversity, scene, CLAP coverage) and `merge`s them: no artifact is read
back. `compute(store, key)` is the same from the stored artifacts (for tools and tests).
"""

from __future__ import annotations

from typing import Mapping

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


SOURCES = ("shot_quality", "video_pacing", "core_clip", "scene_classification", "loudness", "tempo",
           "clap_extractor")  # the artifacts fusion_aggregates reads


def scalars_from(arrays: Mapping[str, Mapping[str, np.ndarray] | None]) -> dict[str, float]:
    """Every scalar name; computed from the `arrays` given (component -> arrays of an ok artifact),
    NaN for the sources not given."""
    from ray_pipelines.stages.audio_aggregates import audio_scalars

    out = visual_scalars(arrays.get("shot_quality"), arrays.get("video_pacing"), arrays.get("core_clip"),
                         arrays.get("scene_classification"))
    out.update(audio_scalars(arrays.get("loudness"), arrays.get("tempo"), arrays.get("clap_extractor")))
    return out


def merge(*partials: Mapping[str, float]) -> dict[str, float]:
    """Partial scalar dicts (NaN where a part did not have the source) → one: the finite value wins."""
    names = list(partials[0])
    return {n: next((float(p[n]) for p in partials if n in p and np.isfinite(p[n])), NAN) for n in names}


def to_arrays(scalars: Mapping[str, float]) -> dict[str, np.ndarray]:
    """The artifact's arrays: names, float32 values (NaN where absent) and present masks."""
    values = np.array([scalars[k] for k in scalars], np.float32)
    values[~np.isfinite(values)] = np.nan
    return {"names": np.array(list(scalars), dtype=np.str_), "values": values, "present": np.isfinite(values)}


def compute(store: ArtifactStore, key: RunKey) -> dict[str, np.ndarray]:
    """From the stored artifacts (the pipeline uses scalars_from/merge on arrays it already has)."""
    return to_arrays(scalars_from({c: _read(store, key, c) for c in SOURCES}))
