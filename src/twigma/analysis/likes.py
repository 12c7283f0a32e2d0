"""Is similarity to natural photographs related to likes? (claim C9)

For every TWIGMA image: its maximum and mean top-10 cosine similarity to the natural set
(:func:`twigma.neighbors.topk_cosine`, exact). Then the Spearman correlation with likes, and
an OLS regression of log(1 + likes) on the standardised similarity with month and cluster
fixed effects and Twitter's sensitive flag, with heteroskedasticity-robust (HC1) standard
errors. Likes belong to tweets and a tweet can carry up to four images, so the same model is
also reported with standard errors clustered by tweet (``*_cluster`` columns); the claim is
judged on both. Images with missing likes (deleted tweets) are left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from ..neighbors import cached_topk_cosine, topk_cosine
from .overview import month_of


def similarity_to_reference(X: np.ndarray, R: np.ndarray, k: int = 10, cache: bool = True, **kw) -> pd.DataFrame:
    """``max_sim`` and ``mean_top{k}_sim`` of each row of X against the rows of R.

    With ``cache``, the search is kept in :mod:`twigma.cache` (keyed by the rows of X and R,
    ``k`` and ``kw``): a rerun on the same store reads it back instead of searching again.
    """
    nb = (cached_topk_cosine if cache else topk_cosine)(X, R, k=k, **kw)
    out = pd.DataFrame({"max_sim": nb.scores[:, 0], f"mean_top{k}_sim": nb.scores.mean(axis=1)})
    out.attrs["backend"] = nb.backend
    return out


def model_frame(release: pd.DataFrame, similarity: pd.Series) -> pd.DataFrame:
    """One row per image with known likes: ``log1p_likes``, ``likes``, ``sim``, ``sim_z``
    (standardised over these rows), ``month``, ``cluster``, ``sensitive`` (0/1; missing as 0
    with an indicator ``sensitive_missing``)."""
    likes = release["like_count"].to_numpy(dtype=float, na_value=np.nan)
    flag = release["possibly_sensitive"]
    frame = pd.DataFrame({
        "tweet": release["id"].to_numpy(),
        "likes": likes,
        "log1p_likes": np.log1p(likes),
        "sim": np.asarray(similarity, dtype=float),
        "month": month_of(release["created_at"]).to_numpy(),
        "cluster": release["label_10_cluster"].astype(int).to_numpy(),
        "sensitive": flag.fillna(False).astype(bool).astype(int).to_numpy(),
        "sensitive_missing": flag.isna().astype(int).to_numpy(),
    })
    frame = frame[np.isfinite(frame["likes"])].reset_index(drop=True)
    frame["sim_z"] = (frame["sim"] - frame["sim"].mean()) / frame["sim"].std(ddof=0)
    return frame


def likes_regression(frame: pd.DataFrame, term: str = "similarity_to_natural") -> dict:
    """OLS of log1p_likes on sim_z + month and cluster fixed effects + sensitive flag, HC1 errors
    (and errors clustered by tweet); plus Spearman's rho of likes and similarity.

    Returns a dict: ``term``, ``estimate`` (change in log(1 + likes) per standard deviation of
    similarity), ``ci_low``, ``ci_high`` (95%), ``p_value``, ``std_err``, ``spearman_rho``,
    ``spearman_p``, ``n``.
    """
    rhs = "sim_z + C(month) + C(cluster) + sensitive"
    if frame["sensitive_missing"].any():
        rhs += " + sensitive_missing"
    model = smf.ols(f"log1p_likes ~ {rhs}", data=frame)
    fit = model.fit(cov_type="HC1")
    lo, hi = fit.conf_int().loc["sim_z"]
    groups = pd.factorize(frame["tweet"])[0]
    fit_c = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    clo, chi = fit_c.conf_int().loc["sim_z"]
    rho, p_rho = stats.spearmanr(frame["likes"], frame["sim"])
    return {"term": term, "estimate": float(fit.params["sim_z"]), "ci_low": float(lo), "ci_high": float(hi),
            "p_value": float(fit.pvalues["sim_z"]), "spearman_rho": float(rho), "spearman_p": float(p_rho),
            "n": int(fit.nobs), "std_err": float(fit.bse["sim_z"]), "std_err_cluster": float(fit_c.bse["sim_z"]),
            "ci_low_cluster": float(clo), "ci_high_cluster": float(chi), "p_value_cluster": float(fit_c.pvalues["sim_z"]),
            "n_tweets": int(groups.max() + 1)}


def binned_means(frame: pd.DataFrame, bins: int = 20) -> pd.DataFrame:
    """Mean log(1 + likes) within quantile bins of similarity, with a 95% normal interval."""
    b = pd.qcut(frame["sim"], q=bins, duplicates="drop")
    g = frame.groupby(b, observed=True)
    out = pd.DataFrame({"sim_mid": g["sim"].mean(), "mean_log1p_likes": g["log1p_likes"].mean(),
                        "se": g["log1p_likes"].sem(), "n": g.size()}).reset_index(drop=True)
    out["ci_low"] = out["mean_log1p_likes"] - 1.96 * out["se"]
    out["ci_high"] = out["mean_log1p_likes"] + 1.96 * out["se"]
    return out
