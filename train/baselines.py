"""Naive baselines and v0 gradient boosting: the controls every content model must beat (SPEC §4).

- `baseline`        per-age-bucket median of each head (the floor).
- `szabo_huberman`  per bucket and head, y = a + b·log1p(views_t0) by least squares (Szabo & Huberman 2010).
- `v0`              LightGBM on the temporal/meta features, one model per target × horizon.
- `v0_content`      the same plus the content aggregates (quality, pacing, loudness, ...).

All are "tabular" models: `fit(train_df, val_df, schema)`, `predict(df) -> (N, T, H)`, `save(dir)`,
`load(dir)`. Rows whose label is masked are dropped per head, never imputed. Saved as JSON and
LightGBM text files (no pickles).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from train.data import (
    AGE_BUCKETS,
    DatasetSchema,
    TrainingDataError,
    float_column,
    meta_matrix,
    target_arrays,
)
from train.registry import register_model

PARAMS_FILE = "params.json"
# Sized for a few hundred videos: shallow trees, row/column subsampling, early stopping on val.
DEFAULT_LGBM_PARAMS = {"n_estimators": 600, "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 10,
                       "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0,
                       "verbose": -1}
MIN_ROWS_PER_FIT = 3


class TabularForecaster:
    """Shared plumbing: targets/horizons, the bucket column, JSON save/load of parameters."""
    name = "tabular"

    def __init__(self, targets=("views", "likes"), horizons=(7, 14, 21), seed: int = 0):
        self.targets, self.horizons, self.seed = list(targets), [int(h) for h in horizons], seed
        self.params: dict[str, Any] = {}

    def _labels(self, df) -> tuple[np.ndarray, np.ndarray]:
        return target_arrays(df, self.targets, self.horizons)  # (N, T, H) each

    @staticmethod
    def _buckets(df) -> np.ndarray:
        return df["age_bucket"].astype(str).to_numpy() if "age_bucket" in df else np.full(len(df), "all")

    def save(self, model_dir) -> None:
        """Write into a `train.model_dir.ModelDir` (local or s3://)."""
        model_dir.write_json(PARAMS_FILE, {"name": self.name, "targets": self.targets, "horizons": self.horizons,
                                           "seed": self.seed, "params": self.params})

    @classmethod
    def load(cls, model_dir) -> "TabularForecaster":
        d = model_dir.read_json(PARAMS_FILE)
        model = cls(d["targets"], d["horizons"], d["seed"])
        model.params = d["params"]
        model._after_load(model_dir)
        return model

    def _after_load(self, model_dir) -> None:
        pass


class BucketMedian(TabularForecaster):
    """Predicts, for every head, the training median of the video's age bucket."""
    name = "baseline"

    def fit(self, train_df, val_df, schema: DatasetSchema) -> dict:
        y, mask = self._labels(train_df)
        buckets = self._buckets(train_df)
        table: dict[str, list[list[float]]] = {}
        for bucket in ["all", *AGE_BUCKETS]:
            rows = np.ones(len(buckets), bool) if bucket == "all" else buckets == bucket
            med = np.full(y.shape[1:], np.nan)
            for i in range(y.shape[1]):
                for j in range(y.shape[2]):
                    vals = y[rows & mask[:, i, j], i, j]
                    med[i, j] = float(np.median(vals)) if len(vals) else np.nan
            table[bucket] = med.tolist()
        if np.isnan(np.asarray(table["all"])).any():
            raise TrainingDataError("some head has no labelled training row; cannot fit the median baseline")
        self.params = {"median": table}
        return {}

    def predict(self, df) -> np.ndarray:
        table = {k: np.asarray(v, dtype=np.float64) for k, v in self.params["median"].items()}
        out = np.empty((len(df), len(self.targets), len(self.horizons)), dtype=np.float32)
        for r, bucket in enumerate(self._buckets(df)):
            med = table.get(bucket, table["all"])
            out[r] = np.where(np.isnan(med), table["all"], med)
        return out


class SzaboHuberman(TabularForecaster):
    """y = a + b·log1p(views_t0), fitted per age bucket and head; bucket median when views_t0 is missing."""
    name = "szabo_huberman"

    def fit(self, train_df, val_df, schema: DatasetSchema) -> dict:
        if not schema.views_t0_column:
            raise TrainingDataError("the dataset card names no views_t0 column; Szabo–Huberman needs it")
        self.params["views_t0_column"] = schema.views_t0_column
        x = np.log1p(np.clip(float_column(train_df, schema.views_t0_column), 0, None))
        y, mask = self._labels(train_df)
        buckets = self._buckets(train_df)
        coef: dict[str, list] = {}
        for bucket in ["all", *AGE_BUCKETS]:
            rows = np.ones(len(buckets), bool) if bucket == "all" else buckets == bucket
            ab = [[None] * y.shape[2] for _ in range(y.shape[1])]
            for i in range(y.shape[1]):
                for j in range(y.shape[2]):
                    keep = rows & mask[:, i, j] & np.isfinite(x)
                    if keep.sum() >= MIN_ROWS_PER_FIT and np.ptp(x[keep]) > 0:
                        b, a = np.polyfit(x[keep], y[keep, i, j], 1)
                        ab[i][j] = [float(a), float(b)]
            coef[bucket] = ab
        self.params["coef"] = coef
        self._median = BucketMedian(self.targets, self.horizons)
        self._median.fit(train_df, val_df, schema)
        self.params["median"] = self._median.params["median"]
        return {}

    def _after_load(self, model_dir) -> None:
        self._median = BucketMedian(self.targets, self.horizons)
        self._median.params = {"median": self.params["median"]}

    def predict(self, df) -> np.ndarray:
        x = np.log1p(np.clip(float_column(df, self.params["views_t0_column"]), 0, None))
        out = self._median.predict(df).astype(np.float64)
        coef = self.params["coef"]
        for r, bucket in enumerate(self._buckets(df)):
            if not np.isfinite(x[r]):
                continue  # no views_t0: keep the bucket median
            for i in range(len(self.targets)):
                for j in range(len(self.horizons)):
                    ab = coef.get(bucket, coef["all"])[i][j] or coef["all"][i][j]
                    if ab is not None:
                        out[r, i, j] = ab[0] + ab[1] * x[r]
        return out.astype(np.float32)


class LightGBMForecaster(TabularForecaster):
    """One LGBMRegressor per head on the tabular features (NaN handled natively), early-stopped on val."""
    name = "v0"
    use_content = False

    def __init__(self, targets=("views", "likes"), horizons=(7, 14, 21), seed: int = 0,
                 lgbm_params: dict | None = None, early_stopping_rounds: int = 50):
        super().__init__(targets, horizons, seed)
        self.lgbm_params = {**DEFAULT_LGBM_PARAMS, **(lgbm_params or {})}
        self.early_stopping_rounds = early_stopping_rounds
        self.boosters: dict[str, Any] = {}

    def _features(self, schema: DatasetSchema) -> list[str]:
        return schema.meta_features(self.use_content)

    def fit(self, train_df, val_df, schema: DatasetSchema) -> dict:
        import lightgbm as lgb
        features = self._features(schema)
        if self.use_content and not schema.content_features:
            raise TrainingDataError("v0_content needs content aggregates, but the training data has none "
                                    "(was the aggregates table found by build-dataset?)")
        x_tr, x_va = meta_matrix(train_df, features), meta_matrix(val_df, features)
        y_tr, m_tr = self._labels(train_df)
        y_va, m_va = self._labels(val_df)
        best: dict[str, int] = {}
        for i, t in enumerate(self.targets):
            for j, h in enumerate(self.horizons):
                head = f"{t}_{h}"
                keep, keep_va = m_tr[:, i, j], m_va[:, i, j]  # masked rows dropped, never imputed
                if keep.sum() < MIN_ROWS_PER_FIT:
                    raise TrainingDataError(f"{self.name}: head {head} has {keep.sum()} labelled training rows")
                reg = lgb.LGBMRegressor(random_state=self.seed, deterministic=True, n_jobs=1, **self.lgbm_params)
                fit_kw: dict[str, Any] = {"feature_name": _safe_names(features)}
                if keep_va.sum() >= MIN_ROWS_PER_FIT:
                    fit_kw |= {"eval_X": (x_va[keep_va],), "eval_y": (y_va[keep_va, i, j],),
                               "callbacks": [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]}
                reg.fit(x_tr[keep], y_tr[keep, i, j], **fit_kw)
                self.boosters[head] = reg.booster_
                best[head] = int(reg.best_iteration_ or reg.n_estimators)
        self.params = {"features": features, "best_iteration": best, "lgbm_params": self.lgbm_params}
        return {"best_iteration": best}

    def predict(self, df) -> np.ndarray:
        x = meta_matrix(df, self.params["features"])
        out = np.empty((len(df), len(self.targets), len(self.horizons)), dtype=np.float32)
        for i, t in enumerate(self.targets):
            for j, h in enumerate(self.horizons):
                head = f"{t}_{h}"
                out[:, i, j] = self.boosters[head].predict(x, num_iteration=self.params["best_iteration"][head])
        return out

    def save(self, model_dir) -> None:
        super().save(model_dir)
        for head, booster in self.boosters.items():
            text = booster.model_to_string(num_iteration=self.params["best_iteration"][head])
            model_dir.write_bytes(f"lgbm_{head}.txt", text.encode())

    def _after_load(self, model_dir) -> None:
        import lightgbm as lgb
        self.boosters = {f"{t}_{h}": lgb.Booster(model_str=model_dir.read_bytes(f"lgbm_{t}_{h}.txt").decode())
                         for t in self.targets for h in self.horizons}


class LightGBMContentForecaster(LightGBMForecaster):
    name = "v0_content"
    use_content = True


def _safe_names(features: list[str]) -> list[str]:
    # LightGBM rejects some JSON special characters in feature names.
    return [f"f{k}_" + "".join(c if c.isalnum() or c == "_" else "_" for c in name) for k, name in enumerate(features)]


TABULAR_CLASSES = {c.name: c for c in (BucketMedian, SzaboHuberman, LightGBMForecaster, LightGBMContentForecaster)}


@register_model("baseline", kind="tabular", aliases=("baseline_median",))
def baseline(**kw) -> BucketMedian:
    """Naive baseline: per-age-bucket median of each head."""
    return BucketMedian(**kw)


@register_model("szabo_huberman", kind="tabular", needs=("views_t0",))
def szabo_huberman(**kw) -> SzaboHuberman:
    """Naive baseline: y = a + b·log1p(views_t0) per age bucket (Szabo–Huberman)."""
    return SzaboHuberman(**kw)


@register_model("v0", kind="tabular", aliases=("v0_lightgbm",), serve_tier="v0", serve_order=3)
def v0(**kw) -> LightGBMForecaster:
    """v0: LightGBM on temporal/meta features, one model per target × horizon."""
    return LightGBMForecaster(**kw)


@register_model("v0_content", kind="tabular", aliases=("v0_lightgbm_content",), needs=("content_aggregates",),
                serve_tier="v0", serve_order=2)
def v0_content(**kw) -> LightGBMContentForecaster:
    """v0 with content aggregates: LightGBM on meta + content aggregate features."""
    return LightGBMContentForecaster(**kw)
