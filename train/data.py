"""The training-data format: layout, dataset card, split readers and the batch collate function.

    TRAIN_DIR/dataset_card.json          what the data is (versions, features, dims, counts)
    TRAIN_DIR/<split>/part-00000.parquet one row per video; split ∈ train, val, test

Row columns:
    platform_id, video_id, channel_key, split, age_bucket, content_run_id, category  identity, grouping
    <temporal features>, <content aggregates>   float64, NaN = missing (plus any *_present columns);
                                                one-hot categoricals are named <feature>=<level>
    y_<target>_<h> float64 (NaN = missing), has_horizon_<h> bool               labels
    E_shot  list<fixed_size_list<float32, D>>   per-shot visual embeddings (≤ max_shots; [] = none)
    E_mask  list<bool>                          True where the shot's embedding is real
    A_shot, A_mask                              the same for audio (CLAP)

Ragged shot lists are padded only at batch time (`collate`); a video without a modality has an
all-False mask, never zero vectors posing as real shots. The builder is `train.build_dataset`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads

from train.uris import StorageFolder

CARD_FILE = "dataset_card.json"
SPLITS = ("train", "val", "test")
# "category" is kept as a plain string for grouping (NDCG within category); models see it one-hot.
ID_COLUMNS = ("platform_id", "video_id", "channel_key", "split", "age_bucket", "content_run_id", "category")
SHOT_COLUMNS = ("E_shot", "E_mask", "A_shot", "A_mask")
AGE_BUCKETS = ("lt_24h", "d1_30", "gt_30d")


class TrainingDataError(ValueError):
    """Training data is missing, malformed, or does not match what a model needs."""


@dataclass(frozen=True)
class DatasetSchema:
    """The parts of the dataset card that models and loaders need."""
    targets: tuple[str, ...]
    horizons: tuple[int, ...]
    temporal_features: tuple[str, ...]
    content_features: tuple[str, ...]
    e_dim: int
    a_dim: int
    max_shots: int
    views_t0_column: str | None
    training_data_version: str
    card: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> "DatasetSchema":
        return cls(tuple(card["targets"]), tuple(int(h) for h in card["horizons"]),
                   tuple(card["temporal_features"]), tuple(card["content_features"]),
                   int(card["e_dim"]), int(card["a_dim"]), int(card["max_shots"]),
                   card.get("views_t0_column"), card["training_data_version"], card)

    def meta_features(self, use_content: bool) -> list[str]:
        """Every tabular feature (what the gradient-boosting models see)."""
        return list(self.temporal_features) + (list(self.content_features) if use_content else [])

    def neural_meta_features(self, use_content: bool, categorical: bool = False) -> tuple[list[str], int]:
        """(features, content_dim) for the neural models: temporal features first, content aggregates last.

        `*_present` columns are left out (the models' normaliser derives presence from NaN itself), and
        so are one-hot columns (`<feature>=<level>`) unless `categorical`: on a few hundred videos such
        sparse columns only helped the networks memorise channels (val MAE 0.58 with, 0.34 without).
        """
        def keep(name: str) -> bool:
            return not name.endswith("_present") and (categorical or "=" not in name)
        temporal = [f for f in self.temporal_features if keep(f)]
        content = [f for f in self.content_features if keep(f)] if use_content else []
        return temporal + content, len(content)

    def head_names(self) -> list[str]:
        return [f"{t}_{h}" for t in self.targets for h in self.horizons]

    def capabilities(self) -> set[str]:
        """What this data can feed a model (see `train.registry.DATA_NEEDS`): decided from the card."""
        card, caps = self.card, set()
        if self.content_features:
            caps.add("content_aggregates")
        coverage = card.get("coverage") or {}
        if card.get("content") != "none" and (coverage.get("visual", 0) or coverage.get("audio", 0)):
            caps.add("shot_embeddings")
        if self.views_t0_column:
            caps.add("views_t0")
        return caps

    def select(self, targets: Sequence[str] | None = None, horizons: Sequence[int] | None = None) -> "DatasetSchema":
        """The same data seen through a subset of its targets/horizons (None = all of the card's).

        Targets and horizons are declared once, in the `targets:` section the temporal table was built
        with; the card carries them, and a `train` section may only choose among them.
        """
        targets = list(self.targets) if targets is None else list(targets)
        horizons = list(self.horizons) if horizons is None else [int(h) for h in horizons]
        missing_t = [t for t in targets if t not in self.targets]
        missing_h = [h for h in horizons if h not in self.horizons]
        if missing_t or missing_h:
            asked = ", ".join([*(f"target {t!r}" for t in missing_t), *(f"horizon {h}" for h in missing_h)])
            raise TrainingDataError(f"the training data has no {asked}: its card has targets {list(self.targets)} "
                                    f"and horizons {list(self.horizons)} (set them in the `targets:` section "
                                    f"before `trendflow temporal`, or choose a subset in `train:`)")
        return DatasetSchema(tuple(targets), tuple(horizons), self.temporal_features, self.content_features,
                             self.e_dim, self.a_dim, self.max_shots, self.views_t0_column,
                             self.training_data_version, self.card)


class TrainDir(StorageFolder):
    """A TRAIN_DIR, local or `s3://bucket/prefix` (see `train.uris.StorageFolder`). Every function below
    that takes a `train_dir` accepts a plain path/URI or a TrainDir."""

    def card(self) -> dict[str, Any]:
        return read_json_doc(self.storage, CARD_FILE, "training data", "build it with `trendflow build-dataset`",
                             TrainingDataError)

    def split_paths(self, split: str) -> list[str]:
        """The split's Parquet shards as paths inside `storage.fs` ([] when the split has no rows)."""
        if split not in SPLITS:
            raise TrainingDataError(f"unknown split {split!r}; one of {SPLITS}")
        return [self.storage.path(rel) for rel in self.storage.glob(f"{split}/*.parquet")]

    def split_bytes(self, split: str) -> int:
        return sum(int(self.storage.fs.size(p)) for p in self.split_paths(split))

    def dataset(self, split: str) -> pads.Dataset:
        paths = self.split_paths(split)
        if not paths:
            self.card()  # a folder that is not training data at all says so, rather than "no rows"
            raise TrainingDataError(f"{self.uri}: split {split!r} has no rows")
        fs = None if self.storage.is_local else self.storage.fs  # pyarrow wraps fsspec filesystems itself
        return pads.dataset(paths, format="parquet", filesystem=fs)


def as_train_dir(train_dir: "str | TrainDir") -> TrainDir:
    return train_dir if isinstance(train_dir, TrainDir) else TrainDir(train_dir)


def read_json_doc(storage, name: str, what: str, hint: str, error: type[Exception]) -> dict[str, Any]:
    """The JSON document `name` of a folder (a dataset or model card); `error` names the folder, says
    whether the folder or only the document is missing, and gives `hint`."""
    if not storage.exists(name):
        where = "does not exist" if not storage.exists("") else f"has no {name}"
        raise error(f"{what} {storage.root_url} {where}; {hint}")
    try:
        return json.loads(storage.read_bytes(name))
    except json.JSONDecodeError as e:
        raise error(f"{storage.root_url}/{name} is not valid JSON: {e}") from None


def load_card(train_dir: "str | TrainDir") -> dict[str, Any]:
    return as_train_dir(train_dir).card()


def load_schema(train_dir: "str | TrainDir") -> DatasetSchema:
    return DatasetSchema.from_card(load_card(train_dir))


def split_files(train_dir: "str | TrainDir", split: str) -> list[str]:
    """The split's Parquet shards ([] when the split has no rows); paths inside the TrainDir's filesystem."""
    return as_train_dir(train_dir).split_paths(split)


def read_split(train_dir: "str | TrainDir", split: str, columns: Sequence[str] | None = None) -> pa.Table:
    """One split as an Arrow table; an empty split is an error (nothing to train or evaluate on)."""
    return as_train_dir(train_dir).dataset(split).to_table(columns=list(columns) if columns else None)


def tabular_columns(schema: DatasetSchema) -> list[str]:
    """Every non-shot column a tabular model or the evaluator may need."""
    labels = [f"y_{t}_{h}" for t in schema.targets for h in schema.horizons]
    masks = [f"has_horizon_{h}" for h in schema.horizons]
    return list(dict.fromkeys([*ID_COLUMNS, *schema.temporal_features, *schema.content_features, *labels, *masks]))


def read_split_frame(train_dir: "str | TrainDir", split: str, schema: DatasetSchema | None = None):
    """A split without the shot columns, as a pandas DataFrame (for tabular models and evaluation)."""
    td = as_train_dir(train_dir)
    schema = schema or load_schema(td)
    ds = td.dataset(split)
    cols = [c for c in tabular_columns(schema) if c in set(ds.schema.names)]
    return ds.to_table(columns=cols).to_pandas()


def float_column(frame_or_table, name: str) -> np.ndarray:
    """Column `name` of an Arrow table or a pandas frame as float64, null → NaN."""
    col = frame_or_table[name]
    if isinstance(col, (pa.ChunkedArray, pa.Array)):
        import pyarrow.compute as pc
        return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def target_arrays(frame_or_table, targets: Sequence[str], horizons: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(y, mask), each (N, T, H): labels on the log1p scale (NaN = missing) and whether each one exists."""
    y = np.full((len(frame_or_table), len(targets), len(horizons)), np.nan, dtype=np.float32)
    for i, t in enumerate(targets):
        for j, h in enumerate(horizons):
            y[:, i, j] = float_column(frame_or_table, f"y_{t}_{h}")
    return y, np.isfinite(y)


def meta_matrix(frame_or_table, features: Sequence[str]) -> np.ndarray:
    """(N, F) float32 with NaN for missing values."""
    out = np.empty((len(frame_or_table), len(features)), dtype=np.float32)
    for j, c in enumerate(features):
        out[:, j] = float_column(frame_or_table, c)
    return out


# ---------------------------------------------------------------- batch collation

def _pad_shots(col: pa.ChunkedArray | pa.Array, mask_col, dim: int, max_shots: int) -> tuple[np.ndarray, np.ndarray]:
    """list<fixed_size_list<D>> + list<bool> → (B, S, D) float32 and (B, S) bool, S = longest row (≥ 1)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    marr = mask_col.combine_chunks() if isinstance(mask_col, pa.ChunkedArray) else mask_col
    lengths = arr.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)  # (B,)
    if np.any(lengths > max_shots):
        raise TrainingDataError(f"a row has {lengths.max()} shots > max_shots={max_shots}")
    b, s = len(lengths), max(int(lengths.max(initial=0)), 1)
    values = arr.flatten().flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    if values.size != lengths.sum() * dim:
        raise TrainingDataError(f"shot embeddings have {values.size} values, expected {lengths.sum()}×{dim}")
    flags = marr.flatten().to_numpy(zero_copy_only=False).astype(bool)
    rows = np.repeat(np.arange(b), lengths)  # (n_total,)
    pos = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)  # index within row
    x = np.zeros((b, s, dim), dtype=np.float32)
    m = np.zeros((b, s), dtype=bool)
    x[rows, pos] = values.reshape(-1, dim)
    m[rows, pos] = flags
    x[~m] = 0.0  # absent shots carry no values (their NaN/garbage must not reach the model)
    return x, m


def collate_numpy(table: pa.Table, schema: DatasetSchema, meta_features: Sequence[str]) -> dict[str, np.ndarray]:
    """An Arrow batch → the model batch contract (see train.layers), as numpy arrays."""
    e, em = _pad_shots(table["E_shot"], table["E_mask"], schema.e_dim, schema.max_shots)
    a, am = _pad_shots(table["A_shot"], table["A_mask"], schema.a_dim, schema.max_shots)
    batch = {"meta": meta_matrix(table, meta_features), "E_shot": e, "E_mask": em, "A_shot": a, "A_mask": am}
    if all(f"y_{t}_{h}" in table.column_names for t in schema.targets for h in schema.horizons):
        y, mask = target_arrays(table, schema.targets, schema.horizons)
        batch["targets"], batch["target_mask"] = np.nan_to_num(y), mask
    return batch


def collate(table: pa.Table, schema: DatasetSchema, meta_features: Sequence[str], device=None) -> dict:
    import torch
    return {k: torch.from_numpy(v).to(device) if device else torch.from_numpy(v)
            for k, v in collate_numpy(table, schema, meta_features).items()}


def make_ray_collate(schema: DatasetSchema, meta_features: Sequence[str]):
    """A Ray Data `ArrowBatchCollateFn` producing the model batch (for `iter_torch_batches`)."""
    from ray.data.collate_fn import ArrowBatchCollateFn

    class ShotBatchCollate(ArrowBatchCollateFn):
        def __call__(self, batch: pa.Table) -> dict:
            return collate(batch, schema, meta_features)

    return ShotBatchCollate()


def iter_local_batches(table: pa.Table, schema: DatasetSchema, meta_features: Sequence[str], batch_size: int,
                       shuffle_seed: int | None = None):
    """Batches from an in-memory table without Ray (evaluation, the plain-PyTorch benchmark loop)."""
    order = np.arange(len(table))
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(table))
    for start in range(0, len(table), batch_size):
        yield collate(table.take(order[start:start + batch_size]), schema, meta_features)


# ---------------------------------------------------------------- writing

def shot_list_type(dim: int) -> pa.DataType:
    return pa.list_(pa.list_(pa.float32(), dim))


def training_data_version(tables: dict[str, pa.Table], card_core: dict[str, Any]) -> str:
    """Content hash of the rows (sorted by id, Arrow IPC bytes) and of the card fields that define them."""
    import hashlib

    from trendflow.ids import canonical_json
    h = hashlib.sha256(canonical_json(card_core).encode())
    for split in sorted(tables):
        t = tables[split].sort_by([("platform_id", "ascending"), ("video_id", "ascending")])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        h.update(split.encode())
        h.update(sink.getvalue().to_pybytes())
    return h.hexdigest()[:16]


def write_training_data(out_dir: "str | TrainDir", tables: dict[str, pa.Table], card: dict[str, Any],
                        rows_per_shard: int = 256) -> dict[str, Any]:
    """Write split tables as sharded Parquet plus the dataset card (local or s3://); returns the card.

    `card` must hold targets, horizons, temporal_features, content_features, e_dim, a_dim, max_shots;
    counts and training_data_version are added here. The card is written last, so a reader that finds
    it finds every shard.
    """
    import io

    import pyarrow.parquet as pq

    from trendflow.ids import canonical_json
    missing = [k for k in ("targets", "horizons", "temporal_features", "content_features", "e_dim", "a_dim",
                           "max_shots") if k not in card]
    if missing:
        raise TrainingDataError(f"dataset card lacks {missing}")
    core = {k: card[k] for k in ("targets", "horizons", "temporal_features", "content_features", "e_dim",
                                 "a_dim", "max_shots", "feature_schema_versions") if k in card}
    card = {**card, "training_data_version": training_data_version(tables, core),
            "splits": {s: len(t) for s, t in tables.items()}}
    storage = as_train_dir(out_dir).storage
    for split, table in tables.items():
        for rel in storage.glob(f"{split}/*.parquet"):  # a rebuild replaces the split whole, never mixes shards
            storage.remove(rel)
        table = table.sort_by([("platform_id", "ascending"), ("video_id", "ascending")])
        for k, start in enumerate(range(0, len(table), rows_per_shard)):
            buf = io.BytesIO()
            pq.write_table(table.slice(start, rows_per_shard), buf)
            storage.write_bytes(f"{split}/part-{k:05d}.parquet", buf.getvalue())
    storage.write_bytes(CARD_FILE, json.dumps(json.loads(canonical_json(card)), indent=2).encode())
    return card
