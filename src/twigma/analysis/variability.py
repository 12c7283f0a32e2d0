"""How varied a set of images is: mean pairwise cosine distance of its embeddings (claim C8).

For unit vectors x_1..x_n with sum s, the sum of cosine similarities over ordered pairs
i != j is ``|s|^2 - n`` (each |x_i|^2 = 1), so the mean pairwise cosine distance is

    D = 1 - (|s|^2 - n) / (n (n - 1)),

computed exactly in one pass, without the n x n matrix: 800,000 x 768 takes about a second.
Rows are renormalised in float64 first, so float16 storage does not bias D.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from twigma.embeddings import cluster


def _sums(X: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, int]:
    """Sum of the unit-normalised rows (float64) and their count, chunk by chunk."""
    if cluster.client() is not None:  # SCHEDULER set: these sums over row shards on the cluster, tree-reduced
        return cluster.tree_sum(_sums, X, chunk=chunk)
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


def dispersion_ci(X: np.ndarray, n_boot: int = 200, level: float = 0.95, seed: int = 0,
                  chunk: int = 65536) -> tuple[float, float, float]:
    """Dispersion with a percentile bootstrap interval over rows.

    Each replicate draws n rows with replacement (multinomial counts c). Pairs of two draws of
    the same row are not pairs of distinct images, so they are left out: the replicate's
    similarity sum over the remaining pairs is |sum c_i x_i|^2 - sum c_i^2, over n^2 - sum c_i^2
    pairs (counting them would bias the intervals down by about D / (n - 1)). All replicates
    are computed together as one (n_boot x n) @ (n x d) product, in chunks.

    Returns (dispersion, ci_low, ci_high).
    """
    n = len(X)
    est = dispersion(X)
    if n < 2 or n_boot < 1:
        return est, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float32)  # (n_boot, n), exact below 2**24
    reps = bootstrap_replicates(X, counts, chunk=chunk)
    alpha = (1 - level) / 2
    return est, float(np.quantile(reps, alpha)), float(np.quantile(reps, 1 - alpha))


def bootstrap_replicates(X: np.ndarray, counts: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Dispersion of each bootstrap resample given by ``counts`` (shape (n_boot, n): how often
    each row was drawn), over pairs of distinct images (see :func:`dispersion_ci`)."""
    counts = np.asarray(counts, dtype=np.float32)
    S = _weighted_sums(X, counts, chunk)
    draws = counts.sum(axis=1, dtype=np.float64)
    c2 = np.einsum("bi,bi->b", counts, counts, dtype=np.float64)
    return 1.0 - (np.einsum("bd,bd->b", S, S) - c2) / (draws * draws - c2)


def _weighted_sums(X: np.ndarray, counts: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """counts @ (unit rows of X), shape (n_boot, d), chunk by chunk, in float64: the products too, so
    that one process and any number of Dask workers (whose BLAS sums in another order, on one thread)
    agree to about 1e-15, not to float32's 1e-7 (the product costs about twice the float32 one)."""
    if cluster.client() is not None:  # SCHEDULER set: over row shards on the cluster, tree-reduced
        return cluster.tree_sum(_weighted_sums, X, split={"counts": (counts, 1)}, chunk=chunk)
    S = np.zeros((len(counts), X.shape[1]), dtype=np.float64)
    for start in range(0, len(X), chunk):
        x = np.asarray(X[start:start + chunk], dtype=np.float64)
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        S += counts[:, start:start + chunk].astype(np.float64) @ x
    return S


def dispersion_table(X: np.ndarray, groups, n_boot: int = 200, seed: int = 0,
                     min_size: int = 2) -> pd.DataFrame:
    """Dispersion and bootstrap interval per group: columns ``group``, ``n``, ``dispersion``,
    ``ci_low``, ``ci_high`` (groups smaller than ``min_size`` are left out)."""
    groups = pd.Series(np.asarray(groups))
    rows = []
    for g, idx in groups.groupby(groups, sort=True).indices.items():
        if len(idx) < min_size:
            continue
        est, lo, hi = dispersion_ci(X[np.sort(idx)], n_boot=n_boot, seed=seed)
        rows.append({"group": g, "n": int(len(idx)), "dispersion": est, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=["group", "n", "dispersion", "ci_low", "ci_high"])


# ------------------------------------------------------- tweets as the unit of the bootstrap --

def cluster_counts(groups, n_boot: int, seed: int = 0) -> np.ndarray:
    """Bootstrap counts that resample whole groups (tweets): shape (n_boot, n), float32.

    Each replicate draws as many groups as there are, uniformly with replacement
    (``rng.integers``); every row counts as often as its group was drawn, so the images of one
    tweet always enter a replicate together (a cluster bootstrap; Davison & Hinkley 1997,
    section 3.8). With every row its own group this is the ordinary bootstrap over rows.
    """
    codes, uniques = pd.factorize(np.asarray(groups))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(uniques), size=(n_boot, len(uniques)))
    per_group = np.stack([np.bincount(d, minlength=len(uniques)) for d in draws]).astype(np.float32)
    return per_group[:, codes]


def cluster_replicates(X: np.ndarray, groups=None, n_boot: int = 200, seed: int = 0,
                       chunk: int = 65536) -> np.ndarray:
    """Dispersion of ``n_boot`` resamples of X that draw whole groups (``groups``: one label per
    row, e.g. the tweet id; None: each row its own group), over pairs of distinct images
    (:func:`bootstrap_replicates`)."""
    groups = np.arange(len(X)) if groups is None else np.asarray(groups)
    if len(groups) != len(X):
        raise ValueError(f"groups has {len(groups)} labels for {len(X)} rows: give one group (tweet id) per row")
    return bootstrap_replicates(X, cluster_counts(groups, n_boot, seed), chunk=chunk)


def compare_sources(sets: dict[str, np.ndarray], groups: dict | None = None, base: str = "twigma",
                    n_boot: int = 200, level: float = 0.95, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dispersion of each set with a bootstrap interval, and ``base`` minus each other set.

    ``groups`` maps a set's name to one group label per row (TWIGMA: the tweet id, so a tweet's
    images are resampled together); a set without groups is resampled by rows (the reference
    sets' images are their own groups). Each set gets its own random stream (child seeds of
    ``seed``), so the sets are resampled independently, and a difference's replicate is the
    difference of the two sets' replicates; intervals are percentile intervals at ``level``.

    Returns
    -------
    by_source : ``source``, ``n`` (images), ``dispersion``, ``ci_low``, ``ci_high``, ``units`` (tweets
        or images resampled), ``unit`` (``"tweet"`` or ``"image"``); the first five as
        :func:`dispersion_ci` gives them, the results contract of ``variability.csv``
    differences : ``comparison`` (``"<base>_minus_<other>"``), ``difference`` (D of base minus D of
        other), ``ci_low``, ``ci_high``, ``below`` (True when the whole interval lies below 0: the
        base set is less varied than the other beyond the bootstrap's uncertainty)
    """
    groups = groups or {}
    if base not in sets:
        raise KeyError(f"compare_sources needs the base set {base!r} among {sorted(sets)}")
    seeds = np.random.SeedSequence(seed).generate_state(len(sets))
    alpha = (1 - level) / 2
    rows, reps = [], {}
    for (name, X), s in zip(sets.items(), seeds):
        g = groups.get(name)
        reps[name] = cluster_replicates(X, g, n_boot=n_boot, seed=int(s))
        rows.append({"source": name, "n": len(X), "units": int(len(pd.unique(np.asarray(g)))) if g is not None
                     else len(X), "unit": "tweet" if g is not None else "image", "dispersion": dispersion(X),
                     "ci_low": float(np.quantile(reps[name], alpha)),
                     "ci_high": float(np.quantile(reps[name], 1 - alpha))})
    by_source = pd.DataFrame(rows)[["source", "n", "dispersion", "ci_low", "ci_high", "units", "unit"]]
    d = by_source.set_index("source")["dispersion"]
    diffs = []
    for name in sets:
        if name == base:
            continue
        delta = reps[base] - reps[name]
        lo, hi = float(np.quantile(delta, alpha)), float(np.quantile(delta, 1 - alpha))
        diffs.append({"comparison": f"{base}_minus_{name}", "difference": float(d[base] - d[name]),
                      "ci_low": lo, "ci_high": hi, "below": bool(hi < 0)})
    return by_source, pd.DataFrame(diffs, columns=["comparison", "difference", "ci_low", "ci_high", "below"])


def grouped_dispersion_table(X: np.ndarray, by, tweets, n_boot: int = 200, seed: int = 0,
                             min_size: int = 2) -> pd.DataFrame:
    """:func:`dispersion_table` with the bootstrap resampling tweets within each group (``by``:
    month or cluster of each row; ``tweets``: its tweet id): columns ``group``, ``n``,
    ``n_tweets``, ``dispersion``, ``ci_low``, ``ci_high``."""
    by, tweets = pd.Series(np.asarray(by)), np.asarray(tweets)
    rows = []
    for g, idx in by.groupby(by, sort=True).indices.items():
        if len(idx) < min_size:
            continue
        idx = np.sort(idx)
        reps = cluster_replicates(X[idx], tweets[idx], n_boot=n_boot, seed=seed)
        rows.append({"group": g, "n": int(len(idx)), "n_tweets": int(len(pd.unique(tweets[idx]))),
                     "dispersion": dispersion(X[idx]), "ci_low": float(np.nanquantile(reps, 0.025)),
                     "ci_high": float(np.nanquantile(reps, 0.975))})
    return pd.DataFrame(rows, columns=["group", "n", "n_tweets", "dispersion", "ci_low", "ci_high"])


def month_ends(by_month: pd.DataFrame, k: int | None = None) -> dict:
    """What 07 says of its by-month table (``month``, ``n``, ``dispersion``, ``ci_low``, ``ci_high``,
    in time order): ``k`` months compared at each end (default: half the months, at most 6, at
    least 1), ``early_mean`` and ``late_mean`` (mean D of the first and last k months),
    ``early_n_min``/``early_n_max`` (images in the early months), ``widen`` (mean interval width
    of the early months over the late months'), ``min``/``max`` and the months they fall in,
    ``trend`` (Pearson correlation of D with the month's position; NaN under 3 months)."""
    m = by_month.reset_index(drop=True)
    k = max(1, min(6, len(m) // 2)) if k is None else int(k)
    early, late = m.iloc[:k], m.iloc[-k:]
    width = lambda t: float((t["ci_high"] - t["ci_low"]).mean())  # noqa: E731
    return {"k": k, "early_mean": float(early["dispersion"].mean()), "late_mean": float(late["dispersion"].mean()),
            "early_n_min": int(early["n"].min()), "early_n_max": int(early["n"].max()),
            "widen": width(early) / width(late) if width(late) > 0 else float("nan"),
            "min": float(m["dispersion"].min()), "min_month": m.loc[m["dispersion"].idxmin(), "month"],
            "max": float(m["dispersion"].max()), "max_month": m.loc[m["dispersion"].idxmax(), "month"],
            "trend": float(np.corrcoef(np.arange(len(m)), m["dispersion"])[0, 1]) if len(m) > 2 else float("nan")}


def cluster_extremes(by_cluster: pd.DataFrame, overall: float) -> dict:
    """What 07 says of its by-cluster table: ``low`` and ``high`` (the rows of the least and most
    varied cluster), ``n_below`` (clusters whose D lies below ``overall``, TWIGMA's D as a whole),
    ``n`` (clusters) and ``not_below`` (the clusters at or above it)."""
    t = by_cluster.reset_index(drop=True)
    below = t["dispersion"] < overall
    return {"low": t.loc[t["dispersion"].idxmin()], "high": t.loc[t["dispersion"].idxmax()],
            "n_below": int(below.sum()), "n": len(t), "not_below": t.loc[~below, "cluster"].tolist()}
