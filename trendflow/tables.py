"""Store-level tables: the per-video aggregates table, written as Parquet part files per run.

    <store>/_tables/aggregates/<run_id>/*.parquet   one row per video a run finished ok:
        platform_id, video_id, run_id, config_hash, sampling_policy_version, dataprocessor_version,
        finished_at, then every fusion_aggregates scalar and its <name>_present flag

The extraction pipeline writes a run's parts with Ray Data `write_parquet` (ray_pipelines); no
run ever rewrites another run's part. `read_aggregates(store)` reads them as one table where the
latest run of each (video, config key) wins. Tables of older versions (one file,
`_tables/aggregates.parquet`) are still read, as older than any part.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from trendflow.artifacts import AGGREGATES_DIR, LEGACY_AGGREGATES_TABLES, ArtifactStore

ID_COLUMNS = ("platform_id", "video_id", "run_id")
KEY_COLUMNS = ("config_hash", "sampling_policy_version", "dataprocessor_version")
ORDER_COLUMN = "finished_at"


def aggregates_dir(run_id: str) -> str:
    """Folder of one run's part files, relative to the store."""
    return f"{AGGREGATES_DIR}/{run_id}"


def aggregate_record(key_fields: dict, finished_at: str | None, scalars: dict[str, float]) -> dict:
    """One table row: ids, key, finish time, then each scalar (NaN when absent) and `<name>_present`."""
    row = {c: key_fields[c] for c in (*ID_COLUMNS, *KEY_COLUMNS)}
    row[ORDER_COLUMN] = finished_at
    for name, value in scalars.items():
        present = value is not None and value == value  # NaN != NaN
        row[name] = float(value) if present else float("nan")
        row[f"{name}_present"] = bool(present)
    return row


def read_aggregates(store: ArtifactStore, keep_keys: bool = False) -> pa.Table | None:
    """Every part (and a legacy single-file table) as one table, latest run per (video, config key)
    winning; None when there is no table. Columns: platform_id, video_id, run_id and the scalars
    (`keep_keys=True` also keeps config key and finished_at)."""
    parts = [_read(store, rel, legacy=False)
             for rel in sorted(store.storage.find(AGGREGATES_DIR)) if rel.endswith(".parquet")]
    legacy = [_read(store, rel, legacy=True) for rel in LEGACY_AGGREGATES_TABLES if store.storage.exists(rel)]
    tables = [t for t in (*legacy, *parts) if t is not None and t.num_rows]
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    table = _latest(table)
    if not keep_keys:
        table = table.drop_columns([c for c in (*KEY_COLUMNS, ORDER_COLUMN, "_legacy") if c in table.column_names])
    return table


def _read(store: ArtifactStore, rel: str, legacy: bool) -> pa.Table:
    table = pq.read_table(io.BytesIO(store.storage.read_bytes(rel)))
    return table.append_column("_legacy", pa.array([legacy] * table.num_rows, pa.bool_()))


def _latest(table: pa.Table) -> pa.Table:
    """Keep the last row of each (video, config key) in (legacy first, finished_at) order."""
    cols = table.column_names
    order = [table.column("_legacy").to_pylist()]
    finished = table.column(ORDER_COLUMN).to_pylist() if ORDER_COLUMN in cols else [None] * table.num_rows
    keys = list(zip(*(table.column(c).to_pylist() if c in cols else [None] * table.num_rows
                      for c in ("platform_id", "video_id", *KEY_COLUMNS))))
    rank = sorted(range(table.num_rows), key=lambda i: (not order[0][i], finished[i] or "", i))
    last = {keys[i]: i for i in rank}
    return table.take(sorted(last.values()))
