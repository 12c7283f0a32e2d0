"""A release with the quirks real files have, written as CSV and Parquet."""
from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def quirky(raw, write_csv, tmp_path):
    """3,000 images: likes (and the other counts) missing for every 7th row, the flag missing for every
    5th, the caption for every 11th, and no image at all in one month inside the period."""
    df = raw.copy()
    for c in ("like_count", "quote_count", "reply_count"):
        df[c] = df[c].astype("object")
        df.loc[::7, c] = ""
    df["possibly_sensitive"] = df["possibly_sensitive"].astype("object")
    df.loc[::5, "possibly_sensitive"] = ""
    df["all_captions"] = df["all_captions"].astype("object")
    df.loc[::11, "all_captions"] = ""
    months = pd.to_datetime(df["created_at"], utc=True).dt.strftime("%Y-%m")
    gap = sorted(months.unique())[len(months.unique()) // 2]
    df = df[months != gap].reset_index(drop=True)
    return write_csv(df, "quirky.csv"), tmp_path / "cache", gap


def _releases(quirky):
    path, cache, _ = quirky
    return [("", None), (path, cache)]
