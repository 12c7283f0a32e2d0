"""Notebook 08's inference at the level of its claim (C9): every interval at 1 - alpha, Spearman's rho
over tweets with a bootstrap interval checked against scipy, and floored p-values flagged."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from twigma.analysis import claims, likes
from twigma.analysis.pformat import P_FLOOR


@pytest.fixture(scope="module")
def frame(small_release):
    rng = np.random.default_rng(21)
    f = likes.model_frame(small_release, pd.Series(rng.normal(size=len(small_release))))
    f["log1p_likes"] -= 0.05 * f["sim_z"]  # a modest planted slope
    return f


def test_every_interval_is_at_one_minus_alpha_against_statsmodels(frame):
    fit = smf.wls("log1p_likes ~ sim_z + C(month) + C(cluster) + sensitive", data=frame,
                  weights=frame["weight"]).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["tweet"])[0]})
    for alpha in (0.01, 0.05):
        row = likes.likes_regression(frame, alpha=alpha)
        lo, hi = fit.conf_int(alpha=alpha).loc["sim_z"]
        assert (row["ci_low_cluster"], row["ci_high_cluster"]) == pytest.approx((lo, hi), rel=1e-8)
        assert row["ci_level"] == 1 - alpha
        # the interval excludes 0 exactly when the test rejects at alpha (a Wald interval and its test)
        assert (row["ci_high_cluster"] < 0 or row["ci_low_cluster"] > 0) == (row["p_value_cluster"] < alpha)
    b99 = likes.binned_means(frame, bins=8, alpha=0.01)
    b95 = likes.binned_means(frame, bins=8, alpha=0.05)
    z = stats.norm.ppf(0.995)
    assert (b99["ci_high"] - b99["y_mean"]).to_numpy() == pytest.approx(z * b99["se"].to_numpy())
    assert ((b99["ci_high"] - b99["ci_low"]) > (b95["ci_high"] - b95["ci_low"])).all() and (b99["ci_level"] == 0.99).all()


def test_spearman_rho_over_tweets_and_its_interval_against_scipy(frame):
    row = likes.likes_regression(frame, alpha=0.01, n_resamples=2000, seed=3)
    tw = frame.groupby("tweet", sort=False).agg(likes=("likes", "first"), sim=("sim", "mean"))
    assert row["spearman_rho"] == pytest.approx(stats.spearmanr(tw["likes"], tw["sim"]).statistic, rel=1e-12)
    ref = stats.bootstrap((tw["likes"].to_numpy(), tw["sim"].to_numpy()),
                          lambda a, b: stats.spearmanr(a, b).statistic, paired=True, vectorized=False,
                          n_resamples=2000, confidence_level=0.99, method="percentile", rng=np.random.default_rng(3))
    assert row["spearman_ci_low"] == pytest.approx(ref.confidence_interval.low, rel=1e-9)
    assert row["spearman_ci_high"] == pytest.approx(ref.confidence_interval.high, rel=1e-9)
    assert row["spearman_ci_low"] < row["spearman_rho"] < row["spearman_ci_high"]
    # an independent reading of the spread: the interval's half-width is near z * sd of the replicates' mean,
    # about z / sqrt(n) for a correlation near 0 (Fisher)
    half = (row["spearman_ci_high"] - row["spearman_ci_low"]) / 2
    assert half == pytest.approx(stats.norm.ppf(0.995) / np.sqrt(len(tw)), rel=0.25)
    with pytest.raises(ValueError, match="at least 2000"):
        likes.likes_regression(frame, n_resamples=200)


def test_a_floored_p_value_is_flagged_and_read_as_a_bound(frame):
    steep = frame.assign(log1p_likes=frame["log1p_likes"] - 50 * frame["sim_z"])
    steep["likes"] = np.expm1(steep["log1p_likes"])  # the same order for Spearman's rho
    row = likes.likes_regression(steep)
    assert row["p_value"] == P_FLOOR and row["p_below_floor"] and row["p_below_floor_cluster"]
    assert likes.p_text_of(row, "p_value_cluster") == "p < 1e-16"
    mild = likes.likes_regression(frame)
    assert not mild["p_below_floor"] and likes.p_text_of(mild, "p_value").startswith("p = ")
    # a p-value of exactly the floor that was not floored reads as a value, not as a bound
    assert likes.p_text_of({"p_value": 1e-16, "p_below_floor": False}, "p_value") == "p = 1.0e-16"
    assert likes.p_text_of({"p_value": 1e-16}, "p_value") == "p < 1e-16"  # a table without the flag: a bound
    c9 = claims.check_c9(row, alpha=0.01)
    assert c9["holds"] == "yes" and "99% CI clustered by tweet" in c9["observed"] and "p < 1e-16" in c9["observed"]
    assert "95%" not in c9["observed"] and "over tweets" in c9["observed"]
    written = pd.DataFrame([row])
    assert written["p_below_floor"].dtype == bool
    assert claims.check_c9(written.iloc[0].to_dict(), alpha=0.01)["observed"] == c9["observed"]
