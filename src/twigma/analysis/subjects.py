"""Caption subjects over time (notebook 11_rising_subjects): which of the commonest caption words rose
and fell, counted once each, and whether rising ones get more likes.

Each subject is a caption word tracked with :func:`twigma.analysis.track.track` (whole words,
case-insensitive: the monthly share of images whose caption names it, notebook 03's quasi-binomial
trend with the scale floored at 1, and the likes of its images against other images of the same
months).

Subjects that are the same finding
----------------------------------
Two words can name the same images: on the synthetic sample "landscape" and "mountain" appear in
exactly the same captions, so do "abstract" and "pattern", "lying" and "bed". Testing both and
adjusting for both would count one trend twice (and make the false-discovery adjustment stricter for
the other subjects). So before the adjustment, subjects whose image sets are near-identical, with a
Jaccard index |A & B| / |A | B| of at least ``jaccard`` (0.95 by default), are merged into the
commoner word (the first in frequency order), which keeps its own trend and lists the others in
``same_images_as``; the merged ones are reported, not tested. A subject whose image set is
near-identical to one of the ten clusters' is kept but marked (``same_as_cluster``): its trend is
that cluster's, which notebook 03 tests (C4, C5).

The trends are called up or down when their Benjamini-Hochberg adjusted p-value (Benjamini &
Hochberg 1995; statsmodels' ``multipletests(method="fdr_bh")``) is below ``fdr``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from twigma.analysis import text, track

#: Subjects whose image sets have at least this Jaccard index are one subject.
JACCARD = 0.95


def _jaccard(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Jaccard index of every row of A (boolean, shape (a, n)) with every row of B (shape (b, n))."""
    a, b = A.astype(np.float32), B.astype(np.float32)
    inter = a @ b.T
    union = a.sum(axis=1)[:, None] + b.sum(axis=1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def duplicates(masks: np.ndarray, words: list[str], jaccard: float = JACCARD) -> pd.DataFrame:
    """Which subjects name (nearly) the same images as a commoner one.

    Parameters
    ----------
    masks : ndarray of bool, shape (n_subjects, n_images), in frequency order (commonest first)
    words : the subjects, same order

    Returns
    -------
    DataFrame with one row per subject: ``subject``, ``duplicate_of`` (the first earlier subject
    kept whose image set has Jaccard >= ``jaccard`` with this one; "" when none) and ``jaccard``
    (with that subject; NaN when none).
    """
    J = _jaccard(masks, masks)
    kept, rows = [], []
    for i, word in enumerate(words):
        match = next((k for k in kept if J[i, k] >= jaccard), None)
        if match is None:
            kept.append(i)
        rows.append({"subject": word, "duplicate_of": "" if match is None else words[match],
                     "jaccard": np.nan if match is None else float(J[i, match])})
    return pd.DataFrame(rows)


def same_as_cluster(masks: np.ndarray, clusters: np.ndarray, jaccard: float = JACCARD) -> list[str]:
    """For each subject (row of ``masks``), the cluster whose image set has Jaccard >= ``jaccard``
    with the subject's (the closest), as text; "" when none."""
    labels = np.unique(clusters)
    J = _jaccard(masks, np.stack([clusters == c for c in labels]))
    best = J.argmax(axis=1)
    return [str(labels[b]) if J[i, b] >= jaccard else "" for i, b in enumerate(best)]


def _row(word: str, t) -> dict:
    tr, eng = t.trend.iloc[0], t.engagement.set_index("group")
    return {"subject": word, "n_images": int(tr["n_matching"]), "share": tr["share"], "slope": tr["slope"],
            "ci_low": tr["ci_low"], "ci_high": tr["ci_high"], "p_value": tr["p_value"],
            "odds_ratio_per_year": tr["odds_ratio_per_year"], "dispersion": tr["dispersion"],
            "scale": tr["scale"], "likes_diff": tr["log1p_likes_diff_same_months"],
            "median_likes": eng.loc["matching", "median_likes"], "median_likes_other": eng.loc["other", "median_likes"]}


def subject_trends(df: pd.DataFrame, n_subjects: int = 40, min_images: int = 50, fdr: float = 0.01,
                   min_images_per_month: int = 20, jaccard: float = JACCARD) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Track the ``n_subjects`` commonest caption words, merge duplicates, adjust, call.

    Returns
    -------
    subjects : one row per subject tested, fastest riser first: ``subject``, ``n_images``, ``share``,
        ``slope`` (log-odds per year) with ``ci_low``/``ci_high`` (95%), ``p_value``,
        ``p_adjusted`` (Benjamini-Hochberg over the subjects tested), ``direction`` (up, down, or
        flat: not significant at ``fdr``), ``odds_ratio_per_year``, ``dispersion`` (Pearson) and
        ``scale`` (the one used, floored at 1), ``likes_diff`` (mean log(1 + likes) minus that of
        same-month images), ``median_likes``, ``median_likes_other``, ``same_images_as`` (the
        merged words, comma-separated) and ``same_as_cluster``.
    left_out : one row per word not tested: ``subject``, ``n_images``, ``reason`` ("same images as
        <word> (Jaccard 1.00)", "fewer than <min_images> images", or the trend's note), and for a merged
        word ``duplicate_of`` (the word it was merged into) and ``jaccard`` (NaN and "" otherwise).
    """
    from statsmodels.stats.multitest import multipletests

    words = text.top_words(df["all_captions"], n=n_subjects)["word"].tolist()
    # each distinct caption is matched once and its answer spread to its images (at 14 million rows a
    # regular-expression pass per word over every caption took minutes); missing captions never match
    code, distinct = pd.factorize(df["all_captions"].reset_index(drop=True))
    distinct = pd.Series(distinct, dtype=df["all_captions"].dtype)
    masks = np.stack([np.append(track.match_captions(distinct, w), False)[code] for w in words])
    months = track.Months.of(df["created_at"])
    dup = duplicates(masks, words, jaccard)
    rows, left = [], []
    for word, mask, d in zip(words, masks, dup.itertuples()):
        n = int(mask.sum())
        if d.duplicate_of:
            left.append({"subject": word, "n_images": n, "duplicate_of": d.duplicate_of, "jaccard": d.jaccard,
                         "reason": f"same images as {d.duplicate_of} (Jaccard {d.jaccard:.2f})"})
            continue
        if n < min_images:
            left.append({"subject": word, "n_images": n, "reason": f"fewer than {min_images} images",
                         "duplicate_of": "", "jaccard": np.nan})
            continue
        t = track.track(df, word, alpha=fdr, min_images_per_month=min_images_per_month, _mask=mask, _months=months)
        if not np.isfinite(t.trend["slope"].iloc[0]):
            left.append({"subject": word, "n_images": n, "reason": t.trend["note"].iloc[0], "duplicate_of": "",
                         "jaccard": np.nan})
            continue
        rows.append(_row(word, t))
    subjects = pd.DataFrame(rows)
    if len(subjects):
        subjects["p_adjusted"] = multipletests(subjects["p_value"], method="fdr_bh")[1]
        subjects["direction"] = np.where(subjects["p_adjusted"] >= fdr, "flat",
                                         np.where(subjects["slope"] > 0, "up", "down"))
        merged = dup[dup["duplicate_of"] != ""].groupby("duplicate_of")["subject"].agg(", ".join)
        subjects["same_images_as"] = subjects["subject"].map(merged).fillna("")
        cluster_of = dict(zip(words, same_as_cluster(masks, df["label_10_cluster"].to_numpy(), jaccard)))
        subjects["same_as_cluster"] = subjects["subject"].map(cluster_of)
        subjects = subjects.sort_values("slope", ascending=False).reset_index(drop=True)
    return subjects, pd.DataFrame(left, columns=["subject", "n_images", "reason", "duplicate_of", "jaccard"])


def counts(subjects: pd.DataFrame) -> dict:
    """``n_up``, ``n_down``, ``n_flat`` (not significant), ``dispersion_min`` and ``dispersion_max``
    (Pearson), ``n_scale_floored`` (subjects whose dispersion was below 1, so that the binomial
    errors were used: the scale is floored at 1)."""
    d = subjects["direction"]
    return {"n_up": int((d == "up").sum()), "n_down": int((d == "down").sum()), "n_flat": int((d == "flat").sum()),
            "dispersion_min": float(subjects["dispersion"].min()), "dispersion_max": float(subjects["dispersion"].max()),
            "n_scale_floored": int((subjects["dispersion"] < 1).sum())}


def likes_relation(subjects: pd.DataFrame, alpha: float = 0.01) -> dict:
    """Do rising subjects get more likes? Spearman's rho across subjects between ``slope`` and
    ``likes_diff`` (scipy), its p-value, ``answer`` ("more", "fewer" or "unclear" at ``alpha``),
    and the mean ``likes_diff`` of the subjects called up and down (NaN when there are none)."""
    from scipy import stats

    rho, p = stats.spearmanr(subjects["slope"], subjects["likes_diff"])
    answer = "more" if rho > 0 and p < alpha else "fewer" if rho < 0 and p < alpha else "unclear"
    mean = lambda d: float(subjects.loc[subjects["direction"] == d, "likes_diff"].mean())  # noqa: E731
    return {"rho": float(rho), "p_value": float(p), "answer": answer, "n": int(len(subjects)),
            "likes_diff_up": mean("up"), "likes_diff_down": mean("down")}
