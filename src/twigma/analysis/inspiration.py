"""Which artworks are closest to a TWIGMA image? (claim C10, "inspiration")

The k nearest artworks by cosine similarity of CLIP embeddings, exact
(:func:`twigma.embeddings.neighbors.topk_cosine`). A close match is a candidate for a human work that
inspired (or was imitated by) the generated image; the notebook shows the pairs so a person
can judge.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from twigma.embeddings.neighbors import cached_topk_cosine, topk_cosine


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


def best_matches(twigma: np.ndarray, twigma_ids, art: np.ndarray, art_ids=None, cache: bool = True,
                 **kw) -> pd.DataFrame:
    """The closest and the second-closest artwork of every TWIGMA image.

    A copied or closely imitated artwork stands out as a best match well above the runner-up;
    a generic likeness of style or subject gives a best match close to it. The search of every
    TWIGMA image against every artwork is the slow part: with ``cache`` it is kept in
    :mod:`twigma.cache` (keyed by the rows of both sets and ``kw``).

    Returns
    -------
    DataFrame indexed by ``image_name`` with ``best`` and ``runner_up`` (cosines), ``margin``
    (best - runner_up) and ``art_id`` of the best match (its row number when ``art_ids`` is None),
    in the order of ``twigma_ids``.
    """
    k = min(2, len(art))
    nb = (cached_topk_cosine if cache else topk_cosine)(twigma, art, k=k, **kw)
    best = nb.scores[:, 0].astype(float)
    runner = nb.scores[:, 1].astype(float) if k == 2 else np.full(len(best), np.nan)
    ids = np.asarray(art_ids).astype(str)[nb.indices[:, 0]] if art_ids is not None else nb.indices[:, 0]
    return pd.DataFrame({"best": best, "runner_up": runner, "margin": best - runner, "art_id": ids},
                        index=pd.Index(np.asarray(twigma_ids).astype(str), name="image_name"))


def most_art_like(twigma: np.ndarray, twigma_ids, art: np.ndarray, n: int = 12, cache: bool = True,
                  matches: pd.DataFrame | None = None, **kw) -> pd.Series:
    """The ``n`` TWIGMA images whose closest artwork is closest (id -> cosine), highest first.

    From :func:`best_matches` (pass its result as ``matches`` to reuse a search already made).
    """
    if matches is None:
        matches = best_matches(twigma, twigma_ids, art, cache=cache, **kw)
    return matches["best"].rename(None).sort_values(ascending=False, kind="stable").head(n)


def recall_at_ranks(known: pd.DataFrame, found: pd.DataFrame, k: int) -> pd.Series:
    """Share of known (``image_name``, ``art_id``) pairs whose artwork is among the r closest of its
    image, for r = 1..k (``found``: :func:`nearest_artworks` of the known pairs' images)."""
    rank_of = known.astype({"image_name": str, "art_id": str}).merge(
        found, on=["image_name", "art_id"], how="left")["rank"]
    return pd.Series([float((rank_of <= r).mean()) for r in range(1, k + 1)], index=range(1, k + 1))


def gap_outliers(margin: pd.Series, k: float = 3.0) -> dict:
    """Images whose best match stands out from the runner-up by far more than is usual here:
    gap (best - runner-up) above Tukey's far-out fence Q3 + k * IQR (k = 3; Tukey 1977). Unlike a
    percentile, the count is not fixed by definition: without standouts it can be 0.

    Returns ``threshold``, ``n`` (images above it), ``share`` and ``median``, ``q3``, ``iqr``."""
    q1, med, q3 = (float(margin.quantile(q)) for q in (0.25, 0.5, 0.75))
    threshold = q3 + k * (q3 - q1)
    above = margin > threshold
    return {"threshold": threshold, "n": int(above.sum()), "share": float(above.mean()), "median": med, "q3": q3,
            "iqr": q3 - q1}


def screen_rates(flagged: pd.Series, known_images) -> dict:
    """A screen's hits and false alarms against a list of known inspired images.

    ``flagged``: True for each image (indexed by ``image_name``) the screen picks; images in
    ``known_images`` count as positives, all others as negatives (on a real release unknown
    inspirations sit among the negatives, so ``fpr`` is then an upper bound). Returns ``tp``, ``fn``,
    ``fp``, ``tn``, ``recall`` (tp / positives), ``fpr`` (fp / negatives) and ``precision``
    (tp / flagged; NaN when nothing is flagged)."""
    positive = flagged.index.isin(pd.Index(np.asarray(known_images).astype(str)))
    f = flagged.to_numpy(dtype=bool)
    tp, fn = int((f & positive).sum()), int((~f & positive).sum())
    fp, tn = int((f & ~positive).sum()), int((~f & ~positive).sum())
    return {"tp": tp, "fn": fn, "fp": fp, "tn": tn, "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "fpr": fp / (fp + tn) if fp + tn else float("nan"),
            "precision": tp / (tp + fp) if tp + fp else float("nan")}


def chosen_summary(found: pd.DataFrame) -> dict:
    """Ranges of the closest (``best_min``, ``best_max``) and second-closest (``runner_min``,
    ``runner_max``) artwork's cosine over the images of ``found`` (:func:`nearest_artworks`)."""
    first, second = found.loc[found["rank"] == 1, "cosine"], found.loc[found["rank"] == 2, "cosine"]
    return {"best_min": float(first.min()), "best_max": float(first.max()), "runner_min": float(second.min()),
            "runner_max": float(second.max())}
