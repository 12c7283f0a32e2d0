"""How the shares of the ten clusters move over time (claims C4, C5).

The trend test
--------------
The paper says clusters 1, 3, 4 "experienced a steady decline" and 8, 9 "a consistent
increase", without a test. A logistic regression of "image is in cluster k" on time, one
row per image, answers the question but treats 800,000 images as independent draws, so
any month-to-month wobble comes out "significant" (images of one tweet share a prompt,
and fashions come in bursts). We therefore fit the same logistic model to the monthly
counts (a binomial GLM: images in cluster k out of all images in the month, on the
month's mean time in years since 2021-01-01) and let the variance be inflated by the
Pearson dispersion of the monthly points (quasi-binomial; McCullagh & Nelder 1989,
section 4.5), with t-based p-values on months - 2 degrees of freedom. The slope is the
image-level logistic regression's slope on month-level time, in log-odds per year; its
uncertainty reflects how steadily the share moves from month to month.

Two other trend models are offered for the robustness grid (``make robustness``), through
``theme_trends(model=...)``: ``"logit-clustered"``, the image-level logistic regression with
standard errors clustered by tweet (images of one tweet share a prompt; months' bursts are
not absorbed), and ``"mann-kendall"``, Kendall's tau between the monthly share and time (a
rank test, no model of the share) with the Theil-Sen slope of the monthly empirical logit as
its slope in log-odds per year (Sen 1968).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from twigma.analysis.overview import month_of

ORIGIN = pd.Timestamp("2021-01-01", tz="UTC")
SECONDS_PER_YEAR = 365.25 * 86_400


def years_since_origin(created_at: pd.Series) -> pd.Series:
    """Time in years since 2021-01-01 UTC."""
    return (created_at - ORIGIN).dt.total_seconds() / SECONDS_PER_YEAR


def monthly_cluster_counts(df: pd.DataFrame, cluster_col: str = "label_10_cluster") -> pd.DataFrame:
    """Images per month and cluster, with the month's mean time.

    Returns
    -------
    DataFrame indexed by ``month`` with one column per cluster (image counts), plus ``n_images``
    and ``t_years`` (mean time of the month's images, years since 2021-01-01).
    """
    month = month_of(df["created_at"])
    counts = pd.crosstab(month, df[cluster_col]).rename_axis(index="month", columns=None)
    counts["n_images"] = counts.sum(axis=1)
    counts["t_years"] = years_since_origin(df["created_at"]).groupby(month).mean()
    return counts


def monthly_shares(df: pd.DataFrame, cluster_col: str = "label_10_cluster") -> pd.DataFrame:
    """Share of each cluster among the month's images: long table ``month``, ``cluster``,
    ``n_images`` (in the cluster), ``n_month`` (all images in the month), ``share``."""
    counts = monthly_cluster_counts(df, cluster_col)
    clusters = [c for c in counts.columns if c not in ("n_images", "t_years")]
    long = counts[clusters].stack().rename("n_images").reset_index()
    long.columns = ["month", "cluster", "n_images"]
    long["n_month"] = long["month"].map(counts["n_images"])
    long["share"] = long["n_images"] / long["n_month"]
    return long


def _direction(slope: float, p: float, alpha: float) -> str:
    if not np.isfinite(p) or p >= alpha:
        return "flat"
    return "up" if slope > 0 else "down"


def trend_test(successes: np.ndarray, trials: np.ndarray, t_years: np.ndarray) -> dict:
    """Quasi-binomial logistic trend of successes/trials on time (see module docstring).

    Returns slope (log-odds per year), std_err, p_value, ci_low, ci_high (95%), dispersion.
    """
    X = sm.add_constant(np.asarray(t_years, dtype=float))
    trials = np.asarray(trials, dtype=float)
    # Proportions with the trials as variance weights: the same fit as a two-column
    # (successes, failures) endog, but statsmodels' Pearson scale is only right this way.
    res = sm.GLM(np.asarray(successes, dtype=float) / trials, X, family=sm.families.Binomial(),
                 var_weights=trials).fit(scale="X2", use_t=True)
    lo, hi = res.conf_int(alpha=0.05)[1]
    return {"slope": float(res.params[1]), "std_err": float(res.bse[1]), "p_value": float(res.pvalues[1]),
            "ci_low": float(lo), "ci_high": float(hi), "dispersion": float(res.scale)}


def trend_test_logit_clustered(in_cluster: np.ndarray, t_years: np.ndarray, groups: np.ndarray) -> dict:
    """Image-level logistic regression of ``in_cluster`` (0/1 per image) on time in years, with
    standard errors clustered by ``groups`` (the tweet). Same keys as :func:`trend_test`
    (``dispersion`` is NaN: no scale is estimated)."""
    X = sm.add_constant(np.asarray(t_years, dtype=float))
    codes = pd.factorize(pd.Series(groups))[0]
    res = sm.GLM(np.asarray(in_cluster, dtype=float), X, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": codes})
    lo, hi = res.conf_int(alpha=0.05)[1]
    return {"slope": float(res.params[1]), "std_err": float(res.bse[1]), "p_value": float(res.pvalues[1]),
            "ci_low": float(lo), "ci_high": float(hi), "dispersion": float("nan")}


def trend_test_mann_kendall(successes: np.ndarray, trials: np.ndarray, t_years: np.ndarray) -> dict:
    """Mann-Kendall test of the monthly share (Kendall's tau of share and time, its p-value) and
    the Theil-Sen slope of the empirical logit log((y + 1/2) / (n - y + 1/2)) on time, in log-odds
    per year, with its 95% interval. Same keys as :func:`trend_test`, plus ``kendall_tau``."""
    from scipy import stats

    y, n, t = (np.asarray(a, dtype=float) for a in (successes, trials, t_years))
    tau, p = stats.kendalltau(t, y / n)
    logit = np.log((y + 0.5) / (n - y + 0.5))
    sen = stats.theilslopes(logit, t, alpha=0.95)
    return {"slope": float(sen.slope), "std_err": float("nan"), "p_value": float(p),
            "ci_low": float(sen.low_slope), "ci_high": float(sen.high_slope), "dispersion": float("nan"),
            "kendall_tau": float(tau)}


#: The trend models of :func:`theme_trends`; the first is the notebooks' choice.
TREND_MODELS = ("quasi-binomial", "logit-clustered", "mann-kendall")


def theme_trends(df: pd.DataFrame, alpha: float = 0.01, min_images_per_month: int = 1,
                 cluster_col: str = "label_10_cluster", model: str = "quasi-binomial") -> pd.DataFrame:
    """Trend of each cluster's share over time.

    Parameters
    ----------
    alpha : float
        Significance level: ``direction`` is ``flat`` when p >= alpha.
    min_images_per_month : int
        Months with fewer images in all are left out (very early months are tiny).
    model : {"quasi-binomial", "logit-clustered", "mann-kendall"}
        The trend test (module docstring): :func:`trend_test` (the notebooks' choice),
        :func:`trend_test_logit_clustered` or :func:`trend_test_mann_kendall`.

    Returns
    -------
    DataFrame with columns ``cluster``, ``slope`` (change in log-odds per year), ``p_value``,
    ``direction`` (up, down, flat), ``std_err``, ``ci_low``, ``ci_high``, ``dispersion``,
    ``odds_ratio_per_year``, ``n_images``, ``n_months``, ``share_first_year``, ``share_last_year``.
    """
    if model not in TREND_MODELS:
        raise ValueError(f"model must be one of {', '.join(TREND_MODELS)}, not {model!r}")
    counts = monthly_cluster_counts(df, cluster_col)
    counts = counts[counts["n_images"] >= min_images_per_month]
    clusters = sorted(c for c in counts.columns if c not in ("n_images", "t_years"))
    t = counts["t_years"].to_numpy()
    n = counts["n_images"].to_numpy()
    first, last = t <= t.min() + 1, t >= t.max() - 1
    if model == "logit-clustered":  # the images of the months kept
        kept = month_of(df["created_at"]).isin(counts.index).to_numpy()
        img_cluster = df[cluster_col].to_numpy()[kept]
        img_t = years_since_origin(df["created_at"]).to_numpy()[kept]
        img_tweet = df["id"].to_numpy()[kept]
    rows = []
    for k in clusters:
        y = counts[k].to_numpy()
        if model == "quasi-binomial":
            res = trend_test(y, n, t)
        elif model == "logit-clustered":
            res = trend_test_logit_clustered(img_cluster == k, img_t, img_tweet)
        else:
            res = trend_test_mann_kendall(y, n, t)
        rows.append({"cluster": k, "slope": res["slope"], "p_value": res["p_value"],
                     "direction": _direction(res["slope"], res["p_value"], alpha),
                     "std_err": res["std_err"], "ci_low": res["ci_low"], "ci_high": res["ci_high"],
                     "dispersion": res["dispersion"], "odds_ratio_per_year": float(np.exp(res["slope"])),
                     "n_images": int(y.sum()), "n_months": int(len(y)),
                     "share_first_year": float(y[first].sum() / n[first].sum()),
                     "share_last_year": float(y[last].sum() / n[last].sum())})
    return pd.DataFrame(rows)


def fitted_shares(trends: pd.DataFrame, counts: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Shares implied by each cluster's fitted trend at each month (for plotting): needs
    intercepts, so the models are refit here, quasi-binomially as in :func:`trend_test`.

    Returns
    -------
    Long table ``month``, ``cluster``, ``fitted``, ``ci_low``, ``ci_high``: the fitted share and
    its pointwise ``level`` confidence band (Pearson-scaled, on the logit scale and mapped back).
    """
    t = counts["t_years"].to_numpy()
    X = sm.add_constant(t)
    rows = []
    for k in trends["cluster"]:
        n = counts["n_images"].to_numpy(dtype=float)
        res = sm.GLM(counts[k].to_numpy(dtype=float) / n, X, family=sm.families.Binomial(),
                     var_weights=n).fit(scale="X2", use_t=True)
        band = res.get_prediction(X).summary_frame(alpha=1 - level)
        rows.append(pd.DataFrame({"month": counts.index, "cluster": k, "fitted": res.predict(X),
                                  "ci_low": band["mean_ci_lower"].to_numpy(),
                                  "ci_high": band["mean_ci_upper"].to_numpy()}))
    return pd.concat(rows, ignore_index=True)
