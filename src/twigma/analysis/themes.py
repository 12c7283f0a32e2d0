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
section 4.5), with t-based p-values on months - 2 degrees of freedom. The scale is floored
at 1: a Pearson dispersion below 1 (months closer to the fit than binomial sampling allows)
is more likely chance in ~25 months than under-dispersion of images that share prompts, and
an unfloored scale would give standard errors below the binomial ones. The slope is the
image-level logistic regression's slope on month-level time, in log-odds per year; its
uncertainty reflects how steadily the share moves from month to month.

The quasi-binomial scale absorbs extra variance, not serial correlation: months that sit
above the trend in runs make even the scaled p-value optimistic. :func:`trend_test` therefore
also reports the lag-1 autocorrelation of the monthly Pearson residuals and the Ljung-Box
test of their first :data:`LJUNG_BOX_LAGS` autocorrelations (Ljung & Box 1978; statsmodels'
``acorr_ljungbox``); a small Ljung-Box p-value says the trend's p-value should not be taken at
face value.

Two other trend models are offered for the robustness grid (``make robustness``), through
``theme_trends(model=...)``: ``"logit-clustered"``, the image-level logistic regression with
standard errors clustered by tweet (images of one tweet share a prompt; months' bursts are
not absorbed), and ``"mann-kendall"``, Kendall's tau between the monthly share and time (a
rank test, no model of the share) with the Theil-Sen slope of the monthly empirical logit as
its slope in log-odds per year (Sen 1968).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from twigma.analysis import inference
from twigma.analysis.months import Months, years_since_origin
from twigma.analysis.overview import early_late_months, month_of, tweet_codes


def monthly_cluster_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Images per month and cluster, with the month's mean time.

    Returns
    -------
    DataFrame indexed by ``month`` with one column per cluster (image counts), plus ``n_images``
    and ``t_years`` (mean time of the month's images, years since 2021-01-01).
    """
    month = month_of(df["created_at"])
    counts = pd.crosstab(month, df["label_10_cluster"]).rename_axis(index="month", columns=None)
    counts["n_images"] = counts.sum(axis=1)
    counts["t_years"] = years_since_origin(df["created_at"]).groupby(month).mean()
    return counts


def monthly_shares(df: pd.DataFrame) -> pd.DataFrame:
    """Share of each cluster among the month's images: long table ``month``, ``cluster``,
    ``n_images`` (in the cluster), ``n_month`` (all images in the month), ``share``."""
    counts = monthly_cluster_counts(df)
    clusters = [c for c in counts.columns if c not in ("n_images", "t_years")]
    long = counts[clusters].stack().rename("n_images").reset_index()  # type: ignore[call-overload]  # pandas-stubs: stack may give a frame
    long.columns = ["month", "cluster", "n_images"]
    long["n_month"] = long["month"].map(counts["n_images"])
    long["share"] = long["n_images"] / long["n_month"]
    return long


#: Autocorrelations of the monthly Pearson residuals tested by Ljung-Box (at most a quarter of the months).
LJUNG_BOX_LAGS = 6


def direction(slope: float, p: float, alpha: float) -> str:
    """The trend's direction as the tables record it: ``up``, ``down``, or ``flat`` when the slope is not
    significant at ``alpha`` (a table code read by track and robustness; the text says "not significant")."""
    if not np.isfinite(p) or p >= alpha:
        return "flat"
    return "up" if slope > 0 else "down"


def _quasi_binomial_fit(successes, trials, t_years):
    """The binomial GLM of successes/trials on time, its Pearson dispersion, and the fit with
    the scale floored at 1 (see module docstring)."""
    X = sm.add_constant(np.asarray(t_years, dtype=float))
    trials = np.asarray(trials, dtype=float)
    # Proportions with the trials as variance weights: the same fit as a two-column
    # (successes, failures) endog, but statsmodels' Pearson scale is only right this way.
    model = sm.GLM(np.asarray(successes, dtype=float) / trials, X, family=sm.families.Binomial(),
                   var_weights=trials)
    res = model.fit(scale="X2", use_t=True)
    dispersion = float(res.scale)
    if dispersion < 1:
        res = model.fit(scale=1.0, use_t=True)
    return res, dispersion


def residual_autocorrelation(resid: np.ndarray, lags: int = LJUNG_BOX_LAGS) -> dict:
    """Serial correlation of residuals in time order: ``resid_acf1`` (lag-1 autocorrelation) and
    the Ljung-Box test of the first ``min(lags, n // 4)`` autocorrelations (``ljung_box_lags``,
    ``ljung_box_stat``, ``ljung_box_p``; statsmodels' ``acorr_ljungbox``). NaN with fewer than 8 points."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    r = np.asarray(resid, dtype=float)
    k = min(lags, len(r) // 4)
    if len(r) < 8 or k < 1 or np.allclose(r, r[0]):
        return {"resid_acf1": float("nan"), "ljung_box_lags": 0, "ljung_box_stat": float("nan"),
                "ljung_box_p": float("nan")}
    lb = acorr_ljungbox(r, lags=[k], return_df=True)
    return {"resid_acf1": float(acf(r, nlags=1)[1]), "ljung_box_lags": int(k),
            "ljung_box_stat": float(lb["lb_stat"].iloc[0]), "ljung_box_p": float(lb["lb_pvalue"].iloc[0])}


def trend_test(successes: np.ndarray, trials: np.ndarray, t_years: np.ndarray,
               alpha: float = inference.DEFAULT_ALPHA) -> dict:
    """Quasi-binomial logistic trend of successes/trials on time (see module docstring); the
    points must be in time order for the residual check.

    Returns slope (log-odds per year), std_err, p_value, ci_low, ci_high (the ``1 - alpha``
    t-interval of the slope, so it excludes 0 exactly when p < alpha), ci_level, df (the t's degrees
    of freedom, months - 2), dispersion (the Pearson estimate), scale (the one used: the dispersion
    floored at 1) and the residual autocorrelation check of :func:`residual_autocorrelation` (on the
    Pearson residuals).
    """
    res, dispersion = _quasi_binomial_fit(successes, trials, t_years)
    lo, hi = res.conf_int(alpha=inference.check_alpha(alpha))[1]
    return {"slope": float(res.params[1]), "std_err": float(res.bse[1]), "p_value": float(res.pvalues[1]),
            "ci_low": float(lo), "ci_high": float(hi), "ci_level": inference.level(alpha),
            "df": float(res.df_resid), "dispersion": dispersion, "scale": float(res.scale),
            **residual_autocorrelation(res.resid_pearson)}


def trend_test_logit_clustered(in_cluster: np.ndarray, t_years: np.ndarray, groups: np.ndarray,
                               design: dict | None = None, alpha: float = inference.DEFAULT_ALPHA) -> dict:
    """Image-level logistic regression of ``in_cluster`` (0/1 per image) on time in years, with
    standard errors clustered by ``groups`` (the tweet). Same keys as :func:`trend_test`
    (``dispersion`` is NaN: no scale is estimated).

    The fit is statsmodels' ``GLM(Binomial).fit(cov_type="cluster")`` computed in bounded memory, so
    that it runs on millions of images, where statsmodels' own fit runs out of memory (docs/scaling.md):
    images of one tweet with the same time are pooled into one binomial row (k of m, the same
    likelihood, score and Hessian), Newton's method on the two parameters, and the sandwich over
    the tweets' summed scores with statsmodels' small-sample factor G/(G-1) (N-1)/(N-2), N the
    images; normal p-value and ``1 - alpha`` interval. Equal to statsmodels to 1e-8 (tests/analysis/test_themes.py).
    ``design``: :func:`logit_design` of ``t_years`` and ``groups``, made once for several outcomes.
    """
    d = logit_design(t_years, groups) if design is None else design
    pair, m, tt, gg, n_groups = d["pair"], d["m"], d["t"], d["group"], d["n_groups"]
    k = np.bincount(pair, weights=np.asarray(in_cluster, dtype=float), minlength=len(m))
    beta = np.zeros(2)
    for _ in range(100):
        mu = 1.0 / (1.0 + np.exp(-(beta[0] + beta[1] * tt)))
        H = _hessian(m * mu * (1 - mu), tt)
        r = k - m * mu
        step = np.linalg.solve(H, np.array([r.sum(), (r * tt).sum()]))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(beta))):
            break
    mu = 1.0 / (1.0 + np.exp(-(beta[0] + beta[1] * tt)))
    H = _hessian(m * mu * (1 - mu), tt)
    resid = k - m * mu
    S = np.column_stack([np.bincount(gg, weights=resid, minlength=n_groups),
                         np.bincount(gg, weights=resid * tt, minlength=n_groups)])
    Hinv = np.linalg.inv(H)
    n_images = d["n_images"]
    cov = Hinv @ (S.T @ S) @ Hinv * (n_groups / (n_groups - 1.0) * (n_images - 1.0) / (n_images - 2.0))
    se = float(np.sqrt(cov[1, 1]))
    from scipy import stats

    slope, z = float(beta[1]), stats.norm.ppf(1 - inference.check_alpha(alpha) / 2)
    return {"slope": slope, "std_err": se, "p_value": float(2 * stats.norm.sf(abs(slope / se))),
            "ci_low": slope - z * se, "ci_high": slope + z * se, "ci_level": inference.level(alpha),
            "dispersion": float("nan")}


def logit_design(t_years: np.ndarray, groups: np.ndarray) -> dict:
    """The pooled rows of :func:`trend_test_logit_clustered` for images at times ``t_years`` in tweets
    ``groups``: ``pair`` (each image's row), ``m`` (images per row), ``t`` and ``group`` (code) of
    each row, ``n_groups``, ``n_images``. The same for every cluster, so made once per table."""
    t = np.asarray(t_years, dtype=float)
    codes = pd.factorize(pd.Series(groups))[0]
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    t_of = np.zeros(n_groups)
    t_of[codes] = t
    if (t_of[codes] == t).all():  # one time per tweet (a tweet's images share created_at): a row per tweet
        pair = codes
    else:  # one binomial row per tweet and time
        pair = pd.factorize(pd.MultiIndex.from_arrays([codes, t]))[0]
    m = np.bincount(pair).astype(float)
    idx = np.zeros(len(m), dtype=np.int64)
    idx[pair] = np.arange(len(pair))
    return {"pair": pair, "m": m, "t": t[idx], "group": codes[idx], "n_groups": n_groups, "n_images": len(t)}


def _hessian(w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """X'WX for X = [1, t]."""
    wt = w * t
    a, b, c = w.sum(), wt.sum(), (wt * t).sum()
    return np.array([[a, b], [b, c]])


def trend_test_mann_kendall(successes: np.ndarray, trials: np.ndarray, t_years: np.ndarray,
                            alpha: float = inference.DEFAULT_ALPHA) -> dict:
    """Mann-Kendall test of the monthly share (Kendall's tau of share and time, its p-value) and
    the Theil-Sen slope of the empirical logit log((y + 1/2) / (n - y + 1/2)) on time, in log-odds
    per year, with its ``1 - alpha`` interval (Sen's; it need not agree with the Kendall p-value,
    which tests the share, not the slope). Same keys as :func:`trend_test`, plus ``kendall_tau``."""
    from scipy import stats

    y, n, t = (np.asarray(a, dtype=float) for a in (successes, trials, t_years))
    tau, p = stats.kendalltau(t, y / n)
    logit = np.log((y + 0.5) / (n - y + 0.5))
    sen = stats.theilslopes(logit, t, alpha=inference.level(alpha))
    return {"slope": float(sen.slope), "std_err": float("nan"), "p_value": float(p),
            "ci_low": float(sen.low_slope), "ci_high": float(sen.high_slope), "ci_level": inference.level(alpha),
            "dispersion": float("nan"),
            "kendall_tau": float(tau)}


#: The trend models of :func:`theme_trends`; the first is the notebooks' choice.
TREND_MODELS = ("quasi-binomial", "logit-clustered", "mann-kendall")
#: Months with fewer images are left out of the trend fits (notebook 03's ``MIN_IMAGES_PER_MONTH``):
#: the default of every trend over months (:func:`theme_trends`, the tracker, the subjects, C11).
MIN_IMAGES_PER_MONTH = 20


def theme_trends(df: pd.DataFrame | None, alpha: float = 0.01, min_images_per_month: int = MIN_IMAGES_PER_MONTH,
                 model: str = "quasi-binomial", counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Trend of each cluster's share over time.

    Parameters
    ----------
    alpha : float
        Significance level: ``direction`` is ``flat`` when p >= alpha, and ``ci_low``/``ci_high`` are
        ``1 - alpha`` intervals (``ci_level``), so an interval excludes 0 exactly when the direction
        is not flat (for the quasi-binomial and logit models: their Wald intervals and tests).
    min_images_per_month : int
        Months with fewer images in all are left out (very early months are tiny);
        :data:`MIN_IMAGES_PER_MONTH` by default.
    model : {"quasi-binomial", "logit-clustered", "mann-kendall"}
        The trend test (module docstring): :func:`trend_test` (the notebooks' choice),
        :func:`trend_test_logit_clustered` or :func:`trend_test_mann_kendall`.
    counts : DataFrame, optional
        ``monthly_cluster_counts(df)`` when already made (the robustness grid shares it
        across specifications); then ``df`` is read only by the ``logit-clustered`` model and may be
        None for the others. The result is the same.

    Returns
    -------
    DataFrame with columns ``cluster``, ``slope`` (change in log-odds per year), ``p_value``,
    ``direction`` (up, down, flat), ``std_err``, ``ci_low``, ``ci_high``, ``ci_level``, ``dispersion``,
    ``odds_ratio_per_year``, ``n_images``, ``n_months``, ``share_first_year``, ``share_last_year``
    (the cluster's share pooled over the images of the first and of the last 12 months kept:
    :func:`twigma.analysis.overview.early_late_months`), then ``scale`` (the dispersion floored at
    1, the one used), ``resid_acf1``, ``ljung_box_lags`` and ``ljung_box_p`` (the residual check of
    :func:`trend_test`; NaN for the other models). ``direction`` ``flat`` means "not significant at
    ``alpha``", not a shown absence of trend.
    """
    if model not in TREND_MODELS:
        raise ValueError(f"model must be one of {', '.join(TREND_MODELS)}, not {model!r}")
    if counts is None:
        assert df is not None, "theme_trends reads df when no counts are given"
        counts = monthly_cluster_counts(df)
    counts = counts[counts["n_images"] >= min_images_per_month]
    clusters = sorted(c for c in counts.columns if c not in ("n_images", "t_years"))
    t = counts["t_years"].to_numpy()
    n = counts["n_images"].to_numpy()
    early, late = early_late_months(counts.index.tolist())
    first, last = counts.index.isin(early), counts.index.isin(late)
    if model == "logit-clustered":  # the images of the months kept
        assert df is not None, "the logit-clustered model reads df"
        if df["created_at"].isna().any():
            kept = month_of(df["created_at"]).isin(counts.index).to_numpy()
        else:  # the months by code, not a text per image
            months = Months.of(df["created_at"])
            kept = pd.Index(months.labels).isin(counts.index)[months.code]
        img_cluster = df["label_10_cluster"].to_numpy()[kept]
        img_t = years_since_origin(df["created_at"]).to_numpy()[kept]
        tweet = tweet_codes(df["id"])  # codes from the strings as stored, no objects
        design = logit_design(img_t, tweet[kept])  # the pooled rows: made once, not per cluster
    rows = []
    for k in clusters:
        y = counts[k].to_numpy()
        if model == "quasi-binomial":
            res = trend_test(y, n, t, alpha=alpha)
        elif model == "logit-clustered":
            res = trend_test_logit_clustered(img_cluster == k, img_t, None, design=design, alpha=alpha)  # type: ignore[arg-type]  # design given: groups unread
        else:
            res = trend_test_mann_kendall(y, n, t, alpha=alpha)
        rows.append({"cluster": k, "slope": res["slope"], "p_value": res["p_value"],
                     "direction": direction(res["slope"], res["p_value"], alpha),
                     "std_err": res["std_err"], "ci_low": res["ci_low"], "ci_high": res["ci_high"],
                     "ci_level": res["ci_level"], "dispersion": res["dispersion"], "odds_ratio_per_year": float(np.exp(res["slope"])),
                     "n_images": int(y.sum()), "n_months": int(len(y)),
                     "share_first_year": float(y[first].sum() / n[first].sum()),
                     "share_last_year": float(y[last].sum() / n[last].sum()),
                     **{key: res.get(key, float("nan")) for key in
                        ("scale", "resid_acf1", "ljung_box_lags", "ljung_box_p")}})
    out = pd.DataFrame(rows)
    out.attrs["alpha"] = float(alpha)
    return out


def fitted_shares(trends: pd.DataFrame, counts: pd.DataFrame,
                  alpha: float = inference.DEFAULT_ALPHA) -> pd.DataFrame:
    """Shares implied by each cluster's fitted trend at each month (for plotting): needs
    intercepts, so the models are refit here, quasi-binomially as in :func:`trend_test`.

    Returns
    -------
    Long table ``month``, ``cluster``, ``fitted``, ``ci_low``, ``ci_high``: the fitted share and
    its pointwise ``1 - alpha`` confidence band (Pearson-scaled with the scale floored at 1, on the
    logit scale and mapped back).
    """
    t = counts["t_years"].to_numpy()
    X = sm.add_constant(t)
    rows = []
    for k in trends["cluster"]:
        res, _ = _quasi_binomial_fit(counts[k].to_numpy(), counts["n_images"].to_numpy(), t)
        band = res.get_prediction(X).summary_frame(alpha=inference.check_alpha(alpha))
        rows.append(pd.DataFrame({"month": counts.index, "cluster": k, "fitted": res.predict(X),
                                  "ci_low": band["mean_ci_lower"].to_numpy(),
                                  "ci_high": band["mean_ci_upper"].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------- what 03's text states ----

@dataclass(frozen=True)
class ShareChange:
    """A cluster's share pooled over the first and the last year of :func:`theme_trends`."""

    cluster: int
    share_first_year: float
    share_last_year: float


@dataclass(frozen=True)
class TrendSummary:
    """What notebook 03 says of :func:`theme_trends`, decided here.

    ``declining``/``rising``/``not_significant``: the clusters down, up, and not significant at
    ``alpha`` (each test at ``alpha``: C4 and C5 are conjunctions, intersection-union tests that
    need no adjustment, Berger 1982). ``n_declining_named``/``n_rising_named``: how many of the
    paper's ``named_declining``/``named_rising`` go that way. ``unnamed``: the clusters the paper
    did not name; ``unnamed_movers``: those whose trend Holm's method picks out at family-wise
    level ``alpha`` among the ``unnamed`` (the text picks them from that many tests);
    ``unnamed_unadjusted_only``: significant at ``alpha`` alone but not after Holm. The model's
    checks: ``dispersion_min``/``_max`` (Pearson), ``sd_factor_max`` (the largest standard-error
    inflation, sqrt of the largest scale used), ``n_floored`` (dispersions below 1, floored),
    ``autocorrelated`` (Ljung-Box p < ``alpha``), ``acf1_min``/``_max``. ``largest_gain`` and
    ``largest_loss``: the clusters whose pooled share changed most from the first to the last year.
    """

    alpha: float
    ci_level: float
    declining: tuple[int, ...]
    rising: tuple[int, ...]
    not_significant: tuple[int, ...]
    named_declining: tuple[int, ...]
    named_rising: tuple[int, ...]
    n_declining_named: int
    n_rising_named: int
    unnamed: tuple[int, ...]
    unnamed_movers: tuple[int, ...]
    unnamed_unadjusted_only: tuple[int, ...]
    dispersion_min: float
    dispersion_max: float
    sd_factor_max: float
    n_floored: int
    autocorrelated: tuple[int, ...]
    acf1_min: float
    acf1_max: float
    largest_gain: ShareChange
    largest_loss: ShareChange

    @property
    def level_text(self) -> str:
        """The intervals' level in words: ``"99%"``."""
        return inference.level_text(self.alpha)


def _ints(values) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _share_change(row: pd.Series) -> ShareChange:
    return ShareChange(int(row["cluster"]), float(row["share_first_year"]), float(row["share_last_year"]))


def trend_summary(trends: pd.DataFrame, declining: list[int], rising: list[int], alpha: float) -> TrendSummary:
    """:class:`TrendSummary` of :func:`theme_trends` (made at the same ``alpha``) against the paper's
    lists ``declining`` (C4) and ``rising`` (C5)."""
    inference.check_alpha(alpha)
    t = trends.set_index("cluster")
    named = set(declining) | set(rising)
    unnamed = t[~t.index.isin(list(named))]
    picked = inference.holm(unnamed["p_value"].to_numpy(), alpha)
    moving = unnamed["direction"] != "flat"
    change = (trends["share_last_year"] - trends["share_first_year"]).to_numpy()
    return TrendSummary(
        alpha=float(alpha), ci_level=inference.level(alpha),
        declining=_ints(t.index[t["direction"] == "down"]), rising=_ints(t.index[t["direction"] == "up"]),
        not_significant=_ints(t.index[t["direction"] == "flat"]),
        named_declining=_ints(declining), named_rising=_ints(rising),
        n_declining_named=int(sum(t.loc[k, "direction"] == "down" for k in declining if k in t.index)),  # type: ignore[arg-type]  # pandas-stubs: a cell is any scalar
        n_rising_named=int(sum(t.loc[k, "direction"] == "up" for k in rising if k in t.index)),  # type: ignore[arg-type]  # as above
        unnamed=_ints(unnamed.index), unnamed_movers=_ints(unnamed.index[picked]),
        unnamed_unadjusted_only=_ints(unnamed.index[moving.to_numpy() & ~picked]),
        dispersion_min=float(trends["dispersion"].min()), dispersion_max=float(trends["dispersion"].max()),
        sd_factor_max=float(np.sqrt(trends["scale"].max())), n_floored=int((trends["dispersion"] < 1).sum()),
        autocorrelated=_ints(trends.loc[trends["ljung_box_p"] < alpha, "cluster"]),
        acf1_min=float(trends["resid_acf1"].min()), acf1_max=float(trends["resid_acf1"].max()),
        largest_gain=_share_change(trends.iloc[int(np.argmax(change))]),
        largest_loss=_share_change(trends.iloc[int(np.argmin(change))]))


@dataclass(frozen=True)
class MonthSizes:
    """From :func:`monthly_cluster_counts`: the ``smallest`` and ``largest`` month (images),
    ``n_small`` (months under ``min_images``, left out of the trend fits) and ``first_k`` (images in
    the first ``k`` months together)."""

    smallest: int
    largest: int
    n_small: int
    min_images: int
    first_k: int
    k: int


def month_sizes(counts: pd.DataFrame, min_images: int, k: int = 3) -> MonthSizes:
    """:class:`MonthSizes` of :func:`monthly_cluster_counts`."""
    n = counts["n_images"].to_numpy()
    return MonthSizes(int(n.min()), int(n.max()), int((n < min_images).sum()), int(min_images), int(n[:k].sum()),
                      int(min(k, len(n))))


# ---------------------------------------------------------------- what 02's text states ----

def cluster_sizes(df: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """One row per cluster: ``cluster``, ``name`` (from ``names``), ``n_images`` and ``share`` of all images."""
    sizes = df["label_10_cluster"].value_counts().sort_index()
    return pd.DataFrame({"cluster": sizes.index, "name": names.reindex(sizes.index).to_numpy(),
                         "n_images": sizes.to_numpy(), "share": sizes.to_numpy() / len(df)})


@dataclass(frozen=True)
class SizeRange:
    """What notebook 02 says about the clusters' sizes (:func:`size_range`)."""

    largest: pd.Series  # the row of the largest cluster
    smallest: pd.Series
    ratio: float  # largest over smallest, in images


def size_range(sizes: pd.DataFrame) -> SizeRange:
    """From :func:`cluster_sizes`: the largest and smallest clusters (rows) and the ratio of their sizes."""
    big, small = sizes.loc[sizes["share"].idxmax()], sizes.loc[sizes["share"].idxmin()]  # type: ignore[call-overload]  # pandas-stubs: .loc takes no Hashable label
    return SizeRange(big, small, float(big["n_images"] / small["n_images"]))


@dataclass(frozen=True)
class MapCompactness:
    """What notebook 02 says about the map (:func:`map_compactness`)."""

    by_cluster: pd.Series  # share of each cluster's images nearest their own cluster's median
    overall: float  # the same share over all images
    most_mixed: int  # clusters
    most_compact: int
    centres: pd.DataFrame  # the medians, one row per cluster
    min_own_share: float  # the cut of ``separate``
    separate: bool  # every cluster has more than min_own_share of its images nearest its own median


def map_compactness(df: pd.DataFrame, min_own_share: float = 0.7) -> MapCompactness:
    """How separate the clusters are on the released UMAP: each image is assigned to the cluster
    whose median position is nearest (:class:`MapCompactness`); the clusters count as
    ``separate`` regions when every cluster has more than ``min_own_share`` of its images
    nearest its own median."""
    centres = df.groupby("label_10_cluster")[["UMAP_dim_1", "UMAP_dim_2"]].median()
    x, y = (df[c].to_numpy(dtype=float) for c in ("UMAP_dim_1", "UMAP_dim_2"))
    nearest, best = np.zeros(len(x), dtype=np.int64), np.full(len(x), np.inf)
    for j, (cx, cy) in enumerate(centres.to_numpy(dtype=float)):  # one centre at a time: n floats, not n x 10 x 2
        d = (x - cx) ** 2 + (y - cy) ** 2
        closer = d < best  # strictly: a tie keeps the first centre, as argmin does
        nearest[closer], best[closer] = j, d[closer]
    own = pd.Series(centres.index.to_numpy()[nearest] == df["label_10_cluster"].to_numpy())
    by = own.groupby(df["label_10_cluster"].to_numpy()).mean()
    return MapCompactness(by, float(own.mean()), int(by.idxmin()), int(by.idxmax()), centres,  # type: ignore[call-overload]  # pandas-stubs: idxmin gives a Hashable
                          float(min_own_share), bool(by.min() > min_own_share))
