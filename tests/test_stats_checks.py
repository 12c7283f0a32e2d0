"""The statistics behind notebooks 00-05's sentences, each against an independent implementation
(scipy, statsmodels, numpy written out) on small fixtures or planted cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tsa.stattools import acf

from twigma.analysis import engagement, inference, nsfw, overview, text, themes

# ---------------------------------------------------------------- early / late months -----

def test_early_late_months_are_the_two_ends_and_never_overlap():
    months = [f"{y}-{m:02d}" for y in (2021, 2022, 2023) for m in range(1, 13)][:27]
    early, late = overview.early_late_months(pd.Series(months[::-1]))  # any order
    assert early == months[:12] and late == months[-12:]
    e, la = overview.early_late_months(months[:15])  # fewer than 24: half each, no month shared
    assert e == months[:7] and la == months[8:15] and not set(e) & set(la)
    assert overview.early_late_months(pd.DataFrame({"month": months}), 3) == (months[:3], months[-3:])
    with pytest.raises(ValueError, match="no separate"):
        overview.early_late_months(["2021-01"])
    with pytest.raises(KeyError, match="'month' column"):
        overview.early_late_months(pd.DataFrame({"m": months}))


def test_pooled_and_early_late_equal_a_share_over_the_units(small_release):
    """Pooling monthly shares with their denominators is the share over the images of those months."""
    by_month = nsfw.nsfw_by_month(small_release)
    ends = overview.early_late(by_month, {"share_nsfw_gt_0_5": "n_score_known"}, n_months=6)
    month = small_release["created_at"].dt.strftime("%Y-%m")
    early, late = overview.early_late_months(by_month["month"], 6)
    for period, months in (("early", early), ("late", late)):
        imgs = small_release[month.isin(months)]
        assert ends.loc[period, "share_nsfw_gt_0_5"] == pytest.approx((imgs["nsfw_score"] > 0.5).mean())
        assert ends.loc[period, "first_month"] == months[0] and ends.loc[period, "n_months"] == 6
    t = pd.DataFrame({"v": [0.5, np.nan, 1.0], "w": [2, 5, 2]})
    assert overview.pooled(t, "v", "w") == pytest.approx(0.75)


def test_engagement_early_late_is_the_mean_over_images_with_known_likes(small_release):
    by_month = engagement.engagement_by_month(small_release)
    ends = engagement.early_late_engagement(by_month, n_months=6)
    month = small_release["created_at"].dt.strftime("%Y-%m")
    early, _ = overview.early_late_months(by_month["month"], 6)
    likes = small_release.loc[month.isin(early), "like_count"]
    assert ends.loc["early", "share_likes_missing"] == pytest.approx(likes.isna().mean())
    assert ends.loc["early", "mean_log1p_likes"] == pytest.approx(np.log1p(likes.dropna().astype(float)).mean())


# ---------------------------------------------------------------- growth (C2) --------------

def hamed_rao_by_hand(y, alpha=0.05):
    """Hamed & Rao (1998) written out: S and its variance (no ties), Sen-slope detrending, ranks,
    autocorrelations significant at alpha (statsmodels' acf), variance times n / n*."""
    y = np.asarray(y, float)
    n = len(y)
    s = sum(np.sign(y[j] - y[i]) for i in range(n) for j in range(i + 1, n))
    var = n * (n - 1) * (2 * n + 5) / 18
    slope = stats.theilslopes(y, np.arange(n)).slope
    r = stats.rankdata(y - slope * np.arange(1, n + 1))
    rho = acf(r, nlags=n - 1, fft=False)
    bound = stats.norm.ppf(1 - alpha / 2) / np.sqrt(n)
    corr = sum((n - i) * (n - i - 1) * (n - i - 2) * rho[i] for i in range(1, n - 2) if abs(rho[i]) > bound)
    var *= 1 + 2 / (n * (n - 1) * (n - 2)) * corr
    z = (s - np.sign(s)) / np.sqrt(var)
    return z, 2 * stats.norm.sf(abs(z)), var


def test_hamed_rao_matches_the_formula_and_widens_an_autocorrelated_trend():
    rng = np.random.default_rng(3)
    e = np.zeros(40)
    for i in range(1, 40):  # AR(1) noise around a weak trend: runs of months above the line
        e[i] = 0.8 * e[i - 1] + rng.normal()
    y = 0.05 * np.arange(40) + e
    got = overview.mann_kendall_hamed_rao(y)
    z, p, var = hamed_rao_by_hand(y)
    assert got["z"] == pytest.approx(z) and got["p_value"] == pytest.approx(p) and got["var_s"] == pytest.approx(var)
    naive = stats.kendalltau(np.arange(40), y).pvalue
    assert got["variance_inflation"] > 1 and got["p_value"] > naive  # the correction makes it less optimistic


def test_growth_trend_reports_both_p_values_and_the_halves():
    y = np.r_[np.round(10 * 1.05 ** np.arange(12)), np.round(18 * 1.3 ** np.arange(12))]
    monthly = pd.DataFrame({"month": [f"{2021 + i // 12}-{i % 12 + 1:02d}" for i in range(24)], "n_tweets": y,
                            "n_images": 2 * y})
    g = overview.growth_trend(monthly)
    assert g["p_value"] == pytest.approx(overview.mann_kendall_hamed_rao(y)["p_value"])
    assert g["p_value_naive"] == pytest.approx(stats.kendalltau(np.arange(24), y).pvalue)
    first = np.polyfit(np.arange(12) / 12, np.log(y[:12]), 1)[0]
    second = np.polyfit(np.arange(12) / 12, np.log(y[12:]), 1)[0]
    assert g["growth_first_half"] == pytest.approx(np.exp(first)) and g["growth_second_half"] == pytest.approx(
        np.exp(second))
    assert not g["one_growth_rate"] and g["half_split"] == "2022-01"  # x1.8 then x23 per year
    steady = overview.steady_growth(g, alpha=0.01)
    assert steady.monotone and not steady.steady and steady.first_half.estimate == g["growth_first_half"]
    s = overview.growth_summary(monthly, g, pd.Timestamp("2022-12-15", tz="UTC"))
    assert s.last_month_partial and s.rises == int((np.diff(y) > 0).sum()) and s.peak == int(y.max())
    assert s.images_per_tweet == pytest.approx(2.0) and s.first_mean == pytest.approx(y[:3].mean())


# ---------------------------------------------------------------- themes (03) -------------

def test_quasi_binomial_scale_is_floored_at_one():
    """Under-dispersed months (closer to the trend than binomial sampling allows) keep binomial errors."""
    n = np.full(24, 1000)
    t = np.arange(24) / 12
    p = 1 / (1 + np.exp(-(-1 + 0.3 * t)))
    s = np.round(n * p)  # exactly on the curve: Pearson dispersion far below 1
    res = themes.trend_test(s, n, t)
    assert res["dispersion"] < 0.1 and res["scale"] == 1.0
    binom = sm.GLM(np.c_[s, n - s], sm.add_constant(t), family=sm.families.Binomial()).fit()
    assert res["std_err"] == pytest.approx(binom.bse[1], rel=1e-6)


def test_residual_check_matches_ljung_box_written_out():
    rng = np.random.default_rng(5)
    r = np.cumsum(rng.normal(size=26)) * 0.3 + rng.normal(size=26)
    got = themes.residual_autocorrelation(r)
    n, k = len(r), min(themes.LJUNG_BOX_LAGS, len(r) // 4)
    d = r - r.mean()
    rho = [np.sum(d[j:] * d[:-j]) / np.sum(d * d) for j in range(1, k + 1)]
    q = n * (n + 2) * sum(rho[j - 1] ** 2 / (n - j) for j in range(1, k + 1))
    assert got["ljung_box_lags"] == k and got["ljung_box_stat"] == pytest.approx(q)
    assert got["ljung_box_p"] == pytest.approx(stats.chi2.sf(q, k)) and got["resid_acf1"] == pytest.approx(rho[0])


def test_trend_test_flags_runs_of_months_above_the_trend():
    rng = np.random.default_rng(7)
    n = np.full(30, 800)
    t = np.arange(30) / 12
    wave = 0.6 * np.sin(np.arange(30) / 3)  # slow swings: serial correlation the scale cannot absorb
    s = rng.binomial(n, 1 / (1 + np.exp(-(-1 + wave))))
    res = themes.trend_test(s, n, t)
    assert res["resid_acf1"] > 0.5 and res["ljung_box_p"] < 0.01
    glm = sm.GLM(s / n, sm.add_constant(t), family=sm.families.Binomial(), var_weights=n).fit()
    assert res["resid_acf1"] == pytest.approx(acf(glm.resid_pearson, nlags=1)[1])


def test_theme_trends_first_and_last_year_shares_are_pooled_over_the_same_months(small_release):
    trends = themes.theme_trends(small_release, min_images_per_month=20)
    counts = themes.monthly_cluster_counts(small_release)
    kept = counts[counts["n_images"] >= 20]
    early, late = overview.early_late_months(kept.index.tolist())
    month = small_release["created_at"].dt.strftime("%Y-%m")
    for k in (1, 8):
        row = trends.set_index("cluster").loc[k]
        for col, months in (("share_first_year", early), ("share_last_year", late)):
            imgs = small_release[month.isin(months)]
            assert row[col] == pytest.approx((imgs["label_10_cluster"] == k).mean())
    assert {"scale", "resid_acf1", "ljung_box_p"} <= set(trends.columns) and (trends["scale"] >= 1).all()
    summary = themes.trend_summary(trends, [1, 3, 4], [8, 9], 0.01)
    diff = trends["share_last_year"] - trends["share_first_year"]
    assert summary.largest_gain.cluster == trends.loc[diff.idxmax(), "cluster"]
    assert summary.largest_loss.cluster == trends.loc[diff.idxmin(), "cluster"]


def test_trend_summary_picks_unnamed_clusters_with_holm():
    from statsmodels.stats.multitest import multipletests

    trends = pd.DataFrame({"cluster": [1, 2, 3, 4, 5, 6, 8], "direction": ["down", "up", "flat", "down", "up", "down", "up"],
                           "p_value": [1e-5, 0.004, 0.3, 1e-4, 0.0021, 0.006, 0.002],
                           "share_first_year": 0.1, "share_last_year": [0.2, 0.1, 0.1, 0.05, 0.1, 0.1, 0.1],
                           "dispersion": [0.5, 2, 3, 1, 1, 1, 1], "scale": [1, 2, 3, 1, 1, 1, 1],
                           "ljung_box_p": [0.5, 0.001, 0.5, 0.5, 0.5, 0.5, 0.5], "resid_acf1": 0.1})
    s = themes.trend_summary(trends, [1, 3, 4], [8], alpha=0.01)
    assert s.n_declining_named == 2 and s.n_rising_named == 1 and s.unnamed == (2, 5, 6)
    holm = multipletests([0.004, 0.0021, 0.006], alpha=0.01, method="holm")[0]  # 0.0021*3 < 0.01, 0.004*2 < 0.01, 0.006
    assert s.unnamed_movers == tuple(k for k, h in zip((2, 5, 6), holm) if h) == (2, 5, 6)
    s2 = themes.trend_summary(trends.assign(p_value=[1e-5, 0.004, 0.3, 1e-4, 0.0041, 0.006, 0.002]), [1, 3, 4], [8], 0.01)
    assert s2.unnamed_movers == () and s2.unnamed_unadjusted_only == (2, 5, 6)  # 0.004 * 3 > 0.01: Holm stops
    assert s.declining == (1, 4, 6) and s.rising == (2, 5, 8) and s.not_significant == (3,)
    assert s.autocorrelated == (2,) and s.n_floored == 1 and s.sd_factor_max == pytest.approx(np.sqrt(3))
    assert s.largest_gain.cluster == 1 and s.largest_loss.cluster == 4 and s.level_text == "99%"


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_theme_trends_intervals_are_statsmodels_at_alpha_and_agree_with_directions(small_release, alpha):
    import statsmodels.api as sm

    trends = themes.theme_trends(small_release, alpha=alpha, min_images_per_month=20)
    assert (trends["ci_level"] == 1 - alpha).all()
    excludes = (trends["ci_low"] > 0) | (trends["ci_high"] < 0)
    assert (excludes == (trends["direction"] != "flat")).all()
    counts = themes.monthly_cluster_counts(small_release)
    counts = counts[counts["n_images"] >= 20]
    X = sm.add_constant(counts["t_years"].to_numpy())
    for k in (1, 10):
        y = np.column_stack([counts[k], counts["n_images"] - counts[k]])
        fit = sm.GLM(y, X, family=sm.families.Binomial()).fit()
        scale = max(1.0, float(np.sum(fit.resid_pearson ** 2) / fit.df_resid))
        res = sm.GLM(y, X, family=sm.families.Binomial()).fit(scale=scale, use_t=True)
        row = trends.set_index("cluster").loc[k]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(res.conf_int(alpha=alpha)[1]), rel=1e-5, abs=1e-6)
        band = themes.fitted_shares(trends[trends["cluster"] == k], counts, alpha=alpha)
        pred = res.get_prediction(X).summary_frame(alpha=alpha)
        np.testing.assert_allclose(band["ci_low"], pred["mean_ci_lower"], rtol=1e-5)


# ---------------------------------------------------------------- 02's map and words ------

def test_map_compactness_against_a_brute_force_loop(small_release):
    got = themes.map_compactness(small_release)
    xy = small_release[["UMAP_dim_1", "UMAP_dim_2"]].to_numpy(float)
    lab = small_release["label_10_cluster"].to_numpy()
    cent = {k: np.median(xy[lab == k], axis=0) for k in np.unique(lab)}
    keys = list(cent)
    nearest = np.array([keys[int(np.argmin([np.sum((p - cent[k]) ** 2) for k in keys]))] for p in xy])
    own = pd.Series(nearest == lab).groupby(lab).mean()
    assert got.overall == pytest.approx(np.mean(nearest == lab))
    np.testing.assert_allclose(got.by_cluster.to_numpy(), own.to_numpy())
    assert got.most_mixed == own.idxmin() and got.most_compact == own.idxmax()
    assert got.separate == bool(own.min() > got.min_own_share)


def test_word_markers_and_ranks():
    words = pd.DataFrame({"cluster": [1, 1, 2, 2, 3], "rank": [1, 2, 1, 2, 1],
                          "word": ["cat", "dog", "woman", "cat", "sky"], "score": [40.0, 20.0, 30.0, 10.0, 5.0]})
    m = text.word_markers(words)
    assert m.best["word"] == "cat" and m.weakest["cluster"] == 3 and m.weak_name
    r = text.word_ranks(words, ["cat", "man"])
    assert (r[0].word, r[0].cluster, r[0].rank, r[0].score) == ("cat", 1, 1, 40.0)
    assert (r[1].word, r[1].cluster, r[1].rank, r[1].n_at_rank) == ("man", None, None, 0)


def test_cluster_sizes_and_multi_image_shares(small_release):
    names = pd.Series({k: f"n{k}" for k in range(1, 11)})
    sizes = themes.cluster_sizes(small_release, names)
    assert sizes["n_images"].sum() == len(small_release) and sizes["share"].sum() == pytest.approx(1)
    rng = themes.size_range(sizes)
    counts = small_release["label_10_cluster"].value_counts()
    assert rng.ratio == pytest.approx(counts.max() / counts.min())
    per = overview.multi_image_shares(overview.images_per_tweet(small_release))
    size = small_release.groupby("id")["id"].transform("size")
    assert per.multi_image_image_share == pytest.approx((size > 1).mean())
    assert per.close_to_tweets == (per.multi_image_image_share < 0.2)
    assert per.single_tweet_share == pytest.approx((small_release.groupby("id").size() == 1).mean())


# ---------------------------------------------------------------- nsfw (04) ---------------

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
    overall = {"n": 100, "agreement": 0.9, "flag_only": 6, "score_only": 4}
    s = nsfw.kappa_summary(overall, by_cluster, inference.Interval(0.62, 0.55, 0.7, 0.99))
    assert s.band == "substantial" and s.between_clusters and s.pabak == pytest.approx(0.8)
    assert s.within_min == 0.14 and s.within_max == 0.14 and s.n_reported == 1  # the paradoxical 0.0 is left out
    assert s.n_rare == 2 and s.rare_sensitivity_max == 0.01 and s.flag_broader
    assert not nsfw.kappa_summary(overall, by_cluster, inference.Interval(0.1, 0.05, 0.2, 0.99)).between_clusters


def test_overall_shares(small_release):
    got = nsfw.overall_shares(small_release, 0.5)
    assert got.flagged == pytest.approx(small_release["possibly_sensitive"].astype(float).mean())
    assert got.above == pytest.approx((small_release["nsfw_score"] > 0.5).mean())


# ---------------------------------------------------------------- engagement (05) ---------

def test_top_share_and_likes_extremes(small_release):
    likes = pd.Series([100, 1, 1, 1, 1, 1, 1, 1, 1, 1, np.nan] * 10, dtype=float)
    assert engagement.top_share(likes, 0.1) == pytest.approx(1000 / 1090)
    by = engagement.engagement_by_cluster(small_release)
    e = engagement.likes_extremes(by, small_release)
    g = small_release.dropna(subset=["like_count"]).groupby("label_10_cluster")["like_count"]
    gm = g.apply(lambda s: stats.gmean(1 + s.astype(float)))  # geometric means of (1 + likes), scipy
    assert e.ratio.estimate == pytest.approx(gm.max() / gm.min()) and e.most.name == gm.idxmax()
    assert (by["n_likes_known"] == g.size().reindex(by["cluster"]).to_numpy()).all()


# ---------------------------------------------------------------- data dictionary ---------

def test_data_dictionary_ranges_are_rounded(small_release):
    from twigma.release import data_dictionary

    d = data_dictionary(small_release).set_index("column")["range_or_example"]
    lo, hi = d["nsfw_score"].removeprefix("from ").split(" to ")
    assert len(hi.replace("0.", "").lstrip("0")) <= 4 and float(hi) == pytest.approx(
        small_release["nsfw_score"].max(), rel=1e-3)
    assert d["like_count"] == f"from {int(small_release['like_count'].min())} to {int(small_release['like_count'].max())}"
    from twigma.files import spreadsheet_safe  # ranges stay readable in the written table: "from -12.5 to 13"

    assert not spreadsheet_safe(data_dictionary(small_release))["range_or_example"].str.startswith("'").any()


def test_fitted_growth_draws_one_line_or_one_per_half():
    y = np.r_[np.round(10 * 1.05 ** np.arange(12)), np.round(18 * 1.3 ** np.arange(12))]
    monthly = pd.DataFrame({"month": [f"{2021 + i // 12}-{i % 12 + 1:02d}" for i in range(24)], "n_tweets": y})
    g = overview.growth_trend(monthly)
    lines = overview.fitted_growth(monthly, g)
    assert lines["segment"].unique().tolist() == ["first half", "second half"] and len(lines) == 24
    second = lines[lines["segment"] == "second half"]
    fit = np.polyfit(np.arange(12) / 12, np.log(y[12:]), 1)
    np.testing.assert_allclose(second["fitted"], np.exp(np.polyval(fit, np.arange(12) / 12)), rtol=1e-8)
    steady = pd.DataFrame({"month": monthly["month"], "n_tweets": np.round(10 * 1.2 ** np.arange(24))})
    one = overview.fitted_growth(steady, overview.growth_trend(steady))
    assert one["segment"].unique().tolist() == ["whole period"]


def test_month_sizes(small_release):
    counts = themes.monthly_cluster_counts(small_release)
    got = themes.month_sizes(counts, 100)
    per_month = small_release["created_at"].dt.strftime("%Y-%m").value_counts().sort_index()
    assert got.smallest == per_month.min() and got.largest == per_month.max() and got.min_images == 100
    assert got.n_small == int((per_month < 100).sum()) and got.first_k == per_month.iloc[:3].sum() and got.k == 3


def test_cluster_contrast(small_release):
    by = nsfw.nsfw_by_cluster(small_release)
    c = nsfw.cluster_contrast(by)
    rest = by[~by["mostly_nsfw"]]
    assert len(c.mostly) == by["mostly_nsfw"].sum() and c.n_rest == len(rest)
    assert c.rest_score_max == rest["share_nsfw_gt_0_5"].max()
    assert c.rest_flag_min == rest["share_possibly_sensitive"].min()
    assert c.flag_spread == (rest["share_possibly_sensitive"].mean() > 3 * rest["share_nsfw_gt_0_5"].mean())
