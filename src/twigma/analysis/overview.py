"""Counts of the release and its growth over time (paper Figure 1b; claims C1, C2)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def month_of(created_at: pd.Series) -> pd.Series:
    """Calendar month (UTC) of each timestamp, as text ``YYYY-MM``."""
    return created_at.dt.tz_convert("UTC").dt.strftime("%Y-%m")


def data_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Headline counts of a typed release table.

    Returns
    -------
    DataFrame with columns ``metric``, ``value`` (text-friendly values) and ``description``.
    """
    per_tweet = df.groupby("id", sort=False).size()
    tweet_likes_missing = df["like_count"].isna().groupby(df["id"], sort=False).all()
    rows = [
        ("n_images", len(df), "rows of the release (one per image)"),
        ("n_tweets", int(per_tweet.size), "distinct tweet ids"),
        ("images_per_tweet_mean", round(float(per_tweet.mean()), 4), "mean images per tweet"),
        ("images_per_tweet_max", int(per_tweet.max()), "most images in one tweet"),
        ("share_tweets_multi_image", round(float((per_tweet > 1).mean()), 4), "tweets with more than one image"),
        ("first_created_at", df["created_at"].min().isoformat(), "earliest tweet (UTC)"),
        ("last_created_at", df["created_at"].max().isoformat(), "latest tweet (UTC)"),
        ("n_months", int(month_of(df["created_at"]).nunique()), "calendar months with at least one tweet"),
        ("share_likes_missing", round(float(df["like_count"].isna().mean()), 4),
         "images whose like count is missing (tweet deleted by May 2023)"),
        ("share_tweets_likes_missing", round(float(tweet_likes_missing.mean()), 4), "tweets whose like count is missing"),
        ("share_possibly_sensitive", round(float(df["possibly_sensitive"].mean()), 4),
         "images in tweets flagged sensitive by Twitter (among known flags)"),
        ("n_clusters", int(df["label_10_cluster"].nunique()), "distinct clusters present"),
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "description"])


def images_per_tweet(df: pd.DataFrame) -> pd.DataFrame:
    """Distribution of the number of images per tweet: ``n_images_in_tweet``, ``n_tweets``, ``share``."""
    counts = df.groupby("id", sort=False).size().value_counts().sort_index()
    out = counts.rename_axis("n_images_in_tweet").reset_index(name="n_tweets")
    out["share"] = out["n_tweets"] / out["n_tweets"].sum()
    return out


def monthly_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Tweets (distinct ids) and images (rows) per calendar month, UTC.

    Returns
    -------
    DataFrame with columns ``month`` (YYYY-MM), ``n_tweets``, ``n_images``; every month between
    the first and the last is listed, with zeros where nothing was posted.
    """
    month = month_of(df["created_at"])
    g = pd.DataFrame({"month": month, "id": df["id"]}).groupby("month")
    out = pd.DataFrame({"n_tweets": g["id"].nunique(), "n_images": g.size()})
    full = pd.period_range(out.index.min(), out.index.max(), freq="M").strftime("%Y-%m")
    out = out.reindex(full, fill_value=0).rename_axis("month").reset_index()
    return out.astype({"n_tweets": "int64", "n_images": "int64"})


def growth_trend(monthly: pd.DataFrame, column: str = "n_tweets") -> dict:
    """Trend of a monthly count: Mann-Kendall test and log-linear growth rate.

    The Mann-Kendall test is Kendall's tau between the count and time (scipy). The growth
    rate is the slope of an ordinary least-squares fit of log(count) on time in years,
    reported as the factor by which the count multiplies per year, with the fit's t-test
    p-value (``loglinear_p_value``, a second test of growth). Months with a zero count are
    left out of the log-linear fit.
    """
    y = monthly[column].to_numpy(dtype=float)
    t = np.arange(len(y)) / 12.0
    tau, p = stats.kendalltau(t, y)
    pos = y > 0
    fit = stats.linregress(t[pos], np.log(y[pos])) if pos.sum() >= 3 else None
    return {
        "column": column,
        "n_months": int(len(y)),
        "kendall_tau": float(tau),
        "p_value": float(p),
        "growth_per_year": float(np.exp(fit.slope)) if fit else float("nan"),
        "log_intercept": float(fit.intercept) if fit else float("nan"),  # log(count) at the first month
        "loglinear_p_value": float(fit.pvalue) if fit else float("nan"),  # t-test of the log-linear slope
        "first_month": monthly["month"].iloc[0],
        "last_month": monthly["month"].iloc[-1],
    }
