"""The sweep's settings: the `tune` section, the space → train config mapping, and bad settings rejected
before any trial starts (through `trendflow tune`, exit 2 with the key named)."""

import os

import pytest

from tests.tune.conftest import write_sweep_config
from train.config import TrainConfig
from trendflow.cli import main
from tune.config import TuneConfig, load_tune_config
from tune.space import SweepConfigError, default_point, trial_train_config
from tune.sweep import trial_concurrency


def test_space_and_sweep_settings_load_from_yaml(tmp_path):
    path = write_sweep_config(tmp_path / "s.yaml", tune={"metric": "val_spearman_views_14", "space": {
        "d_model": {"dist": "choice", "values": [16, 32]},
        "head_weights": {"views_14": {"dist": "uniform", "low": 0.5, "high": 2.0}}}})
    cfg = load_tune_config(path)
    assert set(cfg.space.dimensions()) == {"d_model", "head_weights.views_14"}  # exactly what the YAML lists
    assert cfg.mode == "max" and cfg.spearman_head() == "views_14"
    assert TuneConfig().mode == "min" and TuneConfig().metric == "val_head_loss"
    assert set(TuneConfig().space.dimensions()) >= {"lr", "weight_decay", "batch_size", "d_model"}


@pytest.mark.parametrize("tune, key", [
    ({"space": {"lr": {"dist": "uniform", "low": 0.01, "high": 0.01}}}, "tune.space.lr"),
    ({"space": {"lr": {"dist": "loguniform", "low": 0.0, "high": 0.01}}}, "tune.space.lr"),
    ({"space": {"d_model": {"dist": "choice", "values": []}}}, "tune.space.d_model"),
    ({"space": {"depth": {"dist": "choice", "values": [1, 2]}}}, "tune.space.depth"),
    ({"space": {"lr": {"dist": "gaussian", "low": 0.1, "high": 1}}}, "tune.space.lr"),
    ({"grace_period": 9}, "grace_period"),
    ({"metric": "val_accuracy"}, "tune.metric"),
    ({"concurrency": 2}, "tune.concurrency"),
])
def test_bad_tune_settings_exit_2_naming_the_key(tmp_path, capsys, tune, key):
    path = write_sweep_config(tmp_path / "s.yaml", tune=tune)
    out = tmp_path / "sweep"
    code = main(["tune", "--model", "v2", "--data", str(tmp_path / "data"), "--samples", "2", "--config", path,
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and key in err, err
    assert "Traceback" not in err
    assert not out.exists()  # nothing written, no trial started


def test_trial_parameters_become_the_trials_train_config():
    base = TrainConfig(model={"hidden": 32}, head_weights={"likes_7": 0.5}, batch_size=16)
    cfg = trial_train_config(base, {"lr": 0.004, "batch_size": 64, "d_model": 48, "n_layers": 1,
                                    "head_weights.views_14": 1.5}, max_epochs=7)
    assert (cfg.lr, cfg.batch_size, cfg.max_epochs) == (0.004, 64, 7)
    assert cfg.model == {"hidden": 32, "d_model": 48, "n_layers": 1}
    assert cfg.head_weights == {"likes_7": 0.5, "views_14": 1.5}
    assert base.lr == TrainConfig().lr  # the base is untouched

    space = TuneConfig.model_validate({"space": {"lr": {"dist": "uniform", "low": 1e-3, "high": 1e-2},
                                                 "d_model": {"dist": "choice", "values": [32]},
                                                 "head_weights": {"views_14": {"dist": "uniform", "low": 1,
                                                                               "high": 2}}}}).space
    # The default trial is the base config itself: its values, the model's registered defaults, weight 1.
    assert default_point(space, base, "v2") == {"lr": base.lr, "d_model": 64, "head_weights.views_14": 1.0}


def test_concurrency_is_what_fits_and_more_is_rejected():
    cfg, base = TuneConfig(), TrainConfig(cpus_per_worker=0.9)
    assert trial_concurrency(cfg, base, {"CPU": 2.0}) == 2  # 2 × (0.05 + 0.9) ≤ 2
    assert trial_concurrency(cfg, TrainConfig(cpus_per_worker=1.0), {"CPU": 2.0}) == 1
    assert trial_concurrency(cfg.model_copy(update={"num_samples": 1}), base, {"CPU": 8.0}) == 1
    with pytest.raises(SweepConfigError, match="tune.max_concurrent_trials=3"):
        trial_concurrency(cfg.model_copy(update={"max_concurrent_trials": 3}), base, {"CPU": 2.0})
    with pytest.raises(SweepConfigError, match="train.cpus_per_worker"):
        trial_concurrency(cfg, TrainConfig(num_workers=2, cpus_per_worker=1.0), {"CPU": 2.0})
    # Multi-worker GPU trials on a cluster: the GPUs bound concurrency too.
    gpu = TrainConfig(num_workers=2, use_gpu=True)
    assert trial_concurrency(cfg, gpu, {"CPU": 32.0, "GPU": 4.0}) == 2
    with pytest.raises(SweepConfigError, match="GPU"):
        trial_concurrency(cfg.model_copy(update={"max_concurrent_trials": 3}), gpu, {"CPU": 32.0, "GPU": 4.0})


@pytest.mark.parametrize("model, tune, train, key", [
    ("v1", {"space": {"n_layers": {"dist": "choice", "values": [1, 2]}}}, {}, "tune.space.n_layers"),
    ("v2", {"space": {"d_model": {"dist": "choice", "values": [16, 20]},
                      "n_heads": {"dist": "choice", "values": [4, 8]}}}, {}, "tune.space.d_model, tune.space.n_heads"),
    ("v2", {"space": {"head_weights": {"views_99": {"dist": "uniform", "low": 0.5, "high": 2}}}}, {},
     "tune.space.head_weights.views_99"),
    ("v2", {"space": {"batch_size": {"dist": "choice", "values": [32, 4096]}}}, {}, "tune.space.batch_size"),
    ("v2", {"metric": "val_spearman_comments_14"}, {}, "tune.metric"),
    ("v2", {"max_concurrent_trials": 3}, {}, "tune.max_concurrent_trials"),
    ("v0", {}, {}, "--model"),
])
def test_settings_the_model_data_or_cluster_cannot_take_are_rejected_before_any_trial(
        ray_cluster, train_dir, tmp_path, capsys, model, tune, train, key):
    path = write_sweep_config(tmp_path / "s.yaml", tune=tune, train=train)
    out = tmp_path / "sweep"
    code = main(["tune", "--model", model, "--data", train_dir, "--samples", "2", "--config", path,
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and key in err, err
    assert not os.path.exists(out / "ray_results") and not os.path.exists(out / "sweep.json")


def test_resume_needs_a_sweep_and_a_new_sweep_needs_an_empty_out(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["tune", "--out", str(out), "--resume"]) == 2
    assert "no sweep.json" in capsys.readouterr().err
    out.mkdir()
    (out / "sweep.json").write_text("{}")
    assert main(["tune", "--model", "v2", "--data", str(tmp_path), "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
