"""The intervals and bounds that decide C7, C8 and C10, checked against independent computations
(scipy's bootstrap, scikit-learn's AUC, the beta quantile written out) and against planted truths."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from twigma.analysis import claims, distinctness, inspiration, variability


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ---------------------------------------------------------------- C7: the probe's AUC ---------

def test_auc_interval_with_one_image_per_tweet_agrees_with_scipy_bootstrap():
    """With every tweet holding one image the tweet bootstrap is the ordinary bootstrap of rows:
    scipy.stats.bootstrap over (score, label, fold) rows, with the fold AUCs from scikit-learn,
    must give about the same interval (Monte Carlo error only)."""
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(300, 6)) + 0.25, rng.normal(size=(300, 6))
    res = distinctness.probe_auc(A, B, folds=3, cache=False, groups_a=np.arange(300))
    s, y, f = res["score"], res["label"], res["fold"]
    by_fold = [roc_auc_score(y[f == k], s[f == k]) for k in range(3)]
    assert res["auc"] == pytest.approx(np.mean(by_fold), abs=1e-12)
    assert distinctness.fold_mean_auc(s, y, f) == pytest.approx(np.mean(by_fold), abs=1e-12)
    ci = distinctness.auc_interval(res, alpha=0.05, n_resamples=3000, seed=1)

    def stat(s_, y_, f_):
        return np.mean([roc_auc_score(y_[f_ == k], s_[f_ == k]) for k in range(3)])

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


def test_c7_is_decided_on_the_lower_bound_of_the_auc_interval():
    row = {"comparison": "twigma_vs_natural", "auc": 0.93, "ci_low": 0.88, "ci_high": 0.96, "ci_level": 0.99,
           "auc_sd": 0.01, "auc_min": 0.92, "auc_max": 0.94, "folds": 5, "n_per_class": 500, "n_tweets": 300,
           "grouping": "tweet"}
    table = pd.DataFrame([row, {**row, "comparison": "twigma_vs_art", "auc": 0.99, "ci_low": 0.97, "ci_high": 1.0}])
    c7 = claims.check_c7(table, min_auc=0.9)
    assert c7["holds"] == "no" and "99% CI 0.880 to 0.960" in c7["observed"]  # the estimate passes, the bound not
    assert claims.check_c7(table.assign(ci_low=[0.91, 0.97]), min_auc=0.9)["holds"] == "yes"
    assert claims.check_c7(table.drop(columns=["ci_low", "ci_high", "ci_level"]))["holds"] == "untestable"
    r = distinctness.probe_reading(table, 0.9, near_perfect=0.99, partial=0.7)
    assert [x.grade for x in r.readings] == ["partial", "strong"] and not r.all_distinct and r.any_distinct
    assert r.level_text == "99%" and r.readings[0].interval.low == 0.88
    with pytest.raises(ValueError, match="must rise"):
        distinctness.probe_reading(table, 0.9, near_perfect=0.8)
    ci = distinctness.probe_reading(table.assign(auc=0.99999, ci_low=0.99996, ci_high=1.0), 0.9).readings[0].ci_text
    assert ci == "0.99999 (99% CI 0.99996 to 1.00000)"  # never "1.000 (99% CI 1.000 to 1.000)"


# ---------------------------------------------------------------- C8: within themes -----------

def _mixed_subjects(rng, d=16):
    """Two themes, a tight one (A) and a broad one (B), for TWIGMA and a reference set. Within each
    theme TWIGMA varies MORE than the reference; but TWIGMA is mostly the tight theme and the
    reference mostly the broad one, so over the whole sets TWIGMA varies less (Simpson's paradox)."""
    a, b = unit(rng.normal(size=(2, d)))

    def draw(centre, n, spread):
        return unit(centre + spread * rng.normal(size=(n, d)) / np.sqrt(d))

    twigma = np.vstack([draw(a, 900, 0.6), draw(b, 100, 1.2)])
    ref = np.vstack([draw(a, 200, 0.3), draw(b, 800, 1.0)])
    return twigma, ref, np.r_[np.full(900, 1), np.full(100, 2)]


def test_theme_matching_reverses_a_difference_owed_to_the_subject_mix():
    rng = np.random.default_rng(3)
    twigma, ref, themes = _mixed_subjects(rng)
    tweets = np.arange(1000) // 2
    sets = {"twigma": twigma, "natural": ref}
    _, whole = variability.compare_sources(sets, {"twigma": tweets}, n_boot=2000, alpha=0.01)
    by_theme, matched = variability.theme_matched(sets, tweets, themes, min_images=30, n_boot=2000, alpha=0.01)
    assert whole.loc[0, "below"] and whole.loc[0, "ci_level"] == 0.99  # whole sets: TWIGMA "less varied"
    m = matched.iloc[0]
    assert m["matching"] == "within themes" and m["ci_low"] > 0 and not m["below"]  # within themes: more varied
    # the reference images went (nearly all) to their own theme; the estimate is the weighted per-theme difference
    labels, cent = variability.theme_centroids(twigma, themes)
    ref_theme = variability.assign_themes(ref, labels, cent)
    assert (ref_theme == np.r_[np.full(200, 1), np.full(800, 2)]).mean() > 0.97
    assert by_theme["n_natural"].tolist() == [int((ref_theme == 1).sum()), int((ref_theme == 2).sum())]
    assert by_theme["weight_natural"].tolist() == [0.9, 0.1]
    d = {(s, t): variability.dispersion(X[lab == t]) for s, X, lab in (("t", twigma, themes), ("r", ref, ref_theme))
         for t in (1, 2)}
    assert m["difference"] == pytest.approx(0.9 * (d["t", 1] - d["r", 1]) + 0.1 * (d["t", 2] - d["r", 2]))
    assert (m["themes"], m["coverage"], m["other_coverage"]) == (2, 1.0, 1.0)
    # C8 is decided within themes: it does not hold, though the whole-set comparison says it would
    var = pd.DataFrame({"source": ["twigma", "natural", "art"], "dispersion": [0.3, 0.6, 0.6],
                        "ci_low": [0.29, 0.58, 0.58], "ci_high": [0.31, 0.62, 0.62], "ci_level": 0.99})
    both = lambda t: pd.concat([t, t.assign(comparison="twigma_minus_art")])  # noqa: E731
    assert claims.check_c8(var, both(whole))["holds"] == "yes"
    c8 = claims.check_c8(var, pd.concat([both(matched), both(whole)]))
    assert c8["holds"] == "no" and "within themes" in c8["observed"] and "whole sets" in c8["observed"]
    assert "99% intervals" in c8["observed"] and "references by image" in c8["observed"]


def test_theme_matched_interval_is_the_percentile_interval_of_its_replicates():
    """The combined difference's interval, rebuilt from replicates_within by hand; a theme with too
    few images of either set is left out of the weights."""
    rng = np.random.default_rng(4)
    twigma, ref, themes = _mixed_subjects(rng)
    ref = ref[200:]  # the reference images of theme 1 dropped: the few left near it leave the theme unmatched
    tweets = np.arange(1000) // 4
    by_theme, matched = variability.theme_matched({"twigma": twigma, "natural": ref}, tweets, themes,
                                                  min_images=50, n_boot=2000, alpha=0.05, seed=7)
    assert by_theme["weight_natural"].tolist() == [0.0, 1.0] and matched.loc[0, "themes"] == 1
    labels, cent = variability.theme_centroids(twigma, themes)
    seeds = np.random.SeedSequence(7).generate_state(2)
    rt = variability.replicates_within(twigma, tweets, themes, n_boot=2000, seed=int(seeds[0]))
    rr = variability.replicates_within(ref, None, variability.assign_themes(ref, labels, cent), n_boot=2000,
                                       seed=int(seeds[1]))
    lo, hi = np.quantile(rt[2] - rr[2], [0.025, 0.975])
    assert (matched.loc[0, "ci_low"], matched.loc[0, "ci_high"]) == pytest.approx((lo, hi))
    assert matched.loc[0, "coverage"] == pytest.approx(0.1)


def test_whole_set_interval_agrees_with_scipy_bootstrap_over_images():
    """With each reference image its own unit, the interval of D is scipy's percentile bootstrap of
    the mean distance over pairs of distinct draws (a slow statistic written out)."""
    rng = np.random.default_rng(5)
    X = unit(rng.normal(size=(120, 5)) + 0.8)

    def d_distinct(idx):  # D over pairs of two different images among the drawn rows
        idx = np.asarray(idx, dtype=int)
        sim = X[idx] @ X[idx].T
        return 1 - sim[idx[:, None] != idx[None, :]].mean()

    ref = stats.bootstrap((np.arange(120),), d_distinct, vectorized=False, n_resamples=2000, confidence_level=0.99,
                          method="percentile", rng=np.random.default_rng(0)).confidence_interval
    by_source, _ = variability.compare_sources({"twigma": X, "natural": X[::-1].copy()}, n_boot=2000, alpha=0.01)
    row = by_source.set_index("source").loc["natural"]
    assert row["ci_level"] == 0.99 and row["unit"] == "image"
    assert row["ci_low"] == pytest.approx(ref.low, abs=0.006) and row["ci_high"] == pytest.approx(ref.high, abs=0.006)


def test_replicates_in_batches_are_the_draws_of_one_stream():
    rng = np.random.default_rng(6)
    X, tweets = unit(rng.normal(size=(90, 4))), np.arange(90) // 3
    counts = variability.tweet_bootstrap_counts(tweets, 600, seed=3)  # 600 replicates: three batches of at most 250
    np.testing.assert_allclose(variability.tweet_bootstrap_replicates(X, tweets, 600, seed=3),
                               variability.bootstrap_replicates(X, counts), rtol=1e-12)
    whole = variability.replicates_within(X, tweets, np.zeros(90), n_boot=600, seed=3)[0.0]
    np.testing.assert_allclose(whole, variability.bootstrap_replicates(X, counts), rtol=1e-12)


def test_read_differences_names_the_side_of_zero():
    t = pd.DataFrame({"comparison": ["twigma_minus_natural", "twigma_minus_art", "twigma_minus_art"],
                      "matching": ["within themes", "within themes", "whole sets"], "difference": [-0.2, 0.01, 0.1],
                      "ci_low": [-0.3, -0.02, 0.05], "ci_high": [-0.1, 0.04, 0.2], "ci_level": 0.99,
                      "themes": [8, 8, np.nan], "coverage": [0.9, 0.9, np.nan]})
    r = variability.read_differences(t)
    assert [r[k].side for k in (("natural", "within themes"), ("art", "within themes"), ("art", "whole sets"))] \
        == ["below", "across", "above"]
    assert r[("natural", "within themes")].themes == 8 and r[("art", "whole sets")].themes == 0


# ---------------------------------------------------------------- C10: the recall's bound -----

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
    assert c10["holds"] == ("yes" if want >= 0.9 else "no") and f"{k} of {n}" in c10["observed"]


def test_c10_with_every_one_of_25_pairs_found_does_not_hold_and_is_untestable_without_pairs():
    """25 of 25 found: the one-sided 99% bound is 0.01 ** (1/25) = 0.83, below 0.9 (and 0.887 at 95%)."""
    known = pd.DataFrame({"image_name": [f"i{j}" for j in range(25)], "art_id": [f"a{j}" for j in range(25)]})
    found = known.assign(rank=1, cosine=0.95)
    assert claims.check_c10(found, known, k=5)["holds"] == "no"
    assert inspiration.recall_bound(known, found, 0.01, 0.9).lower == pytest.approx(0.01 ** (1 / 25))
    c10 = claims.check_c10(found, None, k=5)
    assert c10["holds"] == "untestable" and "no list of known" in c10["observed"] and "review" in c10["observed"]
