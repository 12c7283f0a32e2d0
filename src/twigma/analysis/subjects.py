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

How it is fast
--------------
Everything a subject needs from the rows is a sum over its images, and whether an image is one of a
subject's depends on its caption alone. So the rows are read once, into :class:`CaptionCounts`: per
distinct caption, its images per month, per cluster and per like count, and the sums of log(1 + likes)
per month (sparse tables, at most one entry per row). Each distinct caption is matched once per word,
and a subject's monthly counts, cluster overlaps, Jaccard indices and likes statistics are products of
its captions with those tables: the same integers as counting its images row by row, the same medians,
and means of log(1 + likes) equal to rounding (the sums are added in another order). The trend is
fitted on the monthly counts, as :func:`twigma.analysis.track.track` does; every subject's row equals
track's (tests/test_scale.py). At 8 million rows no step holds an array of subjects x rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from twigma.analysis import text, track

#: Subjects whose image sets have at least this Jaccard index are one subject.
JACCARD = 0.95


def _jaccard(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Jaccard index of every row of A (boolean, shape (a, n)) with every row of B (shape (b, n))."""
    a, b = A.astype(np.float32), B.astype(np.float32)
    return _jaccard_of_counts(a @ b.T, a.sum(axis=1), b.sum(axis=1))


def _jaccard_of_counts(inter, size_a, size_b) -> np.ndarray:
    """Jaccard indices from the intersections (shape (a, b)) and the set sizes, in float32 as
    :func:`_jaccard` computes them (exact counts below 2**24 give the same values)."""
    inter = np.asarray(inter, dtype=np.float32)
    union = np.asarray(size_a, dtype=np.float32)[:, None] + np.asarray(size_b, dtype=np.float32)[None, :] - inter
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
    return _duplicates(_jaccard(masks, masks), words, jaccard)


def _duplicates(J: np.ndarray, words: list[str], jaccard: float) -> pd.DataFrame:
    """:func:`duplicates` from the subjects' Jaccard indices with each other (shape (s, s))."""
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
    return _same_as_cluster(_jaccard(masks, np.stack([clusters == c for c in labels])), labels, jaccard)


def _same_as_cluster(J: np.ndarray, labels: np.ndarray, jaccard: float) -> list[str]:
    """:func:`same_as_cluster` from the Jaccard indices of subjects (rows) and clusters ``labels`` (columns)."""
    best = J.argmax(axis=1)
    return [str(labels[b]) if J[i, b] >= jaccard else "" for i, b in enumerate(best)]


def _row(word: str, t) -> dict:
    tr, eng = t.trend.iloc[0], t.engagement.set_index("group")
    return {"subject": word, "n_images": int(tr["n_matching"]), "share": tr["share"], "slope": tr["slope"],
            "ci_low": tr["ci_low"], "ci_high": tr["ci_high"], "p_value": tr["p_value"],
            "odds_ratio_per_year": tr["odds_ratio_per_year"], "dispersion": tr["dispersion"],
            "scale": tr["scale"], "likes_diff": tr["log1p_likes_diff_same_months"],
            "median_likes": eng.loc["matching", "median_likes"], "median_likes_other": eng.loc["other", "median_likes"]}


def _summed(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], weights=()) -> list:
    """Sparse tables of ``shape``: the number of rows of each (row, col) pair, then each weight's sum
    over them (one entry per pair present)."""
    key = rows.astype(np.int64) * shape[1] + cols.astype(np.int64)
    pair, uniq = pd.factorize(key)
    r, c = uniq // shape[1], uniq % shape[1]
    sums = [np.bincount(pair, minlength=len(uniq)).astype(float),
            *(np.bincount(pair, weights=w, minlength=len(uniq)) for w in weights)]
    return [sparse.csr_matrix((v, (r, c)), shape=shape) for v in sums]


@dataclass
class CaptionCounts:
    """The rows of a release as :func:`subject_trends` needs them, per distinct caption (the last
    code, ``len(captions)``, stands for a missing caption).

    ``captions``: the distinct captions; ``n``: images per caption code; ``by_month``,
    ``by_cluster``: images per caption and month (``months``), per caption and cluster (``labels``);
    ``likes_known`` and ``log1p_likes``: per caption and month, the images with known likes and the
    sum of their log(1 + likes); ``by_likes``: images per caption and like count (``like_values``,
    sorted; known likes only); ``base``: the monthly table of :meth:`twigma.analysis.track.Months.table`
    with no image matching.
    """

    captions: pd.Series
    n: np.ndarray
    by_month: sparse.csr_matrix
    likes_known: sparse.csr_matrix
    log1p_likes: sparse.csr_matrix
    by_cluster: sparse.csr_matrix
    labels: np.ndarray
    by_likes: sparse.csr_matrix
    like_values: np.ndarray
    base: pd.DataFrame
    n_rows: int

    @classmethod
    def of(cls, df: pd.DataFrame) -> "CaptionCounts":
        code, distinct = pd.factorize(df["all_captions"].reset_index(drop=True))
        d = len(distinct) + 1
        code = np.where(code < 0, d - 1, code)
        months = track.Months.of(df["created_at"])
        likes = df["like_count"].to_numpy(dtype=float, na_value=np.nan)
        known = ~np.isnan(likes)
        m = len(months.months)
        by_month, likes_known, log1p_likes = _summed(code, months.code, (d, m),
                                                     (known.astype(float), np.where(known, np.log1p(likes), 0.0)))
        cluster, labels = pd.factorize(df["label_10_cluster"].to_numpy(), sort=True)
        like_code, like_values = pd.factorize(likes[known], sort=True)
        return cls(pd.Series(distinct, dtype=df["all_captions"].dtype), np.bincount(code, minlength=d).astype(float),
                   by_month, likes_known, log1p_likes, _summed(code, cluster, (d, len(labels)))[0], np.asarray(labels),
                   _summed(code[known], like_code, (d, len(like_values)))[0], np.asarray(like_values, dtype=float),
                   months.table(np.zeros(len(code), dtype=bool)), len(code))

    def word_counts(self) -> pd.Series:
        """:func:`twigma.analysis.text.term_counts` of the release's captions (one row), from each
        distinct caption once, weighted by its images."""
        vec = text.vectorizer(None)
        X = vec.fit_transform(self.captions.astype(str))
        return pd.Series((sparse.csr_matrix(self.n[:-1]) @ X).toarray()[0].astype(np.int64),
                         index=vec.get_feature_names_out(), name="all")

    def subjects(self, words: list[str]) -> sparse.csr_matrix:
        """Which caption codes each word matches (:func:`twigma.analysis.track.match_captions`, whole
        words, case-insensitive): shape (len(words), len(captions) + 1), 1 where it matches."""
        hits = [np.flatnonzero(track.match_captions(self.captions, w)) for w in words]
        rows = np.repeat(np.arange(len(words)), [len(h) for h in hits])
        return sparse.csr_matrix((np.ones(len(rows)), (rows, np.concatenate(hits or [[]]).astype(np.int64))),
                                 shape=(len(words), len(self.n)))


def _median(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row of ``counts`` (images per value of ``values``, sorted), the median value; NaN for none."""
    n = counts.sum(axis=1)
    cum = counts.cumsum(axis=1)
    lo = (cum <= ((n - 1) // 2)[:, None]).sum(axis=1)
    hi = (cum <= (n // 2)[:, None]).sum(axis=1)
    top = len(values) - 1
    out = (values[np.minimum(lo, top)] + values[np.minimum(hi, top)]) / 2 if len(values) else np.zeros(len(n))
    return np.where(n > 0, out, np.nan)


def _same_months(km: np.ndarray, ko: np.ndarray, sm: np.ndarray, so: np.ndarray) -> tuple[float, float]:
    """:func:`twigma.analysis.track.engagement`'s ``mean_log1p_likes_same_months`` of the matching and
    other images, from their images with known likes (``km``, ``ko``) and sums of log(1 + likes) per month."""
    both = (km > 0) & (ko > 0)
    w = km[both]
    if w.sum() <= 0:
        return np.nan, np.nan
    return float(np.sum(w * (sm[both] / km[both])) / w.sum()), float(np.sum(w * (so[both] / ko[both])) / w.sum())


def _subject_rows(cap: CaptionCounts, H: sparse.csr_matrix, words: list[str], dup: pd.DataFrame, *,
                  min_images: int, fdr: float, min_images_per_month: int) -> tuple[list, list]:
    """The rows of the subjects tested (:func:`_row`'s keys) and of the words left out."""
    n_match = (H @ cap.n).round().astype(np.int64)
    k = (H @ cap.by_month).toarray().round().astype(np.int64)
    km = (H @ cap.likes_known).toarray()
    ko = np.asarray(cap.likes_known.sum(axis=0)).ravel() - km
    sm = (H @ cap.log1p_likes).toarray()
    so = np.asarray(cap.log1p_likes.sum(axis=0)).ravel() - sm
    lm = (H @ cap.by_likes).toarray()
    median_m = _median(lm, cap.like_values)
    median_o = _median(np.asarray(cap.by_likes.sum(axis=0)).ravel() - lm, cap.like_values)
    n_month = cap.base["n_images"].to_numpy()
    rows, left = [], []
    for i, (word, d) in enumerate(zip(words, dup.itertuples())):
        n = int(n_match[i])
        if d.duplicate_of:
            left.append({"subject": word, "n_images": n, "duplicate_of": d.duplicate_of, "jaccard": d.jaccard,
                         "reason": f"same images as {d.duplicate_of} (Jaccard {d.jaccard:.2f})"})
            continue
        if n < min_images:
            left.append({"subject": word, "n_images": n, "reason": f"fewer than {min_images} images",
                         "duplicate_of": "", "jaccard": np.nan})
            continue
        monthly = cap.base.assign(n_matching=k[i], share=k[i] / np.maximum(n_month, 1))
        tr = track.monthly_trend(monthly, fdr, min_images_per_month)
        if not np.isfinite(tr["slope"]):
            left.append({"subject": word, "n_images": n, "reason": tr["note"], "duplicate_of": "", "jaccard": np.nan})
            continue
        same_m, same_o = _same_months(km[i], ko[i], sm[i], so[i])
        rows.append({"subject": word, "n_images": n, "share": n / cap.n_rows, "slope": tr["slope"],
                     "ci_low": tr["ci_low"], "ci_high": tr["ci_high"], "p_value": tr["p_value"],
                     "odds_ratio_per_year": tr["odds_ratio_per_year"], "dispersion": tr["dispersion"],
                     "scale": tr["scale"], "likes_diff": same_m - same_o,
                     "median_likes": float(median_m[i]), "median_likes_other": float(median_o[i])})
    return rows, left


def subject_trends(df: pd.DataFrame, n_subjects: int = 40, min_images: int = 50, fdr: float = 0.01,
                   min_images_per_month: int = 20, jaccard: float = JACCARD) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Track the ``n_subjects`` commonest caption words, merge duplicates, adjust, call.

    ``df`` needs the columns ``all_captions``, ``created_at``, ``like_count`` and ``label_10_cluster``
    (``load_release(path, columns=[...])``). Each subject's figures are those of
    :func:`twigma.analysis.track.track` of the word (its ``trend`` and ``engagement`` tables), computed
    from the release's counts per distinct caption (module docstring).

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

    cap = CaptionCounts.of(df)
    words = text.top_words(None, n=n_subjects, counts=cap.word_counts())["word"].tolist()
    H = cap.subjects(words)
    n_match = H @ cap.n
    dup = _duplicates(_jaccard_of_counts((H @ sparse.diags(cap.n) @ H.T).toarray(), n_match, n_match), words, jaccard)
    rows, left = _subject_rows(cap, H, words, dup, min_images=min_images, fdr=fdr,
                               min_images_per_month=min_images_per_month)
    subjects = pd.DataFrame(rows)
    if len(subjects):
        subjects["p_adjusted"] = multipletests(subjects["p_value"], method="fdr_bh")[1]
        subjects["direction"] = np.where(subjects["p_adjusted"] >= fdr, "flat",
                                         np.where(subjects["slope"] > 0, "up", "down"))
        merged = dup[dup["duplicate_of"] != ""].groupby("duplicate_of")["subject"].agg(", ".join)
        subjects["same_images_as"] = subjects["subject"].map(merged).fillna("")
        size = np.asarray(cap.by_cluster.sum(axis=0)).ravel()
        J = _jaccard_of_counts((H @ cap.by_cluster).toarray(), n_match, size)
        subjects["same_as_cluster"] = subjects["subject"].map(dict(zip(words, _same_as_cluster(J, cap.labels, jaccard))))
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
