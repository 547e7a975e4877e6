"""`trendflow tune`: a Ray Tune sweep (ASHA) over a v1/v2 search space, a thin command over tune.sweep."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune", help="hyperparameter sweep of v1/v2 with Ray Tune + ASHA; writes OUT/best.yaml for `trendflow train`",
        description="Sweep a search space (the `tune` section of --config; see configs/sweep-v2.yaml) with ASHA "
                    "early stopping. Each trial is a Ray Train run of the model, starting from the config's "
                    "`train` section. Writes OUT/best.yaml, trials.csv, trials.md, trials.png and Tune's "
                    "results (OUT/ray_results, or tune.storage_path).")
    # No `choices=`: listing the registry would import torch on every `trendflow --help`; the name is
    # checked against the registry before Ray starts.
    p.add_argument("--model", help="the neural model to tune: v1, v2 (or any registered neural model); "
                                   "required for a new sweep")
    p.add_argument("--data", help="TRAIN_DIR written by build-dataset (required for a new sweep)")
    p.add_argument("--samples", type=int, help="number of trials (overrides tune.num_samples)")
    p.add_argument("--config", metavar="SWEEP.yaml", help="YAML with a `tune` section (search space, ASHA, "
                                                          "resources) and the base `train` section")
    p.add_argument("--out", required=True, help="sweep folder: best.yaml, trials.*, sweep.json, ray_results/")
    p.add_argument("--resume", action="store_true", help="continue the sweep in OUT (its driver was stopped or "
                                                         "killed); finished trials are not rerun")
    p.set_defaults(func=cmd_tune)


def cmd_tune(args) -> int:
    from train.data import TrainingDataError
    from train.recipe import RecipeConfigError
    from tune.space import SweepConfigError
    from tune.sweep import run_sweep
    if args.samples is not None and args.samples < 1:
        print("error: --samples must be ≥ 1", file=sys.stderr)
        return 2
    try:
        outcome = run_sweep(args.model, args.data, args.out, samples=args.samples, config_path=args.config,
                            resume=args.resume)
    except (SweepConfigError, TrainingDataError, RecipeConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    best, metric = outcome.best, outcome.metric
    how = (f"mean of {best['seeds']} seeds" if "seeds" in best else f"epoch {best.get('best_epoch')}")
    print(f"best trial {best['trial_id']}{' (the default config)' if best.get('default') else ''}: "
          f"{metric} {best[metric]:.4f} ({how})")
    for kind, path in outcome.files.items():
        print(f"  {kind:8s} {path}")
    return 0
