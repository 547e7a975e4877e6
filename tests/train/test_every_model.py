"""Every registered model, by name: trains on the synthetic data, saves, reloads and predicts identically,
and learns something (beats predicting the training mean on the test split)."""

import numpy as np
import pytest
import torch

from tests.train.conftest import fit_neural_locally
from train.config import TrainConfig
from train.data import iter_local_batches, load_schema, read_split, target_arrays
from train.model_dir import load_predictor
from train.pipeline import train_model
from train.registry import get_entry, list_models


@pytest.mark.parametrize("name", list_models())
def test_model_trains_saves_reloads_and_predicts_identically(name, train_dir, tmp_path):
    model_dir = str(tmp_path / name)
    test = read_split(train_dir, "test")
    if get_entry(name).kind == "torch":
        module, features = fit_neural_locally(name, train_dir, model_dir, epochs=4)
        module.eval()
        schema = load_schema(train_dir)
        batch = next(iter_local_batches(test, schema, features, batch_size=len(test)))
        with torch.inference_mode():
            in_memory = np.maximum(module(batch).numpy(), 0)
    else:
        card = train_model(name, train_dir, model_dir, TrainConfig(), log=lambda *_: None)
        assert set(card["validation_metrics"]["heads"]) == {f"{t}_{h}" for t in ("views", "likes")
                                                            for h in (7, 14, 21)}
        in_memory = None

    predictor = load_predictor(model_dir)
    preds = predictor.predict(test)
    assert preds.shape == (len(test), 2, 3) and np.isfinite(preds).all() and (preds >= 0).all()
    if in_memory is not None:
        np.testing.assert_allclose(preds, in_memory, rtol=0, atol=1e-6)
    assert np.array_equal(preds, load_predictor(model_dir).predict(test))  # a second load: same numbers

    # The serving entry point (one video from plain arrays) agrees with the batch path.
    row = test.slice(3, 1).to_pylist()[0]
    dims = {"E": len(row["E_shot"][0]) if row["E_shot"] else 8, "A": len(row["A_shot"][0]) if row["A_shot"] else 4}
    single = predictor.predict_video(
        {k: v for k, v in row.items() if k not in ("E_shot", "E_mask", "A_shot", "A_mask")},
        e_shot=np.asarray(row["E_shot"], np.float32).reshape(-1, dims["E"]), e_present=row["E_mask"],
        a_shot=np.asarray(row["A_shot"], np.float32).reshape(-1, dims["A"]), a_present=row["A_mask"])
    assert list(single) == [f"{t}_{h}" for t in ("views", "likes") for h in (7, 14, 21)]
    np.testing.assert_allclose(list(single.values()), preds[3].reshape(-1), rtol=1e-5, atol=1e-5)

    train_y, train_m = target_arrays(read_split(train_dir, "train", ["y_views_7", "y_views_14", "y_views_21",
                                                                    "y_likes_7", "y_likes_14", "y_likes_21"]),
                                     ("views", "likes"), (7, 14, 21))
    mean = np.nanmean(np.where(train_m, train_y, np.nan), axis=0)
    y, m = target_arrays(test, ("views", "likes"), (7, 14, 21))
    mae_model = np.abs(preds - y)[m].mean()
    mae_mean = np.abs(mean[None] - y)[m].mean()
    assert mae_model < mae_mean, f"{name}: MAE {mae_model:.3f} is not below the constant mean's {mae_mean:.3f}"
