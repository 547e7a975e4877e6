"""Training throughput: v1 and v2 under Ray Train (1 and 2 workers) vs a plain PyTorch loop, in one run.

    .venv/bin/python bench/train.py [--videos 1200] [--epochs 6] [--models v1 v2] [--data TRAIN_DIR]

Same model (registry defaults), same data (a synthetic TRAIN_DIR with 512-d visual and audio shot
embeddings, ≤ 32 shots, unless --data is given), same batch size, loss and optimizer. Each epoch does
one training pass and one validation pass; Ray Train also writes and reports a checkpoint per epoch
(that is part of what it costs). Throughput is training samples per second over epochs 2..N (epoch 1
is warm-up), read from the workers' own epoch timestamps; "wall" adds start-up (Ray Train worker
group, Ray Data, process group). The plain loop runs in this process with 1 torch thread, as a Ray
worker with 1 CPU does. Overhead = plain samples/s ÷ Ray (1 worker) samples/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


def plain_loop(name: str, train_dir: str, epochs: int, batch_size: int) -> dict:
    """A hand-written PyTorch loop over the same batches (collation included, as in Ray Data)."""
    import torch

    from train.config import TrainConfig
    from train.data import iter_local_batches, load_schema, read_split
    from train.losses import LossConfig, masked_multihorizon_loss
    from train.recipe import _stats_arrays, feature_stats
    from train.registry import create_model, model_kwargs

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = TrainConfig()
    schema = load_schema(train_dir)
    features, content_dim = schema.neural_meta_features(cfg.use_content_aggregates, cfg.categorical_features)
    stats = _stats_arrays(feature_stats(train_dir, schema, features))
    model = create_model(name, **model_kwargs(
        name, cfg.model, meta_dim=len(features), e_dim=schema.e_dim, a_dim=schema.a_dim,
        n_targets=len(schema.targets), n_horizons=len(schema.horizons), max_shots=cfg.max_shots,
        content_dim=content_dim))
    model.set_stats(stats["meta"], stats["y_mean"], stats["y_std"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_cfg = LossConfig(kind=cfg.loss, huber_delta=cfg.huber_delta, monotonic_penalty=cfg.monotonic_penalty)
    train, val = read_split(train_dir, "train"), read_split(train_dir, "val")
    started = time.perf_counter()
    epoch_end, samples = [], []
    for epoch in range(epochs):
        model.train()
        seen = 0
        for batch in iter_local_batches(train, schema, features, batch_size, shuffle_seed=epoch):
            if batch["meta"].shape[0] < batch_size:
                continue  # drop_last, as the Ray path does
            loss, _ = masked_multihorizon_loss(model(batch), batch["targets"], batch["target_mask"], loss_cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += batch["meta"].shape[0]
        model.eval()
        with torch.no_grad():
            for batch in iter_local_batches(val, schema, features, batch_size):
                masked_multihorizon_loss(model(batch), batch["targets"], batch["target_mask"], loss_cfg)
        epoch_end.append(time.perf_counter())
        samples.append(seen)
    return {"samples_per_s": sum(samples[1:]) / (epoch_end[-1] - epoch_end[0]),
            "wall_s": epoch_end[-1] - started}


def lightning_local(name: str, train_dir: str, epochs: int, batch_size: int) -> dict:
    """The same LightningModule the Ray workers run, in this process without Ray (isolates Lightning's cost)."""
    import lightning.pytorch as pl
    import torch

    from train.config import TrainConfig
    from train.data import iter_local_batches, load_schema, read_split
    from train.lightning_module import ForecastModule
    from train.recipe import _stats_arrays, feature_stats
    from train.registry import model_kwargs

    torch.set_num_threads(1)
    cfg = TrainConfig()
    schema = load_schema(train_dir)
    features, content_dim = schema.neural_meta_features(cfg.use_content_aggregates, cfg.categorical_features)
    kwargs = model_kwargs(name, cfg.model, meta_dim=len(features), e_dim=schema.e_dim, a_dim=schema.a_dim,
                          n_targets=len(schema.targets), n_horizons=len(schema.horizons), max_shots=cfg.max_shots,
                          content_dim=content_dim)
    pl.seed_everything(0, verbose=False)
    module = ForecastModule(name, kwargs, {"kind": cfg.loss, "huber_delta": cfg.huber_delta,
                                           "monotonic_penalty": cfg.monotonic_penalty},
                            lr=cfg.lr, weight_decay=cfg.weight_decay,
                            stats=_stats_arrays(feature_stats(train_dir, schema, features)))
    train, val = read_split(train_dir, "train"), read_split(train_dir, "val")

    class Batches:  # re-collated every epoch, shuffled, like the other runners
        def __init__(self, table, shuffle):
            self.table, self.shuffle, self.epoch = table, shuffle, 0

        def __iter__(self):
            self.epoch += 1
            for b in iter_local_batches(self.table, schema, features, batch_size,
                                        shuffle_seed=self.epoch if self.shuffle else None):
                if not self.shuffle or b["meta"].shape[0] == batch_size:
                    yield b

    ends = []

    class EpochClock(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            ends.append(time.perf_counter())

    started = time.perf_counter()
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         callbacks=[EpochClock()])
    trainer.fit(module, train_dataloaders=Batches(train, True), val_dataloaders=Batches(val, False))
    per_epoch = (len(train) // batch_size) * batch_size
    return {"samples_per_s": per_epoch * (len(ends) - 1) / (ends[-1] - ends[0]), "wall_s": ends[-1] - started}


def ray_train(name: str, train_dir: str, epochs: int, batch_size: int, workers: int) -> dict:
    from train.config import TrainConfig
    from train.recipe import EVENTS_FILE, RayTrainRecipe

    cfg = TrainConfig(max_epochs=epochs, num_workers=workers, batch_size=batch_size, wandb_mode="disabled",
                      early_stopping_patience=10_000, checkpoints_to_keep=1)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-{workers}w-") as model_dir:
        recipe = RayTrainRecipe(name, train_dir, model_dir, cfg)
        started = time.perf_counter()
        try:
            recipe.setup()
            recipe.train()
        finally:
            recipe.cleanup()
        wall = time.perf_counter() - started
        with open(os.path.join(model_dir, EVENTS_FILE)) as f:  # the run's events, copied into MODEL_DIR
            ends = [e for e in map(json.loads, f) if e["event"] == "epoch_end"]
    total = sum(e["samples"] * e["world_size"] for e in ends[1:])
    phases = {k: sum(e.get(k, 0.0) for e in ends[1:]) / max(len(ends) - 1, 1) for k in ("train_s", "val_s")}
    epoch_s = (ends[-1]["time"] - ends[0]["time"]) / max(len(ends) - 1, 1)
    # The rest of an epoch: checkpoint write + report of the previous epoch, event writes, loader start-up.
    return {"samples_per_s": total / (ends[-1]["time"] - ends[0]["time"]), "wall_s": wall, "epoch_s": epoch_s,
            "rest_s": epoch_s - phases["train_s"] - phases["val_s"], **phases}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=1200)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--models", nargs="+", default=["v1", "v2"])
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--data", help="an existing TRAIN_DIR (default: a synthetic one)")
    args = ap.parse_args()

    import ray

    from train.synthetic_data import write_synthetic_training_data

    scratch = tempfile.TemporaryDirectory(prefix="bench-train-data-")
    train_dir = args.data
    if not train_dir:
        train_dir = scratch.name
        card = write_synthetic_training_data(train_dir, n=args.videos, d=512, da=512, max_shots=32)
        print(f"data: synthetic, {card['splits']['train']} train / {card['splits']['val']} val videos, "
              f"512-d E_shot and A_shot, ≤ 32 shots")
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    rows = []
    try:
        for name in args.models:
            # Other processes share this machine: the plain loop runs before and after the Ray runs and
            # the faster of the two is the reference (conservative: it can only make Ray look worse).
            plain = plain_loop(name, train_dir, args.epochs, args.batch_size)
            light = lightning_local(name, train_dir, args.epochs, args.batch_size)
            ray_rows = [(w, ray_train(name, train_dir, args.epochs, args.batch_size, w)) for w in args.workers]
            again = plain_loop(name, train_dir, args.epochs, args.batch_size)
            plain = max(plain, again, key=lambda r: r["samples_per_s"])
            ref = plain["samples_per_s"]
            rows.append((name, "plain PyTorch loop (1 thread)", plain, None))
            rows.append((name, "Lightning, no Ray (1 thread)", light, ref / light["samples_per_s"]))
            for w, res in ray_rows:
                rows.append((name, f"Ray Train + Lightning, {w} worker{'s' if w > 1 else ''}", res,
                             ref / res["samples_per_s"]))
    finally:
        ray.shutdown()
        scratch.cleanup()

    print(f"\n{args.epochs} epochs, batch {args.batch_size}; samples/s over epochs 2..{args.epochs}; "
          f"{os.cpu_count()} CPU cores")
    print(f"{'model':<6} {'runner':<36} {'samples/s':>10} {'wall s':>8} {'plain ÷ this':>13}")
    for name, runner, res, ratio in rows:
        r = "1.00 (ref)" if ratio is None else f"{ratio:.2f}"
        print(f"{name:<6} {runner:<36} {res['samples_per_s']:>10.1f} {res['wall_s']:>8.1f} {r:>13}")
    print("plain ÷ this > 1 means Ray Train is slower than the plain loop (1.20 = 20% overhead); < 1 faster.")
    print("\nRay Train epoch breakdown (rank 0, mean over epochs 2..N, seconds; rest = checkpoint + report + "
          "loader start-up):")
    print(f"{'model':<6} {'workers':>7} {'epoch':>7} {'train':>7} {'val':>7} {'rest':>12}")
    for name, runner, res, _ in rows:
        if "epoch_s" in res:
            print(f"{name:<6} {runner.split(', ')[1].split()[0]:>7} {res['epoch_s']:>7.2f} {res['train_s']:>7.2f} "
                  f"{res['val_s']:>7.2f} {res['rest_s']:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
