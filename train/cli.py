"""`trendflow build-dataset | train | evaluate | report | compare`: thin commands over train/ library calls.

Heavy libraries (torch, Ray, LightGBM) are imported inside the command functions, so `trendflow --help`
stays fast.
"""

from __future__ import annotations

import argparse
import sys

MODEL_CHOICES = ("baseline", "szabo_huberman", "v0", "v0_content", "v1", "v2")


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="CFG.yaml", default=None,
                   help="YAML config; the `train` section (and `storage`, `targets` for build-dataset). "
                        "Env overrides: TRENDFLOW__TRAIN__<FIELD>=value.")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-dataset", help="join temporal table + content aggregates + E_shot/A_shot into "
                                             "sharded training Parquet with a dataset card")
    p.add_argument("--dataset", help="dataset root (metadata + snapshots); the temporal table is built from it")
    p.add_argument("--temporal", help="a temporal table written by `trendflow temporal` (instead of --dataset)")
    p.add_argument("--store", help="result store with the extraction runs (default: storage.store in the config)")
    p.add_argument("--out", required=True, help="output TRAIN_DIR")
    p.add_argument("--config-hash", help="use only runs with this extraction config_hash (default: latest ok run)")
    p.add_argument("--sampling-policy-version", help="use only runs with this sampling_policy_version")
    p.add_argument("--max-shots", type=int, default=256, help="shots kept per modality; longer videos merge "
                                                              "adjacent shots (default 256)")
    _add_config(p)
    p.set_defaults(func=cmd_build_dataset)

    p = sub.add_parser("train", help="train a registered model (v1/v2 with Ray Train) into MODEL_DIR")
    p.add_argument("--model", required=True, choices=MODEL_CHOICES,
                   help="baseline (bucket median), szabo_huberman, v0 / v0_content (LightGBM without / with "
                        "content aggregates), v1 (late fusion), v2 (multimodal transformer)")
    p.add_argument("--data", required=True, help="TRAIN_DIR written by build-dataset")
    p.add_argument("--out", required=True, help="MODEL_DIR to write (weights + model_card.json)")
    p.add_argument("--max-epochs", type=int, help="override train.max_epochs")
    p.add_argument("--num-workers", type=int, help="override train.num_workers (Ray Train workers)")
    _add_config(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics per target × horizon × age bucket (+ bootstrap CIs) on a split")
    p.add_argument("--model", required=True, help="MODEL_DIR written by `trendflow train`")
    p.add_argument("--data", required=True, help="TRAIN_DIR")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--out", required=True, help="metrics.json to write (predictions go next to it)")
    p.add_argument("--bootstrap", type=int, default=200, help="channel-grouped bootstrap replicates (0 = none)")
    p.add_argument("--no-ablation", action="store_true", help="skip the modality ablation of neural models")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("report", help="compare evaluated models: markdown table + PNG plots")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--models", nargs="+", metavar="MODEL_DIR",
                     help="model folders holding a metrics.json from `trendflow evaluate --out MODEL_DIR/metrics.json`")
    src.add_argument("--metrics", nargs="+", metavar="METRICS.json", help="metrics.json files from `trendflow evaluate`")
    p.add_argument("--out", required=True, help="report folder (report.md + PNGs)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="train + evaluate several models and write the report (what `make demo` runs)")
    p.add_argument("--data", required=True, help="TRAIN_DIR")
    p.add_argument("--out", required=True, help="folder for OUT/<model>/ and OUT/report/")
    p.add_argument("--models", nargs="+", default=list(MODEL_CHOICES), choices=MODEL_CHOICES)
    p.add_argument("--split", default="test", choices=["val", "test"])
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--max-epochs", type=int, help="override train.max_epochs")
    _add_config(p)
    p.set_defaults(func=cmd_compare)


def _train_config(args):
    from train.config import load_train_config
    overrides = {}
    if getattr(args, "max_epochs", None):
        overrides["max_epochs"] = args.max_epochs
    if getattr(args, "num_workers", None):
        overrides["num_workers"] = args.num_workers
    return load_train_config(args.config, overrides)


def cmd_build_dataset(args) -> int:
    from train.build_dataset import build_training_data
    from train.data import TrainingDataError
    from trendflow.config import StorageConfig, load_section
    storage = load_section(args.config, "storage", StorageConfig, {"store": args.store} if args.store else None)
    targets_cfg = None
    if args.dataset and not args.temporal:
        from trendflow.temporal import TargetsConfig
        targets_cfg = load_section(args.config, "targets", TargetsConfig)
    try:
        build_training_data(args.dataset, storage.store, args.out, temporal_path=args.temporal,
                            storage_options=storage.storage_options, config_hash=args.config_hash,
                            sampling_policy_version=args.sampling_policy_version, max_shots=args.max_shots,
                            targets_config=targets_cfg, index_path=storage.index_path)
    except TrainingDataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def cmd_train(args) -> int:
    from train.data import TrainingDataError
    from train.pipeline import train_model
    from train.recipe import RecipeConfigError
    try:
        card = train_model(args.model, args.data, args.out, _train_config(args))
    except (TrainingDataError, RecipeConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    heads = card["validation_metrics"].get("heads", {})
    summary = ", ".join(f"{h} {m['mae']:.3f}" for h, m in heads.items() if m.get("mae") is not None)
    print(f"trained {card['model_name']} → {args.out}  (val MAE: {summary})")
    return 0


def cmd_evaluate(args) -> int:
    from train.evaluate import evaluate_model, write_metrics
    doc, preds = evaluate_model(args.model, args.data, args.split, n_boot=args.bootstrap,
                                ablations=not args.no_ablation)
    write_metrics(doc, preds, args.out)
    mae = {h: b["all"]["mae"] for h, b in doc["metrics"].items()}
    print(f"{doc['model']['model_name']} on {args.split} (n={doc['n']}): " +
          ", ".join(f"{h} MAE {v:.3f}" for h, v in mae.items()) + f"  → {args.out}")
    return 0


def cmd_report(args) -> int:
    import os

    from train.report import write_report
    paths = args.metrics or []
    for d in args.models or []:
        path = os.path.join(d, "metrics.json")
        if not os.path.exists(path):
            print(f"error: {d} has no metrics.json; run `trendflow evaluate --model {d} --data TRAIN_DIR "
                  f"--out {path}` first", file=sys.stderr)
            return 2
        paths.append(path)
    out = write_report(paths, args.out)
    print(out["table"])
    print(f"report: {out['report']}")
    return 0


def cmd_compare(args) -> int:
    from train.pipeline import compare_models
    out = compare_models(args.data, args.out, args.models, _train_config(args), split=args.split,
                         n_boot=args.bootstrap)
    print(f"report: {out['report']}")
    return 0
