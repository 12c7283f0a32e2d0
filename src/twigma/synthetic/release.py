"""A seeded generator of synthetic tables in the TWIGMA release's format.

The real release cannot ship inside the compendium's tests or be downloaded everywhere, so
``make figures`` runs on an embedded sample made here. It is **synthetic**: every number
drawn from it describes this generator, not Twitter. The generator reproduces the release's
format and its known quirks so that the same code runs unchanged on the real file:

* 19-digit tweet and media ids (Twitter "snowflake" ids, consistent with ``created_at``);
* several images per tweet (1 to 4, as Twitter allows), sharing the tweet's engagement;
* likes, quotes and replies missing for a few percent of tweets (deleted by May 2023);
* heavy-tailed likes (log-normal with a Pareto-like tail);
* growth of posting from January 2021 to March 2023, faster after the release of
  Stable Diffusion (August 2022);
* BLIP-style captions drawn from a vocabulary per cluster;
* ten clusters whose shares move over time: 1, 3, 4 decline, 8, 9 rise (claims C4, C5);
* within clusters too, captions of portraits become commoner and captions of nature and animals
  rarer (claim C11, beside the cluster shares: :data:`C11_SHIFT`);
* two clusters (5 and 7) mostly NSFW by the detector score, with Twitter's flag correlated;
* 2-D UMAP coordinates clustered by label.

A side file ``<file>.meta.json`` records ``"synthetic": true`` and the settings, so every
figure made from the file is marked "synthetic sample data".
"""
from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from twigma import paths
from twigma.files import atomic_write
from twigma.release import marks

#: Version of the generator's recipe: bump when the output changes, so samples are remade.
GENERATOR_VERSION = 2
SAMPLE_SEED = 20230613
SAMPLE_N_IMAGES = 24_000

START = pd.Timestamp("2021-01-01", tz="UTC")
END = pd.Timestamp("2023-04-01", tz="UTC")  # exclusive: the release ends in March 2023
TWITTER_EPOCH_MS = 1288834974657  # snowflake ids count milliseconds from this instant
SD_RELEASE = pd.Timestamp("2022-08-22", tz="UTC")  # Stable Diffusion's public release

# images per tweet: Twitter allows 1 to 4; four-image grids are common for generators
IMAGES_PER_TWEET_P = np.array([0.62, 0.10, 0.06, 0.22])
P_DELETED = 0.04  # tweets whose engagement is missing
P_SAME_CLUSTER = 0.85  # images of one tweet usually come from one prompt

# One entry per cluster (1..10): base log-odds, trend in log-odds per year, NSFW, vocabulary.
THEMES: dict[int, dict] = {
    1: dict(name="landscapes", base=0.9, trend=-0.9, nsfw=False,
            subjects=["mountain landscape", "lake", "forest", "river", "valley", "sunset", "waterfall", "field of flowers"],
            extras=["with a lake", "at sunset", "in the mist", "with trees", "under a cloudy sky", "in autumn"]),
    2: dict(name="fantasy", base=0.6, trend=0.0, nsfw=False,
            subjects=["castle", "dragon", "wizard", "knight", "fantasy city", "giant creature", "ancient temple"],
            extras=["in a fantasy world", "with glowing lights", "on a hill", "in the clouds", "at night"]),
    3: dict(name="animals", base=0.8, trend=-1.0, nsfw=False,
            subjects=["cat", "dog", "owl", "fox", "horse", "lion", "bird", "wolf"],
            extras=["sitting on a table", "in the grass", "with big eyes", "wearing a hat", "in the snow"]),
    4: dict(name="abstract", base=0.7, trend=-1.2, nsfw=False,
            subjects=["abstract pattern", "colorful swirl", "fractal", "geometric shape", "psychedelic design"],
            extras=["with bright colors", "on a black background", "with many shapes", "in neon colors"]),
    5: dict(name="anime", base=0.2, trend=0.3, nsfw=True,
            subjects=["anime girl", "anime woman", "cartoon girl", "manga character"],
            extras=["with long hair", "in a bikini", "lying on a bed", "with pink hair", "posing for a picture"]),
    6: dict(name="architecture", base=0.2, trend=0.0, nsfw=False,
            subjects=["city street", "futuristic city", "building", "room", "skyscraper", "house"],
            extras=["at night", "with neon lights", "in the rain", "with a car", "from above"]),
    7: dict(name="nsfw figures", base=-0.2, trend=0.3, nsfw=True,
            subjects=["naked woman", "woman in lingerie", "woman in a bikini", "body of a woman"],
            extras=["lying on a bed", "posing for a picture", "on the beach", "in a bathroom", "with her legs crossed"]),
    8: dict(name="portraits of women", base=-0.4, trend=1.0, nsfw=False,
            subjects=["woman", "young woman", "girl", "woman with long hair", "beautiful woman"],
            extras=["with long hair", "with red hair", "with blue eyes", "wearing a dress", "with a flower in her hair"]),
    9: dict(name="portraits of men", base=-0.8, trend=1.1, nsfw=False,
            subjects=["man", "old man", "man in a suit", "bearded man", "man with a beard"],
            extras=["wearing a hat", "with glasses", "with short hair", "in a suit and tie", "with a serious face"]),
    10: dict(name="memes and text", base=0.0, trend=0.0, nsfw=False,
             subjects=["cartoon character", "text", "screenshot", "poster", "logo", "comic strip"],
             extras=["with the words", "on a white background", "with a funny face", "in a cartoon style"]),
}
#: The caption-level C11 shift, in log-odds per year: a fantasy or meme image's caption is a portrait
#: ("a portrait of a knight") with odds rising at this rate, and a fantasy or architecture image's
#: caption adds a nature or animal scene ("in a forest", "with a dog") with odds falling at it. About the
#: size of the clusters' trends; drawn from a stream of its own, so no other column depends on it.
C11_SHIFT = 0.8
C11_PORTRAIT_CLUSTERS, C11_NATURE_CLUSTERS = (2, 10), (2, 6)
C11_PORTRAIT_SUBJECTS = ["knight", "wizard", "warrior", "queen", "cartoon character"]
C11_NATURE_EXTRAS = ["in a forest", "by a lake", "with a dog", "with birds in the sky", "in the mountains"]
STYLES = ["a painting of a", "a digital painting of a", "a close up of a", "a picture of a",
          "arafed image of a", "a photo of a", "an illustration of a", "a drawing of a", "there is a"]
PORTRAIT_STYLES = ["a painting of a", "a portrait of a", "a close up of a", "arafed", "a photo of a",
                   "a digital painting of a", "a drawing of a"]


def _snowflake(ms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Twitter snowflake ids for millisecond timestamps: time in the top bits, random low 22 bits."""
    low = rng.integers(0, 1 << 22, size=len(ms), dtype=np.int64)
    return ((ms.astype(np.int64) - TWITTER_EPOCH_MS) << 22) | low


def _tweet_times(n: int, rng: np.random.Generator) -> pd.DatetimeIndex:
    """Draw n times from an intensity that grows over 2021-2023, faster after Stable Diffusion."""
    days = pd.date_range(START, END, freq="D", inclusive="left")
    years = ((days - START).days.to_numpy() / 365.25)
    boom = 1.0 / (1.0 + np.exp(-((days - SD_RELEASE).days.to_numpy()) / 20.0))
    weekly = 1.0 + 0.15 * np.sin(2 * np.pi * (days.day_of_week.to_numpy()) / 7.0)
    intensity = np.exp(1.1 * years) * (1.0 + 4.0 * boom) * weekly
    cdf = np.cumsum(intensity) / intensity.sum()
    u = rng.random(n)
    day_idx = np.searchsorted(cdf, u, side="right")
    seconds = rng.integers(0, 86_400, size=n)
    ms = rng.integers(0, 1000, size=n)
    t = days[day_idx].as_unit("ms") + pd.to_timedelta(seconds, unit="s") + pd.to_timedelta(ms, unit="ms")
    return t.sort_values()


def _cluster_probs(years: np.ndarray, trends: bool = True) -> np.ndarray:
    """Cluster probabilities, shape (n, 10), from a multinomial logit in time (constant in time
    without ``trends``)."""
    base = np.array([THEMES[k]["base"] for k in range(1, 11)])
    trend = np.array([THEMES[k]["trend"] if trends else 0.0 for k in range(1, 11)])
    logits = base[None, :] + trend[None, :] * (years[:, None] - 1.1)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _draw_categorical(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of the probability matrix p (rows sum to 1)."""
    c = np.cumsum(p, axis=1)
    u = rng.random((len(p), 1))
    return np.minimum((u > c).sum(axis=1), p.shape[1] - 1)


def _c11_shift(years: np.ndarray, clusters: np.ndarray, shift: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the portrait subject its caption gets and the nature extra it gets (-1: none)."""
    centred = years - 1.1  # as the clusters' trends
    p_portrait = 1 / (1 + np.exp(-(-1.2 + shift * centred)))
    p_nature = 1 / (1 + np.exp(-(-1.2 - shift * centred)))
    portrait = np.isin(clusters, C11_PORTRAIT_CLUSTERS) & (rng.random(len(years)) < p_portrait)
    nature = np.isin(clusters, C11_NATURE_CLUSTERS) & (rng.random(len(years)) < p_nature)
    subject = rng.integers(0, len(C11_PORTRAIT_SUBJECTS), size=len(years))
    extra = rng.integers(0, len(C11_NATURE_EXTRAS), size=len(years))
    return np.where(portrait, subject, -1), np.where(nature, extra, -1)


def _captions(clusters: np.ndarray, rng: np.random.Generator, portrait: np.ndarray | None = None,
              nature: np.ndarray | None = None) -> list[str]:
    """BLIP-like captions; ``portrait`` and ``nature`` (from :func:`_c11_shift`) plant C11's shift."""
    out = [""] * len(clusters)
    portrait = np.full(len(clusters), -1) if portrait is None else portrait
    nature = np.full(len(clusters), -1) if nature is None else nature
    for k, theme in THEMES.items():
        idx = np.flatnonzero(clusters == k)
        if len(idx) == 0:
            continue
        styles = PORTRAIT_STYLES if k in (5, 7, 8, 9) else STYLES
        s = rng.integers(0, len(styles), size=len(idx))
        zipf = 1.0 / np.arange(1, len(theme["subjects"]) + 1)  # a few subjects dominate a theme
        subj = rng.choice(len(theme["subjects"]), size=len(idx), p=zipf / zipf.sum())
        ext = rng.integers(0, len(theme["extras"]), size=len(idx))
        has_extra = rng.random(len(idx)) < 0.6
        for j, i in enumerate(idx):
            style = "a portrait of a" if portrait[i] >= 0 else styles[s[j]]
            subject = C11_PORTRAIT_SUBJECTS[portrait[i]] if portrait[i] >= 0 else theme["subjects"][subj[j]]
            if style == "arafed":
                text = f"arafed {subject}"
            else:
                article = "an" if style.endswith(" a") and subject[0] in "aeiou" else None
                text = f"{style[:-2]} an {subject}" if article else f"{style} {subject}"
            if has_extra[j]:
                text += " " + theme["extras"][ext[j]]
            if nature[i] >= 0:
                text += " " + C11_NATURE_EXTRAS[nature[i]]
            out[i] = text
    return out


def generate_release(n_images: int = SAMPLE_N_IMAGES, seed: int = SAMPLE_SEED, *,
                     trends: bool = True) -> pd.DataFrame:
    """Generate a synthetic table in the TWIGMA release's format.

    Parameters
    ----------
    n_images : int
        Number of rows (images). The number of tweets is about ``n_images / 1.9``.
    seed : int
        Seed of the random generator: the same (n_images, seed) gives the same table.
    trends : bool
        Plant the themes' shifts over time (C4, C5 through the clusters' shares, C11 through the
        clusters and :data:`C11_SHIFT`); False gives a release whose themes do not move (for tests
        that a claim says no when nothing is planted).

    Returns
    -------
    pandas.DataFrame of shape (n_images, 12)
        The release's columns (``release.REQUIRED``) as text and numbers, as a CSV holds them.
    """
    if n_images < 1:
        raise ValueError("n_images must be at least 1")
    rng = np.random.default_rng(seed)  # every draw below, in this order, makes the same table for a seed
    k_img = _images_per_tweet(n_images, rng)
    n_tweets = len(k_img)
    times = _tweet_times(n_tweets, rng)
    t_ms = times.asi8 // 1_000 if times.unit == "us" else times.as_unit("ms").asi8
    years = (times - START).total_seconds().to_numpy() / (365.25 * 86_400)

    # tweet-level draws
    tweet_cluster = _draw_categorical(_cluster_probs(years, trends), rng) + 1
    tweet_id = _snowflake(t_ms, rng)
    deleted, likes, quotes, replies = _engagement(tweet_cluster, rng)

    # image-level draws
    tw = np.repeat(np.arange(n_tweets), k_img)
    redraw = rng.random(n_images) >= P_SAME_CLUSTER
    clusters = tweet_cluster[tw].copy()
    clusters[redraw] = _draw_categorical(_cluster_probs(years[tw][redraw], trends), rng) + 1
    media_id = _snowflake(t_ms[tw] - rng.integers(2_000, 600_000, size=n_images), rng)
    score, sensitive = _nsfw(clusters, tw, n_tweets, rng)
    u1, u2 = _umap_coords(clusters, rng)

    def count(values: np.ndarray) -> pd.Series:
        s = pd.Series(values[tw], dtype="Int64")
        s[deleted[tw]] = pd.NA
        return s

    return pd.DataFrame({
        "id": tweet_id[tw].astype(str),
        "image_name": media_id.astype(str),
        "created_at": times[tw].strftime("%Y-%m-%d %H:%M:%S+00:00"),
        "like_count": count(likes),
        "quote_count": count(quotes),
        "reply_count": count(replies),
        "all_captions": _captions(clusters, rng, *_c11_shift(years[tw], clusters, C11_SHIFT if trends else 0.0,
                                                             np.random.default_rng([seed, 11]))),
        "label_10_cluster": clusters.astype(np.int64),
        "possibly_sensitive": sensitive,
        "nsfw_score": np.round(score, 5),
        "UMAP_dim_1": np.round(u1, 4),
        "UMAP_dim_2": np.round(u2, 4),
    })


def _images_per_tweet(n_images: int, rng: np.random.Generator) -> np.ndarray:
    """Images of each tweet (1 to 4, as IMAGES_PER_TWEET_P), adding up to ``n_images``."""
    n_tweets = int(np.ceil(n_images / float(np.dot(IMAGES_PER_TWEET_P, [1, 2, 3, 4])) * 1.05)) + 4
    k_img = rng.choice(4, size=n_tweets, p=IMAGES_PER_TWEET_P) + 1
    n_tweets = int(np.searchsorted(np.cumsum(k_img), n_images) + 1)
    k_img = k_img[:n_tweets]
    k_img[-1] -= int(k_img.sum() - n_images)  # the last tweet keeps only the images still needed
    return k_img


def _engagement(tweet_cluster: np.ndarray, rng: np.random.Generator):
    """Per tweet: deleted by the re-collection (likes missing), likes, quotes, replies."""
    n_tweets = len(tweet_cluster)
    deleted = rng.random(n_tweets) < P_DELETED
    popularity = rng.normal(1.0, 1.5, size=n_tweets) + 0.25 * np.isin(tweet_cluster, [8, 9]) \
        - 0.3 * np.isin(tweet_cluster, [4, 10])
    pareto = rng.pareto(1.6, size=n_tweets) * (rng.random(n_tweets) < 0.03) * 200
    likes = np.floor(np.expm1(np.clip(popularity, 0, None)) + pareto).astype(np.int64)
    quotes = rng.binomial(likes, 0.01) + rng.poisson(0.02, size=n_tweets)
    replies = rng.binomial(likes, 0.04) + rng.poisson(0.1, size=n_tweets)
    return deleted, likes, quotes, replies


def _nsfw(clusters: np.ndarray, tw: np.ndarray, n_tweets: int, rng: np.random.Generator):
    """Per image: the detector's score (high in the NSFW themes) and Twitter's flag, set per tweet."""
    n_images = len(clusters)
    nsfw_cluster = np.isin(clusters, [k for k, th in THEMES.items() if th["nsfw"]])
    score = np.where(nsfw_cluster, rng.beta(5.0, 1.6, size=n_images), rng.beta(0.6, 9.0, size=n_images))
    tweet_max_score = np.zeros(n_tweets)
    np.maximum.at(tweet_max_score, tw, score)
    flag_p = 0.04 + 0.72 * (tweet_max_score > 0.5)
    return score, (rng.random(n_tweets) < flag_p)[tw]


def _umap_coords(clusters: np.ndarray, rng: np.random.Generator):
    """A 2-D map: each cluster two nearby blobs on a circle."""
    n_images = len(clusters)
    angle = 2 * np.pi * (clusters - 1) / 10.0
    sub = rng.random(n_images) < 0.5
    cx = 9.0 * np.cos(angle) + np.where(sub, 1.2, -1.0) * np.sin(angle)
    cy = 9.0 * np.sin(angle) + np.where(sub, -1.2, 1.0) * np.cos(angle)
    return cx + rng.normal(0, 1.1, size=n_images), cy + rng.normal(0, 0.9, size=n_images)


def write_release(df: pd.DataFrame, path: str | os.PathLike, *, meta: dict | None = None) -> Path:
    """Write a release-format table as CSV (gzip when the name ends in .gz), atomically.

    A side file ``<path>.meta.json`` holds ``meta`` (the generator writes ``synthetic: true``);
    gzip output carries it in its header's comment too (:mod:`twigma.release.marks`), so that a copy
    under another name stays marked. Gzip output carries no timestamp, so the same table gives
    the same bytes.
    """
    path = paths.resolve(path)

    def write_gzip(tmp: Path) -> None:
        # no file name and no time in the gzip header: the same table gives the same bytes; the
        # description goes in the header's comment, where a copy or a renamed file keeps it
        with open(tmp, "wb") as fh:
            if meta is None:
                gz = gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=6)
            else:
                gz = marks.GzipWithComment(fh, marks.comment_for(meta))  # type: ignore[assignment]  # a writable stream as GzipFile is, which TextIOWrapper takes
            with gz, io.TextIOWrapper(gz, encoding="utf-8", newline="") as text:
                df.to_csv(text, index=False)

    if meta is not None:  # the side file first: the table's final name marks the pair complete
        atomic_write(str(path) + ".meta.json", lambda tmp: tmp.write_text(json.dumps(meta, indent=2) + "\n"))
    if path.name.endswith(".gz"):
        return atomic_write(path, write_gzip)
    return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


def sample_meta(n_images: int, seed: int) -> dict:
    return {
        "synthetic": True,
        "generator": "twigma.synthetic.release.generate_release",
        "generator_version": GENERATOR_VERSION,
        "n_images": int(n_images),
        "seed": int(seed),
        "note": "Synthetic sample in the TWIGMA release format; not Twitter data and not the paper's result.",
    }


def make_sample(path: str | os.PathLike | None = None, n_images: int = SAMPLE_N_IMAGES,
                seed: int = SAMPLE_SEED) -> Path:
    """Generate and write a synthetic release file (default: the embedded sample)."""
    target = paths.resolve(path, default=paths.SAMPLE_RELEASE)
    return write_release(generate_release(n_images, seed), target, meta=sample_meta(n_images, seed))
