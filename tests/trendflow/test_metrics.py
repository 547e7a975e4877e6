"""Metrics against scipy/sklearn on random data; masking, buckets, channel-grouped bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import mean_absolute_error, ndcg_score, root_mean_squared_error

from trendflow.metrics import (
    average_ranks, bootstrap_ci, evaluate_predictions, flatten_metrics, mae, ndcg_at_k, rmse, spearman)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 500
    y = np.abs(rng.normal(3, 2, n))
    p = y + rng.normal(0, 1, n)
    mask = rng.uniform(size=n) < 0.8
    return y, p, mask


def test_mae_rmse_match_sklearn(data):
    y, p, mask = data
    assert mae(y, p) == pytest.approx(mean_absolute_error(y, p))
    assert rmse(y, p) == pytest.approx(root_mean_squared_error(y, p))
    assert mae(y, p, mask) == pytest.approx(mean_absolute_error(y[mask], p[mask]))
    assert rmse(y, p, mask) == pytest.approx(root_mean_squared_error(y[mask], p[mask]))
    assert math.isnan(mae(y, p, np.zeros_like(mask)))


@pytest.mark.parametrize("decimals", [None, 0])
def test_spearman_matches_scipy_with_and_without_ties(data, decimals):
    y, p, mask = data
    if decimals is not None:
        y, p = np.round(y, decimals), np.round(p, decimals)
    assert spearman(y, p) == pytest.approx(spearmanr(y, p).statistic, abs=1e-12)
    assert spearman(y, p, mask) == pytest.approx(spearmanr(y[mask], p[mask]).statistic, abs=1e-12)
    assert math.isnan(spearman(y, np.ones_like(y))) and math.isnan(spearman(y[:1], p[:1]))


def test_average_ranks_match_scipy():
    from scipy.stats import rankdata

    x = np.random.default_rng(1).integers(0, 20, 300)
    assert np.allclose(average_ranks(x), rankdata(x))


@pytest.mark.parametrize("k", [1, 5, 10, 1000])
@pytest.mark.parametrize("ties", [False, True])
def test_ndcg_matches_sklearn_within_groups(data, k, ties):
    y, p, mask = data
    if ties:
        p = np.round(p)  # many tied predictions: sklearn averages their gains
    groups = np.random.default_rng(2).integers(0, 7, y.size)
    ref = [ndcg_score(y[groups == g][None], p[groups == g][None], k=k) for g in range(7)]
    assert ndcg_at_k(y, p, k=k, groups=groups) == pytest.approx(np.mean(ref), abs=1e-12)
    m_ref = [ndcg_score(y[mask & (groups == g)][None], p[mask & (groups == g)][None], k=k) for g in range(7)]
    assert ndcg_at_k(y, p, k=k, groups=groups, mask=mask) == pytest.approx(np.mean(m_ref), abs=1e-12)
    assert ndcg_at_k(y, p, k=k) == pytest.approx(ndcg_score(y[None], p[None], k=k), abs=1e-12)


def test_ndcg_edge_cases():
    assert ndcg_at_k([3.0, 1.0, 0.0], [0.9, 0.5, 0.1], k=10) == pytest.approx(1.0)
    assert ndcg_at_k([0.0, 1.0, 3.0], [0.9, 0.5, 0.1], k=1) == pytest.approx(0.0)
    # a single-row group and an all-zero group have no NDCG; only the third group counts
    assert ndcg_at_k([1.0, 0, 0, 2, 1], [1, 1, 2, 2, 1], groups=[0, 1, 1, 2, 2]) == pytest.approx(1.0)
    assert math.isnan(ndcg_at_k([0.0, 0.0], [1, 2]))
    with pytest.raises(ValueError, match="non-negative"):
        ndcg_at_k([-1.0, 2.0], [1, 2])


def test_bootstrap_resamples_whole_channels_and_is_seeded():
    rng = np.random.default_rng(3)
    channels = np.repeat(np.arange(30), rng.integers(1, 8, 30))
    sizes = np.bincount(channels)
    seen = []

    def stat(idx):
        counts = np.bincount(channels[idx], minlength=30)
        assert np.all(counts % sizes == 0)  # a channel comes with all its rows, once or several times
        seen.append(idx.size)
        return float(np.mean(channels[idx]))

    a = bootstrap_ci(stat, channels, n_boot=50, seed=4)
    b = bootstrap_ci(stat, channels, n_boot=50, seed=4)
    c = bootstrap_ci(stat, channels.astype(str), n_boot=50, seed=5)  # string channel keys work too
    assert a == b and a != c and a[0] < a[1] and c[0] < c[1] and len(set(seen)) > 1


def test_bootstrap_interval_widens_when_errors_cluster_by_channel():
    rng = np.random.default_rng(5)
    n_ch, per = 60, 20
    channels = np.repeat(np.arange(n_ch), per)
    y = rng.normal(0, 1, n_ch * per)
    clustered = y + np.repeat(rng.normal(0, 1, n_ch), per)  # each channel shares an offset
    iid = y + rng.normal(0, 1, n_ch * per)
    w_cl = np.diff(bootstrap_ci(lambda i: mae(y[i], clustered[i]), channels, n_boot=300))[0]
    w_iid = np.diff(bootstrap_ci(lambda i: mae(y[i], iid[i]), channels, n_boot=300))[0]
    assert w_cl > 1.5 * w_iid
    lo, hi = bootstrap_ci(lambda i: mae(y[i], iid[i]), channels, n_boot=300)
    assert lo < mae(y, iid) < hi


def _table(n=400, seed=6):
    rng = np.random.default_rng(seed)
    y = np.abs(rng.normal(3, 1.5, n))
    has = rng.uniform(size=n) < 0.75
    y_stored = np.where(has, y, np.nan)
    return pd.DataFrame({
        "y_views_7": y_stored, "has_y_views_7": has, "has_horizon_7": has,
        "y_views_14": y + 1, "has_y_views_14": np.ones(n, bool),
        "age_bucket": rng.choice(["lt_24h", "d1_30", "gt_30d"], n),
        "channel_key": rng.integers(0, 50, n).astype(str), "category": rng.integers(0, 4, n).astype(str),
    }), y


def test_evaluate_predictions_per_target_and_bucket():
    df, y = _table()
    p7 = y + np.random.default_rng(7).normal(0, 0.5, y.size)
    p7_garbage_on_masked = np.where(df["has_y_views_7"], p7, 1e9)
    p14 = y + 1.2
    res = evaluate_predictions(df, {"views_7": p7_garbage_on_masked, "pred_views_14": p14},
                               ndcg_group_col="category")
    assert set(res) == {"views_7", "views_14"} and set(res["views_7"]) == {"all", "lt_24h", "d1_30", "gt_30d"}
    m = df["has_y_views_7"].to_numpy()
    allm = res["views_7"]["all"]
    assert allm["n"] == m.sum() == sum(res["views_7"][b]["n"] for b in ("lt_24h", "d1_30", "gt_30d"))
    assert allm["mae"] == pytest.approx(mean_absolute_error(y[m], p7[m]))
    b = m & (df["age_bucket"] == "d1_30").to_numpy()
    assert res["views_7"]["d1_30"]["rmse"] == pytest.approx(root_mean_squared_error(y[b], p7[b]))
    assert res["views_7"]["d1_30"]["spearman"] == pytest.approx(spearmanr(y[b], p7[b]).statistic)
    assert res["views_14"]["all"]["mae"] == pytest.approx(0.2)
    assert res["views_14"]["all"]["spearman"] == pytest.approx(1)
    assert res["views_14"]["all"]["ndcg@10"] == pytest.approx(1.0)
    flat = flatten_metrics({"metrics": res})
    assert flat["metrics/views_7/all/mae"] == allm["mae"]


def test_evaluate_predictions_inputs_and_errors():
    df, y = _table()
    preds = {"views_14": y + 0.1}
    a = evaluate_predictions(df, preds)
    b = evaluate_predictions(pa.Table.from_pandas(df), pd.DataFrame(preds))
    c = evaluate_predictions({k: df[k].to_numpy() for k in df.columns}, preds)
    assert a == b == c
    ci = evaluate_predictions(df, preds, n_boot=40, seed=1)["views_14"]["all"]
    assert ci["mae_ci"][0] <= ci["mae"] <= ci["mae_ci"][1] and len(ci["ndcg@10_ci"]) == 2
    bad = y.copy()
    bad[np.flatnonzero(df["has_y_views_7"])[0]] = np.nan
    with pytest.raises(ValueError, match="non-finite prediction"):
        evaluate_predictions(df, {"views_7": bad})
    with pytest.raises(KeyError, match="y_likes_7"):
        evaluate_predictions(df, {"likes_7": y})
    with pytest.raises(ValueError, match="shape"):
        evaluate_predictions(df, {"views_14": y[:10]})
