"""Tests of twigma.analysis.overview: counts of the release and its growth over time (paper Figure 1b; claims C1, C2), and the helpers every notebook uses to compare the first and the last months of the period (:func:`early_late_months`, :func:`pooled`, :func:`early_late`)."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.tsa.stattools import acf
from support.quirky_releases import _releases

from twigma.analysis import claims, nsfw, overview
from twigma.release import load_release


def newey_west_by_hand(x: np.ndarray, y: np.ndarray, lags: int) -> tuple[float, float]:
    """OLS slope and its Newey-West (1987) standard error, written out: Bartlett weights
    1 - j / (L + 1), small-sample factor n / (n - 2)."""
    X = np.column_stack([np.ones_like(x), x])
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    u = y - X @ beta
    n = len(y)
    S = (X * u[:, None]).T @ (X * u[:, None])
    for j in range(1, lags + 1):
        G = (X[j:] * u[j:, None]).T @ (X[:-j] * u[:-j, None])
        S += (1 - j / (lags + 1)) * (G + G.T)
    bread = np.linalg.inv(X.T @ X)
    V = bread @ S @ bread * n / (n - 2)
    return float(beta[1]), float(np.sqrt(V[1, 1]))


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


def test_monthly_counts_match_a_plain_groupby(small_release):
    got = overview.monthly_counts(small_release)
    period = small_release["created_at"].dt.tz_localize(None).dt.to_period("M").astype(str)
    expect_tweets = small_release.groupby(period)["id"].nunique()
    expect_images = period.value_counts()
    g = got.set_index("month")
    assert g.loc[expect_tweets.index, "n_tweets"].tolist() == expect_tweets.tolist()
    assert g.loc[expect_images.index, "n_images"].tolist() == expect_images.loc[expect_images.index].tolist()
    assert g["n_images"].sum() == len(small_release)
    assert list(got.columns[:3]) == ["month", "n_tweets", "n_images"]


def test_monthly_counts_fill_empty_months_with_zero(small_release):
    two = small_release[small_release["created_at"].dt.strftime("%Y-%m").isin(["2021-01", "2021-04"])]
    got = overview.monthly_counts(two)
    assert got["month"].tolist() == ["2021-01", "2021-02", "2021-03", "2021-04"]
    assert got["n_images"].tolist()[1:3] == [0, 0]


def test_data_summary_counts(small_release):
    s = overview.data_summary(small_release).set_index("metric")["value"]
    assert s["n_images"] == len(small_release)
    assert s["n_tweets"] == small_release["id"].nunique()
    assert s["share_likes_missing"] == pytest.approx(small_release["like_count"].isna().mean(), abs=1e-4)
    assert pd.Timestamp(s["first_created_at"]) == small_release["created_at"].min()


def test_growth_trend_against_pairwise_kendall_tau():
    monthly = pd.DataFrame({"month": [f"2021-{m:02d}" for m in range(1, 11)],
                            "n_tweets": [3, 5, 4, 8, 13, 12, 20, 31, 30, 52]})
    got = overview.growth_trend(monthly)
    y = monthly["n_tweets"].to_numpy()
    pairs = list(combinations(range(len(y)), 2))
    concordant = sum(np.sign(y[j] - y[i]) for i, j in pairs)
    assert got.kendall_tau == pytest.approx(concordant / len(pairs))  # no ties: tau = (C - D) / pairs
    slope = np.polyfit(np.arange(10) / 12, np.log(y), 1)[0]
    assert got.growth_per_year == pytest.approx(np.exp(slope))


def test_growth_intervals_are_newey_west_intervals_written_out():
    rng = np.random.default_rng(3)
    n = 27
    ar = np.zeros(n)
    for i in range(1, n):  # serially correlated residuals, as monthly counts have
        ar[i] = 0.6 * ar[i - 1] + rng.normal(scale=0.3)
    y = np.round(np.exp(3 + 2.0 * np.arange(n) / 12 + ar))
    monthly = pd.DataFrame({"month": [f"{2021 + i // 12}-{i % 12 + 1:02d}" for i in range(n)], "n_tweets": y})
    alpha = 0.01
    g = overview.growth_trend(monthly, alpha=alpha)
    t = np.arange(n) / 12
    lags = int(np.floor(4 * (n / 100) ** (2 / 9)))
    assert overview.newey_west_lags(n) == lags == 2
    slope, se = newey_west_by_hand(t, np.log(y), lags)
    q = stats.t.ppf(1 - alpha / 2, n - 2)
    assert g.growth_per_year == pytest.approx(np.exp(slope))
    assert g.growth_ci_low == pytest.approx(np.exp(slope - q * se), rel=1e-8)
    assert g.growth_ci_high == pytest.approx(np.exp(slope + q * se), rel=1e-8)
    half = n // 2
    s1, se1 = newey_west_by_hand(t[:half], np.log(y[:half]), overview.newey_west_lags(half))
    q1 = stats.t.ppf(1 - alpha / 2, half - 2)
    assert g.growth_first_half_ci_low == pytest.approx(np.exp(s1 - q1 * se1), rel=1e-8)
    assert g.ci_level == 0.99
    st = overview.steady_growth(g, alpha)
    assert st.first_half.low < st.first_half.estimate < st.first_half.high and st.whole.level == 0.99
    wide = overview.growth_trend(monthly, alpha=0.2)
    assert wide.growth_ci_high - wide.growth_ci_low < g.growth_ci_high - g.growth_ci_low
    assert "99% Newey-West HAC CI x" in claims.check_c2(g).observed


def test_one_rate_uses_the_stated_ratio():
    y = np.r_[np.round(10 * 1.05 ** np.arange(12)), np.round(18 * 1.3 ** np.arange(12))]
    monthly = pd.DataFrame({"month": [f"{2021 + i // 12}-{i % 12 + 1:02d}" for i in range(24)], "n_tweets": y})
    g = overview.growth_trend(monthly)
    ratio = g.growth_second_half / g.growth_first_half
    assert not g.one_growth_rate
    assert overview.growth_trend(monthly, max_rate_ratio=ratio * 1.01).one_growth_rate


def test_monthly_counts_list_the_empty_month(quirky):
    path, cache, gap = quirky
    got = overview.monthly_counts(load_release(path, cache_dir=cache)).set_index("month")
    assert got.loc[gap, "n_images"] == 0 and got.loc[gap, "n_tweets"] == 0  # the empty month is listed


def test_month_of_equals_strftime(quirky):
    for path, cache in _releases(quirky):
        created = load_release(path, cache_dir=cache, columns=["created_at"])["created_at"]
        for s in (created, created.iloc[::3], created.rename(None)):  # another index, no name
            pd.testing.assert_series_equal(overview.month_of(s), s.dt.tz_convert("UTC").dt.strftime("%Y-%m"),
                                           check_exact=True)
    with_nat = pd.Series(pd.to_datetime(["2022-01-31 23:59:59", None], utc=True))
    pd.testing.assert_series_equal(overview.month_of(with_nat), with_nat.dt.strftime("%Y-%m"))
    eastern = pd.Series(pd.to_datetime(["2022-02-01 01:00"], utc=True)).dt.tz_convert("America/New_York")
    assert overview.month_of(eastern).tolist() == ["2022-02"]  # the UTC month, not the local one


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


def test_hamed_rao_matches_the_formula_and_widens_an_autocorrelated_trend():
    rng = np.random.default_rng(3)
    e = np.zeros(40)
    for i in range(1, 40):  # AR(1) noise around a weak trend: runs of months above the line
        e[i] = 0.8 * e[i - 1] + rng.normal()
    y = 0.05 * np.arange(40) + e
    got = overview.mann_kendall_hamed_rao(y)
    z, p, var = hamed_rao_by_hand(y)
    assert got.z == pytest.approx(z) and got.p_value == pytest.approx(p) and got.var_s == pytest.approx(var)
    naive = stats.kendalltau(np.arange(40), y).pvalue
    assert got.variance_inflation > 1 and got.p_value > naive  # the correction makes it less optimistic


def test_growth_trend_reports_both_p_values_and_the_halves():
    y = np.r_[np.round(10 * 1.05 ** np.arange(12)), np.round(18 * 1.3 ** np.arange(12))]
    monthly = pd.DataFrame({"month": [f"{2021 + i // 12}-{i % 12 + 1:02d}" for i in range(24)], "n_tweets": y,
                            "n_images": 2 * y})
    g = overview.growth_trend(monthly)
    assert g.p_value == pytest.approx(overview.mann_kendall_hamed_rao(y).p_value)
    assert g.p_value_naive == pytest.approx(stats.kendalltau(np.arange(24), y).pvalue)
    first = np.polyfit(np.arange(12) / 12, np.log(y[:12]), 1)[0]
    second = np.polyfit(np.arange(12) / 12, np.log(y[12:]), 1)[0]
    assert g.growth_first_half == pytest.approx(np.exp(first)) and g.growth_second_half == pytest.approx(
        np.exp(second))
    assert not g.one_growth_rate and g.half_split == "2022-01"  # x1.8 then x23 per year
    steady = overview.steady_growth(g, alpha=0.01)
    assert steady.monotone and not steady.steady and steady.first_half.estimate == g.growth_first_half
    s = overview.growth_summary(monthly, g, pd.Timestamp("2022-12-15", tz="UTC"))
    assert s.last_month_partial and s.rises == int((np.diff(y) > 0).sum()) and s.peak == int(y.max())
    assert s.images_per_tweet == pytest.approx(2.0) and s.first_mean == pytest.approx(y[:3].mean())


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
