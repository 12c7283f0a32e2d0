"""Likes, quotes and replies: distributions, missing shares, by cluster and by month.

Engagement was collected per tweet in the week of 29 May 2023 and is repeated on every
image of a tweet; it is missing for tweets deleted by then. The tables by cluster and by month
are per image (as the release is), :func:`per_tweet` gives one row per tweet where that is the
right unit, and intervals resample tweets.

One log base for likes: the natural log, ln(1 + likes) (``mean_log1p_likes``, and the outcome
of notebook 08's C9 model). Figures may draw counts on logarithmic axes; their ticks are counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twigma.analysis.inference import DEFAULT_ALPHA, Interval, tweet_bootstrap_sums, tweet_sums
from twigma.analysis.months import Months
from twigma.analysis.overview import early_late_months, month_of
from twigma.memory import free_arrow_memory

METRICS = ["like_count", "quote_count", "reply_count"]


def per_tweet(df: pd.DataFrame) -> pd.DataFrame:
    """One row per tweet: id, created_at, the engagement counts and the number of images.

    Tweets in the order they first occur, each column its first non-missing value among the tweet's
    images (pandas' ``groupby("id", sort=False).first()``, tests/analysis/test_engagement.py), taken from each
    tweet's first image by position: a groupby over the id strings holds far more memory on a
    release of millions of images (docs/scaling.md)."""
    code, ids = pd.factorize(df["id"].reset_index(drop=True), use_na_sentinel=False)
    n = len(ids)
    top = np.maximum.accumulate(code) if len(code) else code
    first = np.flatnonzero(np.r_[True, top[1:] > top[:-1]]) if len(code) else code  # codes count up from 0
    out = {"id": pd.Series(ids, name="id")}
    for c in ("created_at", *METRICS):
        col = df[c].reset_index(drop=True)
        taken = col.take(first).reset_index(drop=True)
        known = col.notna().to_numpy()
        gap = taken.isna().to_numpy() & (np.bincount(code, weights=known, minlength=n) > 0)
        if gap.any():  # a tweet whose first image lacks what a later one has: that later value
            later = col[known].groupby(code[known], sort=True).first()
            taken[gap] = later.loc[np.flatnonzero(gap)].to_numpy()  # type: ignore[index]  # pandas-stubs: no boolean mask here
        out[c] = taken
    table = pd.DataFrame(out)
    table["n_images"] = np.bincount(code, minlength=n).astype(np.int64)
    free_arrow_memory()  # what the id strings' hashing and taking left in pyarrow's pool
    return table


def distribution_summary(df: pd.DataFrame, metrics: list[str] = METRICS) -> pd.DataFrame:
    """Per metric: n, share missing, share zero, mean, median, 90th and 99th percentiles, max
    (over non-missing values)."""
    rows = []
    for m in metrics:
        x = df[m].dropna().to_numpy(dtype=float)
        rows.append({"metric": m, "n": int(len(df)), "share_missing": float(df[m].isna().mean()),
                     "share_zero": float(np.mean(x == 0)) if len(x) else np.nan,
                     "mean": float(x.mean()) if len(x) else np.nan,
                     "median": float(np.median(x)) if len(x) else np.nan,
                     "p90": float(np.quantile(x, 0.9)) if len(x) else np.nan,
                     "p99": float(np.quantile(x, 0.99)) if len(x) else np.nan,
                     "max": float(x.max()) if len(x) else np.nan})
    return pd.DataFrame(rows)


def engagement_table(df: pd.DataFrame, by: pd.Series | pd.Categorical) -> pd.DataFrame:
    """Per group: ``n_images``, ``share_likes_missing``, ``median_likes`` and ``mean_log1p_likes``
    (both over non-missing likes; natural log), ``mean_likes``, ``median_quotes``,
    ``median_replies`` and ``n_likes_known`` (the images with known likes, the denominator of the
    likes' statistics)."""
    code, groups = pd.factorize(pd.Series(by).reset_index(drop=True), sort=True)  # groups by integer code
    inside = code >= 0  # rows without a group are left out, as a groupby does
    keep = slice(None) if inside.all() else inside
    code = code[keep]

    def per_group(column: str, how: str, f=None) -> pd.Series:  # one column's array at a time, not a frame of six
        x = df[column].to_numpy(dtype=float, na_value=np.nan)[keep]
        return pd.Series(x if f is None else f(x)).groupby(code, sort=True).agg(how)

    likes = per_group("like_count", "count")
    labels = groups.take(likes.index.to_numpy())
    table = pd.DataFrame({
        "n_images": pd.Series(np.bincount(code, minlength=len(groups))[likes.index.to_numpy()], index=likes.index),
        "share_likes_missing": per_group("like_count", "mean", np.isnan),
        "median_likes": per_group("like_count", "median"),
        "mean_log1p_likes": per_group("like_count", "mean", np.log1p),
        "mean_likes": per_group("like_count", "mean"),
        "median_quotes": per_group("quote_count", "median"),
        "median_replies": per_group("reply_count", "median"),
        "n_likes_known": likes,
    })
    if isinstance(labels.dtype, pd.CategoricalDtype):  # months given as categories: labelled by their text
        labels = labels.astype(labels.dtype.categories.dtype)
    table.index = pd.Index(labels)
    return table


def engagement_by_cluster(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`engagement_table` per cluster, with a ``cluster`` column."""
    return engagement_table(df, df["label_10_cluster"]).rename_axis("cluster").reset_index()


def engagement_by_month(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`engagement_table` per calendar month, with a ``month`` column."""
    created = df["created_at"]  # the months by code; as text when a time is missing
    by = month_of(created) if created.isna().any() else Months.of(created).categorical()
    return engagement_table(df, by).rename_axis("month").reset_index()


def top_share(values: pd.Series, top: float = 0.01) -> float:
    """The share of the total held by the largest ``top`` fraction of the units (at least one
    unit; missing values left out): e.g. the share of all likes that the top 1% of tweets hold."""
    x = np.sort(values.dropna().to_numpy(dtype=float))[::-1]
    if not len(x) or x.sum() <= 0:
        return float("nan")
    return float(x[: max(1, int(len(x) * top))].sum() / x.sum())


@dataclass(frozen=True)
class LikesExtremes:
    """What notebook 05 says about likes by cluster (:func:`likes_extremes`)."""

    most: pd.Series  # the row of the cluster with the highest mean ln(1 + likes) (its name is the cluster)
    fewest: pd.Series  # and the lowest
    ratio: Interval  # ratio of their geometric means of (1 + likes), with its tweet-bootstrap interval
    small_ratio: float  # the ratio under which the difference counts as small
    judgement: str  # "small" (interval wholly below small_ratio), "sizeable" (wholly at or above) or "undecided"


def likes_extremes(by_cluster: pd.DataFrame, df: pd.DataFrame, small_ratio: float = 1.5,
                   alpha: float = DEFAULT_ALPHA, *, n_resamples: int = 2000, seed: int = 0) -> LikesExtremes:
    """From :func:`engagement_by_cluster` (of ``df``, the release): the clusters with the highest
    and lowest mean ln(1 + likes) per image and the ratio of their geometric means of
    (1 + likes), exp(difference of the two means), with a ``1 - alpha`` percentile interval
    that resamples tweets (each with all its images; :func:`twigma.analysis.inference.tweet_bootstrap_sums`).
    The two clusters are the ones this run picked; the interval is for their ratio, not for the
    range over clusters. The difference is ``small`` when the interval lies wholly below
    ``small_ratio``, ``sizeable`` when wholly at or above it, else ``undecided``."""
    bc = by_cluster.set_index("cluster")
    hi, lo = bc["mean_log1p_likes"].idxmax(), bc["mean_log1p_likes"].idxmin()
    x = np.log1p(df["like_count"].to_numpy(dtype=float, na_value=np.nan))
    known = np.isfinite(x)
    cols = []
    for k in (hi, lo):
        inside = (df["label_10_cluster"].to_numpy() == k) & known
        cols += [np.where(inside, x, 0.0), inside.astype(float)]
    sums = tweet_sums(np.column_stack(cols), df["id"])

    def ratio(t):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.exp(t[..., 0] / t[..., 1] - t[..., 2] / t[..., 3])

    r = tweet_bootstrap_sums(sums, ratio, alpha, n_resamples=n_resamples, seed=seed)
    judgement = "small" if r.high < small_ratio else "sizeable" if r.low >= small_ratio else "undecided"
    return LikesExtremes(bc.loc[hi].rename(hi), bc.loc[lo].rename(lo), r, float(small_ratio), judgement)  # type: ignore[call-overload]  # pandas-stubs: .loc takes no Hashable label


@dataclass(frozen=True)
class MissingChange:
    """The share of images whose likes are missing, first against last months
    (:func:`missing_change`): ``change`` is early minus late, with its tweet-bootstrap interval."""

    early: float
    late: float
    change: Interval
    direction: str  # "older" (interval above 0: older tweets miss more), "newer" (below 0) or "neither"


def missing_change(df: pd.DataFrame, alpha: float = DEFAULT_ALPHA, n_months: int = 12, *,
                   n_resamples: int = 2000, seed: int = 0) -> MissingChange:
    """The share of images with likes missing in the first ``n_months`` months minus the last
    (:func:`twigma.analysis.overview.early_late_months`, as :func:`early_late_engagement` pools
    them), with a ``1 - alpha`` percentile interval that resamples tweets."""
    month = month_of(df["created_at"])
    early, late = early_late_months(pd.Series(month.unique()).dropna(), n_months)
    missing = df["like_count"].isna().to_numpy()
    cols = []
    for months in (early, late):
        inside = month.isin(months).to_numpy()
        cols += [inside.astype(float), (inside & missing).astype(float)]
    sums = tweet_sums(np.column_stack(cols), df["id"])

    def diff(t):
        with np.errstate(invalid="ignore", divide="ignore"):
            return t[..., 1] / t[..., 0] - t[..., 3] / t[..., 2]

    c = tweet_bootstrap_sums(sums, diff, alpha, n_resamples=n_resamples, seed=seed)
    tot = sums.sum(axis=0)
    direction = "older" if c.above(0) else "newer" if c.below(0) else "neither"
    return MissingChange(float(tot[1] / tot[0]), float(tot[3] / tot[2]), c, direction)


#: The monthly columns :func:`early_late_engagement` pools and the weight of each.
EARLY_LATE = {"share_likes_missing": "n_images", "mean_log1p_likes": "n_likes_known"}


def early_late_engagement(by_month: pd.DataFrame, n_months: int = 12) -> pd.DataFrame:
    """:func:`engagement_by_month` pooled over the first and the last ``n_months`` months
    (:func:`twigma.analysis.overview.early_late`): the share of images with likes missing, and
    the mean ln(1 + likes) over the images with known likes."""
    from twigma.analysis.overview import early_late

    return early_late(by_month, EARLY_LATE, n_months)
