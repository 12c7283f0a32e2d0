"""Are TWIGMA images distinct from natural photographs and from artwork? (claim C7)

Two views: a linear probe, a cross-validated logistic regression that tells TWIGMA embeddings
from those of a reference set, scored by ROC AUC (0.5 = indistinguishable, 1 = perfectly
apart), and a joint 2-D UMAP of the three sources drawn on a subsample per source.

Tweets are the unit of the probe: a tweet's up to four images usually share one prompt and
embed close together, so folds that split a tweet put near-copies of a test image in training
and lift the AUC even when the sources do not differ. With ``groups_a`` (the tweet id of each
TWIGMA image) the folds keep each tweet whole (scikit-learn's ``StratifiedGroupKFold``); the
reference sets' images are their own groups.

The AUC that decides C7 carries a ``1 - alpha`` interval at the tweet level
(:func:`auc_interval`): the probe's out-of-fold scores are kept, and a cluster bootstrap resamples
TWIGMA tweets (every image of a drawn tweet) and reference images (each its own unit) and
recomputes the mean fold AUC on the drawn rows. The interval is conditional on the fitted probes:
it says how much the AUC of these probes would move over another draw of held-out tweets, not how
much refitting on other tweets would move it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from twigma import cache as _cache
from twigma.analysis import inference


def balanced_sample(n_a: int, n_b: int, max_per_class: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of A and B, each capped at min(n_a, n_b, max_per_class) (equal classes)."""
    rng = np.random.default_rng(seed)
    m = min(n_a, n_b, max_per_class or max(n_a, n_b))
    return np.sort(rng.choice(n_a, m, replace=False)), np.sort(rng.choice(n_b, m, replace=False))


def probe_auc(A: np.ndarray, B: np.ndarray, folds: int = 5, max_per_class: int | None = 20000,
              C: float = 1.0, seed: int = 0, cache: bool = True, groups_a=None, groups_b=None) -> dict:
    """Cross-validated AUC of a linear probe separating rows of A from rows of B.

    Classes are balanced by subsampling the larger one (at most ``max_per_class`` each);
    features are standardised inside each fold (a scikit-learn pipeline). ``groups_a`` and
    ``groups_b`` (one label per row, e.g. the tweet id of each TWIGMA image; None: each row is
    its own group) keep every group in one fold (``StratifiedGroupKFold``): no tweet has images
    in training and test at once. Without any groups the folds are ``StratifiedKFold`` over rows.
    With ``cache``, the result is kept in :mod:`twigma.cache`, keyed by the rows of A and B,
    the groups, the parameters and the scikit-learn version.

    Returns
    -------
    dict with ``auc`` (mean over folds), ``auc_sd`` (standard deviation over folds: a spread of
    the folds, not an uncertainty of the AUC), ``auc_min`` and ``auc_max`` (the lowest and highest
    fold), ``folds`` (list of fold AUCs), ``n_per_class``, ``grouped`` (whether folds kept groups
    whole), ``n_groups`` (groups among the probe's rows), and the out-of-fold predictions of the
    probe's rows (A's first): ``score`` (decision function of the fold's model that did not see
    the row), ``label`` (1 for A), ``fold`` (the row's test fold) and ``group`` (its integer
    group: a TWIGMA tweet or a reference image), for :func:`auc_interval`.
    """
    for tag, g, n in (("a", groups_a, len(A)), ("b", groups_b, len(B))):
        if g is not None and len(g) != n:
            raise ValueError(f"groups_{tag} has {len(g)} labels for {n} rows: give one group (tweet id) per row")
    params: dict[str, Any] = {"folds": folds, "max_per_class": max_per_class, "C": C, "seed": seed,
                              "groups_a": None if groups_a is None else np.asarray(groups_a),
                              "groups_b": None if groups_b is None else np.asarray(groups_b)}
    if cache:
        return _cache.call(_probe_auc, (A, B), params, code=[balanced_sample, _fold_groups],
                           versions=_cache.package_versions("scikit-learn", "numpy", "scipy"))
    return _probe_auc(A, B, **params)


def _fold_groups(ga, gb, n_a: int, n_b: int) -> np.ndarray:
    """One integer group per row of [A; B]: the given labels (A's and B's kept apart), each row
    its own group where none are given."""
    parts = []
    for tag, g, n in (("a", ga, n_a), ("b", gb, n_b)):
        labels = np.arange(n).astype(str) if g is None else np.asarray(g).astype(str)
        if len(labels) != n:
            raise ValueError(f"groups_{tag} has {len(labels)} labels for {n} rows: give one group (tweet id) per row")
        parts.append(np.char.add(f"{tag}:", labels))
    return pd.factorize(np.concatenate(parts))[0]


def _probe_auc(A: np.ndarray, B: np.ndarray, folds: int, max_per_class: int | None, C: float, seed: int,
               groups_a=None, groups_b=None) -> dict:
    ia, ib = balanced_sample(len(A), len(B), max_per_class, seed)
    X = np.vstack([np.asarray(A[ia], np.float32), np.asarray(B[ib], np.float32)])
    y = np.r_[np.ones(len(ia)), np.zeros(len(ib))]
    grouped = groups_a is not None or groups_b is not None
    groups = _fold_groups(None if groups_a is None else np.asarray(groups_a)[ia],
                          None if groups_b is None else np.asarray(groups_b)[ib], len(ia), len(ib))
    if grouped:
        splits = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y, groups)
    else:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y)
    scores, oof, fold_of = [], np.full(len(y), np.nan), np.full(len(y), -1)
    for f, (train, test) in enumerate(splits):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        model.fit(X[train], y[train])
        oof[test], fold_of[test] = model.decision_function(X[test]), f
        scores.append(roc_auc_score(y[test], oof[test]))
    auc = np.asarray(scores)
    return {"auc": float(auc.mean()), "auc_sd": float(auc.std(ddof=1)), "auc_min": float(auc.min()),
            "auc_max": float(auc.max()), "folds": auc.tolist(), "n_per_class": int(len(ia)),
            "grouped": bool(grouped), "n_groups": int(groups.max() + 1),
            "score": oof, "label": y.astype(np.int8), "fold": fold_of.astype(np.int16), "group": groups}


def fold_mean_auc(score: np.ndarray, label: np.ndarray, fold: np.ndarray) -> float:
    """The mean over folds of each fold's ROC AUC (a fold with one class only is skipped; NaN
    when no fold has both)."""
    from scipy.stats import rankdata

    aucs = []
    for f in np.unique(fold):
        m = fold == f
        y = label[m] == 1
        n1 = int(y.sum())
        n0 = len(y) - n1
        if n1 and n0:  # Mann-Whitney: AUC = (rank sum of positives - n1 (n1 + 1) / 2) / (n1 n0), ties averaged
            aucs.append((rankdata(score[m])[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    return float(np.mean(aucs)) if aucs else float("nan")


def auc_interval(res: dict, alpha: float = inference.DEFAULT_ALPHA, n_resamples: int = inference.MIN_RESAMPLES,
                 seed: int = 0) -> inference.Interval:
    """A ``1 - alpha`` interval of a probe's mean fold AUC at the tweet level.

    ``res`` is :func:`probe_auc`'s result (its out-of-fold ``score``, ``label``, ``fold`` and
    ``group``). Each replicate draws as many units as there are, with replacement, where a unit is
    a TWIGMA tweet (all its images) or a reference image (:func:`twigma.analysis.inference.tweet_bootstrap`),
    and recomputes every fold's AUC on the drawn rows of that fold; the estimate is the probe's
    ``auc``. The models are not refitted: the interval is conditional on the fitted probes.
    """
    score, label, fold = (np.asarray(res[k]) for k in ("score", "label", "fold"))
    return inference.tweet_bootstrap(lambda rows: fold_mean_auc(score[rows], label[rows], fold[rows]),
                                     np.asarray(res["group"]), alpha, n_resamples=n_resamples, seed=seed)


def probe_table(X: np.ndarray, tweets, references: dict[str, np.ndarray], folds: int = 5,
                max_per_class: int | None = 20000, seed: int = 0, cache: bool = True,
                alpha: float = inference.DEFAULT_ALPHA, n_resamples: int = inference.MIN_RESAMPLES) -> pd.DataFrame:
    """The probe of TWIGMA (rows ``X``, tweet id of each row in ``tweets``) against each
    reference set, folds grouped by tweet: one row per comparison ``twigma_vs_<name>`` with
    ``auc`` (mean fold AUC), its ``1 - alpha`` interval at the tweet level ``ci_low``, ``ci_high``
    and ``ci_level`` (:func:`auc_interval`, ``n_resamples`` replicates), ``auc_sd``, ``auc_min``,
    ``auc_max`` (fold spread), ``folds``, ``n_per_class``, ``n_tweets`` (TWIGMA tweets among the
    probe's rows) and ``grouping`` ("tweet")."""
    rows = []
    for name, ref in references.items():
        res = probe_auc(X, ref, folds=folds, max_per_class=max_per_class, seed=seed, cache=cache,
                        groups_a=np.asarray(tweets))
        ci = auc_interval(res, alpha, n_resamples=n_resamples, seed=seed)
        rows.append({"comparison": f"twigma_vs_{name}", "auc": res["auc"], "ci_low": ci.low, "ci_high": ci.high,
                     "ci_level": ci.level, "auc_sd": res["auc_sd"], "auc_min": res["auc_min"],
                     "auc_max": res["auc_max"], "folds": folds, "n_per_class": res["n_per_class"],
                     "n_tweets": res["n_groups"] - res["n_per_class"], "grouping": "tweet"})
    return pd.DataFrame(rows)


#: The separation grades of :func:`probe_reading`, from the most separated down.
GRADES = ("near-perfect", "strong", "partial", "little")


@dataclass(frozen=True)
class ProbeReading:
    """What 06 says of one probe: the AUC with its interval, the grade of separation judged on the
    interval's lower bound (``near-perfect`` at or above ``near_perfect``, ``strong`` at or above
    ``min_auc``, ``partial`` at or above ``partial``, else ``little``), and whether C7's bar is met
    (``distinct``: the lower bound at or above ``min_auc``)."""

    comparison: str
    auc: float
    interval: inference.Interval
    min_auc: float
    grade: str
    distinct: bool
    n_per_class: int
    n_tweets: int
    spread: str
    ci_text: str


@dataclass(frozen=True)
class ProbeSummary:
    """The two probes of 06: ``readings`` in table order, ``all_distinct`` (C7's bar met by every
    probe: both lower bounds at or above ``min_auc``), ``any_distinct`` (met by at least one),
    ``level_text`` of the intervals."""

    readings: tuple[ProbeReading, ...]
    min_auc: float
    all_distinct: bool
    any_distinct: bool
    level_text: str


def probe_reading(table: pd.DataFrame, min_auc: float, near_perfect: float = 0.99,
                  partial: float = 0.7) -> ProbeSummary:
    """Read :func:`probe_table`'s rows against C7's bar ``min_auc`` and the grade cut-offs."""
    if not partial <= min_auc <= near_perfect:
        raise ValueError(f"the grade cut-offs must rise: partial {partial} <= min_auc {min_auc} <= "
                         f"near_perfect {near_perfect}")
    out = []
    r: Any  # a row of probe_table (pandas-stubs types its fields as any scalar)
    for r in table.itertuples(index=False):
        ci = inference.Interval(float(r.auc), float(r.ci_low), float(r.ci_high), float(r.ci_level), "tweet bootstrap")
        cuts = (near_perfect, min_auc, partial, -np.inf)
        grade = next(g for g, c in zip(GRADES, cuts) if ci.low >= c)
        out.append(ProbeReading(r.comparison, float(r.auc), ci, float(min_auc), grade, bool(ci.low >= min_auc),
                                int(r.n_per_class), int(r.n_tweets), fold_spread_text(r._asdict()), auc_ci_text(ci)))
    return ProbeSummary(tuple(out), float(min_auc), bool(out) and all(x.distinct for x in out),
                        any(x.distinct for x in out), out[0].interval.level_text if out else "")


def fold_spread_text(row) -> str:
    """A probe's folds as a spread, e.g. ``"folds 0.981 to 0.993"`` (never a ± interval: the folds'
    spread is not a confidence interval of the AUC). Three decimals, more when they would print
    the same."""
    lo, hi = float(row["auc_min"]), float(row["auc_max"])
    digits = 3
    while digits < 6 and f"{lo:.{digits}f}" == f"{hi:.{digits}f}" and lo != hi:
        digits += 1
    return f"folds {lo:.{digits}f} to {hi:.{digits}f}"


def auc_ci_text(ci: inference.Interval) -> str:
    """An AUC with its interval, ``"0.998 (99% CI 0.995 to 0.999)"``: three decimals, more (up to six)
    while the estimate and both bounds would not all print apart, so that a bound near 1 does not
    read as 1.000 beside an estimate of 1.000."""
    digits = 3
    while digits < 6 and len({f"{v:.{digits}f}" for v in (ci.estimate, ci.low, ci.high)}) < 3 \
            and len({ci.estimate, ci.low, ci.high}) == 3:
        digits += 1
    return ci.text(f".{digits}f")


#: Distributions whose versions key the cached UMAP (read from metadata: umap is not imported).
UMAP_LIBRARIES = ("umap-learn", "pynndescent", "numba", "scikit-learn", "numpy")


def joint_umap(sources: dict[str, np.ndarray], fit_size: int = 3000, pca_dims: int = 50,
               n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0, cache: bool = True,
               n_epochs: int = 200) -> pd.DataFrame:
    """2-D UMAP of several embedding sets together, on a random subsample of each.

    At most ``fit_size`` rows are drawn per source (without replacement, seeded); PCA (to
    ``pca_dims``) and UMAP are fitted on exactly the rows drawn, and those are the rows returned:
    every point of the map was part of its fit, none is placed afterwards with ``transform``
    (slow: it builds pynndescent's search graph; docs/benchmarks.md). UMAP is given its neighbour graph, an exact
    k-nearest-neighbour search in the PCA space (scikit-learn, brute force), instead of building
    an approximate one (``precomputed_knn``), and ``n_epochs`` of layout optimisation (200, umap-learn's
    own default above 10,000 points; below that it would run 500, which more than doubles the
    time and changes little in a map of a few clumps). With ``cache``, the result is kept in
    :mod:`twigma.cache`, keyed by the sources (names, order and rows), the parameters and the
    versions of :data:`UMAP_LIBRARIES`; a rerun with the same key reads it back without importing
    umap.

    Returns
    -------
    DataFrame with ``source``, ``row`` (index within its source), ``x``, ``y``, one row per point
    drawn, sources in the order given, rows increasing within a source.
    """
    params: dict[str, Any] = {"fit_size": fit_size, "pca_dims": pca_dims, "n_neighbors": n_neighbors,
                              "min_dist": min_dist, "seed": seed, "n_epochs": n_epochs}
    pairs = list(sources.items())  # the order of the sources matters (sampling, rows): a list keeps it in the key
    if cache:
        return _cache.call(_joint_umap, (pairs,), params, code=[exact_knn],
                           versions=_cache.package_versions(*UMAP_LIBRARIES))
    return _joint_umap(pairs, **params)


def exact_knn(Z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and euclidean distances of each row's ``k`` nearest rows of Z, itself first (exact)."""
    from sklearn.neighbors import NearestNeighbors

    dist, idx = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(Z).kneighbors(Z)
    # a duplicate row may come before the row itself: put the row itself first, as UMAP expects
    own = np.arange(len(Z))
    for r in np.flatnonzero(idx[:, 0] != own):
        j = np.flatnonzero(idx[r] == r)
        pos = j[0] if len(j) else k - 1
        idx[r, 1:pos + 1], idx[r, 0] = idx[r, :pos].copy(), r
        dist[r, 1:pos + 1] = dist[r, :pos].copy()
    dist[:, 0] = 0.0  # a point's distance to itself (brute force leaves rounding of ~1e-8 there)
    return idx.astype(np.int32), dist.astype(np.float32)


def _joint_umap(pairs: list[tuple[str, np.ndarray]], fit_size: int, pca_dims: int, n_neighbors: int,
                min_dist: float, seed: int, n_epochs: int = 200) -> pd.DataFrame:
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    names, rows, parts = [], [], []
    for name, X in pairs:
        pick = np.sort(rng.choice(len(X), min(fit_size, len(X)), replace=False))
        names.append(np.full(len(pick), name, dtype=object))
        rows.append(pick)
        parts.append(np.asarray(X[pick], dtype=np.float32))
    Z = np.vstack(parts)
    Z = PCA(n_components=min(pca_dims, *Z.shape), random_state=seed).fit_transform(Z)
    k = min(n_neighbors, len(Z) - 1)
    idx, dist = exact_knn(Z, k)
    import umap

    with warnings.catch_warnings():  # no search index is passed: transform is not used, as the warning says
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        reducer = umap.UMAP(n_neighbors=k, min_dist=min_dist, random_state=seed, metric="euclidean",
                            precomputed_knn=(idx, dist), n_epochs=n_epochs)
        xy = reducer.fit_transform(Z)
    return pd.DataFrame({"source": np.concatenate(names), "row": np.concatenate(rows),
                         "x": xy[:, 0].astype(np.float32), "y": xy[:, 1].astype(np.float32)})


def map_purity(xy: pd.DataFrame, k: int = 15) -> pd.DataFrame:
    """How often a map point's ``k`` nearest neighbours in the 2-D map come from its own source.

    Returns one row per source (in order of appearance): ``source``, ``n`` (points), ``own_share``
    (mean share of own-source points among each point's k nearest others) and ``chance`` (the
    source's share of the points: what ``own_share`` would be if the sources were mixed at random).
    """
    from sklearn.neighbors import NearestNeighbors

    pts = xy[["x", "y"]].to_numpy(dtype=float)
    src = xy["source"].to_numpy()
    k = min(k, len(pts) - 1)
    _, nn = NearestNeighbors(n_neighbors=k + 1).fit(pts).kneighbors(pts)
    own = nn[:, 0] == np.arange(len(pts))
    others = np.where(own[:, None], nn[:, 1:], nn[:, :k])  # leave the point itself out
    same = (src[others] == src[:, None]).mean(axis=1)
    order = pd.unique(src)
    out = pd.DataFrame({"source": src, "same": same}).groupby("source", sort=False)["same"].agg(["size", "mean"])
    out = out.loc[order].reset_index().rename(columns={"size": "n", "mean": "own_share"})
    out["chance"] = out["n"] / out["n"].sum()
    return out


@dataclass(frozen=True)
class MapPurity:
    """What 06 says of :func:`map_purity`: ``apart`` (every source's own-source share above
    ``own_share``: each source keeps to its own regions of the map) and ``mixed`` (the sources at
    or below it, in table order)."""

    own_share: float
    apart: bool
    mixed: tuple[str, ...]


def purity_reading(purity: pd.DataFrame, own_share: float = 0.9) -> MapPurity:
    """Read :func:`map_purity`'s table (``source``, ``own_share``) against ``own_share``."""
    mixed = tuple(str(s) for s, v in zip(purity["source"], purity["own_share"]) if not v > own_share)
    return MapPurity(float(own_share), not mixed, mixed)
