"""The rows that flow through the extraction dataset.

Every video becomes one `status` row (what the CPU stage wrote, its shots, its errors) plus
`visual` rows (chunks of frames for CLIP) and `audio` rows (chunks of windows for CLAP). All rows
share one set of columns, empty where a kind has nothing, so every stage sees a fixed schema.
The status row comes last and its `n_chunks` counts all rows of the video (chunk rows say 0): the
finalize stage knows when a video is complete. A row an embed stage could not encode keeps its
place with `error` set ("core_clip: ValueError: ..."); the video fails with that reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trendflow.artifacts import RunKey

KEY_COLUMNS = ("platform_id", "video_id", "run_id", "config_hash", "sampling_policy_version")
ERROR_COLUMN = "error"  # "" on a healthy row
ARRAY_COLUMNS = ("frames", "frame_indices", "frame_times", "frame_shot", "windows", "window_start_sec", "window_end_sec",
                 "shot_start_sec", "shot_end_sec")


def empty_payload(frame_size: int, window_samples: int) -> dict[str, np.ndarray]:
    return {
        "frames": np.zeros((0, frame_size, frame_size, 3), np.uint8),
        "frame_indices": np.zeros(0, np.int64),
        "frame_times": np.zeros(0, np.float64),
        "frame_shot": np.zeros(0, np.int32),
        "windows": np.zeros((0, window_samples), np.float32),
        "window_start_sec": np.zeros(0, np.float64),
        "window_end_sec": np.zeros(0, np.float64),
        "shot_start_sec": np.zeros(0, np.float64),
        "shot_end_sec": np.zeros(0, np.float64),
    }


@dataclass
class VideoStatus:
    """What the CPU stage did for one video (carried as JSON in the status row)."""
    components: dict[str, str]  # component -> ok | empty | error | reused
    errors: dict[str, str]  # component -> reason
    fatal: str | None  # a required component failed: the video's run is an error
    resumed: bool  # every artifact already existed and validated in this run
    timings: dict[str, float]
    source: dict[str, Any]  # duration, fps, size... of the source video
    rss_mb: float
    entries: dict[str, dict] = field(default_factory=dict)  # manifest entries of what the CPU stage wrote/reused
    scalars: dict[str, float] = field(default_factory=dict)  # fusion_aggregates inputs it already has (NaN: not)
    complete: bool = False  # the run folder already holds a finished ok run: only the index pointer is missing
    adopted: bool = False  # the run folder is an unfinished run (a crash) of the same video and config
    node: str = ""  # Ray node id that ran the CPU stage

    def to_json(self) -> str:
        return json.dumps(self.__dict__, default=float)

    @classmethod
    def from_json(cls, text: str) -> "VideoStatus":
        return cls(**json.loads(text))


def ragged_column(arrays: list[np.ndarray]) -> np.ndarray:
    """One batch column of per-row arrays: stacked when shapes agree, else an object column."""
    if len({a.shape for a in arrays}) == 1:
        return np.stack(arrays)
    out = np.empty(len(arrays), dtype=object)
    out[:] = arrays
    return out


def to_batch(rows: list[dict]) -> dict[str, np.ndarray]:
    """Column batch for Ray Data; array columns become object columns (ragged across rows)."""
    batch = {}
    for col in rows[0]:
        values = [r[col] for r in rows]
        if col in ARRAY_COLUMNS:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            batch[col] = arr
        else:
            batch[col] = np.array(values)
    return batch


def key_of(row: dict) -> RunKey:
    return RunKey(*(str(row[c]) for c in KEY_COLUMNS))


def batch_rows(batch: dict) -> list[dict]:
    """A column batch back into per-row dicts (numpy values)."""
    n = len(next(iter(batch.values()))) if batch else 0
    return [{k: batch[k][i] for k in batch} for i in range(n)]


def node_id() -> str:
    """The Ray node this process runs on ("" outside Ray)."""
    try:
        import ray
        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    except Exception:
        return ""
