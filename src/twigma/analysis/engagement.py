"""Likes, quotes and replies: distributions, missing shares, by cluster and by month.

Engagement was collected per tweet in the week of 29 May 2023 and is repeated on every
image of a tweet; it is missing for tweets deleted by then. Tables here are per image (as
the release is), and :func:`per_tweet` gives one row per tweet where that is the right unit.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from twigma.analysis.overview import month_of

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
    (both over non-missing likes), ``mean_likes``, ``median_quotes``, ``median_replies``."""
    likes = df["like_count"].to_numpy(dtype=float, na_value=np.nan)
    frame = pd.DataFrame({"group": by.to_numpy(), "likes": likes, "log1p": np.log1p(likes),
                          "missing": np.isnan(likes),
                          "quotes": df["quote_count"].to_numpy(dtype=float, na_value=np.nan),
                          "replies": df["reply_count"].to_numpy(dtype=float, na_value=np.nan)})
    g = frame.groupby("group", sort=True)
    return pd.DataFrame({
        "n_images": g.size(),
        "share_likes_missing": g["missing"].mean(),
        "median_likes": g["likes"].median(),
        "mean_log1p_likes": g["log1p"].mean(),
        "mean_likes": g["likes"].mean(),
        "median_quotes": g["quotes"].median(),
        "median_replies": g["replies"].median(),
    })


def engagement_by_cluster(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`engagement_table` per cluster, with a ``cluster`` column."""
    return engagement_table(df, df["label_10_cluster"]).rename_axis("cluster").reset_index()


def engagement_by_month(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`engagement_table` per calendar month, with a ``month`` column."""
    return engagement_table(df, month_of(df["created_at"])).rename_axis("month").reset_index()
