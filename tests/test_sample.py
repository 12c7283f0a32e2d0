"""The synthetic sample: deterministic, in the release's format, with the real quirks."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from twigma import paths
from twigma.release import REQUIRED, is_synthetic, load_release, validate
from twigma.sample import (SAMPLE_N_IMAGES, TWITTER_EPOCH_MS, ensure_sample, generate_release, make_sample)


def test_same_seed_same_table_and_same_bytes(tmp_path):
    a, b = generate_release(2000, seed=3), generate_release(2000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    p1 = make_sample(tmp_path / "a.csv.gz", n_images=2000, seed=3)
    p2 = make_sample(tmp_path / "b.csv.gz", n_images=2000, seed=3)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(p1) == digest(p2)
    assert not generate_release(2000, seed=4).equals(a)


@pytest.fixture(scope="module")
def sample():
    return validate(generate_release(SAMPLE_N_IMAGES))


def test_embedded_sample_is_large_enough_and_in_release_format(sample):
    assert len(sample) == SAMPLE_N_IMAGES >= 20_000
    assert list(sample.columns) == REQUIRED
    assert sample["image_name"].is_unique
    n_tweets = sample["id"].nunique()
    assert n_tweets < len(sample)  # some tweets carry several images
    assert sample.groupby("id").size().max() == 4  # Twitter's limit


def test_ids_are_19_digit_snowflakes_consistent_with_created_at(sample):
    assert sample["id"].str.fullmatch(r"\d{19}").all()
    ms = (sample["id"].astype("int64").to_numpy() >> 22) + TWITTER_EPOCH_MS
    created_s = sample["created_at"].astype("int64").to_numpy() // 1_000_000  # whole seconds, as Twitter writes
    assert (ms // 1000 == created_s).all()
    media_ms = (sample["image_name"].astype("int64").to_numpy() >> 22) + TWITTER_EPOCH_MS
    assert (media_ms < ms).all()  # images are uploaded before the tweet is sent


def test_engagement_missing_per_tweet_for_a_few_percent(sample):
    per_tweet = sample.groupby("id")["like_count"].agg(lambda s: s.isna().mean())
    assert set(per_tweet.unique()) <= {0.0, 1.0}  # all images of a tweet share it
    assert 0.02 <= per_tweet.mean() <= 0.07
    likes = sample["like_count"].dropna().astype(float)
    assert likes.max() > 50 * likes.median() + 100  # heavy tail


def test_growth_and_theme_shifts(sample):
    month = sample["created_at"].dt.strftime("%Y-%m")
    assert month.min() == "2021-01" and month.max() == "2023-03"
    per_month = sample.groupby(month)["id"].nunique()
    assert per_month.iloc[-6:].mean() > 5 * per_month.iloc[:6].mean()
    year = sample["created_at"].dt.year
    share = pd.crosstab(year, sample["label_10_cluster"], normalize="index")
    for k in (1, 3, 4):
        assert share.loc[2023, k] < share.loc[2021, k]
    for k in (8, 9):
        assert share.loc[2023, k] > share.loc[2021, k]


def test_two_clusters_mostly_nsfw_and_umap_clustered_by_label(sample):
    above = (sample["nsfw_score"] > 0.5).groupby(sample["label_10_cluster"]).mean()
    assert (above > 0.5).sum() == 2
    centres = sample.groupby("label_10_cluster")[["UMAP_dim_1", "UMAP_dim_2"]].mean()
    spread = sample.groupby("label_10_cluster")[["UMAP_dim_1", "UMAP_dim_2"]].std().mean().mean()
    d = np.sqrt(((centres.to_numpy()[:, None] - centres.to_numpy()[None]) ** 2).sum(-1))
    assert d[np.triu_indices(10, 1)].min() > spread


def test_captions_are_blip_like_and_vary_by_cluster(sample):
    assert sample["all_captions"].str.len().between(5, 200).all()
    cats = sample.loc[sample["label_10_cluster"] == 3, "all_captions"].str.contains(r"\bcat\b").mean()
    others = sample.loc[sample["label_10_cluster"] != 3, "all_captions"].str.contains(r"\bcat\b").mean()
    assert cats > 0.2 and others == 0


def test_scales_to_benchmark_size_quickly():
    df = generate_release(200_000, seed=1)
    assert len(df) == 200_000 and df["id"].nunique() < 200_000


def test_sample_file_is_marked_synthetic_and_regenerated_when_missing():
    p = ensure_sample()
    assert p == paths.SAMPLE_RELEASE and is_synthetic(p)
    assert load_release(p).attrs["synthetic"]
