"""Fixtures for the training tests: a small synthetic training set and tiny model sizes."""

import pytest

from train.synthetic_data import write_synthetic_training_data

TINY = {"d_model": 16, "hidden": 32}  # keyword overrides for v1/v2: fast on 2 CPU cores


@pytest.fixture(scope="session")
def train_dir(tmp_path_factory):
    """TRAIN_DIR with 240 synthetic videos (train/val/test by channel), 8-d visual and 4-d audio shots."""
    d = tmp_path_factory.mktemp("train_data")
    write_synthetic_training_data(str(d))
    return str(d)


def fit_neural_locally(name: str, train_dir: str, model_dir: str, epochs: int = 3):
    """Train a registered neural model with Lightning in this process (no Ray) and save it like the
    recipe does; for tests that need a trained neural model quickly. The Ray path: test_recipe.py."""
    import lightning.pytorch as pl

    from train.config import TrainConfig
    from train.data import iter_local_batches, load_schema, read_split
    from train.lightning_module import ForecastModule
    from train.model_dir import build_model_card, save_torch_model, write_card
    from train.recipe import _stats_arrays, feature_stats
    from train.registry import canonical_name, get_entry, model_kwargs

    cfg = TrainConfig(model=TINY, max_epochs=epochs)
    schema = load_schema(train_dir)
    features, content_dim = schema.neural_meta_features(True)
    kwargs = model_kwargs(name, cfg.model, meta_dim=len(features), e_dim=schema.e_dim, a_dim=schema.a_dim,
                          n_targets=len(schema.targets), n_horizons=len(schema.horizons), max_shots=schema.max_shots,
                          content_dim=content_dim)
    stats = feature_stats(train_dir, schema, features)
    pl.seed_everything(0, verbose=False)
    module = ForecastModule(name, kwargs, {"kind": "huber"}, lr=3e-3, stats=_stats_arrays(stats))
    train = _Batches(list(iter_local_batches(read_split(train_dir, "train"), schema, features, 32, shuffle_seed=0)))
    val = _Batches(list(iter_local_batches(read_split(train_dir, "val"), schema, features, 64)))
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, train_dataloaders=train, val_dataloaders=val)
    save_torch_model(model_dir, canonical_name(name), kwargs, features, module.model.state_dict())
    write_card(model_dir, build_model_card(
        model_name=canonical_name(name), model_version=get_entry(name).version, kind="torch", schema=schema,
        config=cfg.model_dump(mode="json"), seed=0, meta_features=features,
        validation_metrics={"val_loss": float(trainer.callback_metrics["val_loss"])}))
    return module, features


class _Batches:
    """An iterable of prepared batches (a plain list would be read by Lightning as several loaders)."""

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models on a shared 2-core box: 2 OpenMP threads fighting other processes made steps ~100×
    slower than 1 thread (measured); Ray Train workers get 1 thread per CPU the same way."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
