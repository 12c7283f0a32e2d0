"""Tweets as the unit of the image analyses (issue 16.1): the probe's folds keep a tweet's images
together, the dispersion bootstrap resamples whole tweets, and both are checked against
independent computations and against planted data in which tweet-mates are near-duplicates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from twigma.analysis import claims, distinctness, variability


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def near_duplicate_tweets(rng, n_tweets: int, d: int, per_tweet: int = 4, noise: float = 0.05):
    """A: tweets of ``per_tweet`` near-copies of one random centre; B: independent draws of the same
    distribution (the sources do not differ; only A's tweet-mates resemble each other)."""
    centres = rng.normal(size=(n_tweets, d))
    A = np.repeat(centres, per_tweet, axis=0) + noise * rng.normal(size=(per_tweet * n_tweets, d))
    B = rng.normal(size=(per_tweet * n_tweets, d)) * np.sqrt(1 + noise ** 2)
    return A, B, np.repeat(np.arange(n_tweets), per_tweet)


# ---------------------------------------------------------------- probe --------------------

def test_probe_with_tweet_folds_says_no_difference_where_image_folds_inflate_it():
    rng = np.random.default_rng(0)
    A, B, tweets = near_duplicate_tweets(rng, n_tweets=150, d=128)
    by_image = distinctness.probe_auc(A, B, cache=False)
    by_tweet = distinctness.probe_auc(A, B, cache=False, groups_a=tweets)
    assert 0.42 < by_tweet["auc"] < 0.58 and by_tweet["grouped"] and by_tweet["n_groups"] == 150 + len(B)
    assert by_image["auc"] > 0.62 and not by_image["grouped"]  # what image-level folds would have said
    assert by_tweet["auc_min"] <= by_tweet["auc"] <= by_tweet["auc_max"]
    assert by_tweet["auc_min"] == min(by_tweet["folds"]) and by_tweet["auc_max"] == max(by_tweet["folds"])


def test_grouped_probe_equals_scikit_learn_and_never_splits_a_tweet():
    rng = np.random.default_rng(1)
    A, B, tweets = near_duplicate_tweets(rng, n_tweets=60, d=8, per_tweet=3, noise=0.3)
    A = A + 0.4  # a real difference, so the fold AUCs vary
    got = distinctness.probe_auc(A, B, folds=4, seed=3, cache=False, groups_a=tweets)
    X, y = np.vstack([A, B]).astype(np.float32), np.r_[np.ones(len(A)), np.zeros(len(B))]
    groups = np.r_[tweets, 1000 + np.arange(len(B))]
    cv = StratifiedGroupKFold(n_splits=4, shuffle=True, random_state=3)
    want = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), X, y,
                           groups=groups, cv=cv, scoring="roc_auc")
    np.testing.assert_allclose(got["folds"], want, rtol=1e-10)
    for train, test in cv.split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])


def test_probe_table_reports_the_fold_range_and_the_grouping():
    rng = np.random.default_rng(2)
    A, B, tweets = near_duplicate_tweets(rng, n_tweets=80, d=6, per_tweet=2, noise=0.2)
    t = distinctness.probe_table(A + 2, tweets, {"natural": B, "art": B[::-1] + 0.5}, folds=3, cache=False)
    assert t["comparison"].tolist() == ["twigma_vs_natural", "twigma_vs_art"] and (t["grouping"] == "tweet").all()
    assert (t["auc_min"] <= t["auc"]).all() and (t["auc"] <= t["auc_max"]).all() and (t["n_tweets"] == 80).all()
    assert distinctness.fold_spread_text({"auc_min": 0.98123, "auc_max": 0.98456}) == "folds 0.981 to 0.985"
    assert distinctness.fold_spread_text({"auc_min": 0.99991, "auc_max": 0.99994}) == "folds 0.99991 to 0.99994"
    assert "±" not in claims.check_c7(t)["observed"] and "folds" in claims.check_c7(t)["observed"]
    with pytest.raises(ValueError, match="one group"):
        distinctness.probe_auc(A, B, cache=False, groups_a=tweets[:5])


# ---------------------------------------------------------------- joint map ----------------

def test_exact_knn_matches_numpy_and_puts_each_point_first():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(200, 5))
    Z[7] = Z[3]  # a duplicate: each of the two still comes first in its own row
    idx, dist = distinctness.exact_knn(Z, 6)
    assert (idx[:, 0] == np.arange(200)).all() and (dist[:, 0] == 0).all()
    D = np.linalg.norm(Z[:, None] - Z[None], axis=2)
    np.testing.assert_allclose(np.sort(dist, axis=1), np.sort(D, axis=1)[:, :6], atol=1e-5)


def test_joint_umap_fits_every_point_it_returns_and_purity_against_a_direct_count():
    rng = np.random.default_rng(4)
    sources = {"a": rng.normal(size=(300, 10)), "b": rng.normal(size=(120, 10)) + 4}
    xy = distinctness.joint_umap(sources, fit_size=100, pca_dims=5, n_neighbors=8, cache=False)
    assert xy.groupby("source", sort=False).size().to_dict() == {"a": 100, "b": 100}
    assert xy["row"][xy["source"] == "a"].is_monotonic_increasing and xy["row"].max() < 300
    assert "in_fit" not in xy and np.isfinite(xy[["x", "y"]].to_numpy()).all()
    pur = distinctness.map_purity(xy, k=5).set_index("source")
    pts, src = xy[["x", "y"]].to_numpy(float), xy["source"].to_numpy()
    D = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    np.fill_diagonal(D, np.inf)
    nn = np.argsort(D, axis=1, kind="stable")[:, :5]
    direct = pd.Series((src[nn] == src[:, None]).mean(axis=1)).groupby(src).mean()
    assert pur.loc["a", "own_share"] == pytest.approx(direct["a"]) and pur.loc["b", "chance"] == 0.5
    assert pur["own_share"].min() > 0.95  # two well-separated clouds stay apart in the map


# ---------------------------------------------------------------- dispersion bootstrap -----

def test_cluster_bootstrap_replicate_equals_a_direct_resampling_of_tweets():
    rng = np.random.default_rng(5)
    X = unit(rng.normal(size=(30, 6)) + 1)
    tweets = np.repeat([f"t{i}" for i in range(12)], [1, 2, 3, 4, 1, 2, 3, 4, 2, 3, 3, 2])
    counts = variability.tweet_bootstrap_counts(tweets, n_boot=4, seed=9)
    got = variability.tweet_bootstrap_replicates(X, tweets, n_boot=4, seed=9)
    codes, uniques = pd.factorize(tweets)
    draws = np.random.default_rng(9).integers(0, len(uniques), size=(4, len(uniques)))  # the same draws
    for b in range(4):
        idx = np.concatenate([np.flatnonzero(codes == t) for t in draws[b]])  # the resample, written out
        np.testing.assert_array_equal(np.bincount(idx, minlength=30), counts[b])
        sim = X[idx] @ X[idx].T
        distinct = idx[:, None] != idx[None, :]
        assert got[b] == pytest.approx(1 - sim[distinct].mean(), rel=1e-5)
    # with every row its own group the tweet bootstrap is the ordinary one over rows
    assert variability.tweet_bootstrap_counts(np.arange(30), 3, seed=1).sum(axis=1).tolist() == [30, 30, 30]


def test_tweet_bootstrap_matches_the_true_sampling_spread_when_tweet_mates_are_near_duplicates():
    """Monte Carlo: across many planted data sets, the SD of D is what the tweet bootstrap says;
    the image bootstrap says far less."""
    rng = np.random.default_rng(6)
    d_hat, se_tweet, se_image = [], [], []
    for _ in range(120):
        centres = rng.normal(size=(60, 4)) + 1.0
        X = unit(np.repeat(centres, 4, axis=0) + 0.05 * rng.normal(size=(240, 4)))
        tweets = np.repeat(np.arange(60), 4)
        d_hat.append(variability.dispersion(X))
        se_tweet.append(variability.tweet_bootstrap_replicates(X, tweets, n_boot=100, seed=1).std())
        se_image.append(variability.tweet_bootstrap_replicates(X, None, n_boot=100, seed=1).std())
    true_sd = np.std(d_hat)
    assert 0.75 < np.mean(se_tweet) / true_sd < 1.3
    assert np.mean(se_image) / true_sd < 0.65


def test_compare_sources_decides_c8_on_the_interval_of_the_difference():
    rng = np.random.default_rng(7)
    tight = unit(np.repeat(rng.normal(size=(100, 8)), 3, axis=0) * 0.3 + 2 + 0.01 * rng.normal(size=(300, 8)))
    wide, wider = unit(rng.normal(size=(300, 8)) + 1), unit(rng.normal(size=(300, 8)))
    tweets = np.repeat(np.arange(100), 3)
    by_source, diffs = variability.compare_sources({"twigma": tight, "natural": wide, "art": wider},
                                                   {"twigma": tweets}, n_boot=200, seed=0)
    s = by_source.set_index("source")
    assert s.loc["twigma", "unit"] == "tweet" and s.loc["twigma", "units"] == 100 and s.loc["art", "unit"] == "image"
    assert s.loc["art", "dispersion"] == pytest.approx(variability.dispersion(wider))
    assert diffs["below"].all() and (diffs["ci_low"] <= diffs["difference"]).all()
    assert claims.check_c8(by_source, diffs)["holds"] == "yes"
    # the same set against itself: the difference's interval covers 0 and C8 does not hold
    same, d2 = variability.compare_sources({"twigma": wide, "natural": wide[::-1].copy(), "art": wider},
                                           {"twigma": np.arange(300) // 3}, n_boot=200, seed=0)
    row = d2.set_index("comparison").loc["twigma_minus_natural"]
    assert row["ci_low"] < 0 < row["ci_high"] and not row["below"]
    assert claims.check_c8(same, d2)["holds"] == "no"


def test_grouped_dispersion_table_resamples_tweets_within_each_group():
    rng = np.random.default_rng(8)
    X = unit(rng.normal(size=(120, 5)) + 1)
    by = np.repeat(["m1", "m2", "m3"], [60, 50, 10])
    tweets = np.arange(120) // 2
    t = variability.grouped_dispersion_table(X, by, tweets, n_boot=50, min_size=20).set_index("group")
    assert t.index.tolist() == ["m1", "m2"] and t.loc["m1", "n_tweets"] == 30
    assert t.loc["m2", "dispersion"] == pytest.approx(variability.dispersion(X[60:110]))
    assert (t["ci_low"] <= t["dispersion"]).all() and (t["dispersion"] <= t["ci_high"]).all()


def test_month_ends_and_dispersion_extremes_say_what_the_tables_hold():
    m = pd.DataFrame({"month": [f"2022-{i:02d}" for i in range(1, 9)], "n": [40, 50, 60, 70, 80, 90, 100, 110],
                      "dispersion": [0.5, 0.4, 0.45, 0.42, 0.41, 0.43, 0.44, 0.3]})
    m["ci_low"], m["ci_high"] = m["dispersion"] - [0.1, 0.1, 0.1, 0.1, 0.02, 0.02, 0.02, 0.02], m["dispersion"] + 0.02
    e = variability.month_ends(m)
    assert e.k == 4 and e.early_mean == pytest.approx(np.mean([0.5, 0.4, 0.45, 0.42]))
    assert e.late_mean == pytest.approx(np.mean([0.41, 0.43, 0.44, 0.3])) and e.widen == pytest.approx(3.0)
    assert (e.min_month, e.max_month, e.early_n_min, e.early_n_max) == ("2022-08", "2022-01", 40, 70)
    assert e.trend == pytest.approx(np.corrcoef(np.arange(8), m["dispersion"])[0, 1])
    assert e.noisy and not variability.month_ends(m, noisy_widen=3.5).noisy  # the cut-off is the caller's
    c = pd.DataFrame({"cluster": [0, 1, 2], "dispersion": [0.2, 0.5, 0.3]})
    x = variability.dispersion_extremes(c, overall=0.4)
    assert (x.low, x.low_d, x.high, x.high_d) == (0, 0.2, 1, 0.5) and x.n_below == 2 and x.not_below == (1,)
    assert not x.all_below and variability.dispersion_extremes(c, overall=0.6).all_below


def test_compare_sources_keeps_the_results_contract_of_variability_csv():
    rng = np.random.default_rng(9)
    by_source, _ = variability.compare_sources({"twigma": unit(rng.normal(size=(40, 4))),
                                                "natural": unit(rng.normal(size=(30, 4)))}, n_boot=20)
    assert by_source.columns[:5].tolist() == ["source", "n", "dispersion", "ci_low", "ci_high"]
