"""NSFW content by cluster and month: Twitter's flag and the CLIP-based detector (claim C6)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from twigma.analysis.inference import DEFAULT_ALPHA, Interval, tweet_bootstrap_sums, tweet_sums
from twigma.analysis.overview import early_late_months, month_of, tweet_codes


def _score_column(threshold: float) -> str:
    return "share_nsfw_gt_" + f"{threshold:g}".replace(".", "_")


def nsfw_table(df: pd.DataFrame, by: pd.Series, threshold: float = 0.5) -> pd.DataFrame:
    """Per group: ``n_images``, ``share_possibly_sensitive`` (among known flags),
    ``share_nsfw_gt_<threshold>`` and ``mean_nsfw_score`` (among known scores), and the
    numbers of images with a known flag and a known score (``n_flag_known``, ``n_score_known``),
    the denominators of the shares."""
    frame = pd.DataFrame({
        "group": by.to_numpy(),
        "flag": df["possibly_sensitive"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        "score": df["nsfw_score"].to_numpy(dtype=float),
    })
    frame["above"] = np.where(np.isnan(frame["score"]), np.nan, frame["score"] > threshold)
    g = frame.groupby("group", sort=True)
    return pd.DataFrame({
        "n_images": g.size(),
        "share_possibly_sensitive": g["flag"].mean(),
        _score_column(threshold): g["above"].mean(),
        "mean_nsfw_score": g["score"].mean(),
        "n_flag_known": g["flag"].count(),
        "n_score_known": g["score"].count(),
    })


@dataclass(frozen=True)
class Agreement:
    """How Twitter's flag agrees with "detector score > threshold" (:func:`agreement`): a row of
    ``nsfw_agreement.csv``."""

    #: images where both are known; Cohen's kappa and the raw agreement over them (NaN without images)
    n: int
    kappa: float
    agreement: float
    #: the 2x2 counts: flagged and above the threshold, flagged only, above only, neither
    both: int
    flag_only: int
    score_only: int
    neither: int

    def row(self) -> dict[str, Any]:
        """The agreement as table columns (``{"scope": "all", **a.row()}``): the fields, in this order."""
        return asdict(self)


def agreement(flag: pd.Series, score: pd.Series, threshold: float = 0.5) -> Agreement:
    """Agreement of Twitter's flag with "detector score > threshold" on images where both are known.

    Returns an :class:`Agreement`: n, Cohen's kappa (equal to scikit-learn's), raw agreement and the
    2x2 counts (``both``, ``flag_only``, ``score_only``, ``neither``).
    """
    both, flag_only, score_only, neither = _cells(flag, score, threshold, np.zeros(len(flag), dtype=np.int64), 1)[0]
    n = both + flag_only + score_only + neither
    if n == 0:
        return Agreement(n=0, kappa=float("nan"), agreement=float("nan"), both=0, flag_only=0, score_only=0, neither=0)
    return Agreement(n=int(n), kappa=kappa_2x2(both, flag_only, score_only, neither),
                     agreement=float((both + neither) / n), both=int(both), flag_only=int(flag_only),
                     score_only=int(score_only), neither=int(neither))


def _cells(flag: pd.Series, score: pd.Series, threshold: float, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group (codes 0..n_groups-1), the 2x2 counts (both, flag only, score only, neither) of the
    images where the flag and the score are known: shape (n_groups, 4)."""
    ok = flag.notna().to_numpy() & score.notna().to_numpy()
    a = flag.to_numpy()[ok].astype(bool)
    b = score.to_numpy()[ok] > threshold
    cell = 3 - (2 * a + b)  # both 0, flag only 1, score only 2, neither 3
    return np.bincount(np.asarray(group)[ok] * 4 + cell, minlength=4 * n_groups).reshape(n_groups, 4)


def kappa_2x2(both: int, flag_only: int, score_only: int, neither: int) -> float:
    """Cohen's (1960) kappa of two yes/no ratings from their 2x2 counts: (p_o - p_e) / (1 - p_e); NaN
    when both ratings give one and the same answer throughout (p_e = 1). Equal to scikit-learn's
    ``cohen_kappa_score`` and statsmodels' ``cohens_kappa`` (tests)."""
    n = both + flag_only + score_only + neither
    if n == 0:
        return float("nan")
    p_o = (both + neither) / n
    p_e = ((both + flag_only) * (both + score_only) + (score_only + neither) * (flag_only + neither)) / n**2
    return float((p_o - p_e) / (1 - p_e)) if p_e < 1 else float("nan")


def kappa_cells(cells: np.ndarray) -> np.ndarray:
    """:func:`kappa_2x2` of 2x2 counts (both, flag only, score only, neither) along the last axis,
    vectorised over the leading ones (bootstrap replicates)."""
    c = np.asarray(cells, dtype=float)
    a, b, d, e = c[..., 0], c[..., 1], c[..., 2], c[..., 3]
    n = a + b + d + e
    with np.errstate(invalid="ignore", divide="ignore"):
        p_o = (a + e) / n
        p_e = ((a + b) * (a + d) + (d + e) * (b + e)) / n**2
        return np.where(p_e < 1, (p_o - p_e) / (1 - p_e), np.nan)


def pabak_cells(cells: np.ndarray) -> np.ndarray:
    """Prevalence- and bias-adjusted kappa (Byrt, Bishop & Carlin 1993) of 2x2 counts along the
    last axis: 2 p_o - 1, the kappa of a table with both answers equally common."""
    c = np.asarray(cells, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2 * (c[..., 0] + c[..., 3]) / c.sum(axis=-1) - 1


def cell_indicators(flag: pd.Series, score: pd.Series, threshold: float) -> np.ndarray:
    """Each image's 2x2 cell as four 0/1 columns (both, flag only, score only, neither); all 0
    where the flag or the score is unknown. Summed per tweet they are the input of the tweet
    bootstrap of kappa (:func:`kappa_interval`)."""
    ok = flag.notna().to_numpy() & score.notna().to_numpy()
    a = flag.astype("boolean").fillna(False).to_numpy(dtype=bool)
    b = score.to_numpy(dtype=float) > threshold
    out = np.zeros((len(flag), 4))
    cell = 3 - (2 * a + b)
    out[np.flatnonzero(ok), cell[ok]] = 1.0
    return out


def kappa_interval(df: pd.DataFrame, threshold: float = 0.5, alpha: float = DEFAULT_ALPHA, *,
                   n_resamples: int = 2000, seed: int = 0) -> Interval:
    """Cohen's kappa of Twitter's flag and "score > threshold" over all images with both known,
    with its ``1 - alpha`` tweet-bootstrap interval (tweets resampled with all their images:
    the flag is set per tweet; :func:`twigma.analysis.inference.tweet_bootstrap_sums`)."""
    sums = tweet_sums(cell_indicators(df["possibly_sensitive"], df["nsfw_score"], threshold), df["id"])
    return tweet_bootstrap_sums(sums, kappa_cells, alpha, n_resamples=n_resamples, seed=seed)


#: What decides whether an image counts as NSFW in :func:`nsfw_by_cluster`.
MEASURES = ("detector", "twitter-flag")


def nsfw_by_cluster(df: pd.DataFrame, threshold: float = 0.5, mostly: float = 0.5,
                    measure: str = "detector", kappa_min_share: float = 0.05) -> pd.DataFrame:
    """NSFW measures per cluster.

    Parameters
    ----------
    threshold : float
        Detector score above which an image counts as NSFW.
    mostly : float
        A cluster is mostly NSFW when more than this share of its images count as NSFW.
    measure : {"detector", "twitter-flag"}
        What counts as NSFW for ``mostly_nsfw``: detector score > ``threshold`` (the notebooks'
        choice) or Twitter's sensitive-media flag (among images with a known flag).
    kappa_min_share : float
        Kappa within a cluster is reported (``kappa_reported``) only where each measure marks
        at least this share and at most 1 minus it of the cluster's images with both known:
        where one rating hardly varies, kappa is near 0 whatever the agreement (the kappa
        paradox; Feinstein & Cicchetti 1990).

    Returns
    -------
    DataFrame with columns ``cluster``, ``n_images``, ``share_possibly_sensitive``,
    ``share_nsfw_gt_0_5`` (named after ``threshold``), ``mean_nsfw_score``, the numbers with a
    known flag and score, ``kappa`` (flag vs score within the cluster), ``kappa_reported``,
    ``pabak`` (:func:`pabak_cells`), ``sensitivity`` and ``specificity`` (of "score >
    threshold" against the flag, among images with both known) and ``mostly_nsfw``; ``attrs``
    hold ``measure``, ``threshold``, ``mostly`` (read by :func:`twigma.analysis.claims.check_c6`)
    and ``kappa_min_share``.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    out = nsfw_table(df, df["label_10_cluster"], threshold).rename_axis("cluster").reset_index()
    code = pd.Index(out["cluster"]).get_indexer(df["label_10_cluster"])  # every image's cluster is in out
    cells = _cells(df["possibly_sensitive"], df["nsfw_score"], threshold, code, len(out))
    out["kappa"] = [kappa_2x2(*row) for row in cells]  # flag vs score within each cluster
    n_both = cells.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        flag_share, score_share = (cells[:, 0] + cells[:, 1]) / n_both, (cells[:, 0] + cells[:, 2]) / n_both
        out["kappa_reported"] = [bool(min(f, 1 - f) >= kappa_min_share and min(c, 1 - c) >= kappa_min_share)
                                 for f, c in zip(flag_share, score_share)]
        out["pabak"] = pabak_cells(cells)
        out["sensitivity"] = cells[:, 0] / (cells[:, 0] + cells[:, 1])
        out["specificity"] = cells[:, 3] / (cells[:, 3] + cells[:, 2])
    share = out["share_possibly_sensitive"] if measure == "twitter-flag" else out[_score_column(threshold)]
    out["mostly_nsfw"] = share > mostly
    out.attrs.update({"measure": measure, "threshold": float(threshold), "mostly": float(mostly),
                      "kappa_min_share": float(kappa_min_share)})
    return out


def nsfw_by_month(df: pd.DataFrame, threshold: float = 0.5, level: float = 0.95) -> pd.DataFrame:
    """NSFW measures per calendar month: the columns of :func:`nsfw_table` with ``month``, then
    the tweet-level columns of :func:`tweet_level_intervals` (the flag's share of tweets and both
    measures' ``level`` intervals, with tweets as the unit)."""
    month = month_of(df["created_at"])
    table = nsfw_table(df, month, threshold).rename_axis("month").reset_index()
    tweets = tweet_level_intervals(df, month, threshold, level).rename_axis("month").reset_index()
    return table.merge(tweets, on="month", how="left")


def tweet_level_intervals(df: pd.DataFrame, by: pd.Series, threshold: float = 0.5,
                          level: float = 0.95) -> pd.DataFrame:
    """Intervals for the NSFW shares of groups with the tweet as the unit.

    Twitter's flag is set per tweet and repeated on each of its images, and a tweet's images
    usually share a prompt, so images are not independent draws. Per group (a tweet must lie in
    one group: months, not clusters):

    - the flag: ``n_tweets_flag_known`` tweets with a known flag, ``share_tweets_flagged`` of them
      flagged, and its Wilson interval over tweets (``flag_ci_low``, ``flag_ci_high``);
    - the detector, which scores each image: the share of images above ``threshold`` (as in
      :func:`nsfw_table`) with a Wilson interval at the effective sample size of a cluster sample
      (Korn & Graubard 1998): n_eff = n / deff, where the design effect deff is the tweet-clustered
      variance of the share (the ratio estimator's, G / (G - 1) sum_g (y_g - p m_g)^2 / n^2 over
      the G tweets) over the binomial one, floored at 1 (``score_n_eff``, ``score_ci_low``,
      ``score_ci_high``); with a share of 0 or 1, n_eff is the number of tweets.
    """
    flag = df["possibly_sensitive"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    score = df["nsfw_score"].to_numpy(dtype=float)
    # one row per (group, tweet), by integer codes and bincount (a groupby over the id strings is
    # slow on millions of images)
    g_code, groups = pd.factorize(pd.Series(by).reset_index(drop=True), sort=True)
    t_code = tweet_codes(df["id"])
    inside = g_code >= 0
    key = g_code[inside].astype(np.int64) * (int(t_code.max()) + 1) + t_code[inside]
    pair = np.unique(key, return_inverse=True)[1].reshape(-1)
    n_pairs = int(pair.max()) + 1 if len(pair) else 0
    pair_group = np.zeros(n_pairs, dtype=np.int64)
    pair_group[pair] = g_code[inside]
    f = flag[inside]
    flag_known = np.bincount(pair, weights=np.isfinite(f), minlength=n_pairs) > 0
    flagged = np.bincount(pair, weights=np.nan_to_num(f, nan=0.0), minlength=n_pairs) > 0
    sc = score[inside]
    m_all = np.bincount(pair, weights=np.isfinite(sc).astype(float), minlength=n_pairs)
    y_all = np.bincount(pair, weights=np.where(np.isfinite(sc), sc > threshold, 0.0), minlength=n_pairs)
    rows = {}
    for j, g in enumerate(groups):
        of_g = pair_group == j
        known = of_g & flag_known
        n_t, k_t = int(known.sum()), float(flagged[known].sum())
        scored = of_g & (m_all > 0)
        y, m = y_all[scored], m_all[scored]
        n = m.sum()
        n_eff = float("nan")
        if n > 0:
            p, G = y.sum() / n, len(m)
            if 0 < p < 1 and G > 1:
                clustered = G / (G - 1) * np.sum((y - p * m) ** 2) / n**2
                n_eff = n / max(1.0, clustered / (p * (1 - p) / n))
            else:
                n_eff = float(G)
        f_lo, f_hi = wilson_interval(k_t, n_t, level)
        s_lo, s_hi = wilson_interval(y.sum() / n * n_eff if n > 0 else 0.0, n_eff, level)
        rows[g] = {"n_tweets_flag_known": n_t, "share_tweets_flagged": k_t / n_t if n_t else float("nan"),
                   "flag_ci_low": float(f_lo), "flag_ci_high": float(f_hi), "score_n_eff": n_eff,
                   "score_ci_low": float(s_lo), "score_ci_high": float(s_hi)}
    return pd.DataFrame.from_dict(rows, orient="index")


FLAG_GROUPS = {True: "flagged", False: "not flagged", None: "flag unknown"}


def score_histogram(flag: pd.Series, score: pd.Series, bins: int = 50) -> tuple[pd.DataFrame, np.ndarray]:
    """The detector scores binned per value of Twitter's flag, for a histogram drawn from counts
    rather than from every image (notebook 04's figure: seaborn's ``histplot(x="centre", weights="count",
    hue="possibly_sensitive", bins=list(edges))`` draws the histogram it draws from the images).

    Returns (table, edges): ``possibly_sensitive`` (:data:`FLAG_GROUPS`' names, in the order the groups
    first occur, as seaborn orders a hue), ``centre`` of each bin and ``count``; ``edges`` the ``bins`` + 1 bin edges
    over all finite scores (seaborn's common bins). Images without a score are left out.
    """
    x = score.to_numpy(dtype=float)
    f = flag.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    code = np.where(np.isnan(f), 2, np.where(f == 1, 0, 1))
    names = [FLAG_GROUPS[True], FLAG_GROUPS[False], FLAG_GROUPS[None]]
    present, first = np.unique(code, return_index=True)  # the order of first occurrence, over all images
    ok = np.isfinite(x)
    x, code = x[ok], code[ok]
    edges = np.histogram_bin_edges(x, bins)
    centres = (edges[:-1] + edges[1:]) / 2
    parts = [pd.DataFrame({"possibly_sensitive": names[c], "centre": centres,
                           "count": np.histogram(x[code == c], edges)[0]}) for c in present[np.argsort(first)]]
    return pd.concat(parts, ignore_index=True), edges


def wilson_interval(successes, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial share (arrays of ``successes`` out of ``n``, which need not be
    whole: an effective sample size), statsmodels' ``proportion_confint(method="wilson")``; NaN where n is
    0 or NaN (statsmodels would divide by it)."""
    from statsmodels.stats.proportion import proportion_confint

    k, n = np.broadcast_arrays(np.asarray(successes, dtype=float), np.asarray(n, dtype=float))
    lo, hi = np.full(k.shape, np.nan), np.full(k.shape, np.nan)
    some = n > 0
    if some.any():
        lo[some], hi[some] = proportion_confint(k[some], n[some], alpha=1 - level, method="wilson")
    return lo, hi


@dataclass(frozen=True)
class OverallShares:
    """Over all images (:func:`overall_shares`)."""

    flagged: float  # share flagged by Twitter, among known flags
    above: float  # share with detector score > threshold, among known scores


def overall_shares(df: pd.DataFrame, threshold: float = 0.5) -> OverallShares:
    """Over all images: the share flagged by Twitter (among known flags) and the share with
    detector score > ``threshold`` (among known scores)."""
    flag = df["possibly_sensitive"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    score = df["nsfw_score"].to_numpy(dtype=float)
    return OverallShares(float(np.nanmean(flag)), float(np.mean(score[np.isfinite(score)] > threshold)))


#: Landis & Koch (1977, p. 165): the upper end of each band of kappa and its name.
LANDIS_KOCH = ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial"),
               (1.0, "almost perfect"))


def landis_koch(kappa: float) -> str:
    """Landis & Koch's (1977) word for a kappa: below 0 poor, up to 0.20 slight, 0.21-0.40 fair,
    0.41-0.60 moderate, 0.61-0.80 substantial, 0.81-1 almost perfect; ``"undefined"`` for NaN."""
    if not np.isfinite(kappa):
        return "undefined"
    k = round(float(kappa), 2)  # the bands are stated to two decimals
    for upper, word in LANDIS_KOCH:
        if (k < upper) if upper == 0.0 else (k <= upper):
            return word
    return LANDIS_KOCH[-1][1]


@dataclass(frozen=True)
class KappaSummary:
    """What notebook 04 says about the agreement of the flag and the detector (:func:`kappa_summary`)."""

    kappa: Interval  # over all images, with its tweet-bootstrap interval
    band: str  # Landis & Koch's word for the estimate
    n: int  # images with both measures known
    agreement: float  # raw agreement
    pabak: float  # over all images
    flag_only: int
    score_only: int
    flag_broader: bool  # more images flagged only than scored only
    kappa_min_share: float  # the rule for reporting a cluster's kappa (nsfw_by_cluster)
    n_clusters: int
    n_reported: int  # clusters whose kappa is reported
    reported: tuple  # their numbers
    within_min: float  # range of the reported within-cluster kappas (NaN when none)
    within_max: float
    pabak_min: float  # range of PABAK over all clusters
    pabak_max: float
    n_rare: int  # clusters where the detector marks under kappa_min_share of the images
    rare_sensitivity_max: float  # the most of the flagged images the detector marks in those clusters
    between_clusters: bool  # the overall interval lies above every reported within-cluster kappa


def kappa_summary(overall: Agreement, by_cluster: pd.DataFrame, kappa: Interval) -> KappaSummary:
    """The overall kappa (``kappa``, from :func:`kappa_interval`; ``overall`` from
    :func:`agreement`) against agreement within clusters (:func:`nsfw_by_cluster`): the kappas
    of the clusters where both ratings vary (``kappa_reported``), PABAK in every cluster, and the
    detector's sensitivity against the flag in the clusters where it hardly fires.
    ``between_clusters`` is True when some cluster's kappa is reported and the overall interval
    lies wholly above every one of them: the overall agreement then comes from both measures
    concentrating in the same clusters rather than from agreeing on images within a cluster."""
    rep = by_cluster[by_cluster["kappa_reported"]]
    within = rep["kappa"].to_numpy(dtype=float)
    within = within[np.isfinite(within)]
    cut = float(by_cluster.attrs.get("kappa_min_share", 0.05))
    score = [c for c in by_cluster.columns if c.startswith("share_nsfw_gt_")][0]
    rare = by_cluster[by_cluster[score] < cut]
    n = overall.n
    top = float(within.max()) if len(within) else float("nan")
    return KappaSummary(
        kappa=kappa, band=landis_koch(kappa.estimate), n=n, agreement=overall.agreement,
        pabak=float(2 * overall.agreement - 1) if n else float("nan"),
        flag_only=overall.flag_only, score_only=overall.score_only,
        flag_broader=overall.flag_only > overall.score_only, kappa_min_share=cut,
        n_clusters=int(len(by_cluster)), n_reported=int(len(within)), reported=tuple(int(k) for k in rep["cluster"]),
        within_min=float(within.min()) if len(within) else float("nan"), within_max=top,
        pabak_min=float(by_cluster["pabak"].min()), pabak_max=float(by_cluster["pabak"].max()),
        n_rare=int(len(rare)),
        rare_sensitivity_max=float(rare["sensitivity"].max()) if len(rare) else float("nan"),
        between_clusters=bool(len(within) and kappa.low > top))


@dataclass(frozen=True)
class EarlyLateChange:
    """The change in the NSFW shares from the first to the last months (:func:`early_late_change`),
    late minus early, in shares (0.08 = 8 percentage points), each with its tweet-bootstrap
    interval."""

    flag: Interval  # share of tweets flagged (among tweets with a known flag)
    score: Interval  # share of images above the threshold (among images with a score)
    flag_word: str  # "rose", "fell" or "did not change detectably" (the interval against 0)
    score_word: str


def change_word(change: Interval) -> str:
    """``"rose"`` when the interval lies above 0, ``"fell"`` below, else ``"did not change detectably"``."""
    return "rose" if change.above(0) else "fell" if change.below(0) else "did not change detectably"


def early_late_change(df: pd.DataFrame, threshold: float = 0.5, alpha: float = DEFAULT_ALPHA,
                      n_months: int = 12, *, n_resamples: int = 2000, seed: int = 0) -> EarlyLateChange:
    """The share of tweets flagged and the share of images above ``threshold`` in the last
    ``n_months`` months minus the first (:func:`twigma.analysis.overview.early_late_months`, as
    :func:`early_late_nsfw` pools them), each with a ``1 - alpha`` percentile interval from one
    tweet bootstrap (:func:`twigma.analysis.inference.tweet_bootstrap_sums`; a tweet lies in one
    month). The flag's share is over tweets (a tweet counts as flagged when any of its images
    with a known flag is), the detector's over images."""
    month = month_of(df["created_at"])
    early, late = early_late_months(pd.Series(month.unique()).dropna(), n_months)
    flag = df["possibly_sensitive"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    score = df["nsfw_score"].to_numpy(dtype=float)
    cols = []
    for months in (early, late):
        inside = month.isin(months).to_numpy()
        cols += [inside & np.isfinite(flag), inside & (np.nan_to_num(flag) > 0),
                 inside & np.isfinite(score), inside & (np.nan_to_num(score) > threshold)]
    sums = tweet_sums(np.column_stack(cols).astype(float), df["id"])
    sums[:, [0, 1, 4, 5]] = sums[:, [0, 1, 4, 5]] > 0  # the flag per tweet: known, and flagged on any image

    def diff(first: int):
        def stat(t):
            with np.errstate(invalid="ignore", divide="ignore"):
                return t[..., first + 5] / t[..., first + 4] - t[..., first + 1] / t[..., first]
        return stat

    kw = {"n_resamples": n_resamples, "seed": seed}
    f, c = tweet_bootstrap_sums(sums, diff(0), alpha, **kw), tweet_bootstrap_sums(sums, diff(2), alpha, **kw)
    return EarlyLateChange(f, c, change_word(f), change_word(c))


def early_late_nsfw(by_month: pd.DataFrame, threshold: float = 0.5, n_months: int = 12) -> pd.DataFrame:
    """:func:`nsfw_by_month` pooled over the first and the last ``n_months`` months
    (:func:`twigma.analysis.overview.early_late`): ``share_tweets_flagged`` over the tweets with a
    known flag (the flag's unit) and the detector's share over the images with a known score."""
    from twigma.analysis.overview import early_late

    return early_late(by_month, {"share_tweets_flagged": "n_tweets_flag_known",
                                 _score_column(threshold): "n_score_known"}, n_months)


def score_column(threshold: float) -> str:
    """The name of the detector-share column for ``threshold``: ``share_nsfw_gt_0_5`` for 0.5."""
    return _score_column(threshold)


@dataclass(frozen=True)
class ClusterContrast:
    """What notebook 04 says about the clusters (:func:`cluster_contrast`)."""

    mostly: pd.DataFrame  # the rows of the mostly-NSFW clusters
    n_rest: int  # the other clusters
    rest_score_min: float = float("nan")  # over the other clusters: range of the detector's share
    rest_score_max: float = float("nan")
    rest_flag_min: float = float("nan")  # and of the flag's
    rest_flag_max: float = float("nan")
    flag_spread: bool = False  # the flag's mean share over them is more than spread_factor times the detector's
    spread_factor: float = 3.0


def cluster_contrast(by_cluster: pd.DataFrame, threshold: float = 0.5, spread_factor: float = 3.0) -> ClusterContrast:
    """From :func:`nsfw_by_cluster`: the mostly-NSFW clusters, and over the other clusters the
    range of the detector's share and of the flag's, and ``flag_spread``: True when the flag's
    mean share over them is more than ``spread_factor`` times the detector's (the flag is spread
    over all clusters, the detector concentrates on few)."""
    col = _score_column(threshold)
    rest = by_cluster[~by_cluster["mostly_nsfw"]]
    mostly = by_cluster[by_cluster["mostly_nsfw"]]
    if not len(rest):
        return ClusterContrast(mostly, 0, spread_factor=float(spread_factor))
    return ClusterContrast(
        mostly, int(len(rest)), float(rest[col].min()), float(rest[col].max()),
        float(rest["share_possibly_sensitive"].min()), float(rest["share_possibly_sensitive"].max()),
        bool(rest["share_possibly_sensitive"].mean() > spread_factor * rest[col].mean()), float(spread_factor))
