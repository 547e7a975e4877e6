"""Retrain configs over several seeds and compare them, paired by seed (the README's v2-vs-v1 study).

    python -m tune.study --data TRAIN_DIR --out study/compare --seeds 0 1 2 3 4 \\
        --run v1_default=v1 --run v1_tuned=v1:sweeps/v1/best.yaml \\
        --run v2_default=v2 --run v2_tuned=v2:sweeps/v2/best.yaml \\
        --pair v2_tuned:v1_tuned --pair v2_default:v1_default --pair v1_tuned:v1_default

Each `--run NAME=MODEL[:CONFIG.yaml]` is trained once per seed with `train.pipeline.train_model` (the
config's `train` section with `seed` replaced; no config = the defaults), then evaluated on val and test
(`train.evaluate.evaluate_model`): mean MAE over the heads. Rows go to OUT/runs.csv as they finish, so an
interrupted study continues where it stopped (`--only NAME` splits the runs between processes).
OUT/study.md gets mean ± std per run and, per `--pair A:B`, the per-seed differences A − B (negative = A
better), A's wins, and a paired t-test.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from typing import Any

FIELDS = ("run", "model", "config", "seed", "val_mae", "test_mae", "val_head_loss", "best_epoch", "train_s")


def mean_mae(doc: dict[str, Any]) -> float:
    """Mean over the heads of the MAE on all videos of the split."""
    return statistics.fmean(m["all"]["mae"] for m in doc["metrics"].values())


def train_and_evaluate(name: str, model: str, config: str | None, seed: int, train_dir: str, out_dir: str) -> dict:
    from train.config import load_train_config
    from train.evaluate import evaluate_model
    from train.pipeline import train_model
    model_dir = os.path.join(out_dir, name, f"seed{seed}")
    started = time.time()
    card = train_model(model, train_dir, model_dir, load_train_config(config, {"seed": seed}))
    val, _ = evaluate_model(model_dir, train_dir, "val", n_boot=0, ablations=False)
    test, _ = evaluate_model(model_dir, train_dir, "test", n_boot=0, ablations=False)
    vm = card["validation_metrics"]
    return {"run": name, "model": model, "config": config or "default", "seed": seed,
            "val_mae": round(mean_mae(val), 5), "test_mae": round(mean_mae(test), 5),
            "val_head_loss": round(float(vm.get("val_head_loss", float("nan"))), 5),
            "best_epoch": vm.get("epoch"), "train_s": round(time.time() - started, 1)}


def read_rows(path: str) -> list[dict[str, Any]]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def append_row(path: str, row: dict[str, Any]) -> None:
    from filelock import FileLock
    with FileLock(path + ".lock"):  # several `--only` processes may share OUT
        new = not os.path.exists(path)
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)


def summary(rows: list[dict[str, Any]], runs: list[str], pairs: list[tuple[str, str]]) -> str:
    from scipy.stats import ttest_rel
    by = {(r["run"], int(r["seed"])): r for r in rows}
    lines = ["| run | seeds | val mean MAE | test mean MAE | val_head_loss | best epoch |", "|---|---|---|---|---|---|"]
    for run in runs:
        rs = [r for r in rows if r["run"] == run]
        if not rs:
            continue
        cell = {k: _mean_std([float(r[k]) for r in rs]) for k in ("val_mae", "test_mae", "val_head_loss")}
        epochs = statistics.fmean(float(r["best_epoch"]) for r in rs)
        lines.append(f"| {run} | {len(rs)} | {cell['val_mae']} | {cell['test_mae']} | {cell['val_head_loss']} | "
                     f"{epochs:.0f} |")
    for a, b in pairs:
        seeds = sorted(s for (run, s) in by if run == a and (b, s) in by)
        if not seeds:
            continue
        lines += ["", f"**{a} − {b}**, paired by seed (negative: {a} better)", "",
                  "| split | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± std | wins of " + a +
                  " | paired t-test p |", "|---|" + "---|" * (len(seeds) + 3)]
        for split in ("val_mae", "test_mae"):
            xa = [float(by[(a, s)][split]) for s in seeds]
            xb = [float(by[(b, s)][split]) for s in seeds]
            d = [x - y for x, y in zip(xa, xb)]
            p = ttest_rel(xa, xb).pvalue if len(seeds) > 1 else float("nan")
            lines.append(f"| {split.split('_')[0]} | " + " | ".join(f"{x:+.3f}" for x in d) +
                         f" | {_mean_std(d, signed=True)} | {sum(x < 0 for x in d)}/{len(d)} | {p:.2f} |")
    return "\n".join(lines)


def _mean_std(xs: list[float], signed: bool = False) -> str:
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.fmean(xs):+.3f} ± {sd:.3f}" if signed else f"{statistics.fmean(xs):.3f} ± {sd:.3f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tune.study", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="TRAIN_DIR")
    p.add_argument("--out", required=True, help="folder for OUT/<run>/seed<k>/, runs.csv and study.md")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--run", action="append", required=True, metavar="NAME=MODEL[:CONFIG.yaml]")
    p.add_argument("--pair", action="append", default=[], metavar="A:B", help="compare run A with run B per seed")
    p.add_argument("--only", nargs="+", help="train only these runs (the summary covers all rows)")
    args = p.parse_args(argv)
    runs: dict[str, tuple[str, str | None]] = {}
    for spec in args.run:
        name, _, rest = spec.partition("=")
        model, _, config = rest.partition(":")
        if not name or not model:
            print(f"error: --run {spec!r}: expected NAME=MODEL[:CONFIG.yaml]", file=sys.stderr)
            return 2
        runs[name] = (model, config or None)
    pairs = [tuple(x.split(":", 1)) for x in args.pair]
    unknown = sorted({n for pair in pairs for n in pair} - set(runs))
    if unknown or any(len(pair) != 2 for pair in pairs):
        print(f"error: --pair names unknown runs {unknown}; runs: {sorted(runs)}", file=sys.stderr)
        return 2

    import ray
    os.makedirs(args.out, exist_ok=True)
    csv_path = os.path.join(args.out, "runs.csv")
    done = {(r["run"], int(r["seed"])) for r in read_rows(csv_path)}
    todo = [(n, s) for s in args.seeds for n in runs if (n, s) not in done and (not args.only or n in args.only)]
    started_ray = bool(todo) and not ray.is_initialized()  # (nothing to train: only the summary is rewritten)
    if started_ray:
        ray.init(include_dashboard=False, log_to_driver=False)
    try:
        for k, (name, seed) in enumerate(todo, 1):
            model, config = runs[name]
            print(f"[study {k}/{len(todo)}] {name} seed {seed}: training {model} ({config or 'default config'})",
                  flush=True)
            row = train_and_evaluate(name, model, config, seed, args.data, args.out)
            append_row(csv_path, row)
            print(f"[study {k}/{len(todo)}] {name} seed {seed}: val {row['val_mae']:.3f} test {row['test_mae']:.3f} "
                  f"({row['train_s']:.0f} s)", flush=True)
    finally:
        if started_ray:
            ray.shutdown()
    table = summary(read_rows(csv_path), list(runs), pairs)
    with open(os.path.join(args.out, "study.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
