"""Tests of twigma.analysis.track: theme tracker over captions: which images a query matches, and how their share moves."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from twigma.analysis import track
from twigma.analysis.overview import month_of
from twigma.analysis.themes import years_since_origin
from twigma.present.track_figure import track_figure

CAPTIONS = pd.Series([
    "a cat on a sofa", "A CAT.", "catalogue of flowers", "a tomcat", "cats and dogs", "the cat's toy",
    "un café avec un chat", "a cat in a café", "naïve cat art", "cat\u00a0portrait", "bobcat | a cat",
    "a black   cat", "a black\tcat", "a black\x0bcat", "a black\u2003cat", "lighthouse at dusk", "Lighthouse At Dusk!",
    "lighthouses at dusk", "c++ code", "#ai art", "", None, "ſtar", "KELVIN \u212a", "x_cat", "cat1", "résumé",
], dtype="str")


QUERIES = [("cat", False, True), ("cat", False, False), ("black cat", False, True), ("café", False, True),
           ("CAT", False, True), ("lighthouse at dusk", False, True), ("c++", False, True), ("star", False, True),
           (r"cats?\b", True, True), (r"black\s+cat", True, True), (r"cat$", True, False), (r"^a\s", True, False),
           (r"(?<=black )cat", True, True),  # a look-behind: RE2 has none, Python's re answers
           (r"(a)\1", True, False),  # a back-reference: likewise
           (r"[[:alpha:]]at", True, False),  # a POSIX class: Python reads it otherwise than RE2
           (r"\w+é", True, True), (r"k", True, True), (r"\d", True, False)]


def _hand_trend(k, n, t, alpha=0.01):
    """Binomial GLM of (k, n - k) on t, fitted by statsmodels with the two-column endog, then the
    quasi-binomial step written out: Pearson dispersion, scaled standard error, t on m - 2 df, the
    1 - alpha interval."""
    X = sm.add_constant(t)
    res = sm.GLM(np.column_stack([k, n - k]), X, family=sm.families.Binomial()).fit()
    mu = res.fittedvalues
    dispersion = np.sum((k - n * mu) ** 2 / (n * mu * (1 - mu))) / (len(k) - 2)
    se = res.bse[1] * np.sqrt(max(dispersion, 1.0))  # the scale is floored at 1 (notebook 03)
    p = 2 * stats.t.sf(abs(res.params[1] / se), df=len(k) - 2)
    q = stats.t.ppf(1 - alpha / 2, df=len(k) - 2)
    return res.params[1], p, se, res.params[1] - q * se, res.params[1] + q * se, dispersion


def test_slug_lowercases_and_turns_runs_of_other_characters_into_underscores():
    assert track.slug("Lighthouse at dusk") == "lighthouse_at_dusk"
    assert track.slug("cats?|kittens") == "cats_kittens"
    assert track.slug("  Café -- au lait ") == "_caf_au_lait_"


def test_whole_words_case_insensitive_by_default():
    hit = track.match_captions(CAPTIONS, "cat")
    expected = {"a cat on a sofa", "A CAT.", "the cat's toy", "a cat in a café", "naïve cat art", "cat\u00a0portrait",
                "bobcat | a cat", "a black   cat", "a black\tcat", "a black\x0bcat", "a black\u2003cat"}
    assert set(CAPTIONS[hit]) == expected
    sub = track.match_captions(CAPTIONS, "cat", whole_words=False)
    assert {"catalogue of flowers", "a tomcat", "x_cat", "cat1"} <= set(CAPTIONS[sub])
    phrase = track.match_captions(CAPTIONS, "lighthouse at dusk")
    assert set(CAPTIONS[phrase]) == {"lighthouse at dusk", "Lighthouse At Dusk!"}
    assert set(CAPTIONS[track.match_captions(CAPTIONS, "c++")]) == {"c++ code"}
    assert set(CAPTIONS[track.match_captions(CAPTIONS, "#ai")]) == {"#ai art"}
    assert set(CAPTIONS[track.match_captions(CAPTIONS, "cats?|dogs", regex=True)]) >= {"cats and dogs", "A CAT."}


@pytest.mark.parametrize("query,regex,whole", QUERIES)
def test_the_fast_search_gives_python_re_s_answer(query, regex, whole):
    fast = track.match_captions(CAPTIONS, query, regex=regex, whole_words=whole)
    reference = track.match_captions(CAPTIONS, query, regex=regex, whole_words=whole, engine="python")
    q = track.compile_query(query, regex=regex, whole_words=whole)
    by_hand = np.array([bool(c) and q.pattern.search(c) is not None for c in CAPTIONS.fillna("")])
    np.testing.assert_array_equal(reference, by_hand)
    np.testing.assert_array_equal(fast, reference)


def test_fast_search_on_the_sample_equals_python_re(small_release):
    for query in ("portrait", "mountain landscape", "a"):
        np.testing.assert_array_equal(track.match_captions(small_release["all_captions"], query),
                                      track.match_captions(small_release["all_captions"], query, engine="python"))


def test_fast_search_on_a_column_of_many_chunks_equals_python_re(small_release):
    """A release read from the typed cache holds each text column in chunks (one per row group): they are
    searched and counted as they are, without joining them into one copy first."""
    import pyarrow as pa

    parts = [small_release.iloc[i:i + 700] for i in range(0, len(small_release), 700)]
    odd = pd.Series(["Ünïcode dragon café", "a\u00a0woman and a cat 🐈"], dtype=small_release["all_captions"].dtype)
    captions = pd.concat([p["all_captions"] for p in parts] + [odd], ignore_index=True)
    assert isinstance(track._as_arrow(captions), pa.ChunkedArray) and track._as_arrow(captions).num_chunks > 1
    for query in ("dragon", "a woman", "cat"):
        np.testing.assert_array_equal(track.match_captions(captions, query),
                                      track.match_captions(captions, query, engine="python"))
    ids = pd.concat([p["id"] for p in parts], ignore_index=True)
    assert track._n_distinct(ids) == ids.nunique()


@pytest.mark.parametrize("query,regex,needle", [("", False, "empty"), ("   ", False, "empty"),
                                                 ("(ab", True, "not a valid regular expression"),
                                                 ("x*", True, "matches an empty caption")])
def test_bad_queries_are_refused_with_a_message(query, regex, needle):
    with pytest.raises(track.TrackError, match=needle):
        track.compile_query(query, regex=regex)


def test_a_query_that_matches_nothing_says_so(small_release):
    with pytest.raises(track.TrackError, match="no caption matches the word 'zyzzyva'.*3,000 images.*--substring"):
        track.track(small_release, "zyzzyva")


def test_monthly_share_and_trend_against_pandas_and_a_glm_fitted_by_hand(small_release):
    df = small_release
    res = track.track(df, "portrait", min_images_per_month=20)
    # the monthly table, by a plain groupby
    month = month_of(df["created_at"])
    g = pd.DataFrame({"month": month, "hit": res.mask, "t": years_since_origin(df["created_at"])}).groupby("month")
    expected = pd.DataFrame({"n_images": g.size(), "n_matching": g["hit"].sum(), "t_years": g["t"].mean()})
    got = res.monthly.set_index("month")
    assert got.index.tolist() == expected.index.tolist()
    np.testing.assert_array_equal(got["n_images"], expected["n_images"])
    np.testing.assert_array_equal(got["n_matching"], expected["n_matching"])
    np.testing.assert_allclose(got["share"], expected["n_matching"] / expected["n_images"])
    np.testing.assert_allclose(got["t_years"], expected["t_years"], rtol=1e-12)
    # the trend, by hand, on the months with >= 20 images
    fit = expected[expected["n_images"] >= 20]
    slope, p, se, lo, hi, disp = _hand_trend(fit["n_matching"].to_numpy(float), fit["n_images"].to_numpy(float),
                                             fit["t_years"].to_numpy())
    t = res.trend.iloc[0]
    assert list(res.trend.columns[:4]) == ["query", "slope", "p_value", "direction"] and len(res.trend) == 1
    np.testing.assert_allclose([t["slope"], t["p_value"], t["std_err"], t["ci_low"], t["ci_high"], t["dispersion"]],
                               [slope, p, se, lo, hi, disp], rtol=1e-5, atol=1e-6)  # IRLS convergence
    assert t["n_months"] == len(fit) and t["n_matching"] == res.mask.sum()
    assert t["direction"] == ("flat" if p >= 0.01 else "up" if slope > 0 else "down")
    assert t["scale"] == pytest.approx(max(disp, 1.0), rel=1e-5)


def test_a_dispersion_below_one_is_floored_to_the_binomial_errors():
    """Months closer to the trend than binomial sampling allows: the Pearson dispersion is below 1,
    the standard error is the binomial one (the scale used is 1)."""
    n = np.full(12, 1000.0)
    t = np.arange(12) / 12
    k = np.round(n / (1 + np.exp(-(-1 + 0.5 * t))))  # the fitted share, rounded: almost no scatter
    monthly = pd.DataFrame({"month": [f"2021-{m:02d}" for m in range(1, 13)], "n_images": n.astype(int),
                            "n_matching": k.astype(int), "share": k / n, "t_years": t})
    tr = track.monthly_trend(monthly, alpha=0.01, min_images_per_month=20)
    binomial = sm.GLM(np.column_stack([k, n - k]), sm.add_constant(t), family=sm.families.Binomial()).fit()
    assert tr.dispersion < 1 and tr.scale == 1.0
    np.testing.assert_allclose(tr.std_err, binomial.bse[1], rtol=1e-6)


def test_trend_is_flat_with_a_note_when_it_cannot_be_estimated(small_release):
    res = track.track(small_release, "portrait", min_images_per_month=10**6)
    t = res.trend.iloc[0]
    assert np.isnan(t["slope"]) and t["direction"] == "flat" and "month" in t["note"]


def test_by_cluster_against_a_crosstab(small_release):
    df = small_release
    res = track.track(df, "portrait")
    tab = pd.crosstab(df["label_10_cluster"], res.mask)
    cl = res.clusters.set_index("cluster")
    np.testing.assert_array_equal(cl["n_images"], tab.sum(axis=1))
    np.testing.assert_array_equal(cl["n_matching"], tab.get(True, 0))
    np.testing.assert_allclose(cl["share_of_matching"].sum(), 1.0)
    np.testing.assert_allclose(cl["lift"], (tab[True] / tab.sum(axis=1)) / res.mask.mean())
    assert set(cl["direction"]) <= {"up", "down", "flat"}


def test_the_figure_labels_the_trend_with_its_call_in_words(small_release):
    import matplotlib.pyplot as plt

    res = track.track(small_release, "portrait", alpha=1e-300)  # nothing is significant at this level
    assert res.trend["direction"].iloc[0] == "flat"
    fig = track_figure(res)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert any("not significant at alpha 1e-300" in t for t in labels), labels
    assert not any("(flat)" in t for t in labels)


def test_engagement_of_matching_and_other_images_against_pandas(small_release):
    df = small_release
    res = track.track(df, "portrait")
    e = res.engagement.set_index("group")
    assert e.index.tolist() == ["matching", "other"]
    likes = df["like_count"].astype(float)
    for g, sel in (("matching", res.mask), ("other", ~res.mask)):
        assert e.loc[g, "n_images"] == sel.sum() and e.loc[g, "n_tweets"] == df["id"][sel].nunique()
        np.testing.assert_allclose(e.loc[g, "median_likes"], likes[sel].median())
        np.testing.assert_allclose(e.loc[g, "mean_log1p_likes"], np.log1p(likes[sel]).mean())
    # same months: each group's monthly means weighted by the matching images with known likes
    frame = pd.DataFrame({"month": month_of(df["created_at"]), "hit": res.mask, "y": np.log1p(likes)}).dropna()
    rows = []
    for _month, sub in frame.groupby("month"):
        a, b = sub[sub["hit"]], sub[~sub["hit"]]
        if len(a) and len(b):
            rows.append((len(a), a["y"].mean(), b["y"].mean()))
    w, ma, mb = map(np.array, zip(*rows))
    np.testing.assert_allclose(e.loc["matching", "mean_log1p_likes_same_months"], np.sum(w * ma) / w.sum())
    np.testing.assert_allclose(e.loc["other", "mean_log1p_likes_same_months"], np.sum(w * mb) / w.sum())
    np.testing.assert_allclose(res.trend["log1p_likes_diff_same_months"].iloc[0],
                               np.sum(w * ma) / w.sum() - np.sum(w * mb) / w.sum())


def test_examples_are_matching_images(small_release):
    res = track.track(small_release, "mountain landscape")
    ex = res.examples(small_release, n=5)
    assert len(ex) == 5 and ex["all_captions"].str.contains("mountain landscape", case=False).all()


def test_subject_trends_merge_duplicates_before_benjamini_hochberg(small_release):
    from twigma.analysis import subjects, text

    df = small_release.copy()
    df["all_captions"] = df["all_captions"].str.replace(r"\bmountain\b", "mountain summit", regex=True)
    table, left = subjects.subject_trends(df, n_subjects=30, min_images=50, fdr=0.01)
    words = text.top_words(df["all_captions"], n=30)["word"].tolist()
    assert set(table["subject"]) | set(left["subject"]) == set(words) and not set(table["subject"]) & set(left["subject"])
    # 'summit' is in exactly the captions of 'mountain', which the sample's generator writes with
    # 'landscape': one subject, counted once, under the commonest word
    merged = left.set_index("subject")
    assert {"summit", "mountain", "landscape"} <= set(words)
    assert merged.loc["summit", "reason"] == merged.loc["mountain", "reason"] == "same images as landscape (Jaccard 1.00)"
    assert set(table.set_index("subject").loc["landscape", "same_images_as"].split(", ")) == {"mountain", "summit"}
    masks = {w: track.match_captions(df["all_captions"], w) for w in table["subject"]}
    for w1 in masks:  # no two subjects tested are near-identical
        for w2 in masks:
            if w1 < w2:
                assert (masks[w1] & masks[w2]).sum() / (masks[w1] | masks[w2]).sum() < 0.95
    # Benjamini-Hochberg written out: p_(i) * m / i, cumulative minimum from the largest
    p = table["p_value"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    adj = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    expected = np.empty(m)
    expected[order] = np.minimum(adj, 1)
    np.testing.assert_allclose(table["p_adjusted"], expected)
    assert ((table["direction"] == "flat") == (table["p_adjusted"] >= 0.01)).all()
    one = track.track(df, table["subject"].iloc[0], alpha=0.01).trend.iloc[0]
    assert table["slope"].iloc[0] == one["slope"] and table["slope"].is_monotonic_decreasing
    assert (table["scale"] >= 1).all() and (table["scale"] == np.maximum(table["dispersion"], 1)).all()
