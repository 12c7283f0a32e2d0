"""Release-shaped tables for the tests of the report's map (twigma.present.map_page), made from random
numbers: the columns the map reads, typed as twigma.load_release types them."""
from __future__ import annotations

import numpy as np
import pandas as pd

WORDS = ("a painting of a woman with long hair standing in a field of flowers at sunset in the style of "
         "an old master portrait of a man dragon castle mountain lake forest city night neon").split()


def release_frame(n: int, seed: int = 0, clusters: int = 10, months: int = 27, caption_chars: int = 60,
                  captions: list[str] | None = None) -> pd.DataFrame:
    """``n`` images: UMAP coordinates (a blob per cluster), clusters 1..``clusters``, times over ``months``
    months from January 2021 (UTC), captions of about ``caption_chars`` characters (or ``captions`` in
    turn), likes (every 50th missing, as a deleted tweet's) and 19-digit tweet ids."""
    rng = np.random.default_rng(seed)
    k = rng.integers(1, clusters + 1, n)
    centre = rng.uniform(-8, 8, (clusters + 1, 2))
    xy = centre[k] + rng.normal(0, 1.5, (n, 2))
    start = pd.Timestamp("2021-01-01", tz="UTC")
    span = (start + pd.DateOffset(months=months) - start).total_seconds()
    created = start + pd.to_timedelta(rng.uniform(0, span, n), unit="s")
    if captions is None:
        pool = [" ".join(rng.choice(WORDS, 40))[:caption_chars].strip() for _ in range(min(n, 5000))]
        captions = [pool[i] for i in rng.integers(0, len(pool), n)]
    else:
        captions = [captions[i % len(captions)] for i in range(n)]
    likes = pd.array(rng.integers(0, 5000, n), dtype="Int64")
    likes[::50] = pd.NA
    ids = (10**18 + rng.integers(0, 10**17, n)).astype(str)
    return pd.DataFrame({
        "id": pd.array(ids, dtype="str"), "created_at": pd.DatetimeIndex(created).as_unit("us"),
        "like_count": likes, "all_captions": pd.array(captions, dtype="str"), "label_10_cluster": k.astype(np.int64),
        "UMAP_dim_1": xy[:, 0], "UMAP_dim_2": xy[:, 1]})


def cluster_names(frame: pd.DataFrame) -> pd.Series:
    """A name per cluster of ``frame`` (with markup in it, which the map must show as text)."""
    ks = sorted(frame["label_10_cluster"].unique())
    return pd.Series({int(k): f"theme {k} <b>&amp;</b>" for k in ks})
