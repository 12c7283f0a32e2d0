"""The theme tracker over captions: matching, the monthly share and its trend (checked against a
binomial GLM fitted by hand with statsmodels), clusters, engagement, its figure and files
(twigma.present.figures), and ``twigma track``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from twigma.analysis import track
from twigma.analysis.overview import month_of
from twigma.analysis.themes import years_since_origin
from twigma.cli import main as cli
from twigma.present import figures

CAPTIONS = pd.Series([
    "a cat on a sofa", "A CAT.", "catalogue of flowers", "a tomcat", "cats and dogs", "the cat's toy",
    "un café avec un chat", "a cat in a café", "naïve cat art", "cat\u00a0portrait", "bobcat | a cat",
    "a black   cat", "a black\tcat", "a black\x0bcat", "a black\u2003cat", "lighthouse at dusk", "Lighthouse At Dusk!",
    "lighthouses at dusk", "c++ code", "#ai art", "", None, "ſtar", "KELVIN \u212a", "x_cat", "cat1", "résumé",
], dtype="str")


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


QUERIES = [("cat", False, True), ("cat", False, False), ("black cat", False, True), ("café", False, True),
           ("CAT", False, True), ("lighthouse at dusk", False, True), ("c++", False, True), ("star", False, True),
           (r"cats?\b", True, True), (r"black\s+cat", True, True), (r"cat$", True, False), (r"^a\s", True, False),
           (r"(?<=black )cat", True, True),  # a look-behind: RE2 has none, Python's re answers
           (r"(a)\1", True, False),  # a back-reference: likewise
           (r"[[:alpha:]]at", True, False),  # a POSIX class: Python reads it otherwise than RE2
           (r"\w+é", True, True), (r"k", True, True), (r"\d", True, False)]


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
    assert tr["dispersion"] < 1 and tr["scale"] == 1.0
    np.testing.assert_allclose(tr["std_err"], binomial.bse[1], rtol=1e-6)


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


def test_cluster_names_are_given_not_read(small_release, tmp_path):
    names = pd.Series({k: f"name {k}" for k in range(1, 11)})
    res = track.track(small_release, "portrait", names=names)
    assert res.clusters.set_index("cluster")["name"].to_dict() == names.to_dict()
    assert "name" not in track.track(small_release, "portrait").clusters  # nothing is read from disk
    # the reader the CLI uses: notebook 02's file only when it was made from this release
    sizes = small_release["label_10_cluster"].value_counts().sort_index()
    table = pd.DataFrame({"cluster": sizes.index, "name": [f"n{k}" for k in sizes.index], "n_images": sizes.values})
    table.to_csv(tmp_path / "cluster_names.csv", index=False)
    assert figures.stored_cluster_names(tmp_path, small_release).tolist() == table["name"].tolist()
    table.assign(n_images=table["n_images"] + 1).to_csv(tmp_path / "cluster_names.csv", index=False)
    assert figures.stored_cluster_names(tmp_path, small_release) is None  # another release's names
    assert figures.stored_cluster_names(tmp_path / "nothing", small_release) is None


def test_a_trend_not_significant_is_never_called_flat_in_words():
    assert figures.direction_text("flat", 0.01) == "not significant at alpha 0.01"
    assert figures.direction_text("up", 0.05) == "rising at alpha 0.05"
    assert figures.direction_text("down", 0.01) == "falling at alpha 0.01"


def test_the_figure_labels_the_trend_with_its_call_in_words(small_release):
    import matplotlib.pyplot as plt

    res = track.track(small_release, "portrait", alpha=1e-300)  # nothing is significant at this level
    assert res.trend["direction"].iloc[0] == "flat"
    fig = figures.track_figure(res)
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


def test_cli_writes_the_tables_and_a_marked_figure(small_release_file, tmp_path, capsys, monkeypatch):
    import twigma.present.plots

    marked = []
    real_mark = twigma.present.plots.mark_synthetic
    monkeypatch.setattr(twigma.present.plots, "mark_synthetic", lambda fig, *a: (marked.append(fig), real_mark(fig, *a)))
    out = tmp_path / "run"
    sizes = pd.read_csv(small_release_file)["label_10_cluster"].value_counts().sort_index()
    (out / "results").mkdir(parents=True)
    pd.DataFrame({"cluster": sizes.index, "name": [f"theme {k}" for k in sizes.index], "n_images": sizes.values}).to_csv(
        out / "results" / "cluster_names.csv", index=False)  # notebook 02's names of this release
    assert cli(["track", "Mountain Landscape", "--release", str(small_release_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "phrase 'Mountain Landscape'" in printed and "trend of the monthly share" in printed
    s = "mountain_landscape"
    monthly = pd.read_csv(out / "results" / f"track_{s}.csv")
    assert list(monthly.columns) == ["month", "n_images", "n_matching", "share"]
    assert monthly["n_images"].sum() == 3000
    trend = pd.read_csv(out / "results" / f"track_{s}_trend.csv")
    assert len(trend) == 1 and list(trend.columns[:4]) == ["query", "slope", "p_value", "direction"]
    assert trend["query"].iloc[0] == "Mountain Landscape" and trend["direction"].iloc[0] in ("up", "down", "flat")
    by_cluster = pd.read_csv(out / "results" / f"track_{s}_by_cluster.csv")
    assert len(by_cluster) == 10 and by_cluster["name"].tolist() == [f"theme {k}" for k in sizes.index]
    assert pd.read_csv(out / "results" / f"track_{s}_engagement.csv")["group"].tolist() == ["matching", "other"]
    for ext in ("png", "pdf"):
        assert (out / "figures" / f"track_{s}.{ext}").stat().st_size > 1000
    assert len(marked) == 1  # the synthetic sample's figure says so


@pytest.mark.parametrize("args,needle", [(["", ], "the query is empty"),
                                         (["(ab", "--regex"], "not a valid regular expression"),
                                         (["zyzzyva"], "no caption matches")])
def test_cli_refuses_bad_queries_without_a_traceback_or_output(small_release_file, tmp_path, capsys, args, needle):
    out = tmp_path / "run"
    assert cli(["track", *args, "--release", str(small_release_file), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err
    assert not out.exists()


# ---------------------------------------------------------------- subjects (notebook 11) ----

def test_subjects_naming_the_same_images_are_one_subject():
    from twigma.analysis import subjects

    rng = np.random.default_rng(0)
    a = rng.random(1000) < 0.3
    b = a.copy()  # the same images
    c = a.copy()
    c[np.flatnonzero(a)[:5]] = False  # Jaccard just under 1
    d = rng.random(1000) < 0.3  # other images
    masks = np.stack([a, b, c, d])
    dup = subjects.duplicate_of(masks, ["w0", "w1", "w2", "w3"], jaccard=0.95)
    brute = (a & c).sum() / (a | c).sum()
    assert dup["duplicate_of"].tolist() == ["", "w0", "w0", ""]
    np.testing.assert_allclose(dup["jaccard"].iloc[2], brute)
    assert subjects.duplicate_of(masks, ["w0", "w1", "w2", "w3"], jaccard=brute + 1e-6)["duplicate_of"].tolist() == [
        "", "w0", "", ""]
    clusters = np.where(a, 1, 2)
    assert subjects.same_as_cluster(masks, clusters) == ["1", "1", "1", ""]


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


def test_likes_relation_is_spearman_across_subjects():
    from twigma.analysis import subjects

    t = pd.DataFrame({"slope": [0.5, 0.2, -0.1, -0.4, 0.1], "likes_diff": [0.3, 0.1, 0.0, -0.2, 0.05],
                      "direction": ["up", "up", "flat", "down", "flat"]})
    r = subjects.likes_relation(t, alpha=0.05)
    assert r.rho == pytest.approx(t[["slope", "likes_diff"]].rank().corr().iloc[0, 1])
    assert r.likes_diff_up == pytest.approx(0.2) and r.likes_diff_down == -0.2 and r.level == 0.95
    assert r.answer == ("more" if r.rho_low > 0 else "fewer" if r.rho_high < 0 else "unclear")
    c = subjects.subject_counts(t.assign(dispersion=[0.5, 2, 3, 1.5, 0.9]), 0.01)
    assert (c.n_up, c.n_down, c.n_flat, c.n_scale_floored, c.n_tested) == (2, 1, 2, 2, 5)
    assert c.ci_level == pytest.approx(1 - 0.01 * 3 / 5)


def test_likes_relation_interval_is_scipys_paired_percentile_bootstrap_of_spearman():
    from scipy import stats

    from twigma.analysis import subjects

    rng = np.random.default_rng(5)
    x = rng.normal(size=40)
    t = pd.DataFrame({"slope": x, "likes_diff": 0.5 * x + rng.normal(size=40), "direction": "flat"})
    r = subjects.likes_relation(t, alpha=0.01, seed=3)
    want = stats.bootstrap((t["slope"].to_numpy(), t["likes_diff"].to_numpy()),
                           lambda a, b: stats.spearmanr(a, b)[0], paired=True, vectorized=False,
                           confidence_level=0.99, method="percentile", n_resamples=2000,
                           rng=np.random.default_rng(3)).confidence_interval
    assert (r.rho_low, r.rho_high) == pytest.approx((want.low, want.high))
    # and a hand-written percentile bootstrap agrees to Monte Carlo error
    reps = [stats.spearmanr(x[i], t["likes_diff"].to_numpy()[i])[0]
            for i in np.random.default_rng(9).integers(0, 40, (2000, 40))]
    assert r.rho_low == pytest.approx(np.quantile(reps, 0.005), abs=0.06)
    assert r.rho_high == pytest.approx(np.quantile(reps, 0.995), abs=0.06)


def test_subject_intervals_are_fcr_adjusted_and_agree_with_the_bh_calls(small_release):
    import statsmodels.api as sm

    from twigma.analysis import inference, subjects

    table, _ = subjects.subject_trends(small_release, n_subjects=30, min_images=50, fdr=0.05)
    selected = inference.benjamini_hochberg(table["p_value"].to_numpy(), 0.05)
    R, m = int(selected.sum()), len(table)
    assert R and (table["ci_level"] == inference.fcr_level(0.05, R, m)).all()
    assert ((table["direction"] != "flat") == selected).all()
    excludes = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    assert (excludes == selected).all()  # a grey point never has an interval that excludes no trend
    # one subject's interval against statsmodels' quasi-binomial GLM at the adjusted level
    r = table.iloc[0]
    mon = track.track(small_release, r["subject"]).monthly
    mon = mon[mon["n_images"] >= 20]
    y = np.column_stack([mon["n_matching"], mon["n_images"] - mon["n_matching"]])
    X = sm.add_constant(mon["t_years"].to_numpy())
    fit = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    scale = max(1.0, float(np.sum(fit.resid_pearson ** 2) / fit.df_resid))
    res = sm.GLM(y, X, family=sm.families.Binomial()).fit(scale=scale, use_t=True)
    lo, hi = res.conf_int(alpha=1 - r["ci_level"])[1]
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), rel=1e-5, abs=1e-6)  # IRLS convergence


def test_subject_likes_count_each_tweet_once(small_release):
    """likes_diff and the medians weigh each tweet 1 (1/k per image of a k-image tweet), computed by hand."""
    from twigma.analysis import subjects

    df = small_release
    table, _ = subjects.subject_trends(df, n_subjects=10, min_images=50, fdr=0.05)
    w = 1 / df.groupby("id")["id"].transform("size").to_numpy()
    likes = df["like_count"].to_numpy(dtype=float, na_value=np.nan)
    month = df["created_at"].dt.strftime("%Y-%m").to_numpy()
    for r in table.head(3).itertuples():
        hit = track.match_captions(df["all_captions"], r.subject)
        ok = ~np.isnan(likes)
        frame = pd.DataFrame({"m": month, "hit": hit, "w": w, "y": np.log1p(likes)})[ok]
        g = frame.assign(wy=frame["w"] * frame["y"]).groupby(["m", "hit"])[["w", "wy"]].sum().unstack("hit").dropna()
        mean_hit, mean_other = g[("wy", True)] / g[("w", True)], g[("wy", False)] / g[("w", False)]
        weight = g[("w", True)]
        assert r.likes_diff == pytest.approx(np.sum(weight * (mean_hit - mean_other)) / weight.sum(), rel=1e-9)
        vals, ws = likes[ok & hit], w[ok & hit]
        order = np.argsort(vals, kind="stable")
        cum = np.cumsum(ws[order])
        half = ws.sum() / 2
        lo, hi = vals[order][np.searchsorted(cum, half - 1e-9)], vals[order][np.searchsorted(cum, half + 1e-9, "right")]
        assert r.median_likes == (lo + hi) / 2
