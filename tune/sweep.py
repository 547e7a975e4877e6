"""Run a sweep: ASHA over a search space, each trial a Ray Train run of v1 or v2 on data read once.

    from tune.sweep import run_sweep
    outcome = run_sweep("v2", "data/train", "sweeps/v2", samples=16, config_path="configs/sweep-v2.yaml")
    outcome = run_sweep(None, None, "sweeps/v2", resume=True)     # continue a sweep whose driver died

Steps: settings (a new sweep saves them to OUT/sweep.json; --resume reads them back) → a `RayTrainRecipe`
reads the training data once and checks the base config → the search space, the metric and the resources
are checked (all before any trial starts) → `Tuner` (or `Tuner.restore`) → the re-ranking of the best
trials over several seeds (`tune.rerank`, a second experiment, also restored) → OUT/best.yaml, trials.csv,
trials.md, trials.png, rerank.csv/.md and summary.json (`tune.results`).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

from train.config import TrainConfig, load_train_config
from tune.config import TuneConfig, load_tune_config
from tune.space import SweepConfigError, check_space, default_point, ray_space

SWEEP_FILE = "sweep.json"
EXPERIMENT = "sweep"  # Tune experiment name, under the storage path


@dataclass
class SweepSettings:
    """What defines a sweep (saved to OUT/sweep.json, so --resume continues the same one)."""
    model: str
    train_dir: str
    tune: dict[str, Any]
    train: dict[str, Any]

    def configs(self) -> tuple[TuneConfig, TrainConfig]:
        return TuneConfig.model_validate(self.tune), TrainConfig.model_validate(self.train)


@dataclass
class SweepOutcome:
    out_dir: str
    experiment_path: str
    metric: str
    best: dict[str, Any]
    files: dict[str, str]
    concurrency: int


def sweep_settings(model: str | None, train_dir: str | None, out_dir: str, samples: int | None = None,
                   config_path: str | None = None, resume: bool = False) -> SweepSettings:
    """The settings of a new sweep (from the config file) or of the one being resumed (from OUT/sweep.json)."""
    saved = os.path.join(out_dir, SWEEP_FILE)
    if resume:
        if not os.path.exists(saved):
            raise SweepConfigError(f"{out_dir}: no {SWEEP_FILE}, so no sweep to resume; start one without --resume")
        with open(saved) as f:
            settings = SweepSettings(**json.load(f))
        given = {"--model": (model, settings.model), "--data": (train_dir, settings.train_dir),
                 "--samples": (samples, settings.tune["num_samples"])}
        for flag, (new, old) in given.items():
            if new is not None and _normalise(flag, new) != _normalise(flag, old):
                raise SweepConfigError(f"{flag} {new} differs from the sweep being resumed ({old}); "
                                       f"leave it out to resume, or start a new sweep in another --out")
        if config_path:
            raise SweepConfigError(f"--config: a resumed sweep keeps the settings in {saved}")
        return settings
    if os.path.exists(saved):
        raise SweepConfigError(f"{out_dir} already holds a sweep ({SWEEP_FILE}); pass --resume to continue it "
                               f"or choose another --out")
    if not model or not train_dir:
        raise SweepConfigError("--model and --data are required for a new sweep")
    tune_cfg = load_tune_config(config_path, {"num_samples": samples} if samples is not None else None)
    base = load_train_config(config_path)
    return SweepSettings(model, os.path.abspath(train_dir), tune_cfg.model_dump(mode="json"),
                         base.model_dump(mode="json"))


def _normalise(flag: str, value: Any) -> Any:
    return os.path.abspath(value) if flag == "--data" else value


def run_sweep(model: str | None, train_dir: str | None, out_dir: str, samples: int | None = None,
              config_path: str | None = None, resume: bool = False, log: Callable[[str], None] | None = None,
              callbacks: Sequence[Any] = ()) -> SweepOutcome:
    """Run (or resume) a sweep into OUT; `callbacks` are extra Tune callbacks (e.g. a custom logger).

    A resumed experiment keeps the callbacks it was started with (Tuner.restore unpickles them), so
    `callbacks` apply to new experiments only: a new sweep, or a re-ranking not yet started."""
    import ray

    from train.registry import get_entry, list_models
    from train.recipe import RayTrainRecipe
    log = log or _print
    out_dir = os.path.abspath(out_dir)
    settings = sweep_settings(model, train_dir, out_dir, samples, config_path, resume)
    tune_cfg, base = settings.configs()
    try:
        kind = get_entry(settings.model).kind
    except KeyError as e:
        raise SweepConfigError(f"--model: {e.args[0]}") from None
    if kind != "torch":
        raise SweepConfigError(f"--model {settings.model}: sweeps tune the neural models (Ray Train: "
                               f"{', '.join(list_models(kind='torch', with_aliases=True))}), not {kind} ones")
    base = base.model_copy(update={"max_epochs": tune_cfg.max_epochs})

    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=base.ray_address, include_dashboard=False, log_to_driver=False)
    recipe = RayTrainRecipe(settings.model, settings.train_dir, out_dir, base)
    try:
        recipe.setup()  # reads the data once and checks the base config (resources, heads, batch size)
        concurrency = _check_before_trials(tune_cfg, base, recipe, ray.cluster_resources())
        os.makedirs(out_dir, exist_ok=True)
        if not resume:
            with open(os.path.join(out_dir, SWEEP_FILE), "w") as f:
                json.dump(asdict(settings), f, indent=2)
        storage_path, storage_fs, shown = resolve_storage(tune_cfg, out_dir)
        log(f"tune: {recipe.model_name} on {settings.train_dir}: {tune_cfg.num_samples} trials, "
            f"{concurrency} at a time, ≤ {tune_cfg.max_epochs} epochs each, metric {tune_cfg.metric} "
            f"({tune_cfg.mode}); results in {shown}/{EXPERIMENT}" + (" (resumed)" if resume else ""))
        stage = _Stage(tune_cfg, base, recipe, concurrency, storage_path, storage_fs, callbacks)
        fit_started = time.time()
        grid = stage.sweep(resume)
        from tune.results import trial_rows, write_results
        rerank = stage.rerank(trial_rows(grid, tune_cfg, base, settings.model), log) if tune_cfg.rerank_top else None
        files, best = write_results(grid, tune_cfg, base, settings.model, settings.train_dir, out_dir,
                                    wall_s=time.time() - fit_started, concurrency=concurrency, resumed=resume,
                                    rerank=rerank)
    finally:
        recipe.cleanup()
        if started_ray:
            ray.shutdown()
    exp_path = os.path.join(shown, EXPERIMENT)
    return SweepOutcome(out_dir, exp_path, tune_cfg.metric, best, files, concurrency)


def _fit(tuner):
    from tune.release import release_after_fit
    grid = tuner.fit()
    release_after_fit(grid)  # the CPUs of the trials Tune stopped at the end (see tune.release)
    return grid


def _print(line: str) -> None:
    print(line, flush=True)


def _check_before_trials(cfg: TuneConfig, base: TrainConfig, recipe, resources: dict[str, float]) -> int:
    """Check the space, the metric and the resources; returns how many trials run at once."""
    from train.registry import model_kwargs
    from_config = model_kwargs(recipe.model_name, base.model)
    build_kwargs = {k: v for k, v in recipe.model_kwargs.items() if k not in from_config}  # data-derived sizes
    check_space(cfg, base, recipe.model_name, build_kwargs, recipe.schema.head_names(), recipe.stats["n_train"])
    if cfg.include_default:
        default_point(cfg.space, base, recipe.model_name)
    return trial_concurrency(cfg, base, resources)


def trial_concurrency(cfg: TuneConfig, base: TrainConfig, resources: dict[str, float]) -> int:
    """Trials that fit at once: each is a driver (tune.trial_driver_cpus) plus its Ray Train workers
    (train.num_workers × train.cpus_per_worker, and a GPU each with train.use_gpu). Tune cannot see the
    workers' resources (Ray Train reserves them itself), so too many trials would wait on each other."""
    cpus = resources.get("CPU", 0.0) - cfg.data_cpus
    per_trial = cfg.trial_driver_cpus + base.num_workers * base.cpus_per_worker
    fit = math.floor(cpus / per_trial + 1e-9)
    why = (f"each trial takes tune.trial_driver_cpus {cfg.trial_driver_cpus:g} + train.num_workers "
           f"{base.num_workers} × train.cpus_per_worker {base.cpus_per_worker:g} = {per_trial:g} CPUs, "
           f"and the cluster has {resources.get('CPU', 0):g} CPUs (tune.data_cpus {cfg.data_cpus:g} kept free)")
    if base.use_gpu:
        fit = min(fit, math.floor(resources.get("GPU", 0.0) / base.num_workers))
        why += f"; {base.num_workers} GPU(s) per trial of {resources.get('GPU', 0):g}"
    if fit < 1:
        raise SweepConfigError(f"train.cpus_per_worker: not even one trial fits: {why}")
    if cfg.max_concurrent_trials is not None and cfg.max_concurrent_trials > fit:
        raise SweepConfigError(f"tune.max_concurrent_trials={cfg.max_concurrent_trials}: only {fit} trial(s) "
                               f"fit at once ({why}); lower it or the per-trial resources")
    return min(cfg.max_concurrent_trials or fit, cfg.num_samples)


def resolve_storage(cfg: TuneConfig, out_dir: str) -> tuple[str, Any, str]:
    """(storage_path for Ray, pyarrow filesystem or None, the location as a user would write it).

    A URI (s3://...) goes through fsspec with `tune.storage_options` (MinIO endpoints, keys), wrapped for
    pyarrow; Ray then wants the path without its scheme (ray-2.60 notes §2)."""
    path = cfg.storage_path or os.path.join(out_dir, "ray_results")
    if "://" not in path:
        path = os.path.abspath(path)
        return path, None, path
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    from trendflow.storage import Storage
    store = Storage(path, cfg.storage_options)
    return store.root, PyFileSystem(FSSpecHandler(store.fs)), store.root_url


class _Stage:
    """Builds and runs the Tune experiments of a sweep (the ASHA sweep, then the re-ranking) with the same
    shared data, storage, resources and callbacks."""

    def __init__(self, cfg: TuneConfig, base: TrainConfig, recipe, concurrency: int, storage_path: str,
                 storage_fs, callbacks: Sequence[Any]):
        self.cfg, self.base, self.recipe, self.concurrency = cfg, base, recipe, concurrency
        self.storage_path, self.storage_fs, self.callbacks = storage_path, storage_fs, callbacks

    def sweep(self, resume: bool):
        from ray.tune.schedulers import ASHAScheduler

        from tune.trial import EPOCHS, run_trial
        cfg = self.cfg
        trainable = self._trainable(run_trial, EXPERIMENT)
        if resume:
            return _fit(self._restore(EXPERIMENT, trainable, required=True))
        points = [default_point(cfg.space, self.base, self.recipe.model_name)] if cfg.include_default else None
        scheduler = ASHAScheduler(time_attr=EPOCHS, max_t=cfg.max_epochs, grace_period=cfg.grace_period,
                                  reduction_factor=cfg.reduction_factor)
        return _fit(self._tuner(EXPERIMENT, trainable, ray_space(cfg.space), cfg.num_samples, points, scheduler,
                                label="tune"))

    def rerank(self, rows: list[dict[str, Any]], log: Callable[[str], None]):
        """Train the best trials and the default config again with several seeds (tune.rerank)."""
        from tune import rerank as rr
        cfg = self.cfg
        cands = rr.candidates(rows, cfg)
        if not cands:  # no trial reported the metric: write_results says so
            return None
        trainable = self._trainable(rr.run_rerank_trial, rr.RERANK, points=[c.params for c in cands])
        tuner = self._restore(rr.RERANK, trainable, required=False)
        if tuner is None:
            log(f"rerank: the best {min(cfg.rerank_top, len(cands))} trial(s)"
                f"{' and the default config' if any(c.default for c in cands) else ''}, "
                f"{cfg.rerank_seeds} seed(s) each ({', '.join(map(str, rr.seeds(cfg)))}), "
                f"≤ {cfg.max_epochs} epochs, no ASHA")
            tuner = self._tuner(rr.RERANK, trainable, rr.param_space(cands, cfg), 1, None, None, label="rerank")
        return rr.summarise(_fit(tuner), cands, cfg)

    def _trainable(self, fn, experiment: str, **extra):
        from ray import tune
        return tune.with_resources(
            tune.with_parameters(fn, model=self.recipe.model_name, base=self.base.model_dump(mode="json"),
                                 max_epochs=self.cfg.max_epochs, shared=self.recipe.shared_data(),
                                 storage=(os.path.join(self.storage_path, f"{experiment}-train"), self.storage_fs),
                                 **extra),
            {"cpu": self.cfg.trial_driver_cpus})

    def _restore(self, experiment: str, trainable, required: bool):
        from ray import tune
        path = os.path.join(self.storage_path, experiment)
        if not tune.Tuner.can_restore(path, storage_filesystem=self.storage_fs):
            if required:
                raise SweepConfigError(f"no Tune experiment at {path} to resume")
            return None
        return tune.Tuner.restore(path, trainable, resume_unfinished=True, resume_errored=True,
                                  storage_filesystem=self.storage_fs)

    def _tuner(self, experiment: str, trainable, space: dict[str, Any], num_samples: int, points, scheduler,
               label: str):
        from ray import tune
        from ray.tune.search.basic_variant import BasicVariantGenerator

        from tune.progress import SweepProgress
        from tune.release import ReleaseTrainPlacementGroups
        cfg = self.cfg
        return tune.Tuner(
            trainable, param_space=space,
            tune_config=tune.TuneConfig(
                metric=cfg.metric, mode=cfg.mode, num_samples=num_samples, scheduler=scheduler,
                # The generator itself caps concurrency: Tune ignores max_concurrent_trials for a SearchGenerator.
                search_alg=BasicVariantGenerator(points_to_evaluate=points, random_state=cfg.search_seed,
                                                 max_concurrent=self.concurrency)),
            run_config=tune.RunConfig(
                name=experiment, storage_path=self.storage_path, storage_filesystem=self.storage_fs, verbose=0,
                failure_config=tune.FailureConfig(max_failures=cfg.max_failures),
                # The trials' working dirs (Lightning CSV, offline W&B runs) are copied to storage.
                sync_config=tune.SyncConfig(sync_artifacts=True),
                callbacks=[SweepProgress(cfg.metric, cfg.mode, cfg.max_epochs, label=label),
                           ReleaseTrainPlacementGroups(), *self.callbacks]))
