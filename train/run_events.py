"""The audit trail of a Ray Train run, kept in the run's own storage so every node and the driver share it.

Rank 0 of each worker group writes one small JSON object per event under
`<storage_path>/<run name>/trendflow_events/` (local folder or s3://, the same filesystem Ray Train
writes its checkpoints to), named `<attempt>-<seq>.json` so that names sort in time order:

    {"event": "train_start", "attempt": "...", "start_epoch": 3, "pid": ..., "node": ..., "world_size": 2, ...}
    {"event": "epoch_end", "attempt": "...", "epoch": 3, "metrics": {"train_loss": ..., "val_loss": ...},
     "samples": 160, "world_size": 2, "train_s": ..., "val_s": ..., "time": ...}

An attempt is one worker group: a restart after a failure starts a new one (from the last checkpoint).
The driver reads these objects while training runs (progress on the console), then writes
MODEL_DIR/metrics.csv (one row per epoch, from the attempt that produced the final model) and counts
restarts as attempts − 1. Nothing here depends on the driver's disk, so a multi-node run loses neither.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import threading
import time
from typing import Any, Callable

import lightning.pytorch as pl

EVENTS_DIR = "trendflow_events"
METRIC_KEYS = ("train_loss", "val_loss", "val_mae")


class RunEventWriter(pl.Callback):
    """Lightning callback for the workers: rank 0 writes train_start and epoch_end events.

    Place it before `RayTrainReportCallback`: an epoch's event is then written before its checkpoint is
    reported, so a worker killed in between re-runs that epoch and writes it again (the driver keeps the
    last), and no reported epoch can be missing from metrics.csv.
    """

    def __init__(self, rank: int):
        import ray.train
        storage = ray.train.get_context().get_storage()
        self.fs, self.dir, self.rank = storage.storage_filesystem, f"{storage.experiment_fs_path}/{EVENTS_DIR}", rank
        self.attempt = f"{time.time_ns():020d}-{os.getpid()}"  # sorts by start time across attempts
        self.seq, self.samples, self.t = 0, 0, {}
        if rank == 0:
            self.fs.create_dir(self.dir, recursive=True)

    def _write(self, event: dict[str, Any]) -> None:
        if self.rank != 0:
            return
        doc = {**event, "attempt": self.attempt, "pid": os.getpid(), "time": time.time()}
        final = f"{self.dir}/{self.attempt}-{self.seq:05d}.json"
        # A local file is visible while it is written (an object-store PUT is not): write a temp name and
        # rename it, so that a reader, or a worker killed mid-write, never leaves half an event.
        from pyarrow.fs import LocalFileSystem
        target = final + ".tmp" if isinstance(self.fs, LocalFileSystem) else final
        with self.fs.open_output_stream(target) as f:
            f.write(json.dumps(doc).encode())
        if target != final:
            self.fs.move(target, final)
        self.seq += 1

    def on_train_start(self, trainer, pl_module) -> None:
        import torch
        self._write({"event": "train_start", "start_epoch": int(trainer.current_epoch), "node": socket.gethostname(),
                     "world_size": int(trainer.world_size), "torch_threads": torch.get_num_threads()})

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.t = {"start": time.time()}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.samples += int(batch["meta"].shape[0])

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self.t["val_start"] = time.time()

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        self.t["val_end"] = time.time()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        t = self.t
        phases = {}
        if "val_start" in t and "val_end" in t:
            phases = {"train_s": round(t["val_start"] - t["start"], 4), "val_s": round(t["val_end"] - t["val_start"], 4)}
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k in METRIC_KEYS}
        self._write({"event": "epoch_end", "epoch": int(trainer.current_epoch), "metrics": metrics,
                     "samples": self.samples, "world_size": int(trainer.world_size), **phases})
        self.samples = 0


class RunEvents:
    """The driver's view of a run's events: read them (as they appear), print progress, summarise."""

    def __init__(self, fs, run_path: str, log: Callable[[str], Any] | None = None, label: str = "",
                 max_epochs: int | None = None):
        from pyarrow.fs import LocalFileSystem
        self.fs = fs or LocalFileSystem()
        self.dir = f"{run_path.rstrip('/')}/{EVENTS_DIR}"
        self.log, self.label, self.max_epochs = log, label, max_epochs
        self._seen: dict[str, dict] = {}
        self._attempts: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ reading
    def read(self) -> list[dict[str, Any]]:
        """Every event so far, in time order (objects already read are not fetched again)."""
        from pyarrow.fs import FileSelector
        handler = getattr(self.fs, "handler", None)  # an fsspec filesystem wrapped for pyarrow (s3fs) ...
        if handler is not None:
            handler.fs.invalidate_cache()  # ... caches listings: new event objects would stay invisible
        infos = self.fs.get_file_info(FileSelector(self.dir, allow_not_found=True))
        for info in sorted((i for i in infos if i.path.endswith(".json")), key=lambda i: i.base_name):
            if info.base_name not in self._seen:
                with self.fs.open_input_stream(info.path) as f:
                    raw = f.read()
                try:
                    self._seen[info.base_name] = json.loads(raw)
                except json.JSONDecodeError:  # not a whole event (written by other means): skip it
                    continue
        return [self._seen[k] for k in sorted(self._seen)]

    def poll(self) -> None:
        """Print the events that appeared since the last poll."""
        before = set(self._seen)
        events = self.read()
        for name in sorted(set(self._seen) - before):
            self._print(self._seen[name], events)

    def _print(self, e: dict[str, Any], events: list[dict[str, Any]]) -> None:
        if self.log is None:
            return
        if e["event"] == "train_start":
            self._attempts.append(e["attempt"])
            if len(self._attempts) > 1:
                self.log(f"  {self.label}: worker group restarted (attempt {len(self._attempts)}), resuming at "
                         f"epoch {e['start_epoch'] + 1} from the last checkpoint")
            return
        m = e.get("metrics", {})
        total = f"/{self.max_epochs}" if self.max_epochs else ""
        took = f"  ({e['train_s'] + e['val_s']:.1f} s)" if "train_s" in e else ""
        self.log(f"  {self.label} epoch {e['epoch'] + 1}{total}: " +
                 "  ".join(f"{k} {m[k]:.4f}" for k in METRIC_KEYS if k in m) + took)

    # ------------------------------------------------------------ following a run
    def follow(self, interval_s: float = 1.0) -> "RunEvents":
        """Poll in a background thread until `stop()`, printing each epoch as it ends."""
        def loop():
            while not self._stop.wait(interval_s):
                try:
                    self.poll()
                except Exception:  # noqa: BLE001 — progress is best-effort: a failed listing is retried next tick
                    pass
        self._thread = threading.Thread(target=loop, name="train-progress", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.poll()  # the last events, printed once

    # ------------------------------------------------------------ summaries
    def attempts(self) -> list[dict[str, Any]]:
        """The train_start event of every worker group, oldest first."""
        return [e for e in self.read() if e["event"] == "train_start"]

    def restarts(self) -> int:
        return max(0, len(self.attempts()) - 1)

    def epoch_rows(self) -> list[dict[str, Any]]:
        """One row per epoch. When a restarted attempt re-ran an epoch, its row wins: that is the epoch the
        final model descends from."""
        order = {e["attempt"]: i for i, e in enumerate(self.attempts())}
        rows: dict[int, dict[str, Any]] = {}
        for e in self.read():
            if e["event"] == "epoch_end":
                rows[int(e["epoch"])] = {"epoch": int(e["epoch"]), **e.get("metrics", {}),
                                         "attempt": order.get(e["attempt"], 0), "samples": e.get("samples"),
                                         "world_size": e.get("world_size"), "train_s": e.get("train_s"),
                                         "val_s": e.get("val_s"), "time": e["time"]}
        return [rows[k] for k in sorted(rows)]

    def metrics_csv(self) -> bytes:
        rows = self.epoch_rows()
        header = ["epoch", *METRIC_KEYS, "attempt", "samples", "world_size", "train_s", "val_s", "time"]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue().encode()

    def jsonl(self) -> bytes:
        return "".join(json.dumps(e) + "\n" for e in self.read()).encode()
