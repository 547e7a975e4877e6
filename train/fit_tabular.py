"""Recipe for the tabular models (naive baselines, v0 LightGBM): setup(cfg) → train() → cleanup().

They fit in seconds on one core, so they run in-process (no Ray Train); the saved folder has the
same model card as the neural models.
"""

from __future__ import annotations

import time

from train.config import RecipeConfigError, TrainConfig
from train.data import TrainDir, as_train_dir, load_schema, read_split_frame, split_files
from train.model_dir import ModelDir, as_model_dir, build_model_card, write_card
from train.recipe import TrainOutcome


class TabularRecipe:
    def __init__(self, model_name: str, train_dir: "str | TrainDir", model_dir: "str | ModelDir",
                 cfg: TrainConfig | None = None):
        self.model_name, self.train_dir, self.model_dir = model_name, as_train_dir(train_dir), as_model_dir(model_dir)
        self.cfg = cfg or TrainConfig()

    def setup(self) -> "TabularRecipe":
        from train.registry import canonical_name, get_entry
        self.entry = get_entry(self.model_name)
        if self.entry.kind != "tabular":
            raise RecipeConfigError(f"{self.model_name!r} is a neural model; train it with train.recipe.RayTrainRecipe")
        self.model_name = canonical_name(self.model_name)
        self.schema = load_schema(self.train_dir).select(self.cfg.targets, self.cfg.horizons)
        self.train_frame = read_split_frame(self.train_dir, "train", self.schema)
        has_val = bool(split_files(self.train_dir, "val"))
        self.val_frame = read_split_frame(self.train_dir, "val", self.schema) if has_val else self.train_frame.iloc[:0]
        return self

    def train(self) -> TrainOutcome:
        from train.registry import create_model
        started = time.time()
        kw = {"targets": self.schema.targets, "horizons": self.schema.horizons, "seed": self.cfg.seed}
        from train.baselines import TABULAR_CLASSES, LightGBMForecaster
        if issubclass(TABULAR_CLASSES[self.model_name], LightGBMForecaster):
            kw["lgbm_params"] = self.cfg.lightgbm
        model = create_model(self.model_name, **kw)
        fit_info = model.fit(self.train_frame, self.val_frame, self.schema)
        model.save(self.model_dir)
        features = model.params.get("features") or self.schema.meta_features(False)
        card = build_model_card(
            model_name=self.model_name, model_version=self.entry.version, kind="tabular", schema=self.schema,
            config=self.cfg.model_dump(mode="json"), seed=self.cfg.seed, meta_features=features,
            training_data_uri=self.train_dir.uri,
            validation_metrics={}, extra={"fit": fit_info, "train_seconds": round(time.time() - started, 2),
                                          "n_train": len(self.train_frame), "n_val": len(self.val_frame)})
        write_card(self.model_dir, card)
        return TrainOutcome(self.model_dir.uri, card, {}, None)

    def cleanup(self) -> None:
        self.train_frame = self.val_frame = None
