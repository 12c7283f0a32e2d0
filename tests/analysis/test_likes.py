"""Tests of twigma.analysis.likes: is similarity to natural photographs related to likes? (claim C9)"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from support.cache_entries import entries

from twigma.analysis import claims, inspiration, likes, variability
from twigma.analysis.pformat import P_FLOOR
from twigma.errors import UserError
from twigma.synthetic.embeddings import N_INSPIRED, generate_embeddings


@pytest.fixture(scope="module")
def frame(small_release):
    rng = np.random.default_rng(21)
    f = likes.model_frame(small_release, pd.Series(rng.normal(size=len(small_release))))
    f["log1p_likes"] -= 0.05 * f["sim_z"]  # a modest planted slope
    return f


@pytest.fixture(scope="module")
def fitted(frame):
    """likes_regression of ``frame`` with its defaults (ALPHA 0.01, 2,000 resamples of the Spearman interval:
    a second or two, made once for the tests that read it)."""
    return likes.likes_regression(frame)


@pytest.mark.usefixtures("fresh_cache")
def test_similarity_to_reference_cached_equals_uncached(random_unit_f16, fresh_cache):
    X, R = random_unit_f16(400), random_unit_f16(120)
    plain = likes.similarity_to_reference(X, R, k=5, precision="float32", cache=False)
    assert entries(fresh_cache) == []
    first = likes.similarity_to_reference(X, R, k=5, precision="float32")
    again = likes.similarity_to_reference(X, R, k=5, precision="float32")
    pd.testing.assert_frame_equal(first, plain)
    pd.testing.assert_frame_equal(again, plain)
    assert again.attrs["backend"] == plain.attrs["backend"]
    assert len(entries(fresh_cache)) == 1
    likes.similarity_to_reference(X, R, k=3, precision="float32")  # another k: another entry
    assert len(entries(fresh_cache)) == 2


def test_synthetic_embeddings_match_the_release_and_carry_the_built_in_effects(small_release):
    data = generate_embeddings(small_release, n_natural=800, n_art=800, dim=64)
    ids, X = data["twigma"]
    assert list(ids) == small_release["image_name"].tolist()
    disp = {s: variability.dispersion(data[s][1]) for s in ("twigma", "natural", "art")}
    assert disp["twigma"] < disp["natural"] and disp["twigma"] < disp["art"]
    sim = (X @ data["natural"][1].T).max(axis=1)
    known = small_release["like_count"].notna().to_numpy()
    rho, p = stats.spearmanr(sim[known], small_release["like_count"][known].astype(float))
    assert -0.35 < rho < -0.05 and p < 0.01  # a modest planted effect, still checkable
    assert len(data["planted"]) == N_INSPIRED and (data["planted"]["kind"] == "loose imitation").sum() == 10
    frame = likes.model_frame(small_release, sim)
    row = likes.likes_regression(frame)
    assert row.estimate < 0 and row.p_value_cluster < 0.01 and row.estimate > -0.5
    # the association is the generator's: without the planted effect it is gone
    flat = generate_embeddings(small_release, n_natural=800, n_art=800, dim=64, likes_effect=0.0)
    sim0 = (flat["twigma"][1] @ flat["natural"][1].T).max(axis=1)
    assert abs(stats.spearmanr(sim0[known], small_release["like_count"][known].astype(float))[0]) < 0.05


def test_likes_regression_against_statsmodels_with_explicit_dummies(small_release, frame, fitted):
    got = fitted
    X = pd.get_dummies(frame[["month", "cluster"]].astype(str), drop_first=True, dtype=float)
    X.insert(0, "sim_z", frame["sim_z"])
    X["sensitive"] = frame["sensitive"]
    X = sm.add_constant(X)
    w = 1 / frame.groupby("tweet")["tweet"].transform("count")  # each tweet weighs one
    fit = sm.WLS(frame["log1p_likes"], X, weights=w).fit(cov_type="HC1")
    assert got.estimate == pytest.approx(fit.params["sim_z"], rel=1e-8)
    assert got.std_err == pytest.approx(fit.bse["sim_z"], rel=1e-8)
    assert got.ci_low == pytest.approx(fit.conf_int(alpha=0.01).loc["sim_z", 0], rel=1e-8)
    assert got.z_stat == pytest.approx(fit.tvalues["sim_z"], rel=1e-8) and got.unit == "tweet"
    per_tweet = frame.groupby("tweet").agg(likes=("likes", "first"), sim=("sim", "mean"))
    rho, p = stats.spearmanr(per_tweet["likes"], per_tweet["sim"])
    assert got.spearman_rho == pytest.approx(rho) and got.n == small_release["like_count"].notna().sum()


def test_binned_means_cover_every_image_and_keep_tweets_together(small_release):
    rng = np.random.default_rng(9)
    frame = likes.model_frame(small_release, pd.Series(rng.normal(size=len(small_release))))
    b = likes.binned_means(frame, bins=10)
    assert b["n"].sum() == len(frame) and b["n_tweets"].sum() == frame["tweet"].nunique()
    assert (b["ci_low"] < b["y_mean"]).all() and b["x_mean"].is_monotonic_increasing
    bin_of = likes.tweet_bins(frame["sim"], frame["tweet"], 10)
    assert pd.Series(bin_of).groupby(frame["tweet"].to_numpy()).nunique().eq(1).all()  # a tweet never straddles bins
    assert frame["tweet"].duplicated().any()  # (the release has tweets of several images, so that was a test)
    # each bin's mean and its tweet-clustered interval, as statsmodels gives them for an intercept-only OLS
    for k in (0, 5, 9):
        part = frame[bin_of == k]
        fit = sm.WLS(part["log1p_likes"].to_numpy(), np.ones(len(part)), weights=part["weight"].to_numpy()).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(part["tweet"])[0]})
        row = b.set_index("bin").loc[k]
        assert row["y_mean"] == pytest.approx(fit.params[0]) and row["se"] == pytest.approx(fit.bse[0], rel=1e-9)


def test_residualised_slope_is_the_adjusted_estimate(small_release):
    """Frisch-Waugh-Lovell: the binned-scatter view's slope equals the regression's coefficient."""
    rng = np.random.default_rng(10)
    frame = likes.model_frame(small_release, pd.Series(rng.normal(size=len(small_release))))
    frame["log1p_likes"] -= 0.3 * frame["sim_z"]
    got = likes.likes_regression(frame)
    adj = likes.residualise(frame)
    slope = np.polyfit(adj["sim_resid"], adj["likes_resid"], 1, w=np.sqrt(adj["weight"]))[0]  # weighted alike
    assert slope == pytest.approx(got.estimate, rel=1e-9) and got.estimate < -0.2
    assert likes.fwl_line(adj)[0] == pytest.approx(slope, rel=1e-9)
    assert abs(np.average(adj["sim_resid"], weights=adj["weight"])) < 1e-9 and adj["sim_resid"].std() < frame["sim_z"].std()
    # the residuals are free of the controls: no month explains them any more (weighted, as fitted)
    wmean = adj.assign(wr=adj["likes_resid"] * adj["weight"]).groupby("month")[["wr", "weight"]].sum()
    assert (wmean["wr"] / wmean["weight"]).abs().max() < 1e-9


def test_likes_errors_clustered_by_tweet_match_statsmodels(frame, fitted):
    import statsmodels.formula.api as smf

    got = fitted
    fit = smf.wls("log1p_likes ~ sim_z + C(month) + C(cluster) + sensitive", data=frame, weights=frame["weight"]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["tweet"])[0]})
    assert got.std_err_cluster == pytest.approx(fit.bse["sim_z"], rel=1e-8)
    assert got.n_tweets == frame["tweet"].nunique() < got.n


def test_likes_model_counts_each_tweet_once_and_never_writes_a_zero_p_value(small_release):
    """Copying a tweet's row to several images must not change the estimate: with tweet-constant
    similarity and cluster, the weighted image-level fit equals OLS on one row per tweet."""
    rel = small_release.copy()
    rel["label_10_cluster"] = rel.groupby("id")["label_10_cluster"].transform("first")
    rng = np.random.default_rng(12)
    tweet_sim = pd.Series(rng.normal(size=rel["id"].nunique()), index=rel["id"].unique())
    sim = rel["id"].map(tweet_sim).to_numpy()
    frame = likes.model_frame(rel, sim)
    assert frame.groupby("tweet")["weight"].sum().round(12).eq(1).all()
    got = likes.likes_regression(frame)
    one = frame.drop_duplicates("tweet")
    fit = smf.ols("log1p_likes ~ sim_z + C(month) + C(cluster) + sensitive", data=one).fit(cov_type="HC1")
    assert got.estimate == pytest.approx(fit.params["sim_z"], rel=1e-8)
    frame["log1p_likes"] = frame["log1p_likes"] - 50 * frame["sim_z"]  # an effect far beyond double precision
    huge = likes.likes_regression(frame)
    assert huge.p_value == P_FLOOR and huge.p_value_cluster == P_FLOOR and huge.z_stat < -40
    assert likes.floor_p(0.0) == P_FLOOR and likes.floor_p(0.03) == 0.03


def test_bin_trend_against_a_direct_reading():
    b = pd.DataFrame({"x_mean": np.arange(8.0), "y_mean": [8, 7, 6, 5, 4.5, 4.4, 4.3, 4.2]})
    sh = likes.bin_trend(b, slope=-1.0)
    assert (sh.agree, sh.steps, sh.monotone, sh.reading) == (7, 7, True, "monotone") and sh.span == pytest.approx(-3.8)
    assert sh.low_slope == pytest.approx(-1.0) and sh.high_slope == pytest.approx(-0.1) and sh.curved
    assert sh.steeper_half == "less"
    assert np.isnan(likes.bin_trend(b.iloc[:4], slope=-1.0).low_slope) and not sh.noisy
    zigzag = b.assign(y_mean=[8, 7, 7.5, 6, 6.5, 5, 5.5, 4])  # 4 of 7 steps follow the slope
    assert likes.bin_trend(zigzag.assign(se=1.0), slope=-1.0).reading == "noisy"  # median step 1 against SEs of 1.4
    assert likes.bin_trend(zigzag.assign(se=0.01), slope=-1.0).reading == "not monotone"


def test_similarity_summary_against_numpy():
    rng = np.random.default_rng(13)
    sim = pd.DataFrame({"max_sim": rng.uniform(size=500)})
    sim["mean_top10_sim"] = sim["max_sim"] - rng.uniform(0, 0.1, size=500)
    got = likes.similarity_summary(sim, "max_sim")
    assert got.other == "mean_top10_sim" and got.q05 == pytest.approx(np.quantile(sim["max_sim"], 0.05))
    assert got.rho == pytest.approx(pd.Series(sim["max_sim"]).corr(sim["mean_top10_sim"], method="spearman"))


def test_model_summary_and_chosen_summary_by_hand():
    row = {"n": 90, "estimate": -0.2, "std_err": 0.01, "std_err_cluster": 0.015, "p_value_cluster": 0.02}
    got = likes.model_summary(row, 100, alpha=0.05, raw_slope=-0.3)
    assert got.missing == pytest.approx(0.1) and got.factor == pytest.approx(np.exp(-0.2))
    assert got.widen == pytest.approx(1.5) and got.direction == "down" and got.weaker_with_controls
    assert likes.model_summary(row, 100, alpha=0.01).direction == "flat"  # the sentence follows p < ALPHA
    found = pd.DataFrame({"image_name": list("aabb"), "rank": [1, 2, 1, 2], "art_id": list("xyzw"),
                          "cosine": [0.9, 0.5, 0.7, 0.6]})
    assert inspiration.chosen_summary(found) == inspiration.ChosenSummary(best_min=0.7, best_max=0.9, runner_min=0.5,
                                                                          runner_max=0.6)


def test_every_interval_is_at_one_minus_alpha_against_statsmodels(frame, fitted):
    fit = smf.wls("log1p_likes ~ sim_z + C(month) + C(cluster) + sensitive", data=frame,
                  weights=frame["weight"]).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["tweet"])[0]})
    for alpha in (0.01, 0.05):
        row = fitted if alpha == 0.01 else likes.likes_regression(frame, alpha=alpha)  # 0.01: the default
        lo, hi = fit.conf_int(alpha=alpha).loc["sim_z"]
        assert (row.ci_low_cluster, row.ci_high_cluster) == pytest.approx((lo, hi), rel=1e-8)
        assert row.ci_level == 1 - alpha
        # the interval excludes 0 exactly when the test rejects at alpha (a Wald interval and its test)
        assert (row.ci_high_cluster < 0 or row.ci_low_cluster > 0) == (row.p_value_cluster < alpha)
    b99 = likes.binned_means(frame, bins=8, alpha=0.01)
    b95 = likes.binned_means(frame, bins=8, alpha=0.05)
    z = stats.norm.ppf(0.995)
    assert (b99["ci_high"] - b99["y_mean"]).to_numpy() == pytest.approx(z * b99["se"].to_numpy())
    assert ((b99["ci_high"] - b99["ci_low"]) > (b95["ci_high"] - b95["ci_low"])).all() and (b99["ci_level"] == 0.99).all()


def test_spearman_rho_over_tweets_and_its_interval_against_scipy(frame):
    row = likes.likes_regression(frame, alpha=0.01, n_resamples=2000, seed=3)
    tw = frame.groupby("tweet", sort=False).agg(likes=("likes", "first"), sim=("sim", "mean"))
    assert row.spearman_rho == pytest.approx(stats.spearmanr(tw["likes"], tw["sim"]).statistic, rel=1e-12)
    ref = stats.bootstrap((tw["likes"].to_numpy(), tw["sim"].to_numpy()),
                          lambda a, b: stats.spearmanr(a, b).statistic, paired=True, vectorized=False,
                          n_resamples=2000, confidence_level=0.99, method="percentile", rng=np.random.default_rng(3))
    assert row.spearman_ci_low == pytest.approx(ref.confidence_interval.low, rel=1e-9)
    assert row.spearman_ci_high == pytest.approx(ref.confidence_interval.high, rel=1e-9)
    assert row.spearman_ci_low < row.spearman_rho < row.spearman_ci_high
    # an independent reading of the spread: the interval's half-width is near z * sd of the replicates' mean,
    # about z / sqrt(n) for a correlation near 0 (Fisher)
    half = (row.spearman_ci_high - row.spearman_ci_low) / 2
    assert half == pytest.approx(stats.norm.ppf(0.995) / np.sqrt(len(tw)), rel=0.25)
    with pytest.raises(ValueError, match="at least 2000"):
        likes.likes_regression(frame, n_resamples=200)


def test_a_floored_p_value_is_flagged_and_read_as_a_bound(frame, fitted):
    steep = frame.assign(log1p_likes=frame["log1p_likes"] - 50 * frame["sim_z"])
    steep["likes"] = np.expm1(steep["log1p_likes"])  # the same order for Spearman's rho
    row = likes.likes_regression(steep)
    assert row.p_value == P_FLOOR and row.p_below_floor and row.p_below_floor_cluster
    assert likes.p_text_of(row, "p_value_cluster") == "p < 1e-16"
    mild = fitted
    assert not mild.p_below_floor and likes.p_text_of(mild, "p_value").startswith("p = ")
    # a p-value of exactly the floor that was not floored reads as a value, not as a bound
    assert likes.p_text_of({"p_value": 1e-16, "p_below_floor": False}, "p_value") == "p = 1.0e-16"
    assert likes.p_text_of({"p_value": 1e-16}, "p_value") == "p < 1e-16"  # a table without the flag: a bound
    c9 = claims.check_c9(row, alpha=0.01)
    assert c9.holds == "yes" and "99% CI clustered by tweet" in c9.observed and "p < 1e-16" in c9.observed
    assert "95%" not in c9.observed and "over tweets" in c9.observed
    written = pd.DataFrame([row.row()])
    assert written["p_below_floor"].dtype == bool
    assert claims.check_c9(written.iloc[0].to_dict(), alpha=0.01).observed == c9.observed


def test_the_reference_set_is_natural_or_art():
    nat, art = likes.reference("natural"), likes.reference("art")
    assert (nat.term, nat.checks_c9, nat.question) == ("similarity_to_natural", True, "C9")
    assert (art.term, art.checks_c9) == ("similarity_to_art", False) and "artworks" in art.question
    with pytest.raises(UserError, match="natural, art"):
        likes.reference("photos")
