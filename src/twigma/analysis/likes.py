"""Is similarity to natural photographs related to likes? (claim C9)

For every TWIGMA image: its maximum and mean top-10 cosine similarity to a reference set, the natural
photographs by default (:func:`reference`; the art set asks the same question of artworks, which C9 is not about)
(:func:`twigma.embeddings.neighbors.topk_cosine`, exact). Then the Spearman correlation with likes, and
a regression of log(1 + likes) on the standardised similarity with month and cluster fixed
effects and Twitter's sensitive flag, with heteroskedasticity-robust (HC1) standard errors.

**Tweets are the unit.** Likes belong to tweets and a tweet carries one to four images that share
its like count. An unweighted regression over images would count a four-image tweet four times,
so the estimand would weight tweets by their number of images. Here every image has the weight
1 / (images of its tweet): each tweet weighs one in total (weighted least squares), so the slope,
the binned means and Spearman's rho (over tweets: a tweet's mean similarity against its likes)
describe tweets; cluster fixed effects stay per image, since a tweet's images can fall in
different clusters. Standard errors are also clustered by tweet (``*_cluster`` columns); the claim
is judged on both. Images with missing likes (deleted tweets) are left out.

p-values below :data:`P_FLOOR` are written as ``P_FLOOR`` (an upper bound: a double cannot hold them
and would read 0), with a boolean ``*p_below_floor*`` column saying so; the ``z_stat*`` columns give
the test statistic itself.

**One level.** Every interval is a ``1 - alpha`` interval (``alpha``: notebook 08's ``ALPHA``, the
level C9 is decided at; :mod:`twigma.analysis.inference`), so an interval excludes 0 exactly when
its test rejects at ``alpha``; Spearman's rho over tweets carries a percentile bootstrap interval
over tweets (:func:`twigma.analysis.inference.percentile_bootstrap`).

For the figure, :func:`residualise` partials the controls out of likes and similarity
(Frisch-Waugh-Lovell), and :func:`binned_means` averages within bins that keep each tweet's
images together, with tweet-clustered intervals: a binned scatter whose fitted slope is the
printed estimate.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from twigma.analysis.inference import DEFAULT_ALPHA, MIN_RESAMPLES, check_alpha, percentile_bootstrap
from twigma.analysis.overview import month_of
from twigma.analysis.pformat import P_FLOOR, p_text, p_text_floored
from twigma.embeddings.neighbors import cached_topk_cosine, topk_cosine
from twigma.errors import UserError

#: The reference sets 08 can measure similarity to, and the words for one of their images.
REFERENCES = {"natural": ("natural photograph", "natural photographs"), "art": ("artwork", "artworks")}



def floor_p(p: float) -> float:
    """A p-value for a table: ``P_FLOOR`` where it is smaller (an upper bound), never 0."""
    return float(max(float(p), P_FLOOR))


def below_floor(p: float) -> bool:
    """Whether a p-value is below :data:`P_FLOOR` (so that :func:`floor_p` writes the bound, not the value)."""
    return bool(float(p) < P_FLOOR)


def p_text_of(row: FitRow, column: str = "p_value") -> str:
    """``"p = 0.003"``, or ``"p < 1e-16"`` where the row's flag says the p-value was floored
    (``p_below_floor`` for ``p_value``, ``p_below_floor_cluster`` for ``p_value_cluster``,
    ``spearman_p_below_floor`` for ``spearman_p``; :func:`likes_regression`). A row without the
    flag (a table written before it) reads a p-value at the floor as below it."""
    flag = {"p_value": "p_below_floor", "p_value_cluster": "p_below_floor_cluster",
            "spearman_p": "spearman_p_below_floor"}[column]
    row = fit_row(row)
    if flag not in row:
        return p_text_floored(row[column])
    return f"p < {P_FLOOR:.0e}" if bool(row[flag]) else p_text(row[column])


def spearman_rho(likes, sim) -> float:
    """Spearman's rank correlation of ``likes`` and ``sim`` (scipy)."""
    return float(stats.spearmanr(likes, sim)[0])


def spearman_interval(tweets: pd.DataFrame, alpha: float = DEFAULT_ALPHA, n_resamples: int = MIN_RESAMPLES,
                      seed: int = 0):
    """Spearman's rho of a :func:`tweet_level` table (``likes`` against ``sim``, one row per tweet)
    with its ``1 - alpha`` percentile bootstrap interval over tweets
    (:func:`twigma.analysis.inference.percentile_bootstrap`): an
    :class:`~twigma.analysis.inference.Interval`."""
    return percentile_bootstrap((tweets["likes"].to_numpy(float), tweets["sim"].to_numpy(float)), spearman_rho,
                                alpha, n_resamples=n_resamples, seed=seed)


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
    """One row per image with known likes: ``tweet``, ``log1p_likes``, ``likes``, ``sim``, ``sim_z``
    (standardised over these rows, tweets weighted equally), ``month``, ``cluster``, ``sensitive``
    (0/1; missing as 0 with an indicator ``sensitive_missing``) and ``weight`` (1 / the tweet's
    images among these rows: each tweet weighs one)."""
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
    frame["weight"] = 1.0 / frame.groupby("tweet")["tweet"].transform("size").to_numpy(dtype=float)
    w = frame["weight"].to_numpy()
    mean = np.average(frame["sim"], weights=w)
    frame["sim_z"] = (frame["sim"] - mean) / np.sqrt(np.average((frame["sim"] - mean) ** 2, weights=w))
    return frame


def tweet_level(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per tweet of a :func:`model_frame`: ``tweet``, ``likes``, ``sim`` (mean over its
    images), ``images``."""
    g = frame.groupby("tweet", sort=False)
    return pd.DataFrame({"likes": g["likes"].first(), "sim": g["sim"].mean(), "images": g.size()}).reset_index()


@dataclass(frozen=True)
class LikesFit:
    """The likes model of one similarity (:func:`likes_regression`): a row of ``likes_similarity.csv``."""

    #: the similarity's name in the model
    term: str
    #: change in log(1 + likes) per SD of similarity, its 1 - alpha interval with HC1 errors, the level, the
    #: HC1 p-value (floored at P_FLOOR) and whether it was floored
    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float
    p_below_floor: bool
    #: Spearman's rho over tweets, its bootstrap interval over tweets, its p-value (floored) and the flag
    spearman_rho: float
    spearman_ci_low: float
    spearman_ci_high: float
    spearman_p: float
    spearman_p_below_floor: bool
    #: images fitted; the standard error with HC1 errors and with errors clustered by tweet
    n: int
    std_err: float
    std_err_cluster: float
    #: the interval, p-value (floored) and flag with errors clustered by tweet
    ci_low_cluster: float
    ci_high_cluster: float
    p_value_cluster: float
    p_below_floor_cluster: bool
    #: the test statistics, HC1 and clustered; tweets fitted and the unit that weighs one ("tweet")
    z_stat: float
    z_stat_cluster: float
    n_tweets: int
    unit: str

    def row(self) -> dict[str, Any]:
        """The fit as a table row (``pd.DataFrame([fit.row()])``): the fields as columns, in this order."""
        return asdict(self)


#: What the readers of a fit take: a :class:`LikesFit`, or its row read back from ``likes_similarity.csv``
#: (a table written before a column existed lacks it).
FitRow = LikesFit | Mapping[str, Any]


def fit_row(fit: FitRow) -> Mapping[str, Any]:
    """A fit's row by column name: a :class:`LikesFit`'s fields, or the table row as given."""
    return fit.row() if isinstance(fit, LikesFit) else fit


def likes_regression(frame: pd.DataFrame, term: str = "similarity_to_natural", alpha: float = DEFAULT_ALPHA,
                     n_resamples: int = MIN_RESAMPLES, seed: int = 0) -> LikesFit:
    """WLS of log1p_likes on sim_z + month and cluster fixed effects + sensitive flag, each image
    weighted 1 / (images of its tweet) (each tweet weighs one), HC1 errors and errors clustered by
    tweet; plus Spearman's rho over tweets (a tweet's mean similarity against its likes) with its
    percentile bootstrap interval over tweets (:func:`spearman_interval`, ``n_resamples``, ``seed``).

    Returns a :class:`LikesFit` (a table row: :meth:`LikesFit.row`): ``term``, ``estimate`` (change in log(1 + likes) per standard
    deviation of similarity), ``ci_low``, ``ci_high`` (``1 - alpha``, HC1), ``ci_level``
    (``1 - alpha``), ``p_value`` (floored at :data:`P_FLOOR`) and ``p_below_floor`` (whether it was),
    ``z_stat``, ``std_err``, the same with ``_cluster`` for tweet-clustered errors
    (``p_below_floor_cluster``), ``spearman_rho``, ``spearman_ci_low``, ``spearman_ci_high``,
    ``spearman_p`` (floored; ``spearman_p_below_floor``), ``n`` (images), ``n_tweets`` and ``unit``
    (``"tweet"``).
    """
    a = check_alpha(alpha)
    rhs = "sim_z + C(month) + C(cluster) + sensitive"
    if frame["sensitive_missing"].any():
        rhs += " + sensitive_missing"
    weights = frame["weight"] if "weight" in frame else np.ones(len(frame))
    model = smf.wls(f"log1p_likes ~ {rhs}", data=frame, weights=weights)
    fit = model.fit(cov_type="HC1")
    lo, hi = fit.conf_int(alpha=a).loc["sim_z"]
    groups = pd.factorize(frame["tweet"])[0]
    fit_c = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    clo, chi = fit_c.conf_int(alpha=a).loc["sim_z"]
    tw = tweet_level(frame)
    rho = spearman_interval(tw, a, n_resamples=n_resamples, seed=seed)
    p_rho = stats.spearmanr(tw["likes"], tw["sim"])[1]
    p, p_c = fit.pvalues["sim_z"], fit_c.pvalues["sim_z"]
    return LikesFit(term=term, estimate=float(fit.params["sim_z"]), ci_low=float(lo), ci_high=float(hi),
                    ci_level=1 - a, p_value=floor_p(p), p_below_floor=below_floor(p),
                    spearman_rho=rho.estimate, spearman_ci_low=rho.low, spearman_ci_high=rho.high,
                    spearman_p=floor_p(p_rho), spearman_p_below_floor=below_floor(p_rho),
                    n=int(fit.nobs), std_err=float(fit.bse["sim_z"]), std_err_cluster=float(fit_c.bse["sim_z"]),
                    ci_low_cluster=float(clo), ci_high_cluster=float(chi),
                    p_value_cluster=floor_p(p_c), p_below_floor_cluster=below_floor(p_c),
                    z_stat=float(fit.tvalues["sim_z"]), z_stat_cluster=float(fit_c.tvalues["sim_z"]),
                    n_tweets=int(groups.max() + 1), unit="tweet")


CONTROLS = ("month", "cluster", "sensitive")


def residualise(frame: pd.DataFrame) -> pd.DataFrame:
    """Frisch-Waugh-Lovell: ``log1p_likes`` and ``sim_z`` with the model's controls partialled out.

    Both are regressed (WLS, the frame's ``weight``) on the controls of :func:`likes_regression` (month and cluster
    fixed effects, the sensitive flag and, when present, its missing indicator); their residuals
    are ``likes_resid`` and ``sim_resid``. By the Frisch-Waugh-Lovell theorem the OLS slope of
    ``likes_resid`` on ``sim_resid`` (weighted alike, :func:`fwl_line`) equals the model's ``sim_z``
    coefficient exactly, so a binned
    scatter of the two shows the adjusted estimate itself (Frisch & Waugh 1933; Lovell 1963).

    Returns ``frame`` with the two columns added (a copy).
    """
    parts = [pd.get_dummies(frame[c].astype(str), prefix=c, drop_first=True, dtype=float) for c in ("month", "cluster")]
    D = pd.concat([pd.Series(1.0, index=frame.index, name="const"), *parts, frame["sensitive"].astype(float)], axis=1)
    if frame["sensitive_missing"].any():
        D["sensitive_missing"] = frame["sensitive_missing"].astype(float)
    Y = frame[["log1p_likes", "sim_z"]].to_numpy(dtype=float)
    sw = np.sqrt(frame["weight"].to_numpy(dtype=float) if "weight" in frame else np.ones(len(frame)))
    coef, *_ = np.linalg.lstsq(D.to_numpy() * sw[:, None], Y * sw[:, None], rcond=None)
    resid = Y - D.to_numpy() @ coef
    return frame.assign(likes_resid=resid[:, 0], sim_resid=resid[:, 1])


def fwl_line(frame: pd.DataFrame, x: str = "sim_resid", y: str = "likes_resid") -> tuple[float, float]:
    """Slope and intercept of the weighted least-squares line of ``y`` on ``x`` (the frame's
    ``weight``, or equal weights): on :func:`residualise`'s columns, the model's estimate."""
    w = frame["weight"].to_numpy(dtype=float) if "weight" in frame else np.ones(len(frame))
    xv, yv = frame[x].to_numpy(dtype=float), frame[y].to_numpy(dtype=float)
    mx, my = np.average(xv, weights=w), np.average(yv, weights=w)
    slope = float(np.sum(w * (xv - mx) * (yv - my)) / np.sum(w * (xv - mx) ** 2))
    return slope, float(my - slope * mx)


@dataclass(frozen=True)
class BinTrend:
    """How the adjusted bins' means move along x, as 08 says it (:func:`bin_trend`)."""

    agree: int  #: steps between neighbouring bins that go the way of the slope
    steps: int  #: steps between neighbouring bins
    span: float  #: last bin's mean minus the first's
    monotone: bool  #: agree >= MONOTONE_SHARE of the steps
    low_slope: float  #: slope of the bin means through the lower half of the bins (NaN under 6 bins)
    high_slope: float  #: the same through the upper half
    curved: bool  #: one half's slope over CURVED_RATIO times the other's
    noisy: bool  #: the median step is smaller than the median standard error of a step

    @property
    def reading(self) -> str:
        """``"monotone"``, else ``"noisy"`` (single steps mostly noise), else ``"not monotone"``."""
        return "monotone" if self.monotone else "noisy" if self.noisy else "not monotone"

    @property
    def steeper_half(self) -> str:
        """``"less"`` when the less similar half of the bins is the steeper, else ``"more"``."""
        return "less" if abs(self.low_slope) > abs(self.high_slope) else "more"


#: The share of steps between bins that must follow the slope for the bins to read as monotone.
MONOTONE_SHARE = 0.75
#: One half's slope over this many times the other's reads as a curved relation.
CURVED_RATIO = 1.5


def bin_trend(bins: pd.DataFrame, slope: float) -> BinTrend:
    """How the adjusted bins' means (in increasing x) move, a :class:`BinTrend`: ``agree`` (steps
    between neighbouring bins that go the way of ``slope``) of ``steps``, ``span`` (last bin's
    mean minus the first's), ``monotone`` (agree >= :data:`MONOTONE_SHARE` of the steps), and,
    with 6 bins or more, ``low_slope`` and ``high_slope`` (least-squares slopes of the bin means
    through the lower and upper half of the bins; NaN otherwise), ``curved`` (one half's slope
    over :data:`CURVED_RATIO` times the other's) and, when the bins carry ``se``, ``noisy`` (the
    median step between neighbouring bins is smaller than the median standard error of a
    difference of two bin means: single steps are then mostly noise)."""
    y, x = bins["y_mean"].to_numpy(float), bins["x_mean"].to_numpy(float)
    steps = np.sign(np.diff(y))
    agree = int((steps == np.sign(slope)).sum())
    half = len(bins) // 2
    low = high = float("nan")
    if len(bins) >= 6:
        low, high = (float(np.polyfit(x[sl], y[sl], 1)[0]) for sl in (slice(None, half), slice(half, None)))
    curved = bool(np.isfinite(low) and max(abs(low), abs(high)) > CURVED_RATIO * max(min(abs(low), abs(high)), 1e-12))
    noisy = False
    if "se" in bins and len(y) > 1:
        se = bins["se"].to_numpy(float)
        noisy = bool(np.median(np.abs(np.diff(y))) < np.median(np.sqrt(se[1:] ** 2 + se[:-1] ** 2)))
    return BinTrend(agree=agree, steps=len(steps), span=float(y[-1] - y[0]) if len(y) else float("nan"),
                 monotone=bool(agree >= MONOTONE_SHARE * len(steps)), low_slope=low, high_slope=high,
                 curved=curved, noisy=noisy)


def tweet_bins(values, tweets, bins: int) -> np.ndarray:
    """Bin number (0 .. bins - 1) of each image: quantile bins of its tweet's mean ``values``, so
    that all images of a tweet fall in one bin and bins hold about equal numbers of tweets
    (fewer bins when ties leave edges equal)."""
    values = pd.Series(np.asarray(values, dtype=float))
    codes = pd.factorize(np.asarray(tweets))[0]
    per_tweet = values.groupby(codes).mean()
    bin_of_tweet = pd.qcut(per_tweet.rank(method="first"), q=min(bins, len(per_tweet)), labels=False)
    return bin_of_tweet.to_numpy()[codes]


def binned_means(frame: pd.DataFrame, bins: int = 20, x: str = "sim", y: str = "log1p_likes",
                 alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """Weighted mean of ``y`` within bins of ``x`` that respect tweets (:func:`tweet_bins`), with
    ``1 - alpha`` normal intervals whose errors are clustered by tweet.

    Likes belong to tweets: the images of one tweet share their likes, so they go in one bin,
    weigh one together (the frame's ``weight``; equal weights without it) and count as one
    cluster in the bin mean's standard error (CR1, as statsmodels' ``cluster`` covariance of an
    intercept-only WLS: ``G / (G - 1) * sum_g (sum_i w_gi e_gi)^2 / (sum w)^2``; Cameron & Miller
    2015).

    Returns
    -------
    DataFrame with ``bin``, ``n`` (images), ``n_tweets``, ``x_mean``, ``y_mean``, ``se``, ``ci_low``,
    ``ci_high``, ``ci_level``, one row per bin in increasing ``x``.
    """
    z = float(stats.norm.ppf(1 - check_alpha(alpha) / 2))
    b = tweet_bins(frame[x], frame["tweet"], bins)
    rows = []
    for k in np.unique(b):
        part = frame[b == k]
        w = part["weight"].to_numpy(dtype=float) if "weight" in part else np.ones(len(part))
        yv = part[y].to_numpy(dtype=float)
        mean = float(np.average(yv, weights=w))
        g = pd.Series(w * (yv - mean)).groupby(pd.factorize(part["tweet"].to_numpy())[0]).sum().to_numpy()
        n, G = len(part), len(g)
        se = float(np.sqrt(G / (G - 1) * (g @ g)) / w.sum()) if G > 1 else float("nan")
        rows.append({"bin": int(k), "n": n, "n_tweets": G, "x_mean": float(np.average(part[x], weights=w)),
                     "y_mean": mean, "se": se})
    out = pd.DataFrame(rows)
    out["ci_low"] = out["y_mean"] - z * out["se"]
    out["ci_high"] = out["y_mean"] + z * out["se"]
    out["ci_level"] = 1 - alpha
    return out


@dataclass(frozen=True)
class Reference:
    """The reference set similarity is measured to (:func:`reference`), and how 08 names it."""

    name: str  #: the store's source: "natural" or "art"
    noun: str  #: one of its images in words, e.g. "natural photograph"
    plural: str  #: its images in words, e.g. "natural photographs"
    term: str  #: the model's term in ``likes_similarity.csv``, e.g. "similarity_to_natural"
    checks_c9: bool  #: C9 ("similarity to natural images ...") is what a run on this set checks
    question: str  #: the name 08's findings give its test: "C9", or the question asked of another set


def reference(name: str) -> Reference:
    """The reference set ``name`` ("natural" or "art"; notebook 08's ``REFERENCE``), as a :class:`Reference`.

    Only the natural set checks claim C9, which the paper states of natural images; on the art set
    the same model answers another question ("likes against similarity to art")."""
    if name not in REFERENCES:
        raise UserError(f"REFERENCE={name!r}: the reference set is one of {', '.join(REFERENCES)}")
    noun, plural = REFERENCES[name]
    return Reference(name=name, noun=noun, plural=plural, term=f"similarity_to_{name}", checks_c9=name == "natural",
                     question="C9" if name == "natural" else f"likes against similarity to {plural} (not C9)")


@dataclass(frozen=True)
class SimilaritySummary:
    """What 08 says of the similarity table (:func:`similarity_summary`)."""

    q05: float  #: 5th percentile of ``max_sim`` over images
    median: float  #: median of ``max_sim``
    q95: float  #: 95th percentile of ``max_sim``
    other: str  #: the measure that is not the main one
    rho: float  #: Spearman correlation of the two measures over images


def similarity_summary(sim: pd.DataFrame, main: str) -> SimilaritySummary:
    """What 08 says of the similarity table: percentiles of ``max_sim``, the other measure and the
    two measures' rank correlation (:class:`SimilaritySummary`)."""
    other = [c for c in sim.columns if c != main][0]
    return SimilaritySummary(q05=float(sim["max_sim"].quantile(0.05)), median=float(sim["max_sim"].median()),
                             q95=float(sim["max_sim"].quantile(0.95)), other=other,
                             rho=float(stats.spearmanr(sim[main], sim[other])[0]))


@dataclass(frozen=True)
class ModelSummary:
    """What 08 says beside its main model (:func:`model_summary`)."""

    missing: float  #: share of the images with embeddings left out for missing likes
    factor: float  #: exp(estimate): what one SD more similarity multiplies 1 + likes by
    widen: float  #: tweet-clustered standard error over the HC1 one
    direction: str  #: "down", "up" or "flat": the slope's sign where its tweet-clustered p < alpha
    weaker_with_controls: bool  #: the adjusted slope is smaller in size than ``raw_slope``


def model_summary(row: FitRow, n_with_embedding: int, alpha: float = DEFAULT_ALPHA,
                  raw_slope: float = float("nan")) -> ModelSummary:
    """What 08 says beside its main model (``row``: :func:`likes_regression`): the share of the
    ``n_with_embedding`` images left out, the multiplicative effect, how much clustering by tweet
    widens the error, the direction decided at ``alpha`` by the tweet-clustered p-value (the
    same test C9 uses; its ``1 - alpha`` interval excludes 0 exactly then) and whether the
    controls weaken the slope against ``raw_slope`` (the slope without them)."""
    row = fit_row(row)
    p = float(row.get("p_value_cluster", row.get("p_value")))
    est = float(row["estimate"])
    direction = ("down" if est < 0 else "up") if p < check_alpha(alpha) else "flat"
    return ModelSummary(missing=1 - float(row["n"]) / n_with_embedding, factor=float(np.exp(est)),
                        widen=float(row["std_err_cluster"]) / float(row["std_err"]), direction=direction,
                        weaker_with_controls=bool(abs(est) < abs(raw_slope)))
