"""Build the training data: temporal table ⋈ content aggregates ⋈ per-shot embeddings → sharded Parquet.

    trendflow build-dataset --dataset DIR --store STORE --out TRAIN_DIR [--temporal T.parquet]

For every video of the temporal table (`trendflow temporal`; built from --dataset when no
--temporal file is given) the builder picks the latest successful extraction run in the store
(by manifest, optionally restricted to one config_hash / sampling_policy_version; through the
artifact index when both are given), reads its `core_clip` E_shot and `clap_extractor` A_shot
(merging adjacent shots to fit max_shots), and joins the run's content aggregates (from
`<STORE>/_tables/aggregates.parquet` or `tables/aggregates.parquet`, else the run's
`fusion_aggregates` artifact). A modality that is missing, empty or unreadable is masked and its
reason recorded in the dataset card; the other videos go on. Output format: `train.data`.

Without a store (no --store and no `storage.store` in the config) the data is counters-only: temporal
features and labels only, `content: none` in the card. Targets and horizons are those of the temporal
table (its `targets:` config); the card carries them, so `train`/`evaluate`/`compare` never repeat them.
Every path (temporal table, store, TRAIN_DIR) may be `s3://bucket/prefix`.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import trendflow
from train.config import MAX_SHOTS_LIMIT
from train.data import SPLITS, TrainingDataError, shot_list_type, write_training_data

VISUAL_COMPONENT, AUDIO_COMPONENT, AGG_COMPONENT = "core_clip", "clap_extractor", "fusion_aggregates"
AGGREGATE_TABLES = ("_tables/aggregates.parquet", "tables/aggregates.parquet")
MAX_CATEGORY_LEVELS = 24  # one-hot levels kept per categorical feature (most frequent in train)
BUILDER_VERSION = "2"  # 2: `content`, `count_t0_columns`; counters-only data; s3:// output


@dataclass
class ShotData:
    """One modality of one video: (n, D) embeddings and (n,) presence, or absent with a reason."""
    emb: np.ndarray | None = None
    present: np.ndarray | None = None
    reason: str | None = None
    schema_version: int | None = None


@dataclass
class VideoContent:
    run_id: str | None = None
    config_hash: str | None = None
    sampling_policy_version: str | None = None
    visual: ShotData = field(default_factory=ShotData)
    audio: ShotData = field(default_factory=ShotData)
    aggregates: dict[str, float] | None = None
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- shots

def merge_shots(emb: np.ndarray, present: np.ndarray, max_shots: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge adjacent shots into ≤ max_shots groups (mean of the present shots in each group).

    (n, D), (n,) → (min(n, max_shots), D), (…,); a group with no present shot stays absent.
    """
    n = len(emb)
    if n <= max_shots:
        return emb, present
    groups = np.array_split(np.arange(n), max_shots)
    out = np.zeros((max_shots, emb.shape[1]), dtype=np.float32)
    out_present = np.zeros(max_shots, dtype=bool)
    for g, idx in enumerate(groups):
        idx = idx[present[idx]]
        if len(idx):
            out[g] = emb[idx].mean(axis=0)
            out_present[g] = True
    return out, out_present


def read_shots(store, key, component: str, emb_name: str, max_shots: int) -> ShotData:
    """The component's per-shot embeddings, or a ShotData with the reason they are absent."""
    from trendflow.artifacts import ArtifactError
    try:
        art = store.read(key, component)
    except (ArtifactError, KeyError, OSError) as e:
        return ShotData(reason=f"{component}: {e}")
    if art.status != "ok":
        return ShotData(reason=f"{component}: status {art.status} ({art.meta.get('empty_reason')})",
                        schema_version=art.meta.get("schema_version"))
    emb = np.asarray(art.arrays.get(emb_name), dtype=np.float32)
    present = np.asarray(art.arrays.get(f"{emb_name}_present", np.isfinite(emb).all(axis=1)), dtype=bool)
    if emb.ndim != 2 or emb.shape[0] != present.shape[0]:
        return ShotData(reason=f"{component}: {emb_name} shape {emb.shape} vs present {present.shape}")
    present &= np.isfinite(emb).all(axis=1)  # a NaN row is absent whatever the mask says
    emb = np.where(present[:, None], emb, 0.0).astype(np.float32)  # stored values of absent shots are unused
    if not present.any():
        return ShotData(reason=f"{component}: no shot has an embedding", schema_version=art.meta["schema_version"])
    emb, present = merge_shots(emb, present, max_shots)
    return ShotData(emb, present, None, art.meta.get("schema_version"))


# ---------------------------------------------------------------------- run selection

def latest_ok_run(store, platform_id: str, video_id: str, config_hash: str | None,
                  sampling_policy_version: str | None, index=None) -> tuple[Any | None, str | None]:
    """(RunKey of the latest successful run, None) or (None, why there is none)."""
    from trendflow.artifacts import ArtifactError, RunKey
    if index is not None and config_hash and sampling_policy_version:
        from trendflow.index import IndexKey
        run_id = index.lookup(IndexKey(platform_id, video_id, config_hash, sampling_policy_version,
                                       trendflow.DATAPROCESSOR_VERSION))
        if run_id:
            return RunKey(platform_id, video_id, run_id, config_hash, sampling_policy_version), None
        return None, "no indexed successful run"
    best, best_time = None, ""
    for run_id in store.run_ids(platform_id, video_id):
        try:
            m = store.manifest(RunKey(platform_id, video_id, run_id))
        except (ArtifactError, json.JSONDecodeError, ValueError):
            continue
        if m.get("status") != "ok" or m.get("dataprocessor_version") != trendflow.DATAPROCESSOR_VERSION:
            continue
        if config_hash and m.get("config_hash") != config_hash:
            continue
        if sampling_policy_version and m.get("sampling_policy_version") != sampling_policy_version:
            continue
        t = m.get("finished_at") or ""
        if best is None or t > best_time:
            best = RunKey(platform_id, video_id, run_id, m["config_hash"], m["sampling_policy_version"])
            best_time = t
    return best, (None if best else "no successful run in the store")


def load_aggregates_table(store) -> pa.Table | None:
    from trendflow.tables import read_aggregates
    return read_aggregates(store)  # per-run part files (and a legacy single file), latest run per video wins


def aggregates_from_artifact(store, key) -> dict[str, float] | None:
    from trendflow.artifacts import ArtifactError
    try:
        art = store.read(key, AGG_COMPONENT)
    except (ArtifactError, KeyError, OSError):
        return None
    if art.status != "ok":
        return None
    names, values, present = art.arrays["names"], art.arrays["values"], art.arrays["present"]
    out = {}
    for n, v, p in zip(names, values, present):
        out[str(n)] = float(v) if p else float("nan")
        out[f"{n}_present"] = float(bool(p))
    return out


def video_content(store, platform_id: str, video_id: str, agg_rows: dict, *, config_hash, sampling_policy_version,
                  index, max_shots: int) -> VideoContent:
    key, why = latest_ok_run(store, platform_id, video_id, config_hash, sampling_policy_version, index)
    if key is None:
        reason = f"no content: {why}"
        return VideoContent(visual=ShotData(reason=reason), audio=ShotData(reason=reason), problems=[reason])
    vc = VideoContent(key.run_id, key.config_hash, key.sampling_policy_version)
    vc.visual = read_shots(store, key, VISUAL_COMPONENT, "E_shot", max_shots)
    vc.audio = read_shots(store, key, AUDIO_COMPONENT, "A_shot", max_shots)
    vc.aggregates = agg_rows.get((platform_id, video_id, key.run_id)) or aggregates_from_artifact(store, key)
    vc.problems = [s.reason for s in (vc.visual, vc.audio) if s.reason]
    if vc.aggregates is None:
        vc.problems.append("no content aggregates for the run")
    return vc


# ---------------------------------------------------------------------- temporal features

def _temporal_feature_columns(table: pa.Table) -> tuple[list[str], list[str]]:
    """(numeric feature columns, categorical columns) of a temporal table — never labels."""
    from trendflow.temporal import CATEGORICAL_FEATURES, MASK_COLUMNS, NUMERIC_FEATURES
    names = set(table.column_names)
    numeric = [c for c in (*NUMERIC_FEATURES, *MASK_COLUMNS) if c in names]
    categorical = [c for c in CATEGORICAL_FEATURES if c in names]
    return numeric, categorical


def one_hot(table: pa.Table, column: str, train_rows: np.ndarray) -> dict[str, np.ndarray]:
    """`column=level` float columns for the most frequent train levels (+ `column=other`); NaN when missing."""
    from train.video_features import OTHER_LEVEL, one_hot_value
    values = table[column].to_pylist()
    counts = Counter(v for v, train in zip(values, train_rows) if train and v is not None)
    levels = [lv for lv, _ in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:MAX_CATEGORY_LEVELS]]
    # The service encodes one video with the same `one_hot_value` (online = batch).
    return {f"{column}={lv}": np.array([one_hot_value(v, lv, levels) for v in values], dtype=np.float64)
            for lv in (*levels, OTHER_LEVEL)}


def target_keys(table: pa.Table, meta: dict) -> list[str]:
    keys = meta.get("target_keys") or [c[2:] for c in table.column_names
                                       if c.startswith("y_") and f"has_y_{c[2:]}" in table.column_names]
    if not keys:
        raise TrainingDataError("the temporal table has no y_<metric>_<h> target columns")
    return list(keys)


def _targets_and_horizons(keys: list[str]) -> tuple[list[str], list[int]]:
    targets = list(dict.fromkeys(k.rsplit("_", 1)[0] for k in keys))
    horizons = sorted({int(k.rsplit("_", 1)[1]) for k in keys})
    return targets, horizons


# ---------------------------------------------------------------------- the builder

@dataclass
class StoreContent:
    """What the result store gives every video of the temporal table (nothing, for counters-only data)."""
    contents: list[VideoContent]
    aggregate_names: list[str]
    store: str | None = None
    aggregates_table: str | None = None


def build_training_data(dataset: str | None, store_root: str | None, out_dir: str, *,
                        temporal_path: str | None = None, storage_options: dict | None = None,
                        config_hash: str | None = None, sampling_policy_version: str | None = None,
                        max_shots: int = MAX_SHOTS_LIMIT, targets_config=None, index_path: str | None = None,
                        threads: int = 8, log=print) -> dict[str, Any]:
    """Build TRAIN_DIR (local or s3://) from a temporal table and a result store; returns the dataset card.

    Without a store (`store_root` None) the data is counters-only: temporal features and labels, no
    content aggregates and no shot embeddings (the card says `content: none`); only the tabular models
    that need no content can train on it.
    """
    from train.data import TrainDir
    if not 1 <= max_shots <= MAX_SHOTS_LIMIT:
        raise TrainingDataError(f"max_shots must be in 1..{MAX_SHOTS_LIMIT}, got {max_shots}")
    table, tmeta, temporal_source = _load_temporal(dataset, temporal_path, targets_config, storage_options)
    keys = target_keys(table, tmeta)
    targets, horizons = _targets_and_horizons(keys)
    splits = _split_values(table)
    ids = list(zip(table["platform_id"].to_pylist(), table["video_id"].to_pylist()))
    if store_root is None:
        log(f"build-dataset: {len(ids)} videos; no result store given (--store or storage.store), so this is "
            f"counters-only data: temporal features and labels, no content aggregates or shot embeddings")
        content = StoreContent([VideoContent() for _ in ids], [])
    else:
        log(f"build-dataset: {len(ids)} videos; reading content from {store_root}")
        content = read_store_content(store_root, ids, storage_options=storage_options, config_hash=config_hash,
                                     sampling_policy_version=sampling_policy_version, index_path=index_path,
                                     max_shots=max_shots, threads=threads)
    tables, card = _assemble(table, tmeta, keys, splits, content, max_shots)
    card.update(targets=targets, horizons=horizons,
                count_t0_columns=count_t0_columns(tmeta, targets, card["temporal_features"]))
    card["sources"]["temporal"] = temporal_source
    out = TrainDir(out_dir, storage_options)
    card = write_training_data(out, tables, card)
    _log_summary(card, out.uri, log)
    return card


def _split_values(table: pa.Table) -> np.ndarray:
    splits = np.array(table["split"].to_pylist(), dtype=object)
    unknown = sorted(set(splits.tolist()) - set(SPLITS))
    if unknown:
        raise TrainingDataError(f"temporal table has unknown split values {unknown}")
    if not (splits == "train").any():
        raise TrainingDataError("temporal table has no training rows")
    return splits


def read_store_content(store_root: str, ids: list[tuple[str, str]], *, storage_options, config_hash,
                       sampling_policy_version, index_path, max_shots: int, threads: int) -> StoreContent:
    """Content of every video from its latest successful run (aggregates table first, else the artifact)."""
    from trendflow.artifacts import ArtifactStore
    store = ArtifactStore(store_root, storage_options)
    if not store.storage.exists(""):
        raise TrainingDataError(f"result store {store_root} does not exist; give the store of an extraction, or "
                                f"leave out --store (and storage.store) to build counters-only data")
    index = None
    if config_hash and sampling_policy_version:
        from trendflow.index import ArtifactIndex
        index = ArtifactIndex(store, index_path)
    agg_table = load_aggregates_table(store)
    agg_rows: dict = {}
    agg_names: list[str] = []
    if agg_table is not None:
        agg_names = [c for c in agg_table.column_names if c not in ("platform_id", "video_id", "run_id")]
        for rec in agg_table.to_pylist():
            agg_rows[(rec["platform_id"], rec["video_id"], rec["run_id"])] = {
                k: (float("nan") if rec[k] is None else float(rec[k])) for k in agg_names}
    threads = 1 if index is not None else max(1, threads)  # the SQLite index handle is single-threaded
    with ThreadPoolExecutor(threads) as pool:  # NPZ reads are I/O bound (local or S3)
        contents = list(pool.map(lambda pv: video_content(
            store, pv[0], pv[1], agg_rows, config_hash=config_hash, sampling_policy_version=sampling_policy_version,
            index=index, max_shots=max_shots), ids))
    if index is not None:
        index.close()
    if not agg_names:  # no table: take the names from the artifacts that were read
        agg_names = sorted({k for c in contents if c.aggregates for k in c.aggregates})
    from train.uris import absolute_uri
    return StoreContent(contents, agg_names, absolute_uri(store_root),
                        next((r for r in AGGREGATE_TABLES if store.storage.exists(r)), None))


def _assemble(table: pa.Table, tmeta: dict, keys: list[str], splits: np.ndarray, content: StoreContent,
              max_shots: int) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """Split tables (temporal features ⋈ content ⋈ labels) and the card fields that describe them."""
    contents, agg_names = content.contents, content.aggregate_names
    e_dim = _common_dim([c.visual for c in contents], VISUAL_COMPONENT)
    a_dim = _common_dim([c.audio for c in contents], AUDIO_COMPONENT)
    numeric, categorical = _temporal_feature_columns(table)
    clash = sorted(set(agg_names) & set(numeric))
    if clash:
        raise TrainingDataError(f"content aggregate names clash with temporal features: {clash}")

    cols: dict[str, Any] = {
        "platform_id": table["platform_id"], "video_id": table["video_id"], "channel_key": table["channel_key"],
        "split": table["split"], "age_bucket": table["age_bucket"],
        "content_run_id": pa.array([c.run_id for c in contents], pa.string()),
    }
    if "category" in table.column_names:
        cols["category"] = pc.cast(table["category"], pa.string())
    for c in numeric:
        cols[c] = pc.cast(table[c], pa.float64())
    cat_features: list[str] = []
    for c in categorical:
        for name, values in one_hot(table, c, splits == "train").items():
            cols[name] = pa.array(values, pa.float64())
            cat_features.append(name)
    for name in agg_names:
        cols[name] = pa.array([(c.aggregates or {}).get(name, float("nan")) for c in contents], pa.float64())
    for key in keys:
        y = pc.cast(table[f"y_{key}"], pa.float64()).to_numpy(zero_copy_only=False)
        has = np.asarray(table[f"has_y_{key}"].to_pylist(), dtype=bool)
        cols[f"y_{key}"] = pa.array(np.where(has & np.isfinite(y), y, np.nan))  # a masked label is NaN, always
    for h in sorted({int(k.rsplit("_", 1)[1]) for k in keys}):
        if f"has_horizon_{h}" in table.column_names:
            cols[f"has_horizon_{h}"] = table[f"has_horizon_{h}"]
    cols.update(_shot_columns([c.visual for c in contents], e_dim, "E"))
    cols.update(_shot_columns([c.audio for c in contents], a_dim, "A"))
    full = pa.table(cols)
    tables = {s: full.filter(pa.array(splits == s)) for s in SPLITS}

    ids = zip(table["platform_id"].to_pylist(), table["video_id"].to_pylist())
    problems = [{"platform_id": p, "video_id": v, "problems": c.problems}
                for (p, v), c in zip(ids, contents) if c.problems]
    with_run = [c for c in contents if c.run_id]
    card = {
        "builder_version": BUILDER_VERSION,
        "content": "store" if content.store else "none",
        "temporal_features": numeric + cat_features,
        "content_features": agg_names,
        "e_dim": e_dim, "a_dim": a_dim, "max_shots": max_shots,
        "views_t0_column": "views_s1" if "views_s1" in numeric else None,
        "feature_schema_versions": {
            "temporal": tmeta.get("schema_version"),
            **({VISUAL_COMPONENT: _schema_version(VISUAL_COMPONENT, [c.visual for c in contents]),
                AUDIO_COMPONENT: _schema_version(AUDIO_COMPONENT, [c.audio for c in contents]),
                AGG_COMPONENT: _schema_version(AGG_COMPONENT, [])} if content.store else {}),
        },
        "sampling_policy_version": _one_or_many({c.sampling_policy_version for c in with_run}),
        "config_hash": _one_or_many({c.config_hash for c in with_run}),
        "dataprocessor_versions": [trendflow.DATAPROCESSOR_VERSION],
        "coverage": {"videos": len(contents), "with_run": len(with_run),
                     "visual": sum(c.visual.emb is not None for c in contents),
                     "audio": sum(c.audio.emb is not None for c in contents),
                     "aggregates": sum(c.aggregates is not None for c in contents)},
        "problems": problems,
        "sources": {"store": content.store, "aggregates_table": content.aggregates_table},
    }
    return tables, card


def count_t0_columns(tmeta: dict, targets: list[str], features: list[str]) -> dict[str, str]:
    """{target: its snapshot-1 count column}: the forecast's total is that count + expm1(prediction) (SPEC §3).

    Read from the targets config the temporal table was built with (target -> snapshot counter) and the
    temporal features' own counter map; a target whose counter is not a feature gets no entry (no total).
    """
    from trendflow.temporal import TargetsConfig
    from trendflow.temporal.features import COUNTER_FEATURES
    metrics = (tmeta.get("targets") or {}).get("metrics") or TargetsConfig().metrics
    by_counter = {counter: name for name, counter in COUNTER_FEATURES.items() if name in features}
    return {t: by_counter[metrics[t]] for t in targets if metrics.get(t) in by_counter}


def _log_summary(card: dict[str, Any], uri: str, log) -> None:
    cov, n = card["coverage"], card["coverage"]["videos"]
    content = ("counters only (no content)" if card["content"] == "none" else
               f"visual {cov['visual']}/{n}, audio {cov['audio']}/{n}, aggregates {cov['aggregates']}/{n}; "
               f"{len(card['problems'])} videos with problems")
    log(f"build-dataset: wrote {uri} (training_data_version {card['training_data_version']}): "
        f"{card['splits']}; heads {card['targets']} × {card['horizons']} days; {content}")


def _load_temporal(dataset: str | None, temporal_path: str | None, targets_config,
                   storage_options: dict | None = None) -> tuple[pa.Table, dict, str]:
    import fsspec

    from trendflow.temporal import build_temporal_table, read_temporal_table

    from train.uris import absolute_uri
    if temporal_path:
        uri = absolute_uri(temporal_path)
        fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
        if not fs.isfile(path):
            raise TrainingDataError(f"temporal table {uri} not found; write it with `trendflow temporal "
                                    f"--dataset DIR --out {temporal_path}`")
        with fs.open(path, "rb") as f:
            table, meta = read_temporal_table(f)
        return table, meta, uri
    if not dataset:
        raise TrainingDataError("give --dataset DIR (the temporal table is built from it) or --temporal FILE")
    result = build_temporal_table(dataset, targets_config, storage_options=storage_options)
    raw = (result.table.schema.metadata or {}).get(b"trendflow.temporal")
    return result.table, (json.loads(raw) if raw else {}), f"{dataset} (built)"


def _common_dim(shots: list[ShotData], component: str) -> int:
    dims = {s.emb.shape[1] for s in shots if s.emb is not None}
    if len(dims) > 1:
        raise TrainingDataError(f"{component} embeddings have different sizes across videos: {sorted(dims)}; "
                                f"were they extracted with different models?")
    return dims.pop() if dims else 1  # no video has the modality: a 1-wide, fully masked input


def _shot_columns(shots: list[ShotData], dim: int, prefix: str) -> dict[str, pa.Array]:
    emb = [s.emb.tolist() if s.emb is not None else [] for s in shots]
    present = [s.present.tolist() if s.present is not None else [] for s in shots]
    return {f"{prefix}_shot": pa.array(emb, type=shot_list_type(dim)),
            f"{prefix}_mask": pa.array(present, type=pa.list_(pa.bool_()))}


def _schema_version(component: str, shots: list[ShotData]) -> int | list[int] | None:
    seen = sorted({s.schema_version for s in shots if s.schema_version is not None})
    if seen:
        return seen[0] if len(seen) == 1 else seen
    try:
        from trendflow.components import get_spec
        return get_spec(component).schema_version
    except KeyError:
        return None


def _one_or_many(values: set) -> Any:
    values = sorted(v for v in values if v is not None)
    return values[0] if len(values) == 1 else (values or None)
