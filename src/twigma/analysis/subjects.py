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

The trends are called up or down when Benjamini-Hochberg selects them at false discovery rate ``fdr``
(Benjamini & Hochberg 1995; :func:`twigma.analysis.inference.benjamini_hochberg`). Every subject's
interval is drawn at one level, ``1 - fdr * max(R, 1) / m`` for ``R`` selected of ``m`` tested: for
the selected ones this is the false-coverage-rate adjusted level of Benjamini & Yekutieli (2005)
(:func:`~twigma.analysis.inference.fcr_level`), and since BH leaves out only subjects whose p-value
exceeds ``fdr * (R + 1) / m``, a subject not selected has an interval at this level that includes 0
(the t-interval of the quasi-binomial slope excludes 0 exactly when p is below one minus its level).
So a point coloured "not significant" never has an interval that excludes no trend.

Likes, by tweet
---------------
The images of a tweet share its likes, so a four-image tweet would count four times in a mean over
images. Each tweet therefore weighs 1 in all, split evenly over its images (weight ``1 / k`` for an image
of a ``k``-image tweet): a subject's likes are the weighted mean of log(1 + likes) of its images, and a
tweet half of whose images name the subject counts half for it and half for the others. Without an
``id`` column every image weighs 1.

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
track's (tests/analysis/test_subjects.py). No step holds an array of subjects x rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from twigma.analysis import inference, text, track
from twigma.analysis.months import Months
from twigma.analysis.themes import MIN_IMAGES_PER_MONTH

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


def duplicate_of(masks: np.ndarray, words: list[str], jaccard: float = JACCARD) -> pd.DataFrame:
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
    return _duplicate_of(_jaccard(masks, masks), words, jaccard)


def _duplicate_of(J: np.ndarray, words: list[str], jaccard: float) -> pd.DataFrame:
    """:func:`duplicate_of` from the subjects' Jaccard indices with each other (shape (s, s))."""
    kept: list[int] = []
    rows = []
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
    """The trend columns of a subject's row as :func:`twigma.analysis.track.track` computes them (the
    intervals and the likes, by tweet, are computed otherwise here)."""
    tr = t.trend.iloc[0]
    return {"subject": word, "n_images": int(tr["n_matching"]), "share": tr["share"], "slope": tr["slope"],
            "std_err": tr["std_err"], "p_value": tr["p_value"], "odds_ratio_per_year": tr["odds_ratio_per_year"],
            "dispersion": tr["dispersion"], "scale": tr["scale"]}


def tweet_weights(df: pd.DataFrame) -> np.ndarray:
    """Each image's weight when every tweet weighs 1: ``1 / k`` for an image of a ``k``-image tweet
    (column ``id``); all 1 without an ``id`` column."""
    if "id" not in df.columns:
        return np.ones(len(df))
    codes = pd.factorize(df["id"].reset_index(drop=True))[0]
    return 1.0 / np.bincount(codes)[codes]


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
    ``likes_known`` and ``log1p_likes``: per caption and month, the tweet weight (module docstring:
    ``1 / k`` per image of a ``k``-image tweet) of the images with known likes and the weighted sum of
    their log(1 + likes); ``by_likes``: tweet weight per caption and like count (``like_values``,
    sorted; known likes only); ``base``: the monthly table of :meth:`twigma.analysis.months.Months.table`
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
        months = Months.of(df["created_at"])
        likes = df["like_count"].to_numpy(dtype=float, na_value=np.nan)
        known = ~np.isnan(likes)
        w = tweet_weights(df)
        m = len(months)
        by_month, likes_known, log1p_likes = _summed(code, months.code, (d, m),
                                                     (known * w, np.where(known, w * np.log1p(likes), 0.0)))
        cluster, labels = pd.factorize(df["label_10_cluster"].to_numpy(), sort=True)
        like_code, like_values = pd.factorize(likes[known], sort=True)
        return cls(pd.Series(distinct, dtype=df["all_captions"].dtype), np.bincount(code, minlength=d).astype(float),
                   by_month, likes_known, log1p_likes, _summed(code, cluster, (d, len(labels)))[0],
                   np.asarray(labels), _summed(code[known], like_code, (d, len(like_values)), (w[known],))[1],
                   np.asarray(like_values, dtype=float), months.table(np.zeros(len(code), dtype=bool)), len(code))

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
        return sparse.csr_matrix((np.ones(len(rows)), (rows, np.concatenate(hits or [[]]).astype(np.int64))),  # type: ignore[list-item]  # mypy types [[]] from hits
                                 shape=(len(words), len(self.n)))


def _median(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row of ``counts`` (the weight of each value of ``values``, sorted), the weighted median: the
    mean of the first value whose cumulative weight reaches half the total and the first that passes
    it (with weights 1, the ordinary median); NaN for no weight."""
    n = counts.sum(axis=1)
    cum = counts.cumsum(axis=1)
    half = n[:, None] / 2
    eps = 1e-9 * np.maximum(n, 1)[:, None]  # sums of fractions 1/k: equal halves up to rounding
    lo = (cum < half - eps).sum(axis=1)
    hi = (cum <= half + eps).sum(axis=1)
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
                         "reason": f"same images as {d.duplicate_of} (Jaccard {d.jaccard:.2f})"})  # type: ignore[str-bytes-safe]  # pandas-stubs: a row field is any scalar
            continue
        if n < min_images:
            left.append({"subject": word, "n_images": n, "reason": f"fewer than {min_images} images",
                         "duplicate_of": "", "jaccard": np.nan})
            continue
        monthly = cap.base.assign(n_matching=k[i], share=k[i] / np.maximum(n_month, 1))
        tr = track.monthly_trend(monthly, fdr, min_images_per_month)
        if not np.isfinite(tr.slope):
            left.append({"subject": word, "n_images": n, "reason": tr.note, "duplicate_of": "", "jaccard": np.nan})
            continue
        same_m, same_o = _same_months(km[i], ko[i], sm[i], so[i])
        rows.append({"subject": word, "n_images": n, "share": n / cap.n_rows, "slope": tr.slope,
                     "std_err": tr.std_err, "df": tr.df, "p_value": tr.p_value,
                     "odds_ratio_per_year": tr.odds_ratio_per_year, "dispersion": tr.dispersion,
                     "scale": tr.scale, "likes_diff": same_m - same_o,
                     "median_likes": float(median_m[i]), "median_likes_other": float(median_o[i])})
    return rows, left


def subject_trends(df: pd.DataFrame, n_subjects: int = 40, min_images: int = 50, fdr: float = 0.01,
                   min_images_per_month: int = MIN_IMAGES_PER_MONTH,
                   jaccard: float = JACCARD) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Track the ``n_subjects`` commonest caption words, merge duplicates, adjust, call.

    ``df`` needs the columns ``all_captions``, ``created_at``, ``like_count`` and ``label_10_cluster``
    (``load_release(path, columns=[...])``). Each subject's figures are those of
    :func:`twigma.analysis.track.track` of the word (its ``trend`` and ``engagement`` tables), computed
    from the release's counts per distinct caption (module docstring).

    Returns
    -------
    subjects : one row per subject tested, fastest riser first: ``subject``, ``n_images``, ``share``,
        ``slope`` (log-odds per year) with ``std_err``, ``df`` (of its t) and ``ci_low``/``ci_high`` at
        ``ci_level`` (:func:`interval_level`: FCR-adjusted, module docstring), ``p_value``,
        ``p_adjusted`` (Benjamini-Hochberg over the subjects tested), ``direction`` (up, down, or
        flat: not selected by BH at ``fdr``), ``odds_ratio_per_year``, ``dispersion`` (Pearson) and
        ``scale`` (the one used, floored at 1), ``likes_diff`` (mean log(1 + likes) minus that of
        same-month images, each tweet weighing 1), ``median_likes``, ``median_likes_other`` (weighted
        alike), ``same_images_as`` (the merged words, comma-separated) and ``same_as_cluster``.
    left_out : one row per word not tested: ``subject``, ``n_images``, ``reason`` ("same images as
        <word> (Jaccard 1.00)", "fewer than <min_images> images", or the trend's note), and for a merged
        word ``duplicate_of`` (the word it was merged into) and ``jaccard`` (NaN and "" otherwise).
    """
    from statsmodels.stats.multitest import multipletests

    inference.check_alpha(fdr)
    cap = CaptionCounts.of(df)
    words = text.top_words(None, n=n_subjects, counts=cap.word_counts())["word"].tolist()
    H = cap.subjects(words)
    n_match = H @ cap.n
    dup = _duplicate_of(_jaccard_of_counts((H @ sparse.diags(cap.n) @ H.T).toarray(), n_match, n_match), words, jaccard)
    rows, left = _subject_rows(cap, H, words, dup, min_images=min_images, fdr=fdr,
                               min_images_per_month=min_images_per_month)
    subjects = pd.DataFrame(rows)
    if len(subjects):
        subjects["p_adjusted"] = multipletests(subjects["p_value"], method="fdr_bh")[1]
        selected = inference.benjamini_hochberg(subjects["p_value"].to_numpy(), fdr)
        subjects["direction"] = np.where(~selected, "flat", np.where(subjects["slope"] > 0, "up", "down"))
        level = interval_level(fdr, int(selected.sum()), len(subjects))
        half = stats.t.ppf(1 - (1 - level) / 2, subjects["df"]) * subjects["std_err"]
        subjects["ci_low"], subjects["ci_high"] = subjects["slope"] - half, subjects["slope"] + half
        subjects["ci_level"] = level
        merged = dup[dup["duplicate_of"] != ""].groupby("duplicate_of")["subject"].agg(", ".join)
        subjects["same_images_as"] = subjects["subject"].map(merged).fillna("")
        size = np.asarray(cap.by_cluster.sum(axis=0)).ravel()
        J = _jaccard_of_counts((H @ cap.by_cluster).toarray(), n_match, size)
        subjects["same_as_cluster"] = subjects["subject"].map(dict(zip(words, _same_as_cluster(J, cap.labels, jaccard))))
        subjects = subjects.sort_values("slope", ascending=False).reset_index(drop=True)
    return subjects, pd.DataFrame(left, columns=["subject", "n_images", "reason", "duplicate_of", "jaccard"])


def interval_level(fdr: float, n_selected: int, n_tested: int) -> float:
    """The level of every subject's interval: ``1 - fdr * max(R, 1) / m`` (module docstring); for
    ``R >= 1`` it is :func:`twigma.analysis.inference.fcr_level`."""
    if n_selected >= 1:
        return inference.fcr_level(fdr, n_selected, n_tested)
    return 1.0 - inference.check_alpha(fdr) / max(int(n_tested), 1)


@dataclass(frozen=True)
class SubjectCounts:
    """What notebook 11 says of :func:`subject_trends`: ``n_tested``, ``n_up``, ``n_down``, ``n_flat``
    (not selected at ``fdr``), ``ci_level`` (the intervals' level), ``dispersion_min``/``_max``
    (Pearson) and ``n_scale_floored`` (subjects whose dispersion was below 1: binomial errors)."""

    fdr: float
    n_tested: int
    n_up: int
    n_down: int
    n_flat: int
    ci_level: float
    dispersion_min: float
    dispersion_max: float
    n_scale_floored: int

    @property
    def level_text(self) -> str:
        return f"{100 * self.ci_level:.4g}%"


def subject_counts(subjects: pd.DataFrame, fdr: float) -> SubjectCounts:
    """:class:`SubjectCounts` of :func:`subject_trends` made at ``fdr``."""
    d = subjects["direction"]
    n_sel = int((d != "flat").sum())
    return SubjectCounts(float(fdr), int(len(subjects)), int((d == "up").sum()), int((d == "down").sum()),
                         int((d == "flat").sum()), interval_level(fdr, n_sel, len(subjects)),
                         float(subjects["dispersion"].min()), float(subjects["dispersion"].max()),
                         int((subjects["dispersion"] < 1).sum()))


@dataclass(frozen=True)
class LikesRelation:
    """Whether rising subjects get more likes, described: Spearman's ``rho`` across the ``n`` subjects
    between trend ``slope`` and ``likes_diff``, its ``1 - alpha`` percentile bootstrap interval over
    subjects (``rho_low``, ``rho_high``, ``level``), ``answer`` ("more" when the interval lies above 0,
    "fewer" below, "unclear" otherwise), and the mean ``likes_diff`` of the subjects called up and down
    (NaN when none). Descriptive: subjects share images, so the bootstrap treats overlapping subjects as
    independent units and the interval is too narrow by an unknown amount."""

    rho: float
    rho_low: float
    rho_high: float
    level: float
    n: int
    answer: str
    likes_diff_up: float
    likes_diff_down: float

    @property
    def level_text(self) -> str:
        return f"{100 * self.level:.10g}%"


def _spearman(x, y) -> float:
    return float(stats.spearmanr(x, y)[0])


def likes_relation(subjects: pd.DataFrame, alpha: float = inference.DEFAULT_ALPHA, *,
                   n_resamples: int = inference.MIN_RESAMPLES, seed: int = 0) -> LikesRelation:
    """:class:`LikesRelation` of :func:`subject_trends` (subjects with a likes difference), the interval
    by :func:`twigma.analysis.inference.percentile_bootstrap` (subjects resampled in pairs)."""
    ok = subjects[np.isfinite(subjects["slope"]) & np.isfinite(subjects["likes_diff"])]
    ci = inference.percentile_bootstrap((ok["slope"].to_numpy(), ok["likes_diff"].to_numpy()), _spearman, alpha,
                                        n_resamples=n_resamples, seed=seed)
    answer = "more" if ci.above(0) else "fewer" if ci.below(0) else "unclear"
    mean = lambda d: float(subjects.loc[subjects["direction"] == d, "likes_diff"].mean())  # noqa: E731
    return LikesRelation(ci.estimate, ci.low, ci.high, ci.level, int(len(ok)), answer, mean("up"), mean("down"))
