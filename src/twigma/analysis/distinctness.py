"""Are TWIGMA images distinct from natural photographs and from artwork? (claim C7)

Two views: a joint 2-D UMAP of the three sources (fit on a sample, the rest transformed),
and a linear probe: a cross-validated logistic regression that tells TWIGMA embeddings from
those of a reference set, scored by ROC AUC (0.5 = indistinguishable, 1 = perfectly apart).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from twigma import cache as _cache


def balanced_sample(n_a: int, n_b: int, max_per_class: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of A and B, each capped at min(n_a, n_b, max_per_class) (equal classes)."""
    rng = np.random.default_rng(seed)
    m = min(n_a, n_b, max_per_class or max(n_a, n_b))
    return np.sort(rng.choice(n_a, m, replace=False)), np.sort(rng.choice(n_b, m, replace=False))


def probe_auc(A: np.ndarray, B: np.ndarray, folds: int = 5, max_per_class: int | None = 20000,
              C: float = 1.0, seed: int = 0, cache: bool = True) -> dict:
    """Cross-validated AUC of a linear probe separating rows of A from rows of B.

    Classes are balanced by subsampling the larger one (at most ``max_per_class`` each);
    features are standardised inside each fold (a scikit-learn pipeline). With ``cache``, the
    result is kept in :mod:`twigma.cache`, keyed by the rows of A and B, the parameters and
    the scikit-learn version.

    Returns
    -------
    dict with ``auc`` (mean over folds), ``auc_sd`` (standard deviation over folds), ``folds``
    (list of fold AUCs), ``n_per_class``.
    """
    params = {"folds": folds, "max_per_class": max_per_class, "C": C, "seed": seed}
    if cache:
        return _cache.call(_probe_auc, (A, B), params, code=[balanced_sample],
                           versions=_cache.package_versions("scikit-learn", "numpy", "scipy"))
    return _probe_auc(A, B, **params)


def _probe_auc(A: np.ndarray, B: np.ndarray, folds: int, max_per_class: int | None, C: float, seed: int) -> dict:
    ia, ib = balanced_sample(len(A), len(B), max_per_class, seed)
    X = np.vstack([np.asarray(A[ia], np.float32), np.asarray(B[ib], np.float32)])
    y = np.r_[np.ones(len(ia)), np.zeros(len(ib))]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_score(model, X, y, cv=cv, scoring="roc_auc")
    return {"auc": float(scores.mean()), "auc_sd": float(scores.std(ddof=1)), "folds": scores.tolist(),
            "n_per_class": int(len(ia))}


#: Distributions whose versions key the cached UMAP (read from metadata: umap is not imported).
UMAP_LIBRARIES = ("umap-learn", "pynndescent", "numba", "scikit-learn", "numpy")


def joint_umap(sources: dict[str, np.ndarray], fit_size: int = 5000, pca_dims: int = 50,
               n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0, cache: bool = True) -> pd.DataFrame:
    """2-D UMAP of several embedding sets together.

    PCA (to ``pca_dims``) and UMAP are fit on a balanced random sample of at most ``fit_size``
    rows per source; every other row is then placed with ``transform`` (as for a million points).
    With ``cache``, the result is kept in :mod:`twigma.cache`, keyed by the sources (names,
    order and rows), the parameters and the versions of :data:`UMAP_LIBRARIES`; a rerun with
    the same key reads it back without importing umap.

    Returns
    -------
    DataFrame with ``source``, ``row`` (index within its source), ``x``, ``y``, ``in_fit``.
    """
    params = {"fit_size": fit_size, "pca_dims": pca_dims, "n_neighbors": n_neighbors, "min_dist": min_dist,
              "seed": seed}
    pairs = list(sources.items())  # the order of the sources matters (sampling, rows): a list keeps it in the key
    if cache:
        return _cache.call(_joint_umap, (pairs,), params, versions=_cache.package_versions(*UMAP_LIBRARIES))
    return _joint_umap(pairs, **params)


def _joint_umap(pairs: list[tuple[str, np.ndarray]], fit_size: int, pca_dims: int, n_neighbors: int,
                min_dist: float, seed: int) -> pd.DataFrame:
    import umap
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    parts, fit_mask = [], []
    for name, X in pairs:
        X = np.asarray(X, dtype=np.float32)
        fit = np.zeros(len(X), dtype=bool)
        fit[rng.choice(len(X), min(fit_size, len(X)), replace=False)] = True
        parts.append((name, X))
        fit_mask.append(fit)
    all_x = np.vstack([x for _, x in parts])
    fit = np.concatenate(fit_mask)
    pca = PCA(n_components=min(pca_dims, all_x.shape[1]), random_state=seed).fit(all_x[fit])
    reducer = umap.UMAP(n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed, metric="euclidean")
    xy = np.empty((len(all_x), 2), dtype=np.float32)
    xy[fit] = reducer.fit_transform(pca.transform(all_x[fit]))
    if (~fit).any():
        xy[~fit] = reducer.transform(pca.transform(all_x[~fit]))
    return pd.DataFrame({
        "source": np.concatenate([[name] * len(x) for name, x in parts]),
        "row": np.concatenate([np.arange(len(x)) for _, x in parts]),
        "x": xy[:, 0], "y": xy[:, 1], "in_fit": fit,
    })
