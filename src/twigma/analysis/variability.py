"""How varied a set of images is: mean pairwise cosine distance of its embeddings (claim C8).

For unit vectors x_1..x_n with sum s, the sum of cosine similarities over ordered pairs
i != j is ``|s|^2 - n`` (each |x_i|^2 = 1), so the mean pairwise cosine distance is

    D = 1 - (|s|^2 - n) / (n (n - 1)),

computed exactly in one pass, without the n x n matrix: 800,000 x 768 takes about a second.
Rows are renormalised in float64 first, so float16 storage does not bias D.

Intervals are percentile bootstrap intervals at ``1 - alpha`` (:mod:`twigma.analysis.inference`)
with at least 2,000 replicates, computed in batches of replicates so that memory stays at
``batch x n`` counts. TWIGMA is resampled by tweet, a reference set by image.

Sets whose subject mix differs can differ in D through the mix alone: :func:`theme_matched`
compares D within themes (each reference image assigned to the nearest TWIGMA cluster centroid)
and combines the per-theme differences with TWIGMA's theme weights (direct standardisation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twigma.analysis import inference
from twigma.embeddings import cluster as dask_cluster

#: Bootstrap replicates computed together (memory: batch x rows counts, float32).
BATCH = 250


def _sums(X: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, int]:
    """Sum of the unit-normalised rows (float64) and their count, chunk by chunk."""
    if dask_cluster.client() is not None:  # SCHEDULER set: these sums over row shards on the Dask cluster, tree-reduced
        return dask_cluster.tree_sum(_sums, X, chunk=chunk)
    s = np.zeros(X.shape[1], dtype=np.float64)
    for start in range(0, len(X), chunk):
        x = np.asarray(X[start:start + chunk], dtype=np.float64)
        s += (x / np.linalg.norm(x, axis=1, keepdims=True)).sum(axis=0)
    return s, len(X)


def dispersion(X: np.ndarray) -> float:
    """Mean cosine distance over all pairs of distinct rows of X, shape (n, d), n >= 2."""
    s, n = _sums(X)
    if n < 2:
        return float("nan")
    return float(1.0 - (s @ s - n) / (n * (n - 1)))


def dispersion_ci(X: np.ndarray, n_boot: int = inference.MIN_RESAMPLES, level: float = 1 - inference.DEFAULT_ALPHA,
                  seed: int = 0, chunk: int = 65536) -> tuple[float, float, float]:
    """Dispersion with a percentile bootstrap interval at ``level`` over rows.

    Each replicate draws n rows with replacement (multinomial counts c). Pairs of two draws of
    the same row are not pairs of distinct images, so they are left out: the replicate's
    similarity sum over the remaining pairs is |sum c_i x_i|^2 - sum c_i^2, over n^2 - sum c_i^2
    pairs (counting them would bias the intervals down by about D / (n - 1)). Replicates are
    computed :data:`BATCH` at a time as one (batch x n) @ (n x d) product, in chunks.

    Returns (dispersion, ci_low, ci_high).
    """
    n = len(X)
    est = dispersion(X)
    if n < 2 or n_boot < 1:
        return est, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    reps = np.concatenate([bootstrap_replicates(X, rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(np.float32),
                                                chunk=chunk) for b in _batches(n_boot)])  # counts exact below 2**24
    alpha = (1 - level) / 2
    return est, float(np.quantile(reps, alpha)), float(np.quantile(reps, 1 - alpha))


def _batches(n_boot: int, batch: int = BATCH) -> list[int]:
    """Sizes of the batches of ``n_boot`` replicates."""
    return [min(batch, n_boot - start) for start in range(0, n_boot, batch)]


def bootstrap_replicates(X: np.ndarray, counts: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Dispersion of each bootstrap resample given by ``counts`` (shape (n_boot, n): how often
    each row was drawn), over pairs of distinct images (see :func:`dispersion_ci`)."""
    counts = np.asarray(counts, dtype=np.float32)
    S = _weighted_sums(X, counts, chunk)
    draws = counts.sum(axis=1, dtype=np.float64)
    c2 = np.einsum("bi,bi->b", counts, counts, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # fewer than two draws: no pair, NaN
        return 1.0 - (np.einsum("bd,bd->b", S, S) - c2) / np.where(draws * draws - c2 > 0, draws * draws - c2, np.nan)


def _weighted_sums(X: np.ndarray, counts: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """counts @ (unit rows of X), shape (n_boot, d), chunk by chunk, in float64: the products too, so
    that one process and any number of Dask workers (whose BLAS sums in another order, on one thread)
    agree to about 1e-15, not to float32's 1e-7 (the product costs about twice the float32 one)."""
    if dask_cluster.client() is not None:  # SCHEDULER set: over row shards on the Dask cluster, tree-reduced
        return dask_cluster.tree_sum(_weighted_sums, X, split={"counts": (counts, 1)}, chunk=chunk)
    S = np.zeros((len(counts), X.shape[1]), dtype=np.float64)
    for start in range(0, len(X), chunk):
        x = np.asarray(X[start:start + chunk], dtype=np.float64)
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        S += counts[:, start:start + chunk].astype(np.float64) @ x
    return S


def dispersion_table(X: np.ndarray, groups, n_boot: int = inference.MIN_RESAMPLES, seed: int = 0,
                     min_size: int = 2, level: float = 1 - inference.DEFAULT_ALPHA) -> pd.DataFrame:
    """Dispersion and bootstrap interval (at ``level``, over rows) per group: columns ``group``,
    ``n``, ``dispersion``, ``ci_low``, ``ci_high`` (groups smaller than ``min_size`` are left out)."""
    groups = pd.Series(np.asarray(groups))
    rows = []
    for g, idx in groups.groupby(groups, sort=True).indices.items():
        if len(idx) < min_size:
            continue
        est, lo, hi = dispersion_ci(X[np.sort(idx)], n_boot=n_boot, seed=seed, level=level)
        rows.append({"group": g, "n": int(len(idx)), "dispersion": est, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=["group", "n", "dispersion", "ci_low", "ci_high"])


# ------------------------------------------------------- tweets as the unit of the bootstrap --

def tweet_bootstrap_counts(groups, n_boot: int, seed: int = 0) -> np.ndarray:
    """Bootstrap counts that resample whole groups (tweets): shape (n_boot, n), float32.

    Each replicate draws as many groups as there are, uniformly with replacement
    (``rng.integers``); every row counts as often as its group was drawn, so the images of one
    tweet always enter a replicate together (what Davison & Hinkley 1997, section 3.8, call a
    cluster bootstrap). With every row its own group this is the ordinary bootstrap over rows.
    """
    return np.concatenate(list(_count_batches(groups, n_boot, seed)))


def _count_batches(groups, n_boot: int, seed: int = 0, batch: int = BATCH):
    """:func:`tweet_bootstrap_counts` in batches of at most ``batch`` replicates (the same draws: one
    random stream, drawn in order)."""
    codes, uniques = pd.factorize(np.asarray(groups))
    rng = np.random.default_rng(seed)
    for b in _batches(n_boot, batch):
        draws = rng.integers(0, len(uniques), size=(b, len(uniques)))
        per_group = np.stack([np.bincount(d, minlength=len(uniques)) for d in draws]).astype(np.float32)
        yield per_group[:, codes]


def _unit_groups(X: np.ndarray, groups) -> np.ndarray:
    groups = np.arange(len(X)) if groups is None else np.asarray(groups)
    if len(groups) != len(X):
        raise ValueError(f"groups has {len(groups)} labels for {len(X)} rows: give one group (tweet id) per row")
    return groups


def tweet_bootstrap_replicates(X: np.ndarray, groups=None, n_boot: int = inference.MIN_RESAMPLES, seed: int = 0,
                               chunk: int = 65536) -> np.ndarray:
    """Dispersion of ``n_boot`` resamples of X that draw whole groups (``groups``: one label per
    row, e.g. the tweet id; None: each row its own group), over pairs of distinct images
    (:func:`bootstrap_replicates`), :data:`BATCH` replicates at a time."""
    groups = _unit_groups(X, groups)
    return np.concatenate([bootstrap_replicates(X, c, chunk=chunk) for c in _count_batches(groups, n_boot, seed)])


def replicates_within(X: np.ndarray, groups, parts, n_boot: int = inference.MIN_RESAMPLES, seed: int = 0,
                      chunk: int = 65536) -> dict:
    """Dispersion replicates of each part of X from one resampling of the whole of X.

    Each replicate draws groups (tweets; None: rows) over all of X as :func:`tweet_bootstrap_replicates`
    does, and computes D within each part (``parts``: one label per row, e.g. the row's theme)
    from the rows drawn, so a tweet whose images fall in two parts is drawn (or not) in both at
    once. A part with fewer than two draws in a replicate gets NaN there.

    Returns
    -------
    dict part label -> array of ``n_boot`` replicates, labels sorted.
    """
    groups = _unit_groups(X, groups)
    where = pd.Series(np.asarray(parts)).groupby(np.asarray(parts), sort=True).indices
    sub = {p: np.asarray(X[np.sort(i)]) for p, i in where.items()}
    out: dict[object, list[np.ndarray]] = {p: [] for p in where}
    for counts in _count_batches(groups, n_boot, seed):
        for p, i in where.items():
            out[p].append(bootstrap_replicates(sub[p], counts[:, np.sort(i)], chunk=chunk))
    return {p: np.concatenate(r) for p, r in out.items()}


def _interval(reps: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval at ``level`` of the finite replicates."""
    a = (1 - level) / 2
    good = reps[np.isfinite(reps)]
    if not len(good):
        return float("nan"), float("nan")
    lo, hi = np.quantile(good, [a, 1 - a])
    return float(lo), float(hi)


def compare_sources(sets: dict[str, np.ndarray], groups: dict | None = None, base: str = "twigma",
                    n_boot: int = inference.MIN_RESAMPLES, level: float | None = None, seed: int = 0,
                    alpha: float = inference.DEFAULT_ALPHA) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dispersion of each set with a bootstrap interval, and ``base`` minus each other set.

    ``groups`` maps a set's name to one group label per row (TWIGMA: the tweet id, so a tweet's
    images are resampled together); a set without groups is resampled by rows (the reference
    sets' images are their own units). Each set gets its own random stream (child seeds of
    ``seed``), so the sets are resampled independently, and a difference's replicate is the
    difference of the two sets' replicates; intervals are percentile intervals at ``level``
    (default ``1 - alpha``). The whole sets are compared, whatever their subject mix: see
    :func:`theme_matched` for the comparison within themes.

    Returns
    -------
    by_source : ``source``, ``n`` (images), ``dispersion``, ``ci_low``, ``ci_high``, ``units`` (tweets
        or images resampled), ``unit`` (``"tweet"`` or ``"image"``), ``ci_level``; the first five as
        :func:`dispersion_ci` gives them, the results contract of ``variability.csv``
    differences : ``comparison`` (``"<base>_minus_<other>"``), ``matching`` (``"whole sets"``),
        ``difference`` (D of base minus D of other), ``ci_low``, ``ci_high``, ``ci_level``, ``below``
        (True when the whole interval lies below 0: the base set is less varied than the other
        beyond the bootstrap's uncertainty)
    """
    groups = groups or {}
    if base not in sets:
        raise KeyError(f"compare_sources needs the base set {base!r} among {sorted(sets)}")
    level = inference.level(alpha) if level is None else float(level)
    seeds = np.random.SeedSequence(seed).generate_state(len(sets))
    rows, reps = [], {}
    for (name, X), s in zip(sets.items(), seeds):
        g = groups.get(name)
        reps[name] = tweet_bootstrap_replicates(X, g, n_boot=n_boot, seed=int(s))
        lo, hi = _interval(reps[name], level)
        rows.append({"source": name, "n": len(X), "units": int(len(pd.unique(np.asarray(g)))) if g is not None
                     else len(X), "unit": "tweet" if g is not None else "image", "dispersion": dispersion(X),
                     "ci_low": lo, "ci_high": hi, "ci_level": level})
    by_source = pd.DataFrame(rows)[["source", "n", "dispersion", "ci_low", "ci_high", "units", "unit", "ci_level"]]
    d = by_source.set_index("source")["dispersion"]
    diffs = []
    for name in sets:
        if name == base:
            continue
        lo, hi = _interval(reps[base] - reps[name], level)
        diffs.append({"comparison": f"{base}_minus_{name}", "matching": "whole sets",
                      "difference": float(d[base] - d[name]), "ci_low": lo, "ci_high": hi, "ci_level": level,
                      "below": bool(hi < 0)})
    return by_source, pd.DataFrame(diffs, columns=DIFFERENCE_COLUMNS)


#: The columns of a differences table (:func:`compare_sources`, :func:`theme_matched`).
DIFFERENCE_COLUMNS = ["comparison", "matching", "difference", "ci_low", "ci_high", "ci_level", "below"]


def grouped_dispersion_table(X: np.ndarray, by, tweets, n_boot: int = inference.MIN_RESAMPLES, seed: int = 0,
                             min_size: int = 2, level: float = 1 - inference.DEFAULT_ALPHA) -> pd.DataFrame:
    """:func:`dispersion_table` with the bootstrap resampling tweets within each group (``by``:
    month or cluster of each row; ``tweets``: its tweet id): columns ``group``, ``n``,
    ``n_tweets``, ``dispersion``, ``ci_low``, ``ci_high``, ``ci_level`` (intervals at ``level``)."""
    by, tweets = pd.Series(np.asarray(by)), np.asarray(tweets)
    rows = []
    for g, idx in by.groupby(by, sort=True).indices.items():
        if len(idx) < min_size:
            continue
        idx = np.sort(idx)
        lo, hi = _interval(tweet_bootstrap_replicates(X[idx], tweets[idx], n_boot=n_boot, seed=seed), level)
        rows.append({"group": g, "n": int(len(idx)), "n_tweets": int(len(pd.unique(tweets[idx]))),
                     "dispersion": dispersion(X[idx]), "ci_low": lo, "ci_high": hi, "ci_level": level})
    return pd.DataFrame(rows, columns=["group", "n", "n_tweets", "dispersion", "ci_low", "ci_high", "ci_level"])


# ------------------------------------------------------- within themes (direct standardisation) --

def theme_centroids(X: np.ndarray, themes) -> tuple[np.ndarray, np.ndarray]:
    """The themes (sorted labels) and their centroids: the mean unit embedding of each theme's
    rows of X, renormalised to unit length (shape (themes, d))."""
    themes = np.asarray(themes)
    labels = np.unique(themes)
    U = _unit_rows(X)
    C = np.stack([U[themes == t].mean(axis=0) for t in labels])
    return labels, C / np.linalg.norm(C, axis=1, keepdims=True)


def _unit_rows(X: np.ndarray) -> np.ndarray:
    x = np.asarray(X, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def assign_themes(X: np.ndarray, labels: np.ndarray, centroids: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """The theme of each row of X: the label of the centroid with the highest cosine."""
    out = [labels[np.argmax(_unit_rows(X[s:s + chunk]) @ centroids.T, axis=1)] for s in range(0, len(X), chunk)]
    return np.concatenate(out) if out else np.asarray([], dtype=labels.dtype)


def theme_matched(sets: dict[str, np.ndarray], tweets, themes, base: str = "twigma", min_images: int = 30,
                  n_boot: int = inference.MIN_RESAMPLES, alpha: float = inference.DEFAULT_ALPHA,
                  seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """D of ``base`` minus D of each other set, compared within themes and combined.

    The themes are ``base``'s (``themes``: e.g. the k-means cluster of each TWIGMA image); each
    image of another set goes to the theme whose centroid (:func:`theme_centroids`) is nearest by
    cosine. Within a theme t, D is computed for every set; for each other set, the themes where
    both sets have at least ``min_images`` images are *matched*, and the per-theme differences
    D_base(t) - D_other(t) are combined with weights w_t = base's images in t over base's images in
    the matched themes (direct standardisation to the base set's theme mix; the weights are fixed).
    The interval is a percentile bootstrap at ``1 - alpha``: each replicate resamples base's
    tweets (``tweets``) and the other set's images over the whole set (:func:`replicates_within`)
    and recomputes every theme's D and the weighted sum; replicates where a matched theme got
    fewer than two draws are dropped.

    Returns
    -------
    by_theme : ``theme``, then per set ``n_<set>`` (images) and ``d_<set>`` (D; NaN under two
        images), and per other set ``weight_<set>`` (its weight in the combination; 0 where unmatched)
    differences : :data:`DIFFERENCE_COLUMNS` with ``matching`` ``"within themes"``, and ``themes``
        (matched themes), ``coverage`` (share of base's images in them), ``other_coverage`` (share
        of the other set's images in them)
    """
    if base not in sets:
        raise KeyError(f"theme_matched needs the base set {base!r} among {sorted(sets)}")
    labels, centroids = theme_centroids(sets[base], themes)
    theme_of = {name: (np.asarray(themes) if name == base else assign_themes(X, labels, centroids))
                for name, X in sets.items()}
    level = inference.level(alpha)
    by_theme = pd.DataFrame({"theme": labels})
    for name, X in sets.items():
        by_theme[f"n_{name}"] = [int((theme_of[name] == t).sum()) for t in labels]
        by_theme[f"d_{name}"] = [dispersion(X[theme_of[name] == t]) for t in labels]
    seeds = np.random.SeedSequence(seed).generate_state(len(sets))
    reps = {name: replicates_within(X, tweets if name == base else None, theme_of[name], n_boot=n_boot, seed=int(s))
            for (name, X), s in zip(sets.items(), seeds)}
    rows = []
    for name in sets:
        if name == base:
            continue
        ok = (by_theme[f"n_{base}"] >= min_images) & (by_theme[f"n_{name}"] >= min_images)
        w = np.where(ok, by_theme[f"n_{base}"], 0).astype(float)
        w = w / w.sum() if w.sum() > 0 else w
        by_theme[f"weight_{name}"] = w
        matched = labels[ok.to_numpy()]
        est = float(np.nansum(w[ok] * (by_theme.loc[ok, f"d_{base}"] - by_theme.loc[ok, f"d_{name}"])))
        combined = sum(wt * (reps[base][t] - reps[name][t]) for wt, t in zip(w[ok], matched)) if len(matched) \
            else np.full(n_boot, np.nan)
        lo, hi = _interval(np.asarray(combined, dtype=float), level)
        rows.append({"comparison": f"{base}_minus_{name}", "matching": "within themes",
                     "difference": est if len(matched) else float("nan"), "ci_low": lo, "ci_high": hi,
                     "ci_level": level, "below": bool(hi < 0), "themes": int(len(matched)),
                     "coverage": float(by_theme.loc[ok, f"n_{base}"].sum() / max(1, by_theme[f"n_{base}"].sum())),
                     "other_coverage": float(by_theme.loc[ok, f"n_{name}"].sum() / max(1, by_theme[f"n_{name}"].sum()))})
    return by_theme, pd.DataFrame(rows, columns=[*DIFFERENCE_COLUMNS, "themes", "coverage", "other_coverage"])


# ------------------------------------------------------- what notebook 07 says --

#: How an interval of a difference lies against 0: wholly below, wholly above, or across it.
SIDES = ("below", "above", "across")


@dataclass(frozen=True)
class DifferenceReading:
    """One row of a differences table read: ``reference`` (the other set), ``matching``,
    ``interval`` (the difference with its interval), ``side`` (:data:`SIDES`: where the interval
    lies against 0) and, for a comparison within themes, ``themes`` and ``coverage``."""

    reference: str
    matching: str
    interval: inference.Interval
    side: str
    themes: int = 0
    coverage: float = float("nan")


def read_differences(differences: pd.DataFrame, base: str = "twigma") -> dict[tuple[str, str], DifferenceReading]:
    """The rows of a differences table keyed by (reference, matching)."""
    out = {}
    for r in differences.to_dict("records"):
        ci = inference.Interval(float(r["difference"]), float(r["ci_low"]), float(r["ci_high"]), float(r["ci_level"]),
                                "percentile bootstrap")
        side = "below" if ci.below(0) else "above" if ci.above(0) else "across"
        ref = str(r["comparison"]).removeprefix(f"{base}_minus_")
        themes = r.get("themes", 0)
        out[(ref, r["matching"])] = DifferenceReading(ref, r["matching"], ci, side, 0 if pd.isna(themes) else int(themes),
                                                      float(r.get("coverage", float("nan"))))
    return out


@dataclass(frozen=True)
class MonthEnds:
    """What 07 says of its by-month table: ``k`` months compared at each end, ``early_mean`` and
    ``late_mean`` (mean D of the first and last k months), ``early_n_min``/``early_n_max`` (images
    in the early months), ``widen`` (mean interval width of the early months over the late
    months'), ``noisy`` (``widen`` above the notebook's cut-off: the early wiggles are noise),
    ``min``/``max`` and the months they fall in, ``trend`` (Pearson correlation of D with the
    month's position; NaN under 3 months)."""

    k: int
    early_mean: float
    late_mean: float
    early_n_min: int
    early_n_max: int
    widen: float
    noisy: bool
    min: float
    min_month: str
    max: float
    max_month: str
    trend: float


def month_ends(by_month: pd.DataFrame, k: int | None = None, noisy_widen: float = 2.0) -> MonthEnds:
    """Read 07's by-month table (``month``, ``n``, ``dispersion``, ``ci_low``, ``ci_high``, in time
    order); ``k`` defaults to half the months, at most 6, at least 1; the early months are
    ``noisy`` when their intervals are more than ``noisy_widen`` times as wide as the late ones'."""
    m = by_month.reset_index(drop=True)
    k = max(1, min(6, len(m) // 2)) if k is None else int(k)
    early, late = m.iloc[:k], m.iloc[-k:]
    width = lambda t: float((t["ci_high"] - t["ci_low"]).mean())  # noqa: E731
    widen = width(early) / width(late) if width(late) > 0 else float("nan")
    return MonthEnds(k, float(early["dispersion"].mean()), float(late["dispersion"].mean()), int(early["n"].min()),
                     int(early["n"].max()), widen, bool(widen > noisy_widen), float(m["dispersion"].min()),
                     str(m.loc[m["dispersion"].idxmin(), "month"]), float(m["dispersion"].max()),  # type: ignore[index]  # pandas-stubs: .loc takes no Hashable label
                     str(m.loc[m["dispersion"].idxmax(), "month"]),  # type: ignore[index]  # pandas-stubs: .loc takes no Hashable label
                     float(np.corrcoef(np.arange(len(m)), m["dispersion"])[0, 1]) if len(m) > 2 else float("nan"))


@dataclass(frozen=True)
class DispersionExtremes:
    """What 07 says of its by-cluster table: ``low`` and ``high`` (the least and most varied
    cluster and their D), ``n_below`` (clusters whose D lies below ``overall``, TWIGMA's D as a
    whole), ``n`` (clusters), ``not_below`` (the clusters at or above it) and ``all_below``."""

    low: int
    low_d: float
    high: int
    high_d: float
    n_below: int
    n: int
    not_below: tuple
    all_below: bool


def dispersion_extremes(by_cluster: pd.DataFrame, overall: float) -> DispersionExtremes:
    """Read 07's by-cluster table (``cluster``, ``dispersion``) against TWIGMA's overall D."""
    t = by_cluster.reset_index(drop=True)
    below = t["dispersion"] < overall
    lo, hi = t.loc[t["dispersion"].idxmin()], t.loc[t["dispersion"].idxmax()]  # type: ignore[call-overload]  # pandas-stubs: .loc takes no Hashable label
    return DispersionExtremes(int(lo["cluster"]), float(lo["dispersion"]), int(hi["cluster"]), float(hi["dispersion"]),
                           int(below.sum()), len(t), tuple(int(c) for c in t.loc[~below, "cluster"]),
                           bool(below.all()))
