"""Tests of twigma.analysis.inspiration: which artworks are closest to a TWIGMA image? (claim C10, "inspiration")"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from support.cache_entries import entries
from support.vectors import unit

from twigma.analysis import claims, inspiration


@pytest.mark.usefixtures("fresh_cache")
def test_most_art_like_cached_equals_uncached(random_unit_f16, fresh_cache):
    X, A = random_unit_f16(300), random_unit_f16(80)
    ids = [f"i{j}" for j in range(len(X))]
    plain = inspiration.most_art_like(X, ids, A, n=7, cache=False)
    pd.testing.assert_series_equal(inspiration.most_art_like(X, ids, A, n=7), plain)
    pd.testing.assert_series_equal(inspiration.most_art_like(X, ids, A, n=7), plain)
    assert len(entries(fresh_cache)) == 1


def test_best_matches_give_the_two_closest_artworks_of_every_image():
    rng = np.random.default_rng(11)
    X, A = unit(rng.normal(size=(60, 8))), unit(rng.normal(size=(40, 8)))
    ids, art_ids = [f"t{i}" for i in range(60)], [f"a{j}" for j in range(40)]
    m = inspiration.best_matches(X, ids, A, art_ids, cache=False)
    sims = X @ A.T
    top2 = -np.sort(-sims, axis=1)[:, :2]
    np.testing.assert_allclose(m[["best", "runner_up"]].to_numpy(), top2, atol=1e-5)
    assert m["art_id"].tolist() == [art_ids[j] for j in sims.argmax(axis=1)] and m.index.tolist() == ids
    assert (m["margin"] >= 0).all()
    pd.testing.assert_series_equal(inspiration.most_art_like(X, ids, A, n=5, cache=False),
                                   inspiration.most_art_like(X, ids, A, n=5, matches=m))
    assert inspiration.most_art_like(X, ids, A, n=5, cache=False).index.tolist() == \
        [ids[i] for i in np.argsort(-top2[:, 0], kind="stable")[:5]]


def test_screen_rates_against_scikit_learn_and_gap_outliers_against_numpy():
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(14)
    names = [f"t{i}" for i in range(200)]
    margin = pd.Series(rng.exponential(0.01, size=200), index=names)
    margin.iloc[:5] += 0.3  # five planted standouts
    g = inspiration.gap_outliers(margin)
    q1, q3 = np.percentile(margin, [25, 75])
    assert g.threshold == pytest.approx(q3 + 3 * (q3 - q1)) and g.n == int((margin > g.threshold).sum())
    assert g.n >= 5 and g.n < 200 * 0.05  # not a share fixed by definition
    assert g.median == pytest.approx(np.median(margin)) and g.largest == margin.max()
    assert g.close == (np.median(margin) < 0.05) and inspiration.gap_outliers(margin, close_gap=0.0).close is False
    assert inspiration.gap_outliers(pd.Series(np.full(50, 0.02))).n == 0
    known = names[:4] + ["t150"]
    flagged = margin > g.threshold
    r = inspiration.screen_rates(flagged, known)
    tn, fp, fn, tp = confusion_matrix(pd.Index(names).isin(known), flagged.to_numpy()).ravel()
    assert (r.tp, r.fp, r.fn, r.tn) == (tp, fp, fn, tn) and (r.positives, r.negatives) == (tp + fn, fp + tn)
    assert r.recall == pytest.approx(tp / (tp + fn)) and r.fpr == pytest.approx(fp / (fp + tn))
    assert r.low_precision == (tp / (tp + fp) < 0.5)


def test_recall_at_ranks_counts_each_known_pair_once():
    found = pd.DataFrame({"image_name": ["a", "a", "b", "b", "c", "c"], "rank": [1, 2, 1, 2, 1, 2],
                          "art_id": ["x", "y", "y", "x", "z", "w"]})
    known = pd.DataFrame({"image_name": ["a", "b", "c"], "art_id": ["x", "x", "q"]})
    assert inspiration.recall_at_ranks(known, found, 2).tolist() == [1 / 3, 2 / 3]


@pytest.mark.parametrize("k,n", [(25, 25), (60, 60), (97, 100), (0, 30)])
def test_recall_bound_is_the_exact_one_sided_clopper_pearson_bound(k, n):
    known = pd.DataFrame({"image_name": [f"i{j}" for j in range(n)], "art_id": [f"a{j}" for j in range(n)]})
    found = pd.DataFrame({"image_name": [f"i{j}" for j in range(n)], "rank": 1,
                          "art_id": [f"a{j}" if j < k else "other" for j in range(n)], "cosine": 0.9})
    b = inspiration.recall_bound(known, found, alpha=0.01, min_recall=0.9)
    # P(X >= k | p = bound) = alpha: the lower end of the one-sided interval, from the binomial tail
    want = 0.0 if k == 0 else stats.beta.ppf(0.01, k, n - k + 1)
    if k:
        assert stats.binom.sf(k - 1, n, b.lower) == pytest.approx(0.01, rel=1e-6)
    assert (b.found, b.n, b.lower) == (k, n, pytest.approx(want)) and b.level_text == "99%"
    assert b.holds == (want >= 0.9)
    c10 = claims.check_c10(found, known, k=5, min_recall=0.9, alpha=0.01)
    assert c10.holds == ("yes" if want >= 0.9 else "no") and f"{k} of {n}" in c10.observed
