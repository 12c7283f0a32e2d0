"""Each analysis function against an independent computation on small fixtures."""
from __future__ import annotations

import re
from collections import Counter
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.inter_rater import cohens_kappa

from twigma.analysis import claims, engagement, nsfw, overview, text, themes
from twigma.run import ledger

# ---------------------------------------------------------------- overview ----------------

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
    assert got["kendall_tau"] == pytest.approx(concordant / len(pairs))  # no ties: tau = (C - D) / pairs
    slope = np.polyfit(np.arange(10) / 12, np.log(y), 1)[0]
    assert got["growth_per_year"] == pytest.approx(np.exp(slope))


# ---------------------------------------------------------------- text ---------------------

TEXTS = pd.Series(["a painting of a cat", "arafed woman with long hair", "a painting of a woman",
                   "a cat and a dog", "a painting of a man with a hat", "there is a man"])
GROUPS = pd.Series([1, 2, 2, 1, 3, 3])


def naive_counts(texts, stop):
    c = Counter()
    for t in texts:
        c.update(w for w in re.findall(r"\b[a-z][a-z]+\b", t.lower()) if w not in stop)
    return c


def test_term_counts_match_a_plain_counter():
    got = text.term_counts(TEXTS).iloc[0]
    expect = naive_counts(TEXTS, text.CAPTION_STOPWORDS)
    assert got[got > 0].to_dict() == dict(expect)
    by = text.term_counts(TEXTS, GROUPS)
    for g in (1, 2, 3):
        row = by.loc[g]
        assert row[row > 0].to_dict() == dict(naive_counts(TEXTS[GROUPS == g], text.CAPTION_STOPWORDS))
    assert "arafed" not in by.columns and "there" not in by.columns


def test_top_words_rank_by_frequency():
    top = text.top_words(TEXTS, n=3)
    assert top["word"].tolist()[:1] == ["painting"]
    assert top["rank"].tolist() == [1, 2, 3]
    assert top["count"].is_monotonic_decreasing


def test_log_odds_dirichlet_against_the_formula_written_out():
    counts = pd.DataFrame([[10, 0, 5, 1], [2, 8, 5, 0], [1, 1, 0, 9]], columns=list("wxyz"))
    scale = 0.5
    z = text.log_odds_dirichlet(counts, prior_scale=scale)
    y = counts.to_numpy(float)
    for i in range(3):
        for w in range(4):
            a_w = scale * y[:, w].sum()
            a0 = scale * y.sum()
            yi, ni = y[i, w], y[i].sum()
            yj, nj = y[:, w].sum() - yi, y.sum() - ni
            d = np.log((yi + a_w) / (ni + a0 - yi - a_w)) - np.log((yj + a_w) / (nj + a0 - yj - a_w))
            expect = d / np.sqrt(1 / (yi + a_w) + 1 / (yj + a_w))
            assert z.iloc[i, w] == pytest.approx(expect)


def test_distinctive_words_find_each_groups_own_words(small_release):
    words = text.distinctive_words(small_release["all_captions"], small_release["label_10_cluster"], top_n=5)
    assert list(words.columns[:4]) == ["cluster", "rank", "word", "score"]
    assert set(words["cluster"]) == set(range(1, 11))
    top = words[words["rank"] == 1].set_index("cluster")["word"]
    assert top[3] in {"cat", "dog", "owl"} and top[9] in {"man", "suit", "old", "bearded"}
    assert (words.groupby("cluster")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    names = text.group_names(words, 2)
    assert len(names) == 10 and names.str.count(",").eq(1).all()


# ---------------------------------------------------------------- themes -------------------

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


# ---------------------------------------------------------------- nsfw ---------------------

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
    assert a["kappa"] == pytest.approx(cohens_kappa(table.to_numpy()).kappa)
    assert a["both"] == table.loc[True, True] and a["neither"] == table.loc[False, False]


def test_agreement_ignores_missing_values():
    flag = pd.Series([True, False, None, True], dtype="boolean")
    score = pd.Series([0.9, 0.1, 0.8, np.nan], dtype="float32")
    a = nsfw.agreement(flag, score)
    assert a["n"] == 2 and a["agreement"] == 1.0


def test_threshold_names_the_column(small_release):
    got = nsfw.nsfw_by_cluster(small_release, threshold=0.8)
    assert "share_nsfw_gt_0_8" in got.columns


# ---------------------------------------------------------------- engagement ---------------

def test_engagement_by_cluster_against_pandas(small_release):
    got = engagement.engagement_by_cluster(small_release).set_index("cluster")
    g = small_release.groupby("label_10_cluster")["like_count"]
    assert got["n_images"].tolist() == g.size().tolist()
    np.testing.assert_allclose(got["share_likes_missing"], g.apply(lambda s: s.isna().mean()))
    np.testing.assert_allclose(got["median_likes"], g.apply(lambda s: s.dropna().astype(float).median()))
    np.testing.assert_allclose(got["mean_log1p_likes"], g.apply(lambda s: np.log1p(s.dropna().astype(float)).mean()))


def test_per_tweet_has_one_row_per_tweet(small_release):
    pt = engagement.per_tweet(small_release)
    assert len(pt) == small_release["id"].nunique() and pt["n_images"].sum() == len(small_release)
    summary = engagement.distribution_summary(pt)
    assert summary.set_index("metric").loc["like_count", "median"] == pytest.approx(
        pt["like_count"].dropna().astype(float).median())


# ---------------------------------------------------------------- claims -------------------

def test_claim_checks_follow_the_numbers():
    summary = pd.DataFrame({"metric": ["n_images", "first_created_at", "last_created_at"],
                            "value": [812_000, "2021-01-02T00:00:00+00:00", "2023-03-30T00:00:00+00:00"]})
    assert claims.check_c1(summary)["holds"] == "yes"
    summary.loc[0, "value"] = 24_000
    assert claims.check_c1(summary)["holds"] == "no"
    trends = pd.DataFrame({"cluster": [1, 3, 4, 8, 9], "slope": [-1, -1, 0.1, 1, 1],
                           "p_value": [0.001, 0.001, 0.5, 0.001, 0.001],
                           "direction": ["down", "down", "flat", "up", "up"]})
    assert claims.check_trends(trends, "C4", [1, 3, 4], "down")["holds"] == "no"
    assert claims.check_trends(trends, "C5", [8, 9], "up")["holds"] == "yes"
    top = pd.DataFrame({"rank": [1, 2, 3], "word": ["painting", "woman", "hair"]})
    c3 = claims.check_c3(top)
    assert c3["holds"] == "no" and "man not in top 3" in c3["observed"]


def test_combine_marks_unchecked_claims_untestable(tmp_path):
    pd.DataFrame([claims.claim("C2", "tau 0.9", True)]).to_csv(tmp_path / "01_growth.csv", index=False)
    table = ledger.combine(tmp_path)
    assert table["claim"].tolist() == list(claims.CLAIMS) == [f"C{i}" for i in range(1, 12)]
    assert table.set_index("claim").loc["C2", "holds"] == "yes"
    assert (table.set_index("claim").loc[["C1", "C7", "C10", "C11"], "holds"] == "untestable").all()
    assert table.set_index("claim").loc["C11", "observed"].startswith("needs the release table")
    assert table.set_index("claim").loc["C9", "observed"].startswith("needs CLIP image embeddings")


def test_a_copied_notebooks_claims_never_replace_the_papers(tmp_path):
    """A copy of 03 run with other parameters adds its own rows after C1..C11; 03's rows stay."""
    pd.DataFrame([claims.claim("C4", "three declines", True)]).to_csv(tmp_path / "03_theme_shift.csv", index=False)
    pd.DataFrame([claims.claim("C4", "one decline", False)]).to_csv(tmp_path / "10_portrait_rise.csv", index=False)
    table = ledger.combine(tmp_path)
    n = len(claims.CLAIMS)
    assert table["claim"].tolist()[:n] == [f"C{i}" for i in range(1, n + 1)]
    paper = table.iloc[:n].set_index("claim")
    assert paper.loc["C4", "holds"] == "yes" and paper.loc["C4", "notebook"] == "03_theme_shift"
    extra = table.iloc[n:]
    assert extra[["claim", "holds", "notebook"]].values.tolist() == [["C4", "no", "10_portrait_rise"]]


# ---------------------------------------------------------------- narrative ----------------

def test_p_values_are_never_printed_as_zero():
    from twigma.present.narrative import fmt_p, p_text

    assert fmt_p(0.0) == "< 1e-16" and p_text(0.0) == "p < 1e-16"
    assert fmt_p(5e-310) == "< 1e-16" and fmt_p(3e-17) == "< 1e-16" and fmt_p(2e-16) == "2.0e-16"
    assert fmt_p(3.2e-12) == "3.2e-12" and p_text(0.034) == "p = 0.034"
    assert fmt_p(float("nan")) == "n/a" and fmt_p(None) == "n/a"
    with pytest.raises(ValueError, match="p-value"):
        fmt_p(1.5)


def test_odds_ratio_text_reads_a_slope_per_year():
    from twigma.present.narrative import odds_ratio_text

    assert odds_ratio_text(np.log(0.5)) == "odds x0.50 per year (50% lower each year)"
    assert odds_ratio_text(np.log(2.0), ci=(np.log(1.5), np.log(3.0)), level="99%") == \
        "odds x2.00 per year (100% higher each year; 99% CI x1.50 to x3.00)"
    with pytest.raises(ValueError, match="level"):  # an interval never goes out without its level
        odds_ratio_text(np.log(2.0), ci=(np.log(1.5), np.log(3.0)))


def test_banner_and_findings(small_release):
    from twigma.present.narrative import banner, findings

    text = banner(small_release, show=False)
    assert "SYNTHETIC sample" in text and "3,000-row" in text and "by construction" in text
    real = small_release.copy()
    real.attrs = {**small_release.attrs, "synthetic": False}
    assert "SYNTHETIC" not in banner(real, show=False) and "3,000 images" in banner(real, show=False)
    row = claims.claim("C6", "2 cluster(s) | 5 and 7", True)
    table = findings([row], synthetic=True)
    assert table.splitlines()[0] == "| | the paper says | this run finds | verdict |"
    assert "two of the ten clusters" in table and "5 and 7" in table and "\\|" in table  # pipes escaped
    assert "**holds** (by construction: synthetic sample)" in table
    assert "**does not hold**" in findings([claims.claim("C6", "1", False)])
    with pytest.raises(KeyError, match="paper_says"):
        findings([{"claim": "x", "observed": "y", "holds": "yes"}])


def test_c1_on_a_synthetic_sample_reports_the_span_not_the_count():
    summary = pd.DataFrame({"metric": ["n_images", "first_created_at", "last_created_at"],
                            "value": [24_000, "2021-01-02T00:00:00+00:00", "2023-03-30T00:00:00+00:00"]})
    c1 = claims.check_c1(summary, synthetic=True)
    assert c1["holds"] == "partly testable" and "not applicable" in c1["observed"]
    assert "span 2021-01-02" in c1["observed"]
    summary.loc[2, "value"] = "2022-12-30T00:00:00+00:00"
    assert claims.check_c1(summary, synthetic=True)["holds"] == "no"  # a wrong span still fails
    assert "not over 800,000" in claims.check_c1(summary)["observed"]


def test_ledger_has_the_papers_wording_and_units(tmp_path):
    trends = pd.DataFrame({"cluster": [1], "slope": [-0.9], "p_value": [0.0], "direction": ["down"]})
    c4 = claims.check_trends(trends, "C4", [1], "down")
    assert "p < 1e-16" in c4["observed"] and "log-odds/yr" in c4["observed"] and "x0.41/yr" in c4["observed"]
    pd.DataFrame([c4]).to_csv(tmp_path / "03_theme_shift.csv", index=False)
    table = ledger.combine(tmp_path)
    assert list(table.columns) == ["claim", "statement", "observed", "holds", "notebook", "paper_says", "data"]
    assert table.set_index("claim").loc["C4", "paper_says"] == claims.PAPER_SAYS["C4"]
    assert table["paper_says"].ne("").all()


def test_fitted_shares_have_a_band_around_the_fit(small_release):
    counts = themes.monthly_cluster_counts(small_release)
    counts = counts[counts["n_images"] >= 20]
    trends = themes.theme_trends(small_release, min_images_per_month=20)
    f = themes.fitted_shares(trends, counts)
    assert ((f["ci_low"] <= f["fitted"]) & (f["fitted"] <= f["ci_high"])).all()
    assert (f["ci_high"] - f["ci_low"]).gt(0).all()


def test_cluster_names_are_taken_from_02s_table_only_when_it_matches_the_release(small_release):
    from twigma.analysis import text

    computed = text.cluster_names(small_release)
    assert computed.index.tolist() == list(range(1, 11)) and computed.str.count(",").eq(2).all()
    sizes = small_release["label_10_cluster"].value_counts().sort_index()
    table = pd.DataFrame({"cluster": sizes.index, "name": [f"name {k}" for k in sizes.index], "n_images": sizes.values})
    assert text.names_from_table(table, small_release).loc[3] == "name 3"
    assert text.names_from_table(table.assign(n_images=table["n_images"] + 1), small_release) is None  # another release
    assert text.names_from_table(None, small_release) is None
    few = small_release[["id", "label_10_cluster"]]
    with pytest.raises(KeyError, match="no all_captions column"):
        text.cluster_names(few)


def test_wilson_interval_covers_the_share():
    lo, hi = nsfw.wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
    assert lo[0] == pytest.approx(0, abs=1e-12) and 0 < hi[0] < 0.35
    assert lo[1] < 0.5 < hi[1] and hi[2] == pytest.approx(1)


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
        assert a["kappa"] == pytest.approx(cohen_kappa_score(x, y), abs=1e-12)
    else:
        assert np.isnan(a["kappa"])
    assert (a["both"], a["flag_only"], a["score_only"], a["neither"]) == (
        int(np.sum(x & y)), int(np.sum(x & ~y)), int(np.sum(~x & y)), int(np.sum(~x & ~y)))


def test_per_tweet_equals_pandas_groupby_first_with_counts_missing_inside_tweets(small_release):
    """engagement.per_tweet takes each tweet's first image by position and fills a count the first image lacks
    from a later one: pandas' groupby("id", sort=False).first() exactly, on a release whose counts are missing
    for a tenth of the images (inside multi-image tweets too)."""
    rel = small_release.copy()
    rng = np.random.default_rng(1)
    for c in ("like_count", "quote_count"):
        rel.loc[rng.random(len(rel)) < 0.1, c] = pd.NA
    g = rel.groupby("id", sort=False)
    expected = g[["created_at", *engagement.METRICS]].first()
    expected["n_images"] = g.size()
    got = engagement.per_tweet(rel)
    pd.testing.assert_frame_equal(got, expected.reset_index(), check_exact=True)
    filled = got.set_index("id").loc[rel.drop_duplicates("id").set_index("id")["like_count"].isna(), "like_count"]
    assert filled.notna().any()  # the test reaches tweets whose first image lacks likes a later one has
