"""Every registered model, by name, through `train.pipeline.train_model` (Ray Train for v1/v2): saves,
reloads and predicts identically, agrees with the one-video serving path, and learns something (beats
predicting the training mean on the test split)."""

import numpy as np
import pytest

from train.config import TrainConfig
from train.data import read_split, target_arrays
from train.model_dir import load_predictor, read_card
from train.pipeline import train_model
from train.registry import get_entry, list_models

HEADS = [f"{t}_{h}" for t in ("views", "likes") for h in (7, 14, 21)]


@pytest.fixture
def trained(request, train_dir, tmp_path):
    """MODEL_DIR of `name`: neural models from the session (one real Ray Train run each), tabular ones here."""
    name = request.param
    if get_entry(name).kind == "torch":
        return request.getfixturevalue("neural_models")[name]["dir"]
    model_dir = str(tmp_path / name)
    train_model(name, train_dir, model_dir, TrainConfig(), log=lambda *_: None)
    return model_dir


@pytest.mark.parametrize("trained", list_models(), indirect=True)
def test_model_trains_saves_reloads_and_predicts_identically(trained, train_dir):
    model_dir = trained
    card = read_card(model_dir)
    assert set(card["validation_metrics"]["heads"]) == set(HEADS)
    assert card["intervals"]["level"] == 0.8 and card["training_data_uri"] == train_dir
    test = read_split(train_dir, "test")
    predictor = load_predictor(model_dir)
    preds = predictor.predict(test)
    assert preds.shape == (len(test), 2, 3) and np.isfinite(preds).all() and (preds >= 0).all()
    assert np.array_equal(preds, load_predictor(model_dir).predict(test))  # a second load: same numbers

    # The serving entry point (one video from plain arrays) agrees with the batch path.
    row = test.slice(3, 1).to_pylist()[0]
    dims = {"E": len(row["E_shot"][0]) if row["E_shot"] else 8, "A": len(row["A_shot"][0]) if row["A_shot"] else 4}
    single = predictor.predict_video(
        {k: v for k, v in row.items() if k not in ("E_shot", "E_mask", "A_shot", "A_mask")},
        e_shot=np.asarray(row["E_shot"], np.float32).reshape(-1, dims["E"]), e_present=row["E_mask"],
        a_shot=np.asarray(row["A_shot"], np.float32).reshape(-1, dims["A"]), a_present=row["A_mask"])
    assert list(single) == HEADS
    np.testing.assert_allclose(list(single.values()), preds[3].reshape(-1), rtol=1e-5, atol=1e-5)

    train_y, train_m = target_arrays(read_split(train_dir, "train", [f"y_{h}" for h in HEADS]),
                                     ("views", "likes"), (7, 14, 21))
    mean = np.nanmean(np.where(train_m, train_y, np.nan), axis=0)
    y, m = target_arrays(test, ("views", "likes"), (7, 14, 21))
    mae_model = np.abs(preds - y)[m].mean()
    mae_mean = np.abs(mean[None] - y)[m].mean()
    assert mae_model < mae_mean, f"{card['model_name']}: MAE {mae_model:.3f} is not below the mean's {mae_mean:.3f}"
