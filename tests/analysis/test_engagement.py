"""Tests of twigma.analysis.engagement: likes, quotes and replies: distributions, missing shares, by cluster and by month."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twigma.analysis import engagement, inference, overview


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


def test_engagement_early_late_is_the_mean_over_images_with_known_likes(small_release):
    by_month = engagement.engagement_by_month(small_release)
    ends = engagement.early_late_engagement(by_month, n_months=6)
    month = small_release["created_at"].dt.strftime("%Y-%m")
    early, _ = overview.early_late_months(by_month["month"], 6)
    likes = small_release.loc[month.isin(early), "like_count"]
    assert ends.loc["early", "share_likes_missing"] == pytest.approx(likes.isna().mean())
    assert ends.loc["early", "mean_log1p_likes"] == pytest.approx(np.log1p(likes.dropna().astype(float)).mean())


def test_top_share_and_likes_extremes(small_release):
    likes = pd.Series([100, 1, 1, 1, 1, 1, 1, 1, 1, 1, np.nan] * 10, dtype=float)
    assert engagement.top_share(likes, 0.1) == pytest.approx(1000 / 1090)
    by = engagement.engagement_by_cluster(small_release)
    e = engagement.likes_extremes(by, small_release)
    g = small_release.dropna(subset=["like_count"]).groupby("label_10_cluster")["like_count"]
    gm = g.apply(lambda s: stats.gmean(1 + s.astype(float)))  # geometric means of (1 + likes), scipy
    assert e.ratio.estimate == pytest.approx(gm.max() / gm.min()) and e.most.name == gm.idxmax()
    assert (by["n_likes_known"] == g.size().reindex(by["cluster"]).to_numpy()).all()
