"""Tests of twigma.analysis.themes: how the shares of the ten clusters move over time (claims C4, C5)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.tsa.stattools import acf

from twigma.analysis import overview, themes


def test_trend_test_matches_image_level_logit_and_hand_dispersion(small_release):
    counts = themes.monthly_cluster_counts(small_release)
    k = 8
    res = themes.trend_test(counts[k].to_numpy(), counts["n_images"].to_numpy(), counts["t_years"].to_numpy())
    # the same slope from a logistic regression on one row per image (statsmodels Logit)
    month = small_release["created_at"].dt.strftime("%Y-%m")
    t = month.map(counts["t_years"]).to_numpy()
    y = (small_release["label_10_cluster"] == k).to_numpy().astype(float)
    logit = sm.Logit(y, sm.add_constant(t)).fit(disp=0)
    assert res["slope"] == pytest.approx(logit.params[1], rel=1e-6)
    # Pearson dispersion by hand, and the standard error inflated by it
    p = logit.predict(sm.add_constant(counts["t_years"].to_numpy()))
    n, s = counts["n_images"].to_numpy(), counts[k].to_numpy()
    chi2 = np.sum((s - n * p) ** 2 / (n * p * (1 - p)))
    df = len(n) - 2
    assert res["dispersion"] == pytest.approx(chi2 / df, rel=1e-6)
    assert res["std_err"] == pytest.approx(logit.bse[1] * np.sqrt(chi2 / df), rel=1e-4)
    assert res["p_value"] == pytest.approx(2 * stats.t.sf(abs(res["slope"] / res["std_err"]), df), rel=1e-4)


def test_theme_trends_table_and_directions(small_release):
    tr = themes.theme_trends(small_release, alpha=0.01)
    assert list(tr.columns[:4]) == ["cluster", "slope", "p_value", "direction"]
    assert tr["cluster"].tolist() == list(range(1, 11))
    assert set(tr["direction"]) <= {"up", "down", "flat"}
    assert ((tr["direction"] == "flat") == (tr["p_value"] >= 0.01)).all()
    t = tr.set_index("cluster")
    assert t.loc[4, "direction"] == "down" and t.loc[9, "direction"] == "up"  # built into the sample


def test_trend_of_a_constant_share_is_flat():
    rng = np.random.default_rng(1)
    n = rng.integers(200, 400, size=24)
    s = rng.binomial(n, 0.3)
    res = themes.trend_test(s, n, np.arange(24) / 12)
    assert res["p_value"] > 0.01


def test_monthly_shares_sum_to_one(small_release):
    sh = themes.monthly_shares(small_release)
    assert np.allclose(sh.groupby("month")["share"].sum(), 1.0)
    assert sh["n_images"].sum() == len(small_release)


def test_fitted_shares_have_a_band_around_the_fit(small_release):
    counts = themes.monthly_cluster_counts(small_release)
    counts = counts[counts["n_images"] >= 20]
    trends = themes.theme_trends(small_release, min_images_per_month=20)
    f = themes.fitted_shares(trends, counts)
    assert ((f["ci_low"] <= f["fitted"]) & (f["fitted"] <= f["ci_high"])).all()
    assert (f["ci_high"] - f["ci_low"]).gt(0).all()


def test_logit_clustered_trends_with_one_design_equal_a_fit_per_cluster(small_release):
    """theme_trends makes the pooled rows once (themes.logit_design) for its ten clusters: the same fit as each
    cluster's own (which tests/test_scale.py checks against statsmodels)."""
    trends = themes.theme_trends(small_release, min_images_per_month=1, model="logit-clustered").set_index("cluster")
    t = themes.years_since_origin(small_release["created_at"]).to_numpy()
    for k in trends.index:
        own = themes.trend_test_logit_clustered(small_release["label_10_cluster"].to_numpy() == k, t,
                                                small_release["id"].to_numpy())
        assert trends.loc[k, "slope"] == pytest.approx(own["slope"], rel=1e-12)
        assert trends.loc[k, "std_err"] == pytest.approx(own["std_err"], rel=1e-12)


def test_trend_models_against_statsmodels_and_scipy(small_release):
    import statsmodels.api as sm
    from scipy import stats

    qb = themes.theme_trends(small_release, min_images_per_month=20).set_index("cluster")
    lc = themes.theme_trends(small_release, min_images_per_month=20, model="logit-clustered").set_index("cluster")
    mk = themes.theme_trends(small_release, min_images_per_month=20, model="mann-kendall").set_index("cluster")
    counts = themes.monthly_cluster_counts(small_release)
    counts = counts[counts["n_images"] >= 20]
    kept = overview.month_of(small_release["created_at"]).isin(counts.index).to_numpy()
    rel = small_release[kept]
    y = (rel["label_10_cluster"] == 8).to_numpy(float)
    X = sm.add_constant(themes.years_since_origin(rel["created_at"]).to_numpy())
    fit = sm.Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(rel["id"])[0]})
    assert np.isclose(lc.loc[8, "slope"], fit.params[1], rtol=1e-6)
    assert np.isclose(lc.loc[8, "p_value"], fit.pvalues[1], rtol=1e-4)
    share = counts[8] / counts["n_images"]
    assert np.isclose(mk.loc[8, "p_value"], stats.kendalltau(counts["t_years"], share).pvalue)
    logit = np.log((counts[8] + 0.5) / (counts["n_images"] - counts[8] + 0.5))
    assert np.isclose(mk.loc[8, "slope"], stats.theilslopes(logit, counts["t_years"]).slope)
    for k in (1, 8, 9):  # the strong trends of the generator: one sign under every model
        assert np.sign(qb.loc[k, "slope"]) == np.sign(lc.loc[k, "slope"]) == np.sign(mk.loc[k, "slope"])
    with pytest.raises(ValueError, match="model must be one of"):
        themes.theme_trends(small_release, model="ols")


def test_theme_trends_from_shared_counts_equal_those_from_the_rows(small_release):
    """theme_trends(counts=monthly_cluster_counts(df)), as the grid calls it, gives the table it makes from
    the rows, for every model and both month floors; without the rows for the models on monthly counts."""
    from twigma.analysis import themes

    counts = themes.monthly_cluster_counts(small_release)
    for model in themes.TREND_MODELS:
        for floor in (20, 200):
            want = themes.theme_trends(small_release, min_images_per_month=floor, model=model)
            df = small_release if model == "logit-clustered" else None
            got = themes.theme_trends(df, min_images_per_month=floor, model=model, counts=counts.copy())
            pd.testing.assert_frame_equal(got, want, check_exact=True)
            assert len(want) == 10 and want["n_months"].nunique() == 1


def test_logit_clustered_equals_statsmodels(small_release):
    """themes.trend_test_logit_clustered (pooled binomial rows, Newton, tweet sandwich) against
    statsmodels' image-level GLM with cov_type='cluster', per cluster of a 3,000-image release."""
    import statsmodels.api as sm

    from twigma.analysis import themes

    df = small_release
    t0 = themes.years_since_origin(df["created_at"]).to_numpy()
    codes = pd.factorize(df["id"])[0]
    shifted = t0 + np.where(np.arange(len(t0)) % 3 == 0, 1e-4, 0.0)  # images of one tweet at different times
    for t, k in [(t, k) for t in (t0, shifted) for k in sorted(df["label_10_cluster"].unique())]:
        y = (df["label_10_cluster"] == k).to_numpy()
        ref = sm.GLM(y.astype(float), sm.add_constant(t), family=sm.families.Binomial()).fit(
            cov_type="cluster", cov_kwds={"groups": codes}, tol=1e-13)
        got = themes.trend_test_logit_clustered(y, t, df["id"].to_numpy())
        lo, hi = ref.conf_int(alpha=0.01)[1]  # the default level, 1 - inference.DEFAULT_ALPHA
        for key, want in (("slope", ref.params[1]), ("std_err", ref.bse[1]), ("p_value", ref.pvalues[1]),
                          ("ci_low", lo), ("ci_high", hi)):
            assert got[key] == pytest.approx(want, rel=1e-8, abs=1e-12), (k, key)


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


def test_month_sizes(small_release):
    counts = themes.monthly_cluster_counts(small_release)
    got = themes.month_sizes(counts, 100)
    per_month = small_release["created_at"].dt.strftime("%Y-%m").value_counts().sort_index()
    assert got.smallest == per_month.min() and got.largest == per_month.max() and got.min_images == 100
    assert got.n_small == int((per_month < 100).sum()) and got.first_k == per_month.iloc[:3].sum() and got.k == 3
