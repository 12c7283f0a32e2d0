"""Tests of twigma.analysis.nsfw: NSFW content by cluster and month: Twitter's flag and the CLIP-based detector (claim C6)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from twigma.analysis import inference, nsfw, overview


def test_nsfw_by_cluster_against_pandas_and_statsmodels_kappa(small_release):
    got = nsfw.nsfw_by_cluster(small_release).set_index("cluster")
    g = small_release.groupby("label_10_cluster")
    assert got["n_images"].tolist() == g.size().tolist()
    np.testing.assert_allclose(got["share_possibly_sensitive"], g["possibly_sensitive"].mean().astype(float))
    np.testing.assert_allclose(got["share_nsfw_gt_0_5"], g["nsfw_score"].apply(lambda s: (s > 0.5).mean()))
    np.testing.assert_allclose(got["mean_nsfw_score"], g["nsfw_score"].mean(), rtol=1e-6)
    assert got["mostly_nsfw"].sum() == 2

    a = nsfw.agreement(small_release["possibly_sensitive"], small_release["nsfw_score"])
    table = pd.crosstab(small_release["possibly_sensitive"].astype(bool), small_release["nsfw_score"] > 0.5)
    assert a.kappa == pytest.approx(cohens_kappa(table.to_numpy()).kappa)
    assert a.both == table.loc[True, True] and a.neither == table.loc[False, False]


def test_agreement_ignores_missing_values():
    flag = pd.Series([True, False, None, True], dtype="boolean")
    score = pd.Series([0.9, 0.1, 0.8, np.nan], dtype="float32")
    a = nsfw.agreement(flag, score)
    assert a.n == 2 and a.agreement == 1.0


def test_threshold_names_the_column(small_release):
    got = nsfw.nsfw_by_cluster(small_release, threshold=0.8)
    assert "share_nsfw_gt_0_8" in got.columns


def test_wilson_interval_against_scipy_and_the_formula():
    """Against scipy's binomtest (whole counts) and Wilson's (1927) formula written out (an effective sample
    size, which is not whole); NaN where there is nothing to count."""
    from scipy import stats

    k, n = np.array([0, 5, 10, 3, 0]), np.array([10, 10, 10, 250, 0])
    for level in (0.95, 0.9):
        lo, hi = nsfw.wilson_interval(k, n, level)
        for i in range(4):
            ci = stats.binomtest(int(k[i]), int(n[i])).proportion_ci(confidence_level=level, method="wilson")
            assert (lo[i], hi[i]) == pytest.approx((ci.low, ci.high), abs=1e-12)
        assert np.isnan(lo[4]) and np.isnan(hi[4])
    z, k_eff, n_eff = stats.norm.ppf(0.975), 41.3, 137.6
    p = k_eff / n_eff
    centre = (p + z**2 / (2 * n_eff)) / (1 + z**2 / n_eff)
    half = z / (1 + z**2 / n_eff) * np.sqrt(p * (1 - p) / n_eff + z**2 / (4 * n_eff**2))
    lo, hi = nsfw.wilson_interval(k_eff, n_eff)
    assert (float(lo), float(hi)) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert np.isnan(nsfw.wilson_interval(0.0, float("nan"))).all()


def test_score_histogram_counts_each_flag_group_in_common_bins(small_release):
    """nsfw.score_histogram (notebook 04's figure, drawn from counts) against pandas.cut over the images; the
    groups in the order they first occur (seaborn's hue order), unscored images left out."""
    rel = small_release[["possibly_sensitive", "nsfw_score"]].copy()
    rel.loc[rel.index[:40], "possibly_sensitive"] = pd.NA
    rel.loc[rel.index[30:60], "nsfw_score"] = np.nan
    table, edges = nsfw.score_histogram(rel["possibly_sensitive"], rel["nsfw_score"], bins=50)
    scored = rel.dropna(subset=["nsfw_score"])
    assert edges[0] == scored["nsfw_score"].min() and edges[-1] == scored["nsfw_score"].max() and len(edges) == 51
    group = rel["possibly_sensitive"].map({True: "flagged", False: "not flagged"}).fillna("flag unknown")
    assert list(dict.fromkeys(table["possibly_sensitive"])) == list(dict.fromkeys(group))
    for name, part in table.groupby("possibly_sensitive", sort=False):
        x = scored.loc[group[scored.index] == name, "nsfw_score"].astype(float)
        expected = pd.cut(x, edges, include_lowest=True).value_counts(sort=False).to_numpy()
        assert part["count"].tolist() == expected.tolist(), name
    assert table["count"].sum() == len(scored)


@pytest.mark.parametrize("seed", range(6))
def test_kappa_from_the_2x2_counts_equals_scikit_learn(seed):
    """nsfw.kappa_2x2 (agreement and nsfw_by_cluster count the four cells, by cluster code) against
    scikit-learn's cohen_kappa_score on the images, including one-sided and constant ratings."""
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    flag = pd.Series(rng.random(n) < [0.3, 0.0, 1.0, 0.5, 0.9, 0.0][seed], dtype="boolean")
    score = pd.Series(rng.random(n), dtype="float32")
    if seed == 5:
        score[:] = 0.1  # both ratings constant and equal: no kappa
    a = nsfw.agreement(flag, score)
    x, y = flag.to_numpy(dtype=bool), score.to_numpy() > 0.5
    if len(np.unique(np.r_[x, y])) > 1:
        assert a.kappa == pytest.approx(cohen_kappa_score(x, y), abs=1e-12)
    else:
        assert np.isnan(a.kappa)
    assert (a.both, a.flag_only, a.score_only, a.neither) == (
        int(np.sum(x & y)), int(np.sum(x & ~y)), int(np.sum(~x & y)), int(np.sum(~x & ~y)))


def test_kappa_of_a_resample_is_sklearns_kappa_of_its_rows(small_release):
    cells = nsfw.cell_indicators(small_release["possibly_sensitive"], small_release["nsfw_score"], 0.5)
    tweet = overview.tweet_codes(small_release["id"])
    rng = np.random.default_rng(0)
    drawn = rng.integers(0, tweet.max() + 1, tweet.max() + 1)
    w = np.bincount(drawn, minlength=tweet.max() + 1)
    rows = np.concatenate([np.flatnonzero(tweet == t) for t in drawn])  # every image of each drawn tweet
    flag = small_release["possibly_sensitive"].to_numpy(dtype=bool)[rows]
    above = small_release["nsfw_score"].to_numpy()[rows] > 0.5
    sums = inference.tweet_sums(cells, small_release["id"])
    assert nsfw.kappa_cells(w @ sums) == pytest.approx(cohen_kappa_score(flag, above))
    assert nsfw.pabak_cells(w @ sums) == pytest.approx(2 * np.mean(flag == above) - 1)


def kappa_by_count(x: np.ndarray, y: np.ndarray) -> float:
    """Cohen's kappa of two yes/no ratings counted out: observed agreement against the agreement of the
    marginal shares (as scikit-learn's cohen_kappa_score, without its checks, which cost a millisecond)."""
    p_o, px, py = np.mean(x == y), x.mean(), y.mean()
    p_e = px * py + (1 - px) * (1 - py)
    return float((p_o - p_e) / (1 - p_e))


def test_kappa_interval_and_the_per_cluster_rule(small_release):
    k = nsfw.kappa_interval(small_release, 0.5, 0.01)
    overall = nsfw.agreement(small_release["possibly_sensitive"], small_release["nsfw_score"])
    assert k.estimate == pytest.approx(overall.kappa) and k.low < k.estimate < k.high and k.level == 0.99
    flag = small_release["possibly_sensitive"].to_numpy(dtype=bool)
    above = small_release["nsfw_score"].to_numpy() > 0.5
    rng = np.random.default_rng(5)
    for rows in [np.arange(len(flag)), *(rng.integers(0, len(flag), len(flag)) for _ in range(5))]:
        assert kappa_by_count(flag[rows], above[rows]) == pytest.approx(cohen_kappa_score(flag[rows], above[rows]),
                                                                       abs=1e-12)
    ref = inference.tweet_bootstrap(lambda rows: kappa_by_count(flag[rows], above[rows]),
                                    small_release["id"], 0.01, n_resamples=2000, seed=5)
    width = ref.high - ref.low
    assert abs(k.low - ref.low) < 0.15 * width and abs(k.high - ref.high) < 0.15 * width
    by = nsfw.nsfw_by_cluster(small_release, kappa_min_share=0.05)
    for r in by.itertuples():
        part = small_release[small_release["label_10_cluster"] == r.cluster]
        flag = part["possibly_sensitive"].to_numpy(dtype=bool)
        above = part["nsfw_score"].to_numpy() > 0.5
        varies = min(flag.mean(), 1 - flag.mean()) >= 0.05 and min(above.mean(), 1 - above.mean()) >= 0.05
        assert r.kappa_reported == varies
        assert r.pabak == pytest.approx(2 * np.mean(flag == above) - 1)
        assert r.sensitivity == pytest.approx(above[flag].mean())
        assert r.specificity == pytest.approx((~above[~flag]).mean())
    ks = nsfw.kappa_summary(overall, by, k)
    assert ks.n_reported == int(by["kappa_reported"].sum()) and ks.n_clusters == len(by)
    assert ks.between_clusters == bool(ks.n_reported and k.low > by.loc[by["kappa_reported"], "kappa"].max())


def test_early_late_change_matches_the_pooled_table(small_release):
    by_month = nsfw.nsfw_by_month(small_release)
    ends = nsfw.early_late_nsfw(by_month, 0.5, n_months=6)
    ch = nsfw.early_late_change(small_release, 0.5, 0.01, n_months=6)
    assert ch.flag.estimate == pytest.approx(ends.loc["late", "share_tweets_flagged"]
                                             - ends.loc["early", "share_tweets_flagged"])
    assert ch.score.estimate == pytest.approx(ends.loc["late", "share_nsfw_gt_0_5"]
                                              - ends.loc["early", "share_nsfw_gt_0_5"])
    assert ch.flag_word == nsfw.change_word(ch.flag)
    assert nsfw.change_word(inference.Interval(0.1, 0.05, 0.2, 0.99)) == "rose"
    assert nsfw.change_word(inference.Interval(0.1, -0.05, 0.2, 0.99)) == "did not change detectably"


def test_flag_intervals_are_wilson_over_tweets(small_release):
    by_month = nsfw.nsfw_by_month(small_release)
    month = small_release["created_at"].dt.strftime("%Y-%m")
    tweets = small_release.assign(month=month).groupby("id").agg(month=("month", "first"),
                                                                  flag=("possibly_sensitive", "max"))
    for m in by_month["month"].iloc[[0, -1]]:
        part = tweets[tweets["month"] == m]
        row = by_month.set_index("month").loc[m]
        k, n = int(part["flag"].sum()), len(part)
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert row["n_tweets_flag_known"] == n and row["share_tweets_flagged"] == pytest.approx(k / n)
        assert (row["flag_ci_low"], row["flag_ci_high"]) == pytest.approx((lo, hi))


def test_detector_intervals_use_the_tweet_clustered_variance(small_release):
    """n_eff from statsmodels' cluster-robust variance of the image-level mean (OLS on a constant,
    clustered by tweet), then statsmodels' Wilson interval at n_eff."""
    by_month = nsfw.nsfw_by_month(small_release).set_index("month")
    month = small_release["created_at"].dt.strftime("%Y-%m")
    m = by_month.index[-1]
    part = small_release[month == m]
    y = (part["nsfw_score"] > 0.5).to_numpy(float)
    ols = sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(part["id"])[0]})
    p, n = y.mean(), len(y)
    deff = max(1.0, ols.bse[0] ** 2 / (p * (1 - p) / n))
    lo, hi = proportion_confint(p * n / deff, n / deff, alpha=0.05, method="wilson")
    row = by_month.loc[m]
    assert row["score_n_eff"] == pytest.approx(n / deff) and row["score_n_eff"] < n
    assert (row["score_ci_low"], row["score_ci_high"]) == pytest.approx((lo, hi))


def test_intervals_of_near_duplicate_tweet_mates_are_as_wide_as_the_tweets_allow():
    """Planted: every tweet's four images are copies of one another. The images carry no more
    information than the tweets, so the interval must match a Wilson interval over tweets."""
    rng = np.random.default_rng(0)
    n_t = 200
    above = rng.random(n_t) < 0.3
    df = pd.DataFrame({"id": np.repeat(np.arange(n_t).astype(str), 4),
                       "possibly_sensitive": pd.array(np.repeat(above, 4), dtype="boolean"),
                       "nsfw_score": np.repeat(np.where(above, 0.9, 0.1), 4).astype("float32"),
                       "created_at": pd.Timestamp("2022-05-03", tz="UTC")})
    got = nsfw.tweet_level_intervals(df, pd.Series(["2022-05"] * len(df))).iloc[0]
    lo, hi = proportion_confint(int(above.sum()), n_t, method="wilson")
    assert got["score_n_eff"] == pytest.approx(n_t, rel=0.01)
    assert (got["score_ci_low"], got["score_ci_high"]) == pytest.approx((lo, hi), abs=2e-3)
    assert (got["flag_ci_low"], got["flag_ci_high"]) == pytest.approx((lo, hi))
    naive = nsfw.wilson_interval(above.sum() * 4, n_t * 4)
    assert naive[1] - naive[0] < 0.6 * (hi - lo)  # what per-image bands would have claimed


def test_landis_koch_bands_and_the_between_cluster_reading():
    assert [nsfw.landis_koch(k) for k in (-0.1, 0.0, 0.14, 0.2, 0.21, 0.4, 0.55, 0.62, 0.8, 0.95)] == [
        "poor", "slight", "slight", "slight", "fair", "fair", "moderate", "substantial", "substantial",
        "almost perfect"]
    assert nsfw.landis_koch(float("nan")) == "undefined"
    by_cluster = pd.DataFrame({"cluster": [1, 2, 3], "kappa": [0.0, 0.14, np.nan],
                               "kappa_reported": [False, True, True], "pabak": [0.8, 0.5, 0.9],
                               "sensitivity": [0.01, 0.9, 0.0], "share_nsfw_gt_0_5": [0.001, 0.9, 0.0]})
    overall = nsfw.Agreement(n=100, kappa=0.62, agreement=0.9, both=5, flag_only=6, score_only=4, neither=85)
    s = nsfw.kappa_summary(overall, by_cluster, inference.Interval(0.62, 0.55, 0.7, 0.99))
    assert s.band == "substantial" and s.between_clusters and s.pabak == pytest.approx(0.8)
    assert s.within_min == 0.14 and s.within_max == 0.14 and s.n_reported == 1  # the paradoxical 0.0 is left out
    assert s.n_rare == 2 and s.rare_sensitivity_max == 0.01 and s.flag_broader
    assert not nsfw.kappa_summary(overall, by_cluster, inference.Interval(0.1, 0.05, 0.2, 0.99)).between_clusters


def test_overall_shares(small_release):
    got = nsfw.overall_shares(small_release, 0.5)
    assert got.flagged == pytest.approx(small_release["possibly_sensitive"].astype(float).mean())
    assert got.above == pytest.approx((small_release["nsfw_score"] > 0.5).mean())


def test_cluster_contrast(small_release):
    by = nsfw.nsfw_by_cluster(small_release)
    c = nsfw.cluster_contrast(by)
    rest = by[~by["mostly_nsfw"]]
    assert len(c.mostly) == by["mostly_nsfw"].sum() and c.n_rest == len(rest)
    assert c.rest_score_max == rest["share_nsfw_gt_0_5"].max()
    assert c.rest_flag_min == rest["share_possibly_sensitive"].min()
    assert c.flag_spread == (rest["share_possibly_sensitive"].mean() > 3 * rest["share_nsfw_gt_0_5"].mean())
