"""Tests of twigma.analysis.subjects: caption subjects over time (notebook 11_rising_subjects): which of the commonest caption words rose and fell, counted once each, and whether rising ones get more likes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from support.quirky_releases import _releases

from twigma.analysis import text, track
from twigma.release import load_release


def test_word_counts_from_distinct_captions_equal_term_counts(quirky):
    """subjects.CaptionCounts tokenises each distinct caption once, weighted by its images: the same
    counts as text.term_counts over every caption (missing captions count no word)."""
    from twigma.analysis.subjects import CaptionCounts

    for path, cache in _releases(quirky):
        df = load_release(path, cache_dir=cache)
        pd.testing.assert_series_equal(CaptionCounts.of(df).word_counts(), text.term_counts(df["all_captions"]).iloc[0],
                                       check_exact=True)


def test_subjects_from_caption_counts_equal_a_pass_per_word(quirky):
    """analysis.subjects counts each distinct caption's images once (CaptionCounts) and works on those
    counts: every subject's trend equals the one track.track makes from scratch over the rows (exactly;
    the likes, by tweet, are checked in tests/test_track.py), the merged words, their Jaccard indices
    and the cluster marks equal those of the row-level masks, and every left-out word's image count a
    pass over all captions. On the sample and on the quirky release (missing likes and captions, an
    empty month), from the four columns the notebook loads, and with the likes of one subject's images
    all missing (its medians and same-month likes NaN, as track's)."""
    from twigma.analysis import subjects as subj, track

    cols = ["created_at", "like_count", "all_captions", "label_10_cluster"]
    for path, cache in _releases(quirky):
        full = load_release(path, cache_dir=cache)
        word = text.top_words(full["all_captions"], n=1)["word"].iloc[0]
        no_likes = full.assign(like_count=full["like_count"].mask(track.match_captions(full["all_captions"], word)))
        # track's row of each word, made once per release: its columns read captions and dates, not likes
        # (checked below on the word whose likes are missing)
        tracked: dict[str, dict] = {}
        # the row-level masks, their merges and cluster marks: the two frames share captions and clusters
        words = text.top_words(full["all_captions"], n=40)["word"].tolist()
        masks = np.stack([track.match_captions(full["all_captions"], w) for w in words])
        dup = subj.duplicate_of(masks, words).set_index("subject")
        cluster_of = dict(zip(words, subj.same_as_cluster(masks, full["label_10_cluster"].to_numpy())))
        middle = int(np.median(masks.sum(axis=1)))  # about half the words have fewer images
        for df in (full, no_likes):
            for min_images in (20, middle):
                subjects, left = subj.subject_trends(df[cols], n_subjects=40, min_images=min_images,
                                                     min_images_per_month=5)
                assert sorted([*subjects["subject"], *left["subject"]]) == sorted(words) and len(subjects)
                for r in subjects.to_dict("records"):
                    if r["subject"] not in tracked:
                        tracked[r["subject"]] = subj._row(r["subject"], track.track(df, r["subject"], alpha=0.01,
                                                                                    min_images_per_month=5))
                    want = tracked[r["subject"]]
                    for key, value in want.items():  # exactly equal (NaN where NaN)
                        assert r[key] == value or (pd.isna(r[key]) and pd.isna(value)), (r["subject"], key)
                    assert r["same_as_cluster"] == cluster_of[r["subject"]]
                    assert dup.loc[r["subject"], "duplicate_of"] == ""
                for r in left.itertuples():
                    want = dup.loc[r.subject]
                    assert r.n_images == int(masks[words.index(r.subject)].sum())
                    assert r.duplicate_of == want["duplicate_of"]
                    assert r.jaccard == want["jaccard"] or (pd.isna(r.jaccard) and pd.isna(want["jaccard"]))
            assert (left["reason"] == f"fewer than {middle} images").any() and subjects["n_images"].min() >= middle
        own = subj._row(word, track.track(no_likes, word, alpha=0.01, min_images_per_month=5))
        assert all(tracked[word][k] == v or (pd.isna(tracked[word][k]) and pd.isna(v)) for k, v in own.items())
        assert pd.isna(subj.subject_trends(no_likes[cols], n_subjects=40, min_images=20, min_images_per_month=5)[0]
                       .set_index("subject").loc[word, ["median_likes", "likes_diff"]]).all()
        assert no_likes["like_count"].notna().any() and (left["duplicate_of"] != "").any()  # merged words too


def test_subject_medians_from_like_counts_equal_pandas_medians():
    """The median of a group's likes from its images per like value (even, odd and empty groups)."""
    from twigma.analysis import subjects as subj

    rng = np.random.default_rng(3)
    likes = rng.integers(0, 40, 501).astype(float)
    values = np.unique(likes)
    groups = [rng.random(501) < p for p in (0.0, 0.002, 0.1, 0.5, 1.0)] + [np.arange(501) < 2]
    counts = np.stack([np.array([(likes[g] == v).sum() for v in values]) for g in groups])
    got = subj._median(counts, values)
    want = [pd.Series(likes[g]).median() for g in groups]
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[0]) and counts[1:].sum(axis=1).min() > 0
    assert np.isnan(subj._median(np.zeros((2, 0)), np.zeros(0))).all()


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
