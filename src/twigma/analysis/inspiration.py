"""Which artworks are closest to a TWIGMA image? (claim C10, "inspiration")

The k nearest artworks by cosine similarity of CLIP embeddings, exact
(:func:`twigma.neighbors.topk_cosine`). A close match is a candidate for a human work that
inspired (or was imitated by) the generated image; the notebook shows the pairs so a person
can judge.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..neighbors import cached_topk_cosine, topk_cosine


def nearest_artworks(queries: np.ndarray, query_ids, art: np.ndarray, art_ids, k: int = 5, **kw) -> pd.DataFrame:
    """Long table ``image_name``, ``rank`` (1 = closest), ``art_id``, ``cosine``."""
    nb = topk_cosine(queries, art, k=k, **kw)
    query_ids = np.asarray(query_ids).astype(str)
    art_ids = np.asarray(art_ids).astype(str)
    return pd.DataFrame({
        "image_name": np.repeat(query_ids, k),
        "rank": np.tile(np.arange(1, k + 1), len(query_ids)),
        "art_id": art_ids[nb.indices.ravel()],
        "cosine": nb.scores.ravel(),
    })


def most_art_like(twigma: np.ndarray, twigma_ids, art: np.ndarray, n: int = 12, cache: bool = True,
                  **kw) -> pd.Series:
    """The ``n`` TWIGMA images whose closest artwork is closest (id -> cosine), highest first.

    The search of every TWIGMA image against every artwork is the slow part: with ``cache`` it
    is kept in :mod:`twigma.cache` (keyed by the rows of both sets and ``kw``).
    """
    nb = (cached_topk_cosine if cache else topk_cosine)(twigma, art, k=1, **kw)
    s = pd.Series(nb.scores[:, 0], index=pd.Index(np.asarray(twigma_ids).astype(str), name="image_name"))
    return s.sort_values(ascending=False).head(n)
