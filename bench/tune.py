"""Sweep throughput and gain: trials/hour of `trendflow tune` for v1 and v2 vs training one config at a
time with `trendflow train`, and the sweep's best validation loss vs the default config's, in one run.

    .venv/bin/python bench/tune.py [--data TRAIN_DIR] [--samples 6] [--epochs 6] [--models v1 v2]
    .venv/bin/python bench/tune.py --from study/sweeps/v1 study/sweeps/v2    # summarise finished sweeps

Run mode: per model, a sweep (the space of configs/sweep-<model>.yaml, `--samples` trials, at most
`--epochs` epochs, ASHA grace epochs/3, no re-ranking) and, side by side, one `train_model` run of the
default config for `--epochs` epochs (the baseline: trials run one after another, each a full run).
Data: a synthetic TRAIN_DIR unless --data. "epochs/h" separates the gain of running trials at once from
ASHA's (which stops trials early). `--from` reads OUT/summary.json of finished sweeps (trials/hour over
the trials' own time span; with re-ranking, the candidates' mean over seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


def sweep_config(model: str, epochs: int, path: str) -> str:
    """configs/sweep-<model>.yaml with the bench's epoch budget and no re-ranking."""
    with open(os.path.join(ROOT, "configs", f"sweep-{model}.yaml")) as f:
        doc = yaml.safe_load(f)
    doc["tune"].update(max_epochs=epochs, grace_period=max(1, epochs // 3), rerank_top=0)
    doc["train"]["wandb_mode"] = "disabled"
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    return path


def run_model(model: str, train_dir: str, samples: int, epochs: int, scratch: str) -> dict:
    from train.config import load_train_config
    from train.pipeline import train_model
    from tune.sweep import run_sweep
    config = sweep_config(model, epochs, os.path.join(scratch, f"sweep-{model}.yaml"))
    run_sweep(model, train_dir, os.path.join(scratch, f"sweep-{model}"), samples=samples, config_path=config,
              log=lambda line: None)
    with open(os.path.join(scratch, f"sweep-{model}", "summary.json")) as f:
        summary = json.load(f)
    started = time.perf_counter()
    card = train_model(model, train_dir, os.path.join(scratch, f"train-{model}"),
                       load_train_config(config, {"max_epochs": epochs, "early_stopping_patience": epochs}),
                       log=lambda line: None)
    summary["baseline"] = {"wall_s": time.perf_counter() - started, "epochs": epochs,
                           "val_head_loss": card["validation_metrics"].get("val_head_loss")}
    return summary


def print_table(summaries: list[dict]) -> None:
    print(f"\n{'model':<6} {'trials':>6} {'epochs':>6} {'span s':>8} {'trials/h':>9} {'epochs/h':>9} "
          f"{'default val':>11} {'best val':>9} {'best/default':>12}  chosen (best.yaml)")
    for s in summaries:
        metric = s["metric"]
        default = (s.get("default") or {}).get(metric)
        best = s["best"][metric]
        chosen = s.get("chosen", s["best"]["trial_id"])
        rerank = s.get("rerank")
        if rerank:
            c = rerank["candidates"][0]
            chosen += f" (rerank: {c[metric + '_mean']:.4f} ± {c[metric + '_std']:.4f} over {c['seeds']} seeds" + \
                      (", the default config)" if c["default"] else ")")
        epochs_h = s["epochs"] / s["trial_span_s"] * 3600
        ratio = f"{best / default:.3f}" if default else "-"
        print(f"{s['model']:<6} {s['trials']:>6} {s['epochs']:>6} {s['trial_span_s']:>8.0f} "
              f"{s['trials_per_hour']:>9.1f} {epochs_h:>9.0f} {_f(default):>11} {best:>9.4f} {ratio:>12}  {chosen}")
        if rerank:
            default_c = next((c for c in rerank["candidates"] if c["default"]), None)
            if default_c:
                print(f"{'':<6} rerank: default config {default_c[metric + '_mean']:.4f} ± "
                      f"{default_c[metric + '_std']:.4f}; candidates {len(rerank['candidates'])}, "
                      f"seeds {rerank['seeds']}")
        if "baseline" in s:
            b = s["baseline"]
            trials_ratio = s["trials_per_hour"] * b["wall_s"] / 3600
            epochs_ratio = epochs_h * b["wall_s"] / 3600 / b["epochs"]
            print(f"{'':<6} baseline `train_model`, default config, {b['epochs']} epochs: {b['wall_s']:.0f} s = "
                  f"{3600 / b['wall_s']:.1f} trials/h, {b['epochs'] * 3600 / b['wall_s']:.0f} epochs/h, val "
                  f"{_f(b['val_head_loss'])}; sweep ÷ baseline: trials/h {trials_ratio:.2f}x, "
                  f"epochs/h {epochs_ratio:.2f}x")
    print("val = the sweep metric at each trial's best epoch (lower is better); best/default < 1: the sweep "
          "found a better single run. Timings from a shared machine are noisy: compare ratios.")


def _f(v) -> str:
    return f"{v:.4f}" if isinstance(v, (int, float)) else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="sweeps", nargs="+", metavar="SWEEP_DIR", help="summarise finished sweeps")
    ap.add_argument("--data", help="an existing TRAIN_DIR (default: a synthetic one)")
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--models", nargs="+", default=["v1", "v2"])
    args = ap.parse_args()
    if args.sweeps:
        summaries = []
        for d in args.sweeps:
            with open(os.path.join(d, "summary.json")) as f:
                summaries.append(json.load(f))
        print_table(summaries)
        return 0

    import ray

    from train.synthetic_data import write_synthetic_training_data
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as scratch:
        train_dir = args.data
        if not train_dir:
            train_dir = os.path.join(scratch, "data")
            card = write_synthetic_training_data(train_dir)
            print(f"data: synthetic, {card['splits']['train']} train / {card['splits']['val']} val videos")
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        try:
            summaries = [run_model(m, train_dir, args.samples, args.epochs, scratch) for m in args.models]
        finally:
            ray.shutdown()
    print(f"{args.samples} trials per sweep, ≤ {args.epochs} epochs, {os.cpu_count()} CPU cores")
    print_table(summaries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
