"""High-level calls: train any registered model, and train + evaluate + report several side by side.

    from train.pipeline import train_model, compare_models
    card = train_model("v2", "data/train", "models/v2", cfg)        # one model
    summary = compare_models("data/train", "runs/")                 # every registered model the data supports

Neural models train with Ray Train (`train.recipe`), tabular ones in-process (`train.fit_tabular`);
both end with the same model card, whose validation metrics are computed here, on the val split,
with `trendflow.metrics`, so every model is described the same way. The val split also calibrates
each head's split-conformal interval (`train.intervals`, MODEL_DIR/intervals.json). Paths may be
local or s3:// (`TrainDir` / `ModelDir` carry the storage options).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from train.config import TrainConfig
from train.data import TrainDir, TrainingDataError, as_train_dir, load_schema, target_arrays
from train.evaluate import evaluate_model, head_summary, predict_split, write_metrics
from train.model_dir import ModelDir, as_model_dir, load_predictor, read_card, write_card
from train.uris import join

Log = Callable[[str], Any]


def train_model(model_name: str, train_dir: "str | TrainDir", model_dir: "str | ModelDir",
                cfg: TrainConfig | None = None, log: Log = print) -> dict[str, Any]:
    """Train `model_name` on TRAIN_DIR into MODEL_DIR; returns the model card."""
    from train.registry import canonical_name, get_entry, unsupported_reason
    cfg = cfg or TrainConfig()
    td, md = as_train_dir(train_dir), as_model_dir(model_dir)
    name = canonical_name(model_name)  # an unknown name fails here, naming the registered ones
    schema = load_schema(td)  # a missing or malformed data folder fails here, before any Ray worker starts
    reason = unsupported_reason(name, schema)
    if reason:
        raise TrainingDataError(f"{name} {reason}")
    if get_entry(name).kind == "torch":
        from train.recipe import RayTrainRecipe
        recipe = RayTrainRecipe(name, td, md, cfg, log=log)
    else:
        from train.fit_tabular import TabularRecipe
        recipe = TabularRecipe(name, td, md, cfg)
    try:
        recipe.setup()
        log(f"train: {name} on {td.uri} → {md.uri}")
        recipe.train()
    finally:
        recipe.cleanup()
    return calibrate_and_validate(md, td, cfg)


def calibrate_and_validate(model_dir: ModelDir, train_dir: TrainDir, cfg: TrainConfig) -> dict[str, Any]:
    """Calibrate the intervals on the val split (MODEL_DIR/intervals.json), then put the validation metrics
    and the interval summary in the model card; returns the card."""
    from train.intervals import INTERVALS_FILE, calibrate
    predictor = load_predictor(model_dir)
    table, preds = predict_split(predictor, train_dir, "val")
    y, mask = target_arrays(table, predictor.targets, predictor.horizons)
    heads = [f"{t}_{h}" for t in predictor.targets for h in predictor.horizons]
    intervals = calibrate(y, preds, mask, table["age_bucket"].to_pylist(), heads, cfg.interval_level,
                          cfg.interval_min_bucket_rows, split="val")
    intervals.save(model_dir)
    val, _ = evaluate_model(model_dir, train_dir, "val", n_boot=0, ablations=False)
    card = read_card(model_dir)
    card["validation_metrics"] = {**card.get("validation_metrics", {}), "heads": head_summary(val["metrics"])}
    card["intervals"] = {"file": INTERVALS_FILE, "level": intervals.level, "method": intervals.method,
                         "calibration_split": "val", "min_bucket_rows": intervals.min_bucket_rows}
    write_card(model_dir, card)
    return card


def supported_models(schema, models: Sequence[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """(models the data can train, {model: why not} for the others); default: every registered model."""
    from train.registry import canonical_name, list_models, unsupported_reason
    names = list(dict.fromkeys(canonical_name(m) for m in (models or list_models())))
    skipped = {n: r for n in names if (r := unsupported_reason(n, schema))}
    return [n for n in names if n not in skipped], skipped


def compare_models(train_dir: "str | TrainDir", out_dir: str, models: Sequence[str] | None = None,
                   cfg: TrainConfig | None = None, split: str = "test", n_boot: int = 200,
                   log: Log = print, storage_options: dict | None = None) -> dict[str, Any]:
    """Train each model the data supports into OUT/<model>, evaluate it on `split` (OUT/<model>/metrics.json),
    then write OUT/report (markdown + PNG). Models the data cannot train are skipped with a reason.
    Returns {"metrics": {model: path}, "skipped": {model: reason}, "report": path, "table": markdown}."""
    from train.registry import get_entry
    from train.report import write_report
    from train.uris import absolute_uri
    cfg = cfg or TrainConfig()
    td = train_dir if isinstance(train_dir, TrainDir) else TrainDir(train_dir, storage_options)
    out_dir = absolute_uri(out_dir)
    runnable, skipped = supported_models(load_schema(td), models)  # checked before Ray starts
    for name, reason in skipped.items():
        log(f"compare: skipping {name}: {reason}")
    if not runnable:
        raise TrainingDataError(f"the training data at {td.uri} supports none of the models asked for")
    started_ray = _start_ray_once(cfg) if any(get_entry(m).kind == "torch" for m in runnable) else False
    paths: dict[str, str] = {}
    try:
        for i, name in enumerate(runnable, 1):
            step = f"compare [{i}/{len(runnable)}] {name}"
            md = ModelDir(join(out_dir, name), td.storage_options)
            log(f"{step}: train")
            train_model(name, td, md, cfg, log=log)
            doc, preds = evaluate_model(md, td, split, n_boot=n_boot, seed=cfg.seed,
                                        log=lambda msg, step=step: log(f"{step}: {msg}"))
            paths[name] = write_metrics(doc, preds, md.path("metrics.json"), td.storage_options)
    finally:
        if started_ray:
            import ray
            ray.shutdown()
    report = write_report(list(paths.values()), join(out_dir, "report"), skipped=skipped,
                          storage_options=td.storage_options)
    log(report["table"])
    return {"metrics": paths, "skipped": skipped, **report}


def _start_ray_once(cfg: TrainConfig) -> bool:
    """One Ray session for all neural models of a comparison (each recipe would otherwise start its own)."""
    import ray
    if ray.is_initialized():
        return False
    ray.init(address=cfg.ray_address, include_dashboard=False, log_to_driver=False)
    return True
