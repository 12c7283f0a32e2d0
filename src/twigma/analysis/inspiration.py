"""Which artworks are closest to a TWIGMA image? (claim C10, "inspiration")

The k nearest artworks by cosine similarity of CLIP embeddings, exact
(:func:`twigma.embeddings.neighbors.topk_cosine`). A close match is a candidate for a human work that
inspired (or was imitated by) the generated image; the notebook shows the pairs so a person
can judge.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twigma.analysis import inference
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


@dataclass(frozen=True)
class GapOutliers:
    """What 09 says of the gaps (best match minus runner-up): ``threshold`` (Tukey's far-out fence),
    ``n`` (images above it) and ``share``, ``median``, ``q3``, ``iqr``, ``largest``, and ``close``
    (the median gap below the notebook's ``close_gap``: the best match is usually barely above the
    runner-up)."""

    threshold: float
    n: int
    share: float
    median: float
    q3: float
    iqr: float
    largest: float
    close: bool


def gap_outliers(margin: pd.Series, k: float = 3.0, close_gap: float = 0.05) -> GapOutliers:
    """Images whose best match stands out from the runner-up by far more than is usual here:
    gap (best - runner-up) above Tukey's far-out fence Q3 + k * IQR (k = 3; Tukey 1977). Unlike a
    percentile, the count is not fixed by definition: without standouts it can be 0."""
    q1, med, q3 = (float(margin.quantile(q)) for q in (0.25, 0.5, 0.75))
    threshold = q3 + k * (q3 - q1)
    above = margin > threshold
    return GapOutliers(threshold, int(above.sum()), float(above.mean()), med, q3, q3 - q1, float(margin.max()),
                       bool(med < close_gap))


@dataclass(frozen=True)
class ScreenRates:
    """A screen's hits and false alarms: ``tp``, ``fn``, ``fp``, ``tn``, ``recall`` (tp / positives),
    ``fpr`` (fp / negatives), ``precision`` (tp / flagged; NaN when nothing is flagged), ``positives``
    (tp + fn), ``negatives`` (fp + tn) and ``low_precision`` (precision below the notebook's cut-off:
    most images the screen flags are not known pairs)."""

    tp: int
    fn: int
    fp: int
    tn: int
    recall: float
    fpr: float
    precision: float
    positives: int
    negatives: int
    low_precision: bool


def screen_rates(flagged: pd.Series, known_images, low_precision: float = 0.5) -> ScreenRates:
    """A screen's hits and false alarms against a list of known inspired images.

    ``flagged``: True for each image (indexed by ``image_name``) the screen picks; images in
    ``known_images`` count as positives, all others as negatives (on a real release unknown
    inspirations sit among the negatives, so ``fpr`` is then an upper bound)."""
    positive = flagged.index.isin(pd.Index(np.asarray(known_images).astype(str)))
    f = flagged.to_numpy(dtype=bool)
    tp, fn = int((f & positive).sum()), int((~f & positive).sum())
    fp, tn = int((f & ~positive).sum()), int((~f & ~positive).sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return ScreenRates(tp, fn, fp, tn, tp / (tp + fn) if tp + fn else float("nan"),
                       fp / (fp + tn) if fp + tn else float("nan"), precision, tp + fn, fp + tn,
                       bool(precision < low_precision))


@dataclass(frozen=True)
class RecallBound:
    """The search scored against known pairs: ``n`` pairs, ``found`` (their artwork among the k
    closest of the image), ``recall``, ``lower`` (the exact one-sided ``level`` lower confidence bound
    of the recall, Clopper-Pearson), ``level_text`` (e.g. "99%"), ``min_recall`` and ``holds``
    (``lower`` at or above ``min_recall``)."""

    n: int
    found: int
    recall: float
    lower: float
    level_text: str
    min_recall: float
    holds: bool


def recall_bound(known: pd.DataFrame, found: pd.DataFrame, alpha: float, min_recall: float) -> RecallBound:
    """How many ``known`` (``image_name``, ``art_id``) pairs ``found`` (:func:`nearest_artworks` of
    their images) holds, with the one-sided ``1 - alpha`` lower bound of the recall."""
    hits = known[["image_name", "art_id"]].astype(str).merge(
        found.astype({"image_name": str, "art_id": str}), on=["image_name", "art_id"], how="left")
    k, n = int(hits["rank"].notna().sum()), len(known)
    lower = inference.clopper_pearson_lower(k, n, alpha)
    return RecallBound(n, k, k / n if n else float("nan"), lower, inference.level_text(alpha), float(min_recall),
                       bool(lower >= min_recall))


@dataclass(frozen=True)
class ChosenSummary:
    """Ranges of the closest (``best_min``, ``best_max``) and second-closest (``runner_min``,
    ``runner_max``) artwork's cosine over the chosen images."""

    best_min: float
    best_max: float
    runner_min: float
    runner_max: float


def chosen_summary(found: pd.DataFrame) -> ChosenSummary:
    """:class:`ChosenSummary` over the images of ``found`` (:func:`nearest_artworks`)."""
    first, second = found.loc[found["rank"] == 1, "cosine"], found.loc[found["rank"] == 2, "cosine"]
    return ChosenSummary(float(first.min()), float(first.max()), float(second.min()), float(second.max()))
