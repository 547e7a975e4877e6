"""The loop shared by the model stages (ClipEmbed, ClapEmbed): they differ only in `encode()`.

For each row of a batch: encode its input column (frames, audio windows), drop the raw input
(it is never shipped back), add the stage's output columns. A row whose encode raises keeps its
place with empty outputs and `error` = "<component>: <Type>: <message>": the finalize stage fails
that video with the reason, every other row and video goes on (no exception leaves the stage).
Rows of other kinds (k = 0 inputs) pass through with empty outputs.

The same object runs in a Ray Data actor pool (`__call__` on column batches) and in-process
(`process_row`, the online path), so batch and online embeddings come from one code path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ray_pipelines.rows import ERROR_COLUMN, batch_rows, ragged_column


class EmbedStage:
    component: str = ""  # the artifact this model feeds (named in row errors)
    input_column: str = ""
    timing_column: str = ""  # seconds spent in encode, per row

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.input_column,)

    def encode(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """(k, ...) input → output arrays, each with k rows."""
        raise NotImplementedError

    def empty(self) -> dict[str, np.ndarray]:
        """The outputs of a row with nothing (or nothing valid) to encode: 0 rows, right widths."""
        raise NotImplementedError

    def model_columns(self) -> dict[str, Any]:
        """Per-row constants naming the model (name, version, weights)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- the shared loop
    def process_row(self, row: dict) -> dict:
        out = {k: v for k, v in row.items() if k != self.input_column}
        out[ERROR_COLUMN] = str(row.get(ERROR_COLUMN, "") or "")
        x = row[self.input_column]
        t0 = time.perf_counter()
        values = None
        if len(x) and not out[ERROR_COLUMN]:
            try:
                values = self.encode(np.asarray(x))
            except Exception as e:  # this row fails, not the stage: the video gets the reason
                out[ERROR_COLUMN] = f"{self.component}: {type(e).__name__}: {e}"[:2000]
        out.update(values if values is not None else self.empty())
        out[self.timing_column] = time.perf_counter() - t0
        out.update(self.model_columns())
        return out

    def __call__(self, batch: dict) -> dict:
        rows = [self.process_row(r) for r in batch_rows(batch)]
        # Columns passing through keep the batch's own arrays; only what this stage adds is rebuilt.
        out = {k: v for k, v in batch.items() if k != self.input_column}
        added = [c for c in (rows[0] if rows else ()) if c not in batch or c == ERROR_COLUMN]
        out.update(columns([{c: r[c] for c in added} for r in rows]))
        return out


def columns(rows: list[dict]) -> dict[str, np.ndarray]:
    """Per-row dicts → a column batch: arrays stacked when their shapes agree, else object columns."""
    out = {}
    for col in rows[0] if rows else ():
        values = [r[col] for r in rows]
        if isinstance(values[0], np.ndarray) and values[0].ndim > 0:
            out[col] = ragged_column([np.asarray(v) for v in values])
        else:
            out[col] = np.array(values)
    return out


@dataclass(frozen=True)
class PoolStage:
    """An EmbedStage as the pipeline runs it: an autoscaling actor pool, one chunk row per call."""
    cls: type  # ClipEmbed / ClapEmbed
    cfg_json: str  # what its constructor loads the model from
    pool: str  # "clip" | "clap": its PoolPlan in the run's ResourcePlan

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.cls.input_column,)

    @property
    def writes(self) -> tuple[str, ...]:
        return self.cls.writes

    @property
    def fn(self):
        return self.cls

    def ray_args(self, plan) -> dict:
        pool = getattr(plan, self.pool)
        return {"batch_size": 1, "fn_constructor_kwargs": {"cfg_json": self.cfg_json}, "compute": pool.compute(),
                **pool.resources}
