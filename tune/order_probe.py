"""The v2-vs-v1 study's cheap hypothesis check: does v2 win once growth depends on shot *order*?

    python -m tune.order_probe --data TRAIN_DIR --out PROBE_DIR [--strength 0.5] [--seed 0]
    python -m tune.study --data PROBE_DIR --out study/probe --run v1=v1 --run v2=v2 --pair v2:v1

v1 pools a video's shots with attention and no position, so it sees them as a set; v2 adds position and
relative-time embeddings. The demo corpus plants only video-level content effects, where v2's extra
power has nothing to find. This copies TRAIN_DIR and multiplies every label's growth by a "hook"
factor exp(strength × z), where z is how far the *first* shot's projection on a fixed random direction
lies from the mean projection of the video's shots, scaled to std 1 over the training split (0 with one
shot). On the log1p scale of the labels: y' = log1p(expm1(y) · exp(strength × z)), about y + strength × z
for growing videos, and no growth stays no growth (labels stay ≥ 0). The bag of shots and every other
column are unchanged, so only a model that knows which shot comes first can learn the factor. The
dataset card records the probe.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CARD = "dataset_card.json"
SPLITS = ("train", "val", "test")


def hook_scores(e_shot: pa.ChunkedArray | pa.Array, direction: np.ndarray) -> np.ndarray:
    """Per video: projection of shot 1 minus the mean projection of all its shots (0 with < 2 shots)."""
    out = np.zeros(len(e_shot))
    for i, shots in enumerate(e_shot.to_pylist()):
        if shots and len(shots) > 1:
            proj = np.asarray(shots, dtype=np.float64) @ direction
            out[i] = proj[0] - proj.mean()
    return out


def hook_terms(train_dir: str, strength: float = 0.5, seed: int = 0) -> dict[str, np.ndarray]:
    """{split: strength × z per video}, z scaled to std 1 over the training split."""
    with open(os.path.join(train_dir, CARD)) as f:
        e_dim = int(json.load(f)["e_dim"])
    direction = np.random.default_rng(seed).standard_normal(e_dim)
    direction /= np.linalg.norm(direction)
    raw = {split: hook_scores(pq.read_table(os.path.join(train_dir, split), columns=["E_shot"]).column(0), direction)
           for split in SPLITS if os.path.isdir(os.path.join(train_dir, split))}
    scale = float(np.std(raw["train"])) or 1.0
    return {split: strength * r / scale for split, r in raw.items()}


def write_probe(train_dir: str, out_dir: str, strength: float = 0.5, seed: int = 0) -> dict:
    """Copy TRAIN_DIR to OUT with every label's growth multiplied by its video's hook factor."""
    if os.path.exists(out_dir):
        raise FileExistsError(f"{out_dir} exists; choose a new --out")
    with open(os.path.join(train_dir, CARD)) as f:
        card = json.load(f)
    terms = hook_terms(train_dir, strength, seed)
    labels = [f"y_{t}_{h}" for t in card["targets"] for h in card["horizons"]]
    shutil.copytree(train_dir, out_dir)
    for split, term in terms.items():
        table = pq.read_table(os.path.join(train_dir, split))
        for name in labels:
            y = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)  # NaN stays NaN
            table = table.set_column(table.schema.get_field_index(name), name,
                                     pa.array(np.log1p(np.expm1(y) * np.exp(term))))
        folder = os.path.join(out_dir, split)
        for old in os.listdir(folder):
            os.remove(os.path.join(folder, old))
        pq.write_table(table, os.path.join(folder, "part-00000.parquet"))
    probe = {"kind": "shot-order hook factor", "strength": strength, "seed": seed, "source": train_dir,
             "share_of_videos_with_2plus_shots": {s: round(float(np.mean(t != 0)), 3) for s, t in terms.items()}}
    card["order_probe"] = probe
    with open(os.path.join(out_dir, CARD), "w") as f:
        json.dump(card, f, indent=2)
    return probe


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tune.order_probe", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="TRAIN_DIR to copy")
    p.add_argument("--out", required=True, help="new TRAIN_DIR with the hook term in its labels")
    p.add_argument("--strength", type=float, default=0.5, help="std over the training videos of the log of "
                                                               "the growth factor")
    p.add_argument("--seed", type=int, default=0, help="seed of the projection direction")
    args = p.parse_args(argv)
    try:
        probe = write_probe(args.data, args.out, args.strength, args.seed)
    except (FileExistsError, FileNotFoundError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(probe, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
