"""High-level calls: train any registered model, and train + evaluate + report several side by side.

    from train.pipeline import train_model, compare_models
    card = train_model("v2", "data/train", "models/v2", cfg)            # one model
    summary = compare_models("data/train", "runs/", ["baseline", "szabo_huberman", "v0", "v0_content", "v1", "v2"])

Neural models train with Ray Train (`train.recipe`), tabular ones in-process (`train.fit_tabular`);
both end with the same model card, whose validation metrics are computed here, on the val split,
with `trendflow.metrics`, so every model is described the same way.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from train.config import TrainConfig
from train.evaluate import evaluate_model, head_summary, write_metrics
from train.model_dir import read_card, write_card

DEFAULT_MODELS = ("baseline", "szabo_huberman", "v0", "v0_content", "v1", "v2")


def train_model(model_name: str, train_dir: str, model_dir: str, cfg: TrainConfig | None = None,
                log=print) -> dict[str, Any]:
    """Train `model_name` on TRAIN_DIR into MODEL_DIR; returns the model card."""
    from train.registry import get_entry
    cfg = cfg or TrainConfig()
    if get_entry(model_name).kind == "torch":
        from train.recipe import RayTrainRecipe as Recipe
    else:
        from train.fit_tabular import TabularRecipe as Recipe
    recipe = Recipe(model_name, train_dir, model_dir, cfg)
    try:
        recipe.setup()
        log(f"train: {recipe.model_name} on {train_dir} → {model_dir}")
        recipe.train()
    finally:
        recipe.cleanup()
    val, _ = evaluate_model(model_dir, train_dir, "val", n_boot=0, ablations=False)
    card = read_card(model_dir)
    card["validation_metrics"] = {**card.get("validation_metrics", {}), "heads": head_summary(val["metrics"])}
    write_card(model_dir, card)
    return card


def compare_models(train_dir: str, out_dir: str, models: Sequence[str] = DEFAULT_MODELS,
                   cfg: TrainConfig | None = None, split: str = "test", n_boot: int = 200,
                   log=print) -> dict[str, Any]:
    """Train each model into OUT/<model>, evaluate it on `split` (OUT/<model>/metrics.json), then write
    OUT/report (markdown + PNG). Returns {"metrics": {model: path}, "report": path, "table": markdown}."""
    from train.registry import get_entry
    from train.report import write_report
    cfg = cfg or TrainConfig()
    started_ray = _start_ray_once(cfg) if any(get_entry(m).kind == "torch" for m in models) else False
    paths: dict[str, str] = {}
    try:
        for name in models:
            model_dir = os.path.join(out_dir, name)
            train_model(name, train_dir, model_dir, cfg, log=log)
            doc, preds = evaluate_model(model_dir, train_dir, split, n_boot=n_boot, seed=cfg.seed)
            paths[name] = write_metrics(doc, preds, os.path.join(model_dir, "metrics.json"))
    finally:
        if started_ray:
            import ray
            ray.shutdown()
    report = write_report(list(paths.values()), os.path.join(out_dir, "report"))
    log(report["table"])
    return {"metrics": paths, **report}


def _start_ray_once(cfg: TrainConfig) -> bool:
    """One Ray session for all neural models of a comparison (each recipe would otherwise start its own)."""
    import ray
    if ray.is_initialized():
        return False
    ray.init(address=cfg.ray_address, include_dashboard=False, log_to_driver=False)
    return True
