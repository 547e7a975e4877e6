"""Ray Train recipe for the neural forecasters (v1, v2): setup(cfg) → train() → cleanup().

    recipe = RayTrainRecipe("v2", train_dir="data/train", model_dir="models/v2", cfg=load_train_config(path))
    recipe.setup()          # checks options up front, reads stats, builds Ray Data datasets
    result = recipe.train() # TorchTrainer + Lightning (ray.train.lightning), writes MODEL_DIR
    recipe.cleanup()

Inside each worker: a Lightning `Trainer` with `RayDDPStrategy`, `RayLightningEnvironment` and
`RayTrainReportCallback` (a checkpoint per epoch), fed by this worker's Ray Data shard
(`ray.train.get_dataset_shard`). `FailureConfig(max_failures)` restarts a failed worker group, which
resumes from the last reported checkpoint (`ray.train.get_checkpoint()`), not from scratch. Early
stopping watches val_loss; the best checkpoint by val_loss becomes MODEL_DIR/model.pt with its card.

Storage: checkpoints and the run's events go to `train.storage_path` (default MODEL_DIR/ray_results),
local or s3:// (custom endpoints through `storage_filesystem`). Rank 0 writes one event per epoch
there (`train.run_events`); the driver follows them to print progress, then writes MODEL_DIR/metrics.csv
(every epoch once) and counts restarts from them, so nothing depends on the driver's disk. On a
multi-node cluster a local storage path is refused up front. W&B runs offline unless configured online.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import lightning.pytorch as pl
import numpy as np

from train.config import RecipeConfigError, TrainConfig, resolve_wandb_mode
from train.data import (
    DatasetSchema,
    TrainDir,
    as_train_dir,
    load_schema,
    meta_matrix,
    read_split,
    read_split_frame,
    split_files,
    target_arrays,
)
from train.model_dir import ModelDir, as_model_dir, build_model_card, save_torch_model, write_card
from train.run_events import RunEvents, RunEventWriter
from train.uris import alive_nodes, arrow_filesystem, is_remote, join, require_shared

CKPT_NAME = "checkpoint.ckpt"  # RayTrainReportCallback.CHECKPOINT_NAME
EVENTS_FILE = "events.jsonl"  # MODEL_DIR copy of the run's events (train.run_events)
SMALL_DATA_BYTES = 512 * 2**20  # Parquet size below which the driver reads the split itself
BLOCK_ROWS = 32  # rows per Ray Data block when the driver hands the data over (the shuffle unit)


@dataclass
class SharedData:
    """Training data read once and handed to many recipes (the trials of a sweep): the schema, the
    training-split statistics and the Ray datasets, whose blocks live in the object store."""
    schema: DatasetSchema
    meta_features: list[str]
    stats: dict[str, Any]
    datasets: dict[str, Any]


@dataclass
class TrainOutcome:
    model_dir: str
    card: dict[str, Any]
    best_metrics: dict[str, Any]
    ray_result_path: str | None


def feature_stats(train_dir: "str | TrainDir", schema: DatasetSchema, meta_features: list[str]) -> dict[str, Any]:
    """Normalisation of meta features and targets, from the training split only (no leakage)."""
    from train.layers import FeatureNormalizer
    frame = read_split_frame(train_dir, "train", schema)
    x = meta_matrix(frame, meta_features)
    y, mask = target_arrays(frame, schema.targets, schema.horizons)
    with np.errstate(all="ignore"):
        y_mean = np.nan_to_num(np.nanmean(np.where(mask, y, np.nan), axis=0))
        y_std = np.nan_to_num(np.nanstd(np.where(mask, y, np.nan), axis=0), nan=1.0)
    stats = FeatureNormalizer.compute_stats(x)
    return {"meta": {k: v.tolist() for k, v in stats.items()}, "y_mean": y_mean.tolist(),
            "y_std": np.where(y_std < 1e-3, 1.0, y_std).tolist(), "n_train": len(frame)}


class RayTrainRecipe:
    def __init__(self, model_name: str, train_dir: "str | TrainDir", model_dir: "str | ModelDir",
                 cfg: TrainConfig | None = None, log: Callable[[str], Any] | None = print,
                 shared: SharedData | None = None):
        """`shared`: data another recipe already read (`shared_data()`); then TRAIN_DIR is not read again."""
        self.model_name, self.train_dir, self.model_dir = model_name, as_train_dir(train_dir), as_model_dir(model_dir)
        self.cfg = cfg or TrainConfig()
        self.log = log
        self.shared = shared
        self._started_ray = False

    # ------------------------------------------------------------------ setup
    def setup(self) -> "RayTrainRecipe":
        import ray

        from train.registry import canonical_name, get_entry, model_kwargs

        cfg = self.cfg
        entry = get_entry(self.model_name)
        if entry.kind != "torch":
            raise RecipeConfigError(f"{self.model_name!r} is a {entry.kind} model; Ray Train trains neural models "
                                    f"(v1, v2). Use train.pipeline.train_model for it.")
        self.model_name = canonical_name(self.model_name)
        self.entry = entry
        shared = self.shared
        self.schema = (shared.schema if shared else load_schema(self.train_dir)).select(cfg.targets, cfg.horizons)
        if self.schema.max_shots > cfg.max_shots:
            raise RecipeConfigError(f"the data keeps up to {self.schema.max_shots} shots but train.max_shots="
                                    f"{cfg.max_shots}; rebuild the data with --max-shots {cfg.max_shots} or raise it")
        for split in ("train", "val"):
            if not shared and not split_files(self.train_dir, split):
                raise RecipeConfigError(f"{self.train_dir.uri}: split {split!r} is empty; rebuild with a val fraction")
        self.wandb_mode = resolve_wandb_mode(cfg.wandb_mode)
        if self.wandb_mode == "online" and not os.environ.get("WANDB_API_KEY"):
            raise RecipeConfigError("W&B online mode needs WANDB_API_KEY in the environment; "
                                    "set it or use train.wandb_mode: offline")
        try:
            self.head_weights = cfg.head_weight_matrix(self.schema.targets, self.schema.horizons)
        except ValueError as e:
            raise RecipeConfigError(str(e)) from None

        if not ray.is_initialized():
            ray.init(address=cfg.ray_address, include_dashboard=False, log_to_driver=False)
            self._started_ray = True
        resources = ray.cluster_resources()
        if cfg.use_gpu and resources.get("GPU", 0) < cfg.num_workers:
            raise RecipeConfigError(f"use_gpu=true needs {cfg.num_workers} GPU(s); the cluster has "
                                    f"{resources.get('GPU', 0):g}. Set train.use_gpu: false or add GPU nodes.")
        self.storage_uri = cfg.storage_path or join(self.model_dir.uri, "ray_results")
        if not is_remote(self.storage_uri):
            self.storage_uri = os.path.abspath(self.storage_uri)
        self.n_nodes = alive_nodes()
        require_shared(self.storage_uri, "Ray Train storage_path (checkpoints, run events)", self.n_nodes)
        need_cpu = cfg.num_workers * cfg.cpus_per_worker
        if need_cpu > resources.get("CPU", 0):
            raise RecipeConfigError(f"{cfg.num_workers} workers × {cfg.cpus_per_worker:g} CPU = {need_cpu:g} CPUs > "
                                    f"{resources.get('CPU', 0):g} in the cluster; lower train.num_workers or "
                                    f"train.cpus_per_worker")

        self.meta_features, content_dim = self.schema.neural_meta_features(cfg.use_content_aggregates,
                                                                           cfg.categorical_features)
        if shared and shared.meta_features != self.meta_features:
            raise RecipeConfigError("the shared data was prepared for other meta features; use the same "
                                    "train.use_content_aggregates / train.categorical_features")
        self.stats = shared.stats if shared else feature_stats(self.train_dir, self.schema, self.meta_features)
        if self.stats["n_train"] < cfg.batch_size * cfg.num_workers:
            raise RecipeConfigError(f"{self.stats['n_train']} training rows < batch_size × num_workers = "
                                    f"{cfg.batch_size * cfg.num_workers}; lower train.batch_size")
        self.model_kwargs = model_kwargs(
            self.model_name, cfg.model, meta_dim=len(self.meta_features), e_dim=self.schema.e_dim,
            a_dim=self.schema.a_dim, n_targets=len(self.schema.targets), n_horizons=len(self.schema.horizons),
            max_shots=cfg.max_shots, content_dim=content_dim)

        self.datasets = dict(shared.datasets) if shared else {split: self._dataset(split) for split in ("train", "val")}
        return self

    def _dataset(self, split: str):
        """A Ray Dataset of one split, materialised before the workers start.

        Small data (up to `SMALL_DATA_BYTES` of Parquet) is read by the driver and handed to Ray as Arrow
        blocks; larger data is read by Ray Data tasks. Either way it is materialised up front, so no read
        task competes with the workers for CPUs (on a 2-core laptop it would starve: ray#41603).
        """
        import ray
        if self.train_dir.split_bytes(split) <= SMALL_DATA_BYTES:
            table = read_split(self.train_dir, split)
            if split == "train":  # rows in a random order once; the block order is reshuffled every epoch
                table = table.take(np.random.default_rng(self.cfg.seed).permutation(len(table)))
            blocks = [table.slice(i, BLOCK_ROWS) for i in range(0, len(table), BLOCK_ROWS)]
            ds = ray.data.from_arrow(blocks)
        else:  # Ray Data read tasks run on any node: the data must be on shared storage
            require_shared(self.train_dir.uri, "training data", self.n_nodes)
            fs, _ = arrow_filesystem(self.train_dir.uri, self.train_dir.storage_options)
            ds = ray.data.read_parquet(split_files(self.train_dir, split), filesystem=fs).materialize()
        # Shuffling = a new random order of blocks every epoch: no row copying. A local shuffle buffer
        # (copying ragged shot lists row by row) cost more than the training step itself, and 16-row
        # blocks twice the iteration time of 32-row ones (bench/train.py, measured in a worker).
        return ds.randomize_block_order() if split == "train" else ds

    def shared_data(self) -> SharedData:
        """What this recipe has read, for other recipes on the same data (call after `setup`)."""
        return SharedData(self.schema, self.meta_features, self.stats, self.datasets)

    def loop_config(self) -> dict[str, Any]:
        """Everything a worker needs, as plain data (it is pickled to the workers)."""
        cfg = self.cfg
        return {
            "model_name": self.model_name,
            "model_kwargs": self.model_kwargs,
            "card": self.schema.card,
            "targets": list(self.schema.targets),
            "horizons": list(self.schema.horizons),
            "head_names": self.schema.head_names(),
            "meta_features": self.meta_features,
            "stats": self.stats,
            "loss": {"kind": cfg.loss, "huber_delta": cfg.huber_delta,
                     "head_weights": [tuple(r) for r in self.head_weights],
                     "monotonic_penalty": cfg.monotonic_penalty},
            "lr": cfg.lr, "weight_decay": cfg.weight_decay, "batch_size": cfg.batch_size,
            "max_epochs": cfg.max_epochs, "patience": cfg.early_stopping_patience, "seed": cfg.seed,
            "use_gpu": cfg.use_gpu,
            "wandb": {"mode": self.wandb_mode, "project": cfg.wandb_project, "config": cfg.model_dump(mode="json"),
                      "dir": self.wandb_dir()},
        }

    # ------------------------------------------------------------------ train
    def wandb_dir(self) -> str:
        """Where rank 0 keeps its offline W&B run: MODEL_DIR/logs for a local model folder; a local scratch
        folder on the rank-0 node otherwise (W&B writes a directory tree; `wandb sync` uploads it)."""
        if not is_remote(self.model_dir.uri):
            return os.path.join(self.model_dir.uri, "logs")
        import tempfile
        return os.path.join(tempfile.gettempdir(), "trendflow-wandb")

    def storage(self) -> tuple[Any, str]:
        """(pyarrow filesystem or None for local, path) of the Ray Train storage_path."""
        return arrow_filesystem(self.storage_uri, self.model_dir.storage_options)

    def trainer(self, run_name: str | None = None, callbacks: list | None = None, storage_path: str | None = None,
                storage_filesystem=None):
        """The TorchTrainer of this recipe. A sweep trial passes its own run name (stable across restarts,
        so Ray Train resumes the run), a `TuneReportCallback`, and the sweep's storage (path + pyarrow fs)."""
        import ray.train
        from ray.train.torch import TorchTrainer
        cfg = self.cfg
        fs, storage_path = (storage_filesystem, storage_path) if storage_path else self.storage()
        self.run_name = run_name or f"{self.model_name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        return TorchTrainer(
            train_loop_per_worker,
            train_loop_config=self.loop_config(),
            scaling_config=ray.train.ScalingConfig(
                num_workers=cfg.num_workers, use_gpu=cfg.use_gpu,
                resources_per_worker={"CPU": cfg.cpus_per_worker, **({"GPU": 1} if cfg.use_gpu else {})}),
            run_config=ray.train.RunConfig(
                name=self.run_name, storage_path=storage_path, storage_filesystem=fs, callbacks=list(callbacks or []),
                checkpoint_config=ray.train.CheckpointConfig(
                    num_to_keep=cfg.checkpoints_to_keep, checkpoint_score_attribute="val_loss",
                    checkpoint_score_order="min"),
                failure_config=ray.train.FailureConfig(max_failures=cfg.max_failures)),
            datasets=self.datasets,
            # One worker reads the whole dataset itself: a split would put a SplitCoordinator actor between
            # the data and the worker, which competes for the same CPUs on a small machine.
            dataset_config=ray.train.DataConfig(datasets_to_split="all" if cfg.num_workers > 1 else []),
        )

    def train(self) -> TrainOutcome:
        started = time.time()
        trainer = self.trainer()
        fs, storage_path = self.storage()
        events = RunEvents(fs, f"{storage_path}/{self.run_name}", self.log, self.model_name, self.cfg.max_epochs)
        self._say(f"train {self.model_name}: {self.cfg.num_workers} Ray Train worker(s) × {self.cfg.cpus_per_worker:g} "
                  f"CPU, {self.stats['n_train']} training videos, up to {self.cfg.max_epochs} epochs; checkpoints in "
                  f"{join(self.storage_uri, self.run_name)}")
        events.follow()
        try:
            result = trainer.fit()
        finally:
            events.stop()
        if result.error:
            raise RuntimeError(f"training {self.model_name} failed: {result.error}") from result.error
        best = result.get_best_checkpoint(metric="val_loss", mode="min") if result.best_checkpoints else None
        if best is None:
            raise RuntimeError(f"training {self.model_name} reported no checkpoint")
        best_metrics = next(m for c, m in result.best_checkpoints if c.path == best.path)
        state = self._state_dict_from_checkpoint(best)
        save_torch_model(self.model_dir, self.model_name, self.model_kwargs, self.meta_features, state)
        metrics_csv = self.model_dir.write_bytes("metrics.csv", events.metrics_csv())
        self.model_dir.write_bytes(EVENTS_FILE, events.jsonl())
        epochs = events.epoch_rows()
        self._say(f"train {self.model_name}: {len(epochs)} epochs, best val_loss {best_metrics['val_loss']:.4f} at "
                  f"epoch {int(best_metrics['epoch']) + 1}; {events.restarts()} restart(s)")
        card = build_model_card(
            model_name=self.model_name, model_version=self.entry.version, kind="torch", schema=self.schema,
            config=self.cfg.model_dump(mode="json"), seed=self.cfg.seed, meta_features=self.meta_features,
            training_data_uri=self.train_dir.uri,
            validation_metrics={k: v for k, v in best_metrics.items() if isinstance(v, (int, float))},
            extra={"model_kwargs": self.model_kwargs, "train_seconds": round(time.time() - started, 2),
                   "ray_run": join(self.storage_uri, self.run_name),
                   "best_checkpoint": self._uri(best.path), "metrics_csv": metrics_csv,
                   "num_workers": self.cfg.num_workers, "use_gpu": self.cfg.use_gpu,
                   "restarts": events.restarts(), "attempts": events.attempts(), "epochs_run": len(epochs)})
        write_card(self.model_dir, card)
        return TrainOutcome(self.model_dir.uri, card, best_metrics, result.path)

    def _uri(self, fs_path: str) -> str:
        """A path inside the storage filesystem as a URI (s3://bucket/... for object stores)."""
        return f"{self.storage_uri.split('://', 1)[0]}://{fs_path}" if is_remote(self.storage_uri) else fs_path

    def _say(self, msg: str) -> None:
        if self.log is not None:
            self.log(msg)

    @staticmethod
    def _state_dict_from_checkpoint(checkpoint) -> dict:
        import torch
        with checkpoint.as_directory() as d:
            ckpt = torch.load(os.path.join(d, CKPT_NAME), map_location="cpu", weights_only=False)
        prefix = "model."
        return {k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}

    # ------------------------------------------------------------------ cleanup
    def cleanup(self) -> None:
        import ray
        self.datasets = {}
        if self._started_ray and ray.is_initialized():
            ray.shutdown()
            self._started_ray = False


# ---------------------------------------------------------------------- worker side

def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Runs in every Ray Train worker: Lightning fit over this worker's Ray Data shard."""
    import ray.train
    from lightning.pytorch.callbacks import EarlyStopping
    from ray.train import CheckpointUploadMode
    from ray.train.lightning import (
        RayDDPStrategy,
        RayLightningEnvironment,
        RayTrainReportCallback,
        prepare_trainer,
    )

    from train.data import DatasetSchema, make_ray_collate
    from train.lightning_module import ForecastModule

    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    pl.seed_everything(config["seed"] + rank, workers=True, verbose=False)
    schema = DatasetSchema.from_card(config["card"]).select(config["targets"], config["horizons"])
    collate = make_ray_collate(schema, config["meta_features"])
    bs = config["batch_size"]
    train_batches = ray.train.get_dataset_shard("train").iter_torch_batches(
        batch_size=bs, collate_fn=collate, drop_last=True)
    val_batches = ray.train.get_dataset_shard("val").iter_torch_batches(batch_size=bs, collate_fn=collate)

    module = ForecastModule(config["model_name"], config["model_kwargs"], config["loss"], lr=config["lr"],
                            weight_decay=config["weight_decay"], stats=_stats_arrays(config["stats"]),
                            head_names=config.get("head_names"))
    loggers: list = []  # per-epoch metrics reach the driver through RunEventWriter, not a node-local CSV
    if config["wandb"]["mode"] != "disabled" and rank == 0:
        from lightning.pytorch.loggers import WandbLogger
        os.makedirs(config["wandb"]["dir"], exist_ok=True)
        loggers.append(WandbLogger(project=config["wandb"]["project"], save_dir=config["wandb"]["dir"],
                                   mode=config["wandb"]["mode"], name=ctx.get_experiment_name(),
                                   config=config["wandb"]["config"]))
    trainer = pl.Trainer(
        max_epochs=config["max_epochs"], accelerator="gpu" if config["use_gpu"] else "cpu", devices="auto",
        strategy=RayDDPStrategy(), plugins=[RayLightningEnvironment()],
        # Events before the report (see RunEventWriter). ASYNC: the checkpoint is reported from a background
        # thread; Ray Train V2 drains reports when the controller polls (every 2 s), so a synchronous report
        # stalled every short epoch (bench/train.py).
        callbacks=[RunEventWriter(rank),
                   RayTrainReportCallback(checkpoint_upload_mode=CheckpointUploadMode.ASYNC),
                   EarlyStopping("val_loss", patience=config["patience"], mode="min")],
        logger=loggers or False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0, log_every_n_steps=1)
    trainer = prepare_trainer(trainer)
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:  # a restarted worker group: continue from the last reported epoch
        with checkpoint.as_directory() as d:
            trainer.fit(module, train_dataloaders=train_batches, val_dataloaders=val_batches,
                        ckpt_path=os.path.join(d, CKPT_NAME))
    else:
        trainer.fit(module, train_dataloaders=train_batches, val_dataloaders=val_batches)


def _stats_arrays(stats: dict[str, Any]) -> dict[str, Any]:
    meta = {k: np.asarray(v) for k, v in stats["meta"].items()}
    return {"meta": meta, "y_mean": np.asarray(stats["y_mean"]), "y_std": np.asarray(stats["y_std"])}
