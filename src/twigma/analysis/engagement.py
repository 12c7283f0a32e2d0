"""Likes, quotes and replies: distributions, missing shares, by cluster and by month.

Engagement was collected per tweet in the week of 29 May 2023 and is repeated on every
image of a tweet; it is missing for tweets deleted by then. Tables here are per image (as
the release is), and :func:`per_tweet` gives one row per tweet where that is the right unit.

One log base for likes: the natural log, ln(1 + likes) (``mean_log1p_likes``, and the outcome
of notebook 08's C9 model). Figures may draw counts on logarithmic axes; their ticks are counts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from twigma.analysis.overview import month_codes, month_of
from twigma.release.load import release_unused

METRICS = ["like_count", "quote_count", "reply_count"]


def per_tweet(df: pd.DataFrame) -> pd.DataFrame:
    """One row per tweet: id, created_at, the engagement counts and the number of images.

    Tweets in the order they first occur, each column its first non-missing value among the tweet's
    images (pandas' ``groupby("id", sort=False).first()``, tests/test_analysis.py), taken from each
    tweet's first image by position: a groupby over 14 million id strings held 1.4 GB more."""
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
            taken[gap] = later.loc[np.flatnonzero(gap)].to_numpy()
        out[c] = taken
    table = pd.DataFrame(out)
    table["n_images"] = np.bincount(code, minlength=n).astype(np.int64)
    release_unused()  # what the id strings' hashing and taking left in pyarrow's pool (0.9 GB at 14M)
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


def engagement_table(df: pd.DataFrame, by: pd.Series) -> pd.DataFrame:
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
    coded = month_codes(df["created_at"])  # None when a time is missing: then the months as text
    by = month_of(df["created_at"]) if coded is None else pd.Categorical.from_codes(coded[0], categories=coded[1])
    return engagement_table(df, by).rename_axis("month").reset_index()


def top_share(values: pd.Series, top: float = 0.01) -> float:
    """The share of the total held by the largest ``top`` fraction of the units (at least one
    unit; missing values left out): e.g. the share of all likes that the top 1% of tweets hold."""
    x = np.sort(values.dropna().to_numpy(dtype=float))[::-1]
    if not len(x) or x.sum() <= 0:
        return float("nan")
    return float(x[: max(1, int(len(x) * top))].sum() / x.sum())


def cluster_extremes(by_cluster: pd.DataFrame) -> dict:
    """From :func:`engagement_by_cluster`: ``most`` and ``fewest`` (the clusters with the highest
    and lowest mean ln(1 + likes), their rows as Series) and ``ratio``, the ratio of their
    geometric means of (1 + likes), exp(difference of the two means)."""
    bc = by_cluster.set_index("cluster")
    hi, lo = bc["mean_log1p_likes"].idxmax(), bc["mean_log1p_likes"].idxmin()
    return {"most": bc.loc[hi].rename(hi), "fewest": bc.loc[lo].rename(lo),
            "ratio": float(np.exp(bc.loc[hi, "mean_log1p_likes"] - bc.loc[lo, "mean_log1p_likes"]))}


#: The monthly columns :func:`early_late_engagement` pools and the weight of each.
EARLY_LATE = {"share_likes_missing": "n_images", "mean_log1p_likes": "n_likes_known"}


def early_late_engagement(by_month: pd.DataFrame, n_months: int = 12) -> pd.DataFrame:
    """:func:`engagement_by_month` pooled over the first and the last ``n_months`` months
    (:func:`twigma.analysis.overview.early_late`): the share of images with likes missing, and
    the mean ln(1 + likes) over the images with known likes."""
    from twigma.analysis.overview import early_late

    return early_late(by_month, EARLY_LATE, n_months)
