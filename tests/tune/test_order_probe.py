"""The shot-order probe of the v2-vs-v1 study: a copy of TRAIN_DIR whose labels gain a term that only the
order of the shots explains (the bag of shots and every other column are unchanged)."""

import json
import os

import numpy as np
import pyarrow as pa
import pytest

from train.data import load_schema, read_split
from tune.order_probe import hook_scores, hook_terms, main


@pytest.fixture(scope="module")
def probe(train_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("probe") / "data")
    assert main(["--data", train_dir, "--out", out, "--strength", "0.7"]) == 0
    return out


def test_growth_is_scaled_by_the_hook_factor_and_nothing_else_changes(train_dir, probe):
    schema = load_schema(probe)
    card = json.load(open(os.path.join(probe, "dataset_card.json")))
    assert card["order_probe"]["strength"] == 0.7
    terms = hook_terms(train_dir, 0.7)
    assert np.std(terms["train"]) == pytest.approx(0.7)
    labels = [f"y_{t}_{h}" for t in schema.targets for h in schema.horizons]
    for split in ("train", "val", "test"):
        before, after = read_split(train_dir, split), read_split(probe, split)
        assert after.column_names == before.column_names and after.num_rows == before.num_rows
        for name in before.column_names:
            a, b = after.column(name).to_numpy(zero_copy_only=False), before.column(name).to_numpy(zero_copy_only=False)
            if name in labels:  # growth × exp(term) on the log1p scale; never negative, NaN stays NaN
                np.testing.assert_allclose(a, np.log1p(np.expm1(b) * np.exp(terms[split])), err_msg=name)
                assert np.all(a[np.isfinite(a)] >= 0) and np.array_equal(np.isnan(a), np.isnan(b))
            elif pa.types.is_floating(before.column(name).type):  # NaN == NaN here
                np.testing.assert_array_equal(a, b, err_msg=f"{split} {name}")
            else:
                assert after.column(name).equals(before.column(name)), (split, name)
        assert np.any(terms[split] != 0)


def test_the_term_depends_on_which_shot_comes_first_not_on_the_set():
    rng = np.random.default_rng(1)
    direction = rng.standard_normal(8)
    shots = rng.standard_normal((5, 8)).astype(np.float32)
    videos = pa.array([shots.tolist(), shots[::-1].tolist(), shots[:1].tolist(), []],
                      type=pa.list_(pa.list_(pa.float32(), 8)))
    forward, backward, one, empty = hook_scores(videos, direction)
    assert forward != pytest.approx(backward)  # the same shots in another order: another term
    proj = shots.astype(np.float64) @ direction
    assert forward == pytest.approx(proj[0] - proj.mean())
    assert one == 0.0 and empty == 0.0  # a single shot has no order


def test_an_existing_out_is_refused(train_dir, probe, capsys):
    assert main(["--data", train_dir, "--out", probe]) == 2
    assert capsys.readouterr().err.startswith("error:")
