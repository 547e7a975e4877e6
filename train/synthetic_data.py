"""A synthetic training set in the TRAIN_DIR format with a planted content signal (tests, bench, smoke runs).

Growth depends on snapshot-1 views, age, and on the visual shots (their mean projection on a fixed
direction) and the audio shots; some videos have no audio, some labels are missing (SPEC §3).
It skips extraction entirely: for the real path use `trendflow build-dataset`.
Also `random_batch`, an in-memory model batch for model/loss tests.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from train.data import shot_list_type, write_training_data

TEMPORAL = ["views_t0", "likes_t0", "video_age_hours_at_snapshot1", "duration_seconds", "subscriberCount",
            "subscriberCount_present"]
CONTENT = ["quality_mean", "shots_per_min", "loudness_lufs"]


def random_batch(b: int = 4, s: int = 7, f: int = 5, d: int = 16, da: int = 8, t: int = 2, h: int = 3,
                 seed: int = 0, audio: bool = True):
    """The model batch contract (train.layers) filled with random values."""
    import torch
    g = torch.Generator().manual_seed(seed)
    meta = torch.randn(b, f, generator=g)
    meta[0, 0] = float("nan")  # a missing meta value
    e_mask = torch.rand(b, s, generator=g) > 0.2
    e_mask[:, 0] = True
    a_mask = (torch.rand(b, s, generator=g) > 0.2) if audio else torch.zeros(b, s, dtype=torch.bool)
    return {"meta": meta, "E_shot": torch.randn(b, s, d, generator=g) * e_mask.unsqueeze(-1),
            "E_mask": e_mask, "A_shot": torch.randn(b, s, da, generator=g) * a_mask.unsqueeze(-1),
            "A_mask": a_mask, "targets": torch.randn(b, t, h, generator=g).abs() + 3,
            "target_mask": torch.rand(b, t, h, generator=g) > 0.3}


def synthetic_tables(n: int = 240, d: int = 8, da: int = 4, max_shots: int = 24, seed: int = 0,
                     horizons=(7, 14, 21)) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    w_visual = rng.normal(size=d)
    w_visual /= np.linalg.norm(w_visual)
    w_audio = rng.normal(size=da)
    w_audio /= np.linalg.norm(w_audio)
    channels = rng.integers(0, n // 4, size=n)
    split = np.where(channels % 10 < 7, "train", np.where(channels % 10 < 8, "val", "test"))
    views_t0 = np.exp(rng.uniform(3, 11, size=n))
    age_h = np.exp(rng.uniform(1, 7.5, size=n))
    e_rows, a_rows = [], []
    content_signal = np.zeros(n)
    for i in range(n):
        k = int(rng.integers(1, max_shots + 1))
        style = rng.normal()
        e_rows.append((rng.normal(size=(k, d)) * 0.5 + style * w_visual).astype(np.float32))
        signal = 1.2 * style
        if rng.random() < 0.2:  # no audio track
            a_rows.append(np.zeros((0, da), np.float32))
        else:
            loud = rng.normal()
            a_rows.append((rng.normal(size=(k, da)) * 0.5 + loud * w_audio).astype(np.float32))
            signal += 0.4 * loud
        content_signal[i] = signal
    base = 0.6 * np.log1p(views_t0) - 0.25 * np.log1p(age_h) + content_signal + 2.0
    cols: dict[str, object] = {
        "platform_id": ["youtube"] * n, "video_id": [f"vid{i:05d}" for i in range(n)],
        "channel_key": [f"ch{c}" for c in channels], "split": split.tolist(),
        "age_bucket": np.where(age_h < 24, "lt_24h", np.where(age_h < 720, "d1_30", "gt_30d")).tolist(),
        "content_run_id": ["run-1"] * n,
        "views_t0": views_t0, "likes_t0": views_t0 * 0.03,
        "video_age_hours_at_snapshot1": age_h, "duration_seconds": rng.uniform(10, 600, size=n),
        "subscriberCount": np.where(rng.random(n) < 0.3, np.nan, np.exp(rng.uniform(5, 12, size=n))),
        "quality_mean": np.clip(content_signal * 0.3 + rng.normal(size=n) * 0.3, -3, 3),
        "shots_per_min": rng.uniform(1, 30, size=n), "loudness_lufs": np.where(rng.random(n) < 0.2, np.nan, -14.0),
    }
    cols["subscriberCount_present"] = np.isfinite(cols["subscriberCount"]).astype(float)
    for h in horizons:
        has = np.ones(n, bool) if h != 7 else rng.random(n) > 0.3
        y_views = base + np.log(h / 7) + rng.normal(size=n) * 0.3
        y_likes = y_views - 3.0 + rng.normal(size=n) * 0.2
        cols[f"y_views_{h}"] = np.where(has, np.clip(y_views, 0, None), np.nan)  # log1p of a clipped delta ≥ 0
        cols[f"y_likes_{h}"] = np.where(has, np.clip(y_likes, 0, None), np.nan)
        cols[f"has_horizon_{h}"] = has
    table = pa.table(cols)
    for prefix, rows_, dim in (("E", e_rows, d), ("A", a_rows, da)):
        shots, mask = _shot_arrays(rows_, dim)
        table = table.append_column(f"{prefix}_shot", shots).append_column(f"{prefix}_mask", mask)
    splits = table["split"].to_numpy(zero_copy_only=False)
    return {s: table.filter(pa.array(splits == s)) for s in ("train", "val", "test")}


def _shot_arrays(rows: list[np.ndarray], dim: int) -> tuple[pa.Array, pa.Array]:
    """Ragged (k_i, dim) arrays → list<fixed_size_list<dim>> and an all-True list<bool> mask (no Python lists)."""
    offsets = pa.array(np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int32))
    flat = np.concatenate(rows).reshape(-1) if rows else np.zeros(0, np.float32)
    shots = pa.ListArray.from_arrays(offsets, pa.FixedSizeListArray.from_arrays(pa.array(flat), dim))
    mask = pa.ListArray.from_arrays(offsets, pa.array(np.ones(int(offsets[-1].as_py()), bool)))
    return shots.cast(shot_list_type(dim)), mask


def write_synthetic_training_data(out_dir, n: int = 240, d: int = 8, da: int = 4, max_shots: int = 24,
                                  seed: int = 0) -> dict:
    """Write TRAIN_DIR (a path, s3:// URI or `train.data.TrainDir`; train/val/test split by channel) and
    return its dataset card."""
    tables = synthetic_tables(n, d, da, max_shots, seed)
    card = {"targets": ["views", "likes"], "horizons": [7, 14, 21], "temporal_features": TEMPORAL,
            "content_features": CONTENT, "e_dim": d, "a_dim": da, "max_shots": max_shots,
            "views_t0_column": "views_t0", "count_t0_columns": {"views": "views_t0", "likes": "likes_t0"},
            "content": "store", "coverage": _coverage(tables),
            "feature_schema_versions": {"core_clip": 1, "clap_extractor": 1},
            "sampling_policy_version": "synthetic", "builder": "train/synthetic_data.py"}
    return write_training_data(out_dir, tables, card)


def _coverage(tables: dict[str, pa.Table]) -> dict[str, int]:
    """The dataset card's coverage counts: videos with visual / audio shots (every video has visual ones)."""
    import pyarrow.compute as pc
    n = sum(len(t) for t in tables.values())
    audio = sum(int(pc.sum(pc.greater(pc.list_value_length(t["A_mask"]), 0)).as_py() or 0) for t in tables.values())
    return {"videos": n, "with_run": n, "visual": n, "audio": audio, "aggregates": n}
