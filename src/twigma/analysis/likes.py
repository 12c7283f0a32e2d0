"""Is similarity to natural photographs related to likes? (claim C9)

For every TWIGMA image: its maximum and mean top-10 cosine similarity to the natural set
(:func:`twigma.embeddings.neighbors.topk_cosine`, exact). Then the Spearman correlation with likes, and
an OLS regression of log(1 + likes) on the standardised similarity with month and cluster
fixed effects and Twitter's sensitive flag, with heteroskedasticity-robust (HC1) standard
errors. Likes belong to tweets and a tweet can carry up to four images, so the same model is
also reported with standard errors clustered by tweet (``*_cluster`` columns); the claim is
judged on both. Images with missing likes (deleted tweets) are left out.

For the figure, :func:`residualise` partials the controls out of likes and similarity
(Frisch-Waugh-Lovell), and :func:`binned_means` averages within bins that keep each tweet's
images together, with tweet-clustered intervals: a binned scatter whose fitted slope is the
printed estimate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from twigma.embeddings.neighbors import cached_topk_cosine, topk_cosine
from twigma.analysis.overview import month_of


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


CONTROLS = ("month", "cluster", "sensitive")


def residualise(frame: pd.DataFrame) -> pd.DataFrame:
    """Frisch-Waugh-Lovell: ``log1p_likes`` and ``sim_z`` with the model's controls partialled out.

    Both are regressed (OLS) on the controls of :func:`likes_regression` (month and cluster
    fixed effects, the sensitive flag and, when present, its missing indicator); their residuals
    are ``likes_resid`` and ``sim_resid``. By the Frisch-Waugh-Lovell theorem the OLS slope of
    ``likes_resid`` on ``sim_resid`` equals the model's ``sim_z`` coefficient exactly, so a binned
    scatter of the two shows the adjusted estimate itself (Frisch & Waugh 1933; Lovell 1963).

    Returns ``frame`` with the two columns added (a copy).
    """
    parts = [pd.get_dummies(frame[c].astype(str), prefix=c, drop_first=True, dtype=float) for c in ("month", "cluster")]
    D = pd.concat([pd.Series(1.0, index=frame.index, name="const"), *parts, frame["sensitive"].astype(float)], axis=1)
    if frame["sensitive_missing"].any():
        D["sensitive_missing"] = frame["sensitive_missing"].astype(float)
    Y = frame[["log1p_likes", "sim_z"]].to_numpy(dtype=float)
    coef, *_ = np.linalg.lstsq(D.to_numpy(), Y, rcond=None)
    resid = Y - D.to_numpy() @ coef
    return frame.assign(likes_resid=resid[:, 0], sim_resid=resid[:, 1])


def tweet_bins(values, tweets, bins: int) -> np.ndarray:
    """Bin number (0 .. bins - 1) of each image: quantile bins of its tweet's mean ``values``, so
    that all images of a tweet fall in one bin and bins hold about equal numbers of tweets
    (fewer bins when ties leave edges equal)."""
    values = pd.Series(np.asarray(values, dtype=float))
    codes = pd.factorize(np.asarray(tweets))[0]
    per_tweet = values.groupby(codes).mean()
    bin_of_tweet = pd.qcut(per_tweet.rank(method="first"), q=min(bins, len(per_tweet)), labels=False)
    return bin_of_tweet.to_numpy()[codes]


def binned_means(frame: pd.DataFrame, bins: int = 20, x: str = "sim", y: str = "log1p_likes") -> pd.DataFrame:
    """Mean of ``y`` within bins of ``x`` that respect tweets (:func:`tweet_bins`), with 95%
    intervals whose errors are clustered by tweet.

    Likes belong to tweets: the images of one tweet share their likes, so they go in one bin and
    count as one cluster in the bin mean's standard error (CR1, as statsmodels' ``cluster``
    covariance of an intercept-only OLS: ``G / (G - 1) * sum_g (sum_i e_gi)^2 / n^2``; Cameron &
    Miller 2015).

    Returns
    -------
    DataFrame with ``bin``, ``n`` (images), ``n_tweets``, ``x_mean``, ``y_mean``, ``se``, ``ci_low``,
    ``ci_high``, one row per bin in increasing ``x``.
    """
    b = tweet_bins(frame[x], frame["tweet"], bins)
    rows = []
    for k in np.unique(b):
        part = frame[b == k]
        e = part[y].to_numpy(dtype=float) - part[y].mean()
        g = pd.Series(e).groupby(pd.factorize(part["tweet"].to_numpy())[0]).sum().to_numpy()
        n, G = len(part), len(g)
        se = float(np.sqrt(G / (G - 1) * (g @ g)) / n) if G > 1 else float("nan")
        rows.append({"bin": int(k), "n": n, "n_tweets": G, "x_mean": float(part[x].mean()),
                     "y_mean": float(part[y].mean()), "se": se})
    out = pd.DataFrame(rows)
    out["ci_low"] = out["y_mean"] - 1.96 * out["se"]
    out["ci_high"] = out["y_mean"] + 1.96 * out["se"]
    return out
