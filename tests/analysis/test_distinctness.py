"""Tests of twigma.analysis.distinctness: are TWIGMA images distinct from natural photographs and from artwork? (claim C7)"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from support.cache_entries import entries

from twigma import paths
from twigma.analysis import claims, distinctness


def near_duplicate_tweets(rng, n_tweets: int, d: int, per_tweet: int = 4, noise: float = 0.05):
    """A: tweets of ``per_tweet`` near-copies of one random centre; B: independent draws of the same
    distribution (the sources do not differ; only A's tweet-mates resemble each other)."""
    centres = rng.normal(size=(n_tweets, d))
    A = np.repeat(centres, per_tweet, axis=0) + noise * rng.normal(size=(per_tweet * n_tweets, d))
    B = rng.normal(size=(per_tweet * n_tweets, d)) * np.sqrt(1 + noise ** 2)
    return A, B, np.repeat(np.arange(n_tweets), per_tweet)


@pytest.mark.usefixtures("fresh_cache")
def test_probe_cached_equals_uncached(random_unit_f16, fresh_cache):
    A, B = random_unit_f16(150), random_unit_f16(150) + np.float16(0.05)
    plain = distinctness.probe_auc(A, B, folds=3, cache=False)

    def same(got):  # the out-of-fold predictions are arrays: compared element by element
        return got.keys() == plain.keys() and all(np.array_equal(got[k], plain[k]) for k in plain)

    assert same(distinctness.probe_auc(A, B, folds=3))
    assert same(distinctness.probe_auc(A, B, folds=3))
    assert len(entries(fresh_cache)) == 1
    distinctness.probe_auc(A, B, folds=3, seed=1)
    assert len(entries(fresh_cache)) == 2


def test_probe_auc_separates_separable_sets_and_not_identical_ones():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(600, 10))
    far = rng.normal(size=(600, 10)) + 1.5
    same = rng.normal(size=(600, 10))
    assert distinctness.probe_auc(A, far)["auc"] > 0.99
    res = distinctness.probe_auc(A, same)
    assert 0.4 < res["auc"] < 0.6 and len(res["folds"]) == 5 and res["auc_sd"] >= 0


def pair_count_auc(y, s) -> float:
    """ROC AUC by its definition: the share of (positive, negative) pairs the score orders right, ties
    counting half (no ranks, unlike distinctness.fold_mean_auc)."""
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def test_auc_interval_with_one_image_per_tweet_agrees_with_scipy_bootstrap():
    """With every tweet holding one image the tweet bootstrap is the ordinary bootstrap of rows:
    scipy.stats.bootstrap over (score, label, fold) rows, with the fold AUCs counted pair by pair
    (scikit-learn's on the probe's folds and on resampled ones), must give about the same interval
    (Monte Carlo error only)."""
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(300, 6)) + 0.25, rng.normal(size=(300, 6))
    res = distinctness.probe_auc(A, B, folds=3, cache=False, groups_a=np.arange(300))
    s, y, f = res["score"], res["label"], res["fold"]
    by_fold = [roc_auc_score(y[f == k], s[f == k]) for k in range(3)]
    assert res["auc"] == pytest.approx(np.mean(by_fold), abs=1e-12)
    assert distinctness.fold_mean_auc(s, y, f) == pytest.approx(np.mean(by_fold), abs=1e-12)
    ci = distinctness.auc_interval(res, alpha=0.05, n_resamples=3000, seed=1)

    def stat(s_, y_, f_):
        return np.mean([pair_count_auc(y_[f_ == k], s_[f_ == k]) for k in range(3)])

    assert stat(s, y, f) == pytest.approx(np.mean(by_fold), abs=1e-12)
    for _ in range(20):  # rows drawn twice: tied scores within a class; one drawn rounded: ties across classes
        r = rng.integers(0, len(s), len(s))
        s_r = np.where(rng.random(len(s)) < 0.2, np.round(s[r], 1), s[r])
        assert stat(s_r, y[r], f[r]) == pytest.approx(
            np.mean([roc_auc_score(y[r][f[r] == k], s_r[f[r] == k]) for k in range(3)]), abs=1e-12)
    ref = stats.bootstrap((s, y, f), stat, paired=True, vectorized=False, n_resamples=3000, confidence_level=0.95,
                          method="percentile", rng=np.random.default_rng(2)).confidence_interval
    assert ci.estimate == pytest.approx(res["auc"]) and ci.level == 0.95
    assert ci.low == pytest.approx(ref.low, abs=0.012) and ci.high == pytest.approx(ref.high, abs=0.012)
    assert ci.low < ci.estimate < ci.high


def test_auc_interval_resamples_tweets_and_widens_with_near_copies():
    """Tweets of four near-copies carry about one image's information: the tweet bootstrap's interval
    is wider than one that treats the images as independent."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(150, 6)) + 0.3
    A = np.repeat(centres, 4, axis=0) + 0.05 * rng.normal(size=(600, 6))
    B = rng.normal(size=(600, 6))
    tweets = np.repeat(np.arange(150), 4)
    res = distinctness.probe_auc(A, B, folds=3, cache=False, groups_a=tweets)
    by_tweet = distinctness.auc_interval(res, alpha=0.01, seed=0)
    as_images = distinctness.auc_interval({**res, "group": np.arange(len(res["group"]))}, alpha=0.01, seed=0)
    assert by_tweet.level == 0.99 and "2000 resamples" in by_tweet.method
    assert (by_tweet.high - by_tweet.low) > 1.3 * (as_images.high - as_images.low)


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
    assert "±" not in claims.check_c7(t).observed and "folds" in claims.check_c7(t).observed
    with pytest.raises(ValueError, match="one group"):
        distinctness.probe_auc(A, B, cache=False, groups_a=tweets[:5])


def test_exact_knn_matches_numpy_and_puts_each_point_first():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(200, 5))
    Z[7] = Z[3]  # a duplicate: each of the two still comes first in its own row
    idx, dist = distinctness.exact_knn(Z, 6)
    assert (idx[:, 0] == np.arange(200)).all() and (dist[:, 0] == 0).all()
    D = np.linalg.norm(Z[:, None] - Z[None], axis=2)
    np.testing.assert_allclose(np.sort(dist, axis=1), np.sort(D, axis=1)[:, :6], atol=1e-5)


#: joint_umap of two clouds in a fresh process, through the cache: what that process imported, and the map
UMAP_SCRIPT = """
import hashlib, json, sys
import numpy as np
from twigma.analysis import distinctness
rng = np.random.default_rng(4)
xy = distinctness.joint_umap({"a": rng.normal(size=(300, 10)), "b": rng.normal(size=(120, 10)) + 4},
                             fit_size=100, pca_dims=5, n_neighbors=8)
print(json.dumps({"umap_imported": "umap" in sys.modules, "numba_imported": "numba" in sys.modules,
                  "digest": hashlib.sha1(xy.to_csv().encode()).hexdigest()}))
"""


def umap_in_a_fresh_process(cache_dir) -> dict:
    p = subprocess.run([sys.executable, "-c", UMAP_SCRIPT], capture_output=True, text=True, timeout=300,
                       env={**os.environ, paths.CACHE_ENV: str(cache_dir)})
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def umap_run(tmp_path_factory):
    """The map of UMAP_SCRIPT computed once for this file, by a fresh process into a cache folder of its own
    (numba compiles UMAP's functions once, for both tests below): the folder and what the process said."""
    folder = tmp_path_factory.mktemp("umap")
    return folder, umap_in_a_fresh_process(folder)


def test_joint_umap_fits_every_point_it_returns_and_purity_against_a_direct_count(umap_run, monkeypatch):
    folder, first = umap_run
    monkeypatch.setenv(paths.CACHE_ENV, str(folder))  # the map computed by umap_run, read back
    rng = np.random.default_rng(4)
    sources = {"a": rng.normal(size=(300, 10)), "b": rng.normal(size=(120, 10)) + 4}
    xy = distinctness.joint_umap(sources, fit_size=100, pca_dims=5, n_neighbors=8)
    assert hashlib.sha1(xy.to_csv().encode()).hexdigest() == first["digest"]
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


def test_umap_hit_does_not_import_umap(umap_run):
    """The cache's point for notebook 06: a rerun neither imports umap nor compiles numba."""
    folder, first = umap_run
    second = umap_in_a_fresh_process(folder)
    assert first["umap_imported"]  # computed
    assert not second["umap_imported"] and not second["numba_imported"]  # read back
    assert second["digest"] == first["digest"]
