"""The intervals and readings of the release-only notebooks (00-05), checked against independent
implementations: a hand-written Newey-West formula, scipy's bootstrap, the row-level tweet bootstrap,
scikit-learn's kappa on resampled rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from twigma.analysis import claims, engagement, inference, nsfw, overview, text
from twigma.present import narrative

# ---------------------------------------------------------------- C1, banner, dictionary -----

def _summary(n: int, last: str = "2023-03-30T00:00:00+00:00") -> pd.DataFrame:
    return pd.DataFrame({"metric": ["n_images", "first_created_at", "last_created_at"],
                         "value": [n, "2021-01-02T00:00:00+00:00", last]})


@pytest.mark.parametrize("n, holds", [(799_999, "no"), (800_000, "no"), (800_001, "yes"), (950_000, "yes"),
                                      (2_000_000, "yes")])
def test_c1_holds_only_over_the_target_with_no_band(n, holds):
    c1 = claims.check_c1(_summary(n))
    assert c1["holds"] == holds  # "over 800,000": one-sided, a count, no tolerance band
    assert ("not over 800,000" in c1["observed"]) == (holds == "no")
    assert claims.check_c1(_summary(n, "2022-12-30T00:00:00+00:00"))["holds"] == "no"  # the span fails
    assert claims.check_c1(_summary(n), synthetic=True)["holds"] == "partly testable"
    assert claims.CLAIMS["C1"].startswith("over 800,000")


def test_banner_shows_once_and_returns_nothing(small_release, monkeypatch):
    shown = []
    monkeypatch.setattr(narrative, "display_markdown", shown.append)
    assert narrative.banner(small_release) is None  # a cell ending in banner(...) prints no second, quoted copy
    assert len(shown) == 1 and "SYNTHETIC" in shown[0]
    assert narrative.banner(small_release, show=False) == shown[0] == narrative.banner_text(small_release)
    assert len(shown) == 1


def test_dictionary_says_the_caption_join_is_our_reading(small_release):
    from twigma.release import data_dictionary

    meaning = data_dictionary(small_release).set_index("column").loc["all_captions", "meaning"]
    assert "our reading" in meaning and "our choice" in meaning and "' | '" in meaning


# ---------------------------------------------------------------- 01: growth factors ---------

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
    assert g["growth_per_year"] == pytest.approx(np.exp(slope))
    assert g["growth_ci_low"] == pytest.approx(np.exp(slope - q * se), rel=1e-8)
    assert g["growth_ci_high"] == pytest.approx(np.exp(slope + q * se), rel=1e-8)
    half = n // 2
    s1, se1 = newey_west_by_hand(t[:half], np.log(y[:half]), overview.newey_west_lags(half))
    q1 = stats.t.ppf(1 - alpha / 2, half - 2)
    assert g["growth_first_half_ci_low"] == pytest.approx(np.exp(s1 - q1 * se1), rel=1e-8)
    assert g["ci_level"] == 0.99
    st = overview.steady_growth(g, alpha)
    assert st.first_half.low < st.first_half.estimate < st.first_half.high and st.whole.level == 0.99
    wide = overview.growth_trend(monthly, alpha=0.2)
    assert wide["growth_ci_high"] - wide["growth_ci_low"] < g["growth_ci_high"] - g["growth_ci_low"]
    assert "99% Newey-West HAC CI x" in claims.check_c2(g)["observed"]


def test_one_rate_uses_the_stated_ratio():
    y = np.r_[np.round(10 * 1.05 ** np.arange(12)), np.round(18 * 1.3 ** np.arange(12))]
    monthly = pd.DataFrame({"month": [f"{2021 + i // 12}-{i % 12 + 1:02d}" for i in range(24)], "n_tweets": y})
    g = overview.growth_trend(monthly)
    ratio = g["growth_second_half"] / g["growth_first_half"]
    assert not g["one_growth_rate"]
    assert overview.growth_trend(monthly, max_rate_ratio=ratio * 1.01)["one_growth_rate"]


# ---------------------------------------------------------------- the tweet bootstrap of sums ---

def test_sums_bootstrap_matches_scipy_with_one_image_per_tweet():
    rng = np.random.default_rng(1)
    x = rng.exponential(size=400)
    sums = inference.tweet_sums(np.column_stack([x, np.ones_like(x)]), np.arange(400))
    got = inference.tweet_bootstrap_sums(sums, lambda t: t[..., 0] / t[..., 1], 0.01, n_resamples=4000)
    ref = stats.bootstrap((x,), np.mean, n_resamples=4000, confidence_level=0.99, method="percentile",
                          rng=np.random.default_rng(2)).confidence_interval
    assert got.estimate == pytest.approx(x.mean())
    width = ref.high - ref.low
    assert abs(got.low - ref.low) < 0.1 * width and abs(got.high - ref.high) < 0.1 * width


def test_sums_bootstrap_matches_the_row_level_tweet_bootstrap():
    rng = np.random.default_rng(4)
    tweets = np.repeat(np.arange(300), rng.integers(1, 5, 300))
    effect = rng.normal(size=300)[tweets]  # images of a tweet share an outcome
    y = effect + rng.normal(scale=0.3, size=len(tweets))
    sums = inference.tweet_sums(np.column_stack([y, np.ones_like(y)]), tweets)
    got = inference.tweet_bootstrap_sums(sums, lambda t: t[..., 0] / t[..., 1], 0.01, n_resamples=3000)
    ref = inference.tweet_bootstrap(lambda rows: y[rows].mean(), tweets, 0.01, n_resamples=3000, seed=9)
    width = ref.high - ref.low
    assert got.estimate == pytest.approx(ref.estimate)
    assert abs(got.low - ref.low) < 0.1 * width and abs(got.high - ref.high) < 0.1 * width
    with pytest.raises(ValueError, match="at least"):
        inference.tweet_bootstrap_sums(sums, lambda t: t[..., 0], 0.01, n_resamples=100)


# ---------------------------------------------------------------- 04: kappa, PABAK, change ------

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


def test_kappa_interval_and_the_per_cluster_rule(small_release):
    k = nsfw.kappa_interval(small_release, 0.5, 0.01)
    overall = nsfw.agreement(small_release["possibly_sensitive"], small_release["nsfw_score"])
    assert k.estimate == pytest.approx(overall["kappa"]) and k.low < k.estimate < k.high and k.level == 0.99
    ref = inference.tweet_bootstrap(
        lambda rows: cohen_kappa_score(small_release["possibly_sensitive"].to_numpy(dtype=bool)[rows],
                                       small_release["nsfw_score"].to_numpy()[rows] > 0.5),
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


# ---------------------------------------------------------------- 05: the likes ratio ------------

def test_likes_ratio_interval_against_the_row_level_bootstrap(small_release):
    by = engagement.engagement_by_cluster(small_release)
    ext = engagement.likes_extremes(by, small_release, small_ratio=1.5, alpha=0.01)
    hi, lo = ext.most.name, ext.fewest.name
    assert ext.ratio.estimate == pytest.approx(np.exp(by.set_index("cluster").loc[hi, "mean_log1p_likes"]
                                                      - by.set_index("cluster").loc[lo, "mean_log1p_likes"]))
    x = np.log1p(small_release["like_count"].to_numpy(dtype=float, na_value=np.nan))
    k = small_release["label_10_cluster"].to_numpy()

    def ratio(rows):
        a, b = x[rows][k[rows] == hi], x[rows][k[rows] == lo]
        return np.exp(np.nanmean(a) - np.nanmean(b))

    ref = inference.tweet_bootstrap(ratio, small_release["id"], 0.01, n_resamples=2000, seed=3)
    width = ref.high - ref.low
    assert abs(ext.ratio.low - ref.low) < 0.15 * width and abs(ext.ratio.high - ref.high) < 0.15 * width
    expect = "small" if ext.ratio.high < 1.5 else "sizeable" if ext.ratio.low >= 1.5 else "undecided"
    assert ext.judgement == expect
    assert engagement.likes_extremes(by, small_release, small_ratio=ext.ratio.high * 1.01).judgement == "small"


def test_missing_change_matches_the_pooled_table(small_release):
    ends = engagement.early_late_engagement(engagement.engagement_by_month(small_release), n_months=6)
    m = engagement.missing_change(small_release, 0.01, n_months=6)
    assert m.early == pytest.approx(ends.loc["early", "share_likes_missing"])
    assert m.late == pytest.approx(ends.loc["late", "share_likes_missing"])
    assert m.change.estimate == pytest.approx(m.early - m.late)
    assert m.direction == ("older" if m.change.low > 0 else "newer" if m.change.high < 0 else "neither")


# ---------------------------------------------------------------- 02: distinctive words ---------

def test_distinctive_words_are_never_negative_and_keep_ties_at_the_cut():
    texts = pd.Series(["cat dog"] * 20 + ["sky sea"] * 20 + ["cat painting"] * 3 + ["painting tree"] * 30
                      + ["sky painting"] * 5)
    groups = pd.Series([1] * 20 + [2] * 20 + [1] * 3 + [3] * 30 + [2] * 5)
    words = text.distinctive_words(texts, groups, top_n=1, min_count=1, min_z=1.0)
    assert (words["score"] >= 1.0).all()
    assert words.attrs["min_z"] == 1.0
    z = text.log_odds_dirichlet(text.term_counts(texts, groups))
    assert z.loc[1, "painting"] < 0 and "painting" not in set(words.loc[words["cluster"] == 1, "word"])
    ties = words.groupby(["cluster", "rank"])["word"].transform("size")
    assert (ties == words["n_at_rank"]).all()
    with pytest.raises(ValueError, match="positive"):
        text.distinctive_words(texts, groups, min_z=-1.0)


def test_a_tie_at_the_top_n_cut_keeps_every_tied_word():
    texts = pd.Series(["alpha beta gamma"] * 10 + ["delta"] * 10)
    groups = pd.Series([1] * 10 + [2] * 10)
    words = text.distinctive_words(texts, groups, top_n=1, min_count=1, min_z=0.5)
    first = words[words["cluster"] == 1]
    assert sorted(first["word"]) == ["alpha", "beta", "gamma"] and (first["rank"] == 1).all()
    assert (first["n_at_rank"] == 3).all()
    assert text.group_names(words, 2).loc[1] == "alpha, beta"  # ties named in alphabetical order
    place = text.word_ranks(words, ["beta", "zeta"])
    assert place[0].cluster == 1 and place[0].rank == 1 and place[0].n_at_rank == 3
    assert place[1].cluster is None and place[1].n_at_rank == 0
