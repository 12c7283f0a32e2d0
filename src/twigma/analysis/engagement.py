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

METRICS = ["like_count", "quote_count", "reply_count"]


def per_tweet(df: pd.DataFrame) -> pd.DataFrame:
    """One row per tweet: id, created_at, the engagement counts and the number of images."""
    g = df.groupby("id", sort=False)
    out = g[["created_at", *METRICS]].first()
    out["n_images"] = g.size()
    return out.reset_index()


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
    likes = df["like_count"].to_numpy(dtype=float, na_value=np.nan)
    code, groups = pd.factorize(pd.Series(by).reset_index(drop=True), sort=True)  # groups by integer code
    frame = pd.DataFrame({"group": code, "likes": likes, "log1p": np.log1p(likes),
                          "missing": np.isnan(likes),
                          "quotes": df["quote_count"].to_numpy(dtype=float, na_value=np.nan),
                          "replies": df["reply_count"].to_numpy(dtype=float, na_value=np.nan)})
    frame = frame[code >= 0] if (code < 0).any() else frame  # rows without a group are left out, as a groupby does
    g = frame.groupby("group", sort=True)
    labels = groups.take(g.size().index.to_numpy())
    table = pd.DataFrame({
        "n_images": g.size(),
        "share_likes_missing": g["missing"].mean(),
        "median_likes": g["likes"].median(),
        "mean_log1p_likes": g["log1p"].mean(),
        "mean_likes": g["likes"].mean(),
        "median_quotes": g["quotes"].median(),
        "median_replies": g["replies"].median(),
        "n_likes_known": g["likes"].count(),
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
    code, months = month_codes(df["created_at"]) if df["created_at"].notna().all() else (None, None)
    by = month_of(df["created_at"]) if code is None else pd.Categorical.from_codes(code, categories=months)
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
