"""Tests of twigma.analysis.variability: how varied a set of images is: mean pairwise cosine distance of its embeddings (claim C8)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import pdist
from support.vectors import unit

from twigma.analysis import claims, variability


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


def test_dispersion_equals_scipy_mean_pairwise_cosine_distance():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 16)) + 0.5
    assert variability.dispersion(X) == pytest.approx(pdist(X, "cosine").mean(), rel=1e-10)
    idx = rng.integers(0, 300, 300)  # a bootstrap resample, duplicates included
    assert variability.dispersion(X[idx]) == pytest.approx(pdist(X[idx], "cosine").mean(), rel=1e-10)
    X16 = unit(X).astype(np.float16)
    assert variability.dispersion(X16) == pytest.approx(pdist(X16.astype(float), "cosine").mean(), rel=1e-6)


def test_dispersion_interval_brackets_the_estimate_and_narrows_with_n():
    rng = np.random.default_rng(3)
    small, large = rng.normal(size=(200, 8)), rng.normal(size=(5000, 8))
    est, lo, hi = variability.dispersion_ci(small, n_boot=300)
    assert lo <= est <= hi
    _, lo2, hi2 = variability.dispersion_ci(large, n_boot=300)
    assert hi2 - lo2 < hi - lo


def test_dispersion_table_by_group():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(100, 8)) + 3, rng.normal(size=(100, 8))])
    t = variability.dispersion_table(X, ["tight"] * 100 + ["wide"] * 100, n_boot=50)
    t = t.set_index("group")
    assert t.loc["tight", "dispersion"] < t.loc["wide", "dispersion"]
    assert t.loc["wide", "dispersion"] == pytest.approx(pdist(X[100:], "cosine").mean())


def test_bootstrap_replicate_leaves_out_pairs_of_the_same_image():
    rng = np.random.default_rng(8)
    X = unit(rng.normal(size=(40, 6)) + 1)
    counts = rng.multinomial(40, np.full(40, 1 / 40))
    formula = variability.bootstrap_replicates(X, counts[None, :])[0]
    idx = np.repeat(np.arange(40), counts)  # the resample, written out
    sim = X[idx] @ X[idx].T
    distinct = idx[:, None] != idx[None, :]
    assert formula == pytest.approx(1 - sim[distinct].mean(), rel=1e-5)


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
    assert claims.check_c8(var, both(whole)).holds == "yes"
    c8 = claims.check_c8(var, pd.concat([both(matched), both(whole)]))
    assert c8.holds == "no" and "within themes" in c8.observed and "whole sets" in c8.observed
    assert "99% intervals" in c8.observed and "references by image" in c8.observed


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
    assert claims.check_c8(by_source, diffs).holds == "yes"
    # the same set against itself: the difference's interval covers 0 and C8 does not hold
    same, d2 = variability.compare_sources({"twigma": wide, "natural": wide[::-1].copy(), "art": wider},
                                           {"twigma": np.arange(300) // 3}, n_boot=200, seed=0)
    row = d2.set_index("comparison").loc["twigma_minus_natural"]
    assert row["ci_low"] < 0 < row["ci_high"] and not row["below"]
    assert claims.check_c8(same, d2).holds == "no"


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
