"""clap_extractor: CLAP embeddings of audio windows in a Ray Data actor pool, pooled into A_shot.

Three steps, in three places of the pipeline:
1. decode side (CPU task): `window_audio(track, cfg)` cuts the 48 kHz mono waveform into windows
   of `audio.window_s` every `audio.hop_s` (the last one aligned to the end of the track, audio
   shorter than a window gives one repeat-padded window); `chunk_rows(...)` packs them into rows of
   `audio.windows_per_row` windows for the pool, or `iter_window_rows(track, cfg, ...)` yields the same
   rows one at a time (bounded memory for long tracks).
2. `ClapEmbed` (the actor, one model load per actor, GPU when it was given one): reads the
   `windows` column (k, n_samples), writes `window_embeddings` (k, D_a) and drops the raw windows.
3. finalize stage, once all of a video's rows are in: `collect(rows)` reorders them and
   `build_artifact(...)` pools windows into A_shot, each window weighted by its overlap (seconds)
   with the shot. Shots with no audio under them are NaN rows with A_shot_present=False.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ray_pipelines.audio_config import AudioConfig
from ray_pipelines.shot_pooling import assign_to_shots, pool_per_shot
from ray_pipelines.stages.audio_extract import AudioTrack
from ray_pipelines.stages.embed import EmbedStage
from trendflow.config import ConfigError

COMPONENTS = ("clap_extractor",)  # the artifact made from this stage's outputs
WRITES = ("window_embeddings", "clap_s", "clap_model_name", "clap_model_version", "clap_weights", "error")
POOLING = "mean of window embeddings weighted by overlap seconds with the shot (not re-normalised)"


def window_starts(n_samples: int, window: int, hop: int) -> np.ndarray:
    """Start sample of every window: every hop, plus one ending exactly at the end if the hops stop short."""
    if n_samples <= window:
        return np.zeros(1 if n_samples else 0, np.int64)
    starts = np.arange(0, n_samples - window + 1, hop)
    return np.append(starts, n_samples - window) if starts[-1] + window < n_samples else starts


def _window_size(track: AudioTrack, cfg: AudioConfig) -> tuple[int, int]:
    rate = track.analysis_rate
    return int(round(cfg.window_s * rate)), max(1, int(round(cfg.hop_s * rate)))


def _cut(x: np.ndarray, starts: np.ndarray, n: int, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(x) <= n:  # shorter than a window: the track repeated to fill it
        reps = -(-n // len(x))
        return np.tile(x, reps)[None, :n], np.zeros(1, np.float32), np.array([len(x) / rate], np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(x, n)[starts]  # (W, n), a copy (fancy indexing)
    return windows.astype(np.float32), (starts / rate).astype(np.float32), ((starts + n) / rate).astype(np.float32)


def window_audio(track: AudioTrack, cfg: AudioConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mono track → (windows (W, n) float32, window_start_sec (W,), window_end_sec (W,)).

    n = window_s · rate. Windows start every hop; when the last regular window stops short of the
    end, one more window ends exactly at the end. A track shorter than a window gives one window,
    the track repeated to fill it (LAION's repeat-padding), with end = the track's real end.
    """
    n, hop = _window_size(track, cfg)
    x = np.asarray(track.mono, np.float32)
    if len(x) == 0:
        return np.zeros((0, n), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32)
    return _cut(x, window_starts(len(x), n, hop), n, track.analysis_rate)


def chunk_rows(windows: np.ndarray, start_sec: np.ndarray, end_sec: np.ndarray, cfg: AudioConfig,
               **fields) -> list[dict]:
    """Rows for the actor pool: `windows_per_row` windows each, with their times, a `chunk_index`, and
    `fields` (e.g. video_id) copied into every row."""
    k = cfg.windows_per_row
    return [{**fields, "chunk_index": i // k, "windows": windows[i:i + k],
             "window_start_sec": start_sec[i:i + k], "window_end_sec": end_sec[i:i + k]}
            for i in range(0, len(windows), k)]


def iter_window_rows(track: AudioTrack, cfg: AudioConfig, **fields) -> Iterator[dict]:
    """The rows of `chunk_rows(*window_audio(track, cfg), cfg, **fields)`, cut one row at a time: with a
    hop of half a window, all windows at once hold twice the track (1.4 GB for an hour at 48 kHz)."""
    n, hop = _window_size(track, cfg)
    x = np.asarray(track.mono, np.float32)
    starts = window_starts(len(x), n, hop)
    k = cfg.windows_per_row
    for i in range(0, len(starts), k):
        windows, start, end = _cut(x, starts[i:i + k], n, track.analysis_rate)
        yield {**fields, "chunk_index": i // k, "windows": windows, "window_start_sec": start, "window_end_sec": end}


def collect(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A video's rows back from the pool (any order) → (window_start_sec, window_end_sec, window_embeddings)."""
    if not rows:
        return np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, 0), np.float32)
    rows = sorted(rows, key=lambda r: int(r["chunk_index"]))
    start = np.concatenate([np.asarray(r["window_start_sec"], np.float32) for r in rows])
    end = np.concatenate([np.asarray(r["window_end_sec"], np.float32) for r in rows])
    emb = np.concatenate([np.asarray(r["window_embeddings"], np.float32).reshape(len(r["window_start_sec"]), -1)
                          for r in rows])  # (W, D)
    return start, end, emb


def check_config(cfg: AudioConfig) -> None:
    """Fail at start-up, not in an actor: the model must exist and take audio at cfg.sample_rate."""
    from ray_pipelines.encoders.clap import sample_rate

    expected = sample_rate(cfg.clap.model_name)  # raises ConfigError for an unknown model
    if expected != cfg.sample_rate:
        raise ConfigError(f"audio.sample_rate={cfg.sample_rate} but {cfg.clap.model_name} takes {expected} Hz audio")


class ClapEmbed(EmbedStage):
    """Ray Data callable class: chunk rows with `windows` → the same rows with `window_embeddings`
    (raw audio dropped). `ClapEmbed(cfg_json)` loads the model once per actor;
    `ClapEmbed.with_encoder(cfg, encoder)` wraps an encoder the caller already has (the online path)."""

    name = "ClapEmbed"
    component = "clap_extractor"
    input_column = "windows"
    timing_column = "clap_s"
    writes = WRITES

    def __init__(self, cfg_json: str):
        from ray_pipelines.encoders import actor_device
        from ray_pipelines.encoders.clap import load_clap

        cfg = AudioConfig.model_validate_json(cfg_json)
        check_config(cfg)
        self.cfg, self.encoder = cfg, load_clap(cfg.clap, actor_device())

    @classmethod
    def with_encoder(cls, cfg: AudioConfig, encoder) -> "ClapEmbed":
        """encoder: anything with embed(windows, batch_size) -> (k, D), embed_dim, model_version, weights."""
        stage = cls.__new__(cls)
        stage.cfg, stage.encoder = cfg, encoder
        return stage

    def encode(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        """(k, n_samples) float32 windows → (k, D) embeddings."""
        if windows.ndim != 2:
            raise ValueError(f"windows of shape {windows.shape}, expected (k, n_samples)")
        return {"window_embeddings": self.encoder.embed(windows.astype(np.float32), self.cfg.clap.batch_size)}

    def empty(self) -> dict[str, np.ndarray]:
        return {"window_embeddings": np.zeros((0, self.encoder.embed_dim), np.float32)}

    def model_columns(self) -> dict:
        # clap_* names: the CLIP pool adds its own model columns to the same rows
        return {"clap_model_name": self.cfg.clap.model_name, "clap_model_version": self.encoder.model_version,
                "clap_weights": self.encoder.weights}


def build_artifact(window_start_sec: np.ndarray, window_end_sec: np.ndarray, window_embeddings: np.ndarray,
                   shot_start_sec: np.ndarray, shot_end_sec: np.ndarray,
                   embed_dim: int | None = None) -> dict[str, np.ndarray]:
    """Arrays of the clap_extractor artifact. `embed_dim` is only needed when there are no windows."""
    ws, we = np.asarray(window_start_sec, np.float64), np.asarray(window_end_sec, np.float64)
    ss, se = np.asarray(shot_start_sec, np.float64), np.asarray(shot_end_sec, np.float64)
    n_shots = len(ss)
    emb = np.asarray(window_embeddings, np.float32)
    dim = emb.shape[1] if emb.ndim == 2 and emb.shape[1] else embed_dim
    if dim is None:
        raise ValueError("build_artifact: no windows, pass embed_dim")
    emb = emb.reshape(len(ws), dim)
    # Every (window, shot) pair that overlaps, weighted by the overlap in seconds.
    first = np.searchsorted(se, ws, side="right")  # first shot ending after the window starts
    last = np.searchsorted(ss, we, side="left")  # one past the last shot starting before the window ends
    counts = np.maximum(last - first, 0)
    w_idx = np.repeat(np.arange(len(ws)), counts)
    s_idx = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(first, counts))
    overlap = np.minimum(we[w_idx], se[s_idx]) - np.maximum(ws[w_idx], ss[s_idx]) if len(w_idx) else np.zeros(0)
    keep = overlap > 0
    if keep.any():
        a_shot, present, _ = pool_per_shot(emb[w_idx[keep]], s_idx[keep].astype(np.int32), n_shots,
                                           weights=overlap[keep])  # (S, D), (S,)
    else:  # no audio under any shot
        a_shot, present = np.full((n_shots, dim), np.nan, np.float32), np.zeros(n_shots, bool)
    # Windows tile [first start, last end] without gaps, so coverage is the shot's overlap with that span.
    if len(ws):
        covered = np.clip(np.minimum(se, we.max()) - np.maximum(ss, ws.min()), 0, None)
    else:
        covered = np.zeros(n_shots)
    length = se - ss
    coverage = np.where(length > 0, covered / np.where(length > 0, length, 1), 0.0)
    return {
        "window_start_sec": ws.astype(np.float32),
        "window_end_sec": we.astype(np.float32),
        "window_embeddings": emb,
        "window_shot_index": assign_to_shots((ws + we) / 2, ss),  # shot under each window's centre
        "A_shot": a_shot.reshape(n_shots, dim).astype(np.float32),
        "A_shot_present": present,
        "A_shot_coverage": np.clip(coverage, 0, 1).astype(np.float32),
    }


def meta(cfg: AudioConfig, embed_dim: int) -> dict[str, object]:
    """extra_meta of the artifact (model_name/model_version/weights go in the standard meta fields)."""
    return {"window_s": cfg.window_s, "hop_s": cfg.hop_s, "sample_rate": cfg.sample_rate, "embed_dim": embed_dim,
            "pooling": POOLING, "padding": "windows shorter than the model clip are repeat-padded (LAION)"}
