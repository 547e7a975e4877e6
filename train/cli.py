"""`trendflow build-dataset | train | evaluate | predict | report | compare | models`: thin commands over
train/ library calls.

Heavy libraries (torch, Ray, LightGBM) are imported inside the command functions, so `trendflow --help`
stays fast; model names are checked against the registry when a command runs (`trendflow models`
lists them). Every path may be `s3://bucket/prefix`; the config's `storage.storage_options` (endpoint,
keys) apply to all of them. A mistake the user can fix prints `error: ...` and exits 2.
"""

from __future__ import annotations

import argparse
import functools
import sys

SPLIT_CHOICES = ["train", "val", "test"]


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="CFG.yaml", default=None,
                   help="YAML config; the `train` section, and `storage.storage_options` for s3:// paths "
                        "(and `storage`, `targets` for build-dataset). Env overrides: TRENDFLOW__TRAIN__<FIELD>=value.")


def _add_model_data_split(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("--model", required=True, help="MODEL_DIR written by `trendflow train` (local or s3://)")
    p.add_argument("--data", required=True, help="TRAIN_DIR written by `trendflow build-dataset`")
    p.add_argument("--split", default="test", choices=SPLIT_CHOICES)
    p.add_argument("--out", required=True, help=out_help)


def _user_errors(command):
    """Errors a user can fix (missing data, a bad option, an unknown model) → `error: ...`, exit 2."""
    @functools.wraps(command)
    def run(args) -> int:
        from train.config import RecipeConfigError
        from train.data import TrainingDataError
        from train.model_dir import ModelDirError
        from train.registry import UnknownModelError
        from train.uris import SharedStorageError
        try:
            return command(args)
        except (TrainingDataError, RecipeConfigError, ModelDirError, UnknownModelError, SharedStorageError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-dataset", help="join temporal table + content aggregates + E_shot/A_shot into "
                                             "sharded training Parquet with a dataset card")
    p.add_argument("--dataset", help="dataset root (metadata + snapshots); the temporal table is built from it")
    p.add_argument("--temporal", help="a temporal table written by `trendflow temporal` (instead of --dataset)")
    p.add_argument("--store", help="result store with the extraction runs (default: storage.store in the config); "
                                   "without either, the data is counters-only (no content)")
    p.add_argument("--out", required=True, help="output TRAIN_DIR (local or s3://)")
    p.add_argument("--config-hash", help="use only runs with this extraction config_hash (default: latest ok run)")
    p.add_argument("--sampling-policy-version", help="use only runs with this sampling_policy_version")
    p.add_argument("--max-shots", type=int, default=256, help="shots kept per modality; longer videos merge "
                                                              "adjacent shots (default 256)")
    _add_config(p)
    p.set_defaults(func=cmd_build_dataset)

    p = sub.add_parser("train", help="train a registered model (v1/v2 with Ray Train) into MODEL_DIR")
    p.add_argument("--model", required=True,
                   help="a registered model or alias (`trendflow models` lists them): naive baselines, v0 / "
                        "v0_content (LightGBM without / with content aggregates), v1 (late fusion), v2 (transformer)")
    p.add_argument("--data", required=True, help="TRAIN_DIR written by build-dataset (its card gives the heads)")
    p.add_argument("--out", required=True, help="MODEL_DIR to write (weights + model_card.json + intervals.json)")
    p.add_argument("--max-epochs", type=int, help="override train.max_epochs")
    p.add_argument("--num-workers", type=int, help="override train.num_workers (Ray Train workers)")
    _add_config(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics per target × horizon × age bucket (+ bootstrap CIs, interval "
                                        "coverage) on a split")
    _add_model_data_split(p, "metrics.json to write (predictions go next to it)")
    p.add_argument("--bootstrap", type=int, default=200, help="channel-grouped bootstrap replicates (0 = none)")
    p.add_argument("--no-ablation", action="store_true", help="skip the modality ablation of neural models")
    _add_config(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="batch forecasts: one row per video with every head's delta, total and "
                                       "interval (Parquet)")
    _add_model_data_split(p, "preds.parquet to write (local or s3://)")
    _add_config(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("report", help="compare evaluated models: markdown table + PNG plots")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--models", nargs="+", metavar="MODEL_DIR",
                     help="model folders holding a metrics.json from `trendflow evaluate --out MODEL_DIR/metrics.json`")
    src.add_argument("--metrics", nargs="+", metavar="METRICS.json", help="metrics.json files from `trendflow evaluate`")
    p.add_argument("--out", required=True, help="report folder (report.md + PNGs)")
    _add_config(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="train + evaluate every model the data supports and write the report "
                                       "(what `make demo` runs)")
    p.add_argument("--data", required=True, help="TRAIN_DIR")
    p.add_argument("--out", required=True, help="folder for OUT/<model>/ and OUT/report/")
    p.add_argument("--models", nargs="+", default=None,
                   help="registered models to compare (default: all that the data supports; see `trendflow models`)")
    p.add_argument("--split", default="test", choices=["val", "test"])
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--max-epochs", type=int, help="override train.max_epochs")
    _add_config(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("models", help="list the registered models, their aliases and what data they need",
                       description="List every model registered in train/registry.py: its name and aliases (what "
                                   "`trendflow train --model` accepts), kind (torch = Ray Train, tabular = in-process), "
                                   "and the training data it needs (`compare` skips a model whose needs the "
                                   "dataset card does not meet).")
    p.set_defaults(func=cmd_models)


def _train_config(args):
    from train.config import load_train_config
    overrides = {}
    # `is not None`, not truthiness: 0 must reach validation (and be refused), never be read as "unset".
    if getattr(args, "max_epochs", None) is not None:
        overrides["max_epochs"] = args.max_epochs
    if getattr(args, "num_workers", None) is not None:
        overrides["num_workers"] = args.num_workers
    return load_train_config(args.config, overrides)


def _storage(args, store: str | None = None):
    from trendflow.config import StorageConfig, load_section
    return load_section(args.config, "storage", StorageConfig, {"store": store} if store else None)


def _train_dir(args):
    from train.data import TrainDir
    return TrainDir(args.data, _storage(args).storage_options)


def _model_dir(args, uri: str):
    from train.model_dir import ModelDir
    return ModelDir(uri, _storage(args).storage_options)


@_user_errors
def cmd_build_dataset(args) -> int:
    from train.build_dataset import build_training_data
    storage = _storage(args, args.store)
    # Only a store the user named is read: the section's default ("result_store") is no evidence that an
    # extraction exists, and without one the data is counters-only.
    store = storage.store if "store" in storage.model_fields_set else None
    targets_cfg = None
    if args.dataset and not args.temporal:
        from trendflow.config import load_section
        from trendflow.temporal import TargetsConfig
        targets_cfg = load_section(args.config, "targets", TargetsConfig)
    build_training_data(args.dataset, store, args.out, temporal_path=args.temporal,
                        storage_options=storage.storage_options, config_hash=args.config_hash,
                        sampling_policy_version=args.sampling_policy_version, max_shots=args.max_shots,
                        targets_config=targets_cfg, index_path=storage.index_path)
    return 0


@_user_errors
def cmd_train(args) -> int:
    from train.pipeline import train_model
    cfg = _train_config(args)
    md = _model_dir(args, args.out)
    card = train_model(args.model, _train_dir(args), md, cfg)
    heads = card["validation_metrics"].get("heads", {})
    summary = ", ".join(f"{h} {m['mae']:.3f}" for h, m in heads.items() if m.get("mae") is not None)
    print(f"trained {card['model_name']} → {md.uri}  (val MAE: {summary})")
    return 0


@_user_errors
def cmd_evaluate(args) -> int:
    from train.evaluate import evaluate_model, write_metrics
    td = _train_dir(args)
    doc, preds = evaluate_model(_model_dir(args, args.model), td, args.split, n_boot=args.bootstrap,
                                ablations=not args.no_ablation, log=print)
    out = write_metrics(doc, preds, args.out, td.storage_options)
    iv = doc.get("intervals", {})
    print(f"{doc['model']['model_name']} on {args.split} (n={doc['n']}): " +
          ", ".join(f"{h} MAE {b['all']['mae']:.3f}" + (f" cov {iv[h]['coverage']:.2f}" if h in iv else "")
                    for h, b in doc["metrics"].items()) + f"  → {out}")
    return 0


@_user_errors
def cmd_predict(args) -> int:
    from train.predict import predict_to_parquet
    td = _train_dir(args)
    out = predict_to_parquet(_model_dir(args, args.model), td, args.split, args.out, td.storage_options)
    print(f"predict: {out['rows']} videos × {len(out['heads'])} heads ({out['model']}) → {out['path']}")
    return 0


@_user_errors
def cmd_report(args) -> int:
    from train.report import write_report
    from train.uris import file_exists, join
    options = _storage(args).storage_options
    paths = list(args.metrics or [])
    for d in args.models or []:
        path = join(d, "metrics.json")
        if not file_exists(path, options):
            print(f"error: {d} has no metrics.json; run `trendflow evaluate --model {d} --data TRAIN_DIR "
                  f"--out {path}` first", file=sys.stderr)
            return 2
        paths.append(path)
    out = write_report(paths, args.out, storage_options=options)
    print(out["table"])
    print(f"report: {out['report']}")
    return 0


@_user_errors
def cmd_compare(args) -> int:
    from train.pipeline import compare_models
    out = compare_models(_train_dir(args), args.out, args.models, _train_config(args), split=args.split,
                         n_boot=args.bootstrap)
    print(f"report: {out['report']}")
    return 0


def cmd_models(args) -> int:
    from train.registry import DATA_NEEDS, get_entry, list_models
    for name in list_models():
        e = get_entry(name)
        aliases = f" (alias {', '.join(e.aliases)})" if e.aliases else ""
        needs = "; needs " + ", ".join(DATA_NEEDS[n] for n in e.needs) if e.needs else ""
        print(f"{name}{aliases} [{e.kind}]: {e.description}{needs}")
    return 0
