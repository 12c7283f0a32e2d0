"""NSFW content by cluster and month: Twitter's flag and the CLIP-based detector (claim C6)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from twigma.analysis.overview import month_of, tweet_codes


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


def agreement(flag: pd.Series, score: pd.Series, threshold: float = 0.5) -> dict:
    """Agreement of Twitter's flag with "detector score > threshold" on images where both are known.

    Returns n, Cohen's kappa (scikit-learn), raw agreement and the 2x2 counts
    (``both``, ``flag_only``, ``score_only``, ``neither``).
    """
    both, flag_only, score_only, neither = _cells(flag, score, threshold, np.zeros(len(flag), dtype=np.int64), 1)[0]
    n = both + flag_only + score_only + neither
    if n == 0:
        return {"n": 0, "kappa": float("nan"), "agreement": float("nan"),
                "both": 0, "flag_only": 0, "score_only": 0, "neither": 0}
    return {"n": int(n), "kappa": kappa_2x2(both, flag_only, score_only, neither),
            "agreement": float((both + neither) / n), "both": int(both), "flag_only": int(flag_only),
            "score_only": int(score_only), "neither": int(neither)}


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


#: What decides whether an image counts as NSFW in :func:`nsfw_by_cluster`.
MEASURES = ("detector", "twitter-flag")


def nsfw_by_cluster(df: pd.DataFrame, threshold: float = 0.5, mostly: float = 0.5,
                    measure: str = "detector") -> pd.DataFrame:
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

    Returns
    -------
    DataFrame with columns ``cluster``, ``n_images``, ``share_possibly_sensitive``,
    ``share_nsfw_gt_0_5`` (named after ``threshold``), ``mean_nsfw_score``, ``kappa`` (flag vs
    score within the cluster) and ``mostly_nsfw``; ``attrs`` hold ``measure``, ``threshold`` and
    ``mostly`` (read by :func:`twigma.analysis.claims.check_c6`).
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    out = nsfw_table(df, df["label_10_cluster"], threshold).rename_axis("cluster").reset_index()
    code = pd.Index(out["cluster"]).get_indexer(df["label_10_cluster"])  # every image's cluster is in out
    cells = _cells(df["possibly_sensitive"], df["nsfw_score"], threshold, code, len(out))
    out["kappa"] = [kappa_2x2(*row) for row in cells]  # flag vs score within each cluster
    share = out["share_possibly_sensitive"] if measure == "twitter-flag" else out[_score_column(threshold)]
    out["mostly_nsfw"] = share > mostly
    out.attrs.update({"measure": measure, "threshold": float(threshold), "mostly": float(mostly)})
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
    # one row per (group, tweet), by integer codes and bincount (a groupby over the strings took
    # most of notebook 04's time at 8 million images)
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
    """Wilson score interval of a binomial share (arrays of ``successes`` out of ``n``); NaN where n = 0."""
    from scipy import stats

    k, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def overall_shares(df: pd.DataFrame, threshold: float = 0.5) -> dict:
    """Over all images: ``flagged`` (share flagged by Twitter, among known flags) and ``above``
    (share with detector score > ``threshold``, among known scores)."""
    flag = df["possibly_sensitive"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    score = df["nsfw_score"].to_numpy(dtype=float)
    return {"flagged": float(np.nanmean(flag)), "above": float(np.mean(score[np.isfinite(score)] > threshold))}


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


def kappa_summary(overall: dict, by_cluster: pd.DataFrame) -> dict:
    """The overall kappa against the kappas within clusters (from :func:`agreement` and
    :func:`nsfw_by_cluster`): ``kappa``, ``band`` (:func:`landis_koch`), ``within_min`` and
    ``within_max`` (over clusters with a defined kappa), ``within_band`` (the band of
    ``within_max``) and ``between_clusters``: True when the overall kappa's band is above every
    within-cluster band, i.e. the agreement comes from both measures concentrating in the same
    clusters rather than from agreeing on images within a cluster."""
    within = by_cluster["kappa"].to_numpy(dtype=float)
    within = within[np.isfinite(within)]
    k = float(overall["kappa"])
    words = [w for _, w in LANDIS_KOCH]
    band = landis_koch(k)
    top = float(within.max()) if len(within) else float("nan")
    return {"kappa": k, "band": band, "within_min": float(within.min()) if len(within) else float("nan"),
            "within_max": top, "within_band": landis_koch(top), "n_within": int(len(within)),
            "between_clusters": bool(len(within) and band != "undefined"
                                     and words.index(band) > words.index(landis_koch(top)))}


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


def cluster_contrast(by_cluster: pd.DataFrame, threshold: float = 0.5) -> dict:
    """From :func:`nsfw_by_cluster`: ``mostly`` (the rows of the mostly-NSFW clusters), and over
    the other clusters the range of the detector's share (``rest_score_min``/``_max``) and of
    the flag's (``rest_flag_min``/``_max``), and ``flag_spread``: True when the flag's mean share
    over them is more than three times the detector's (the flag is spread over all clusters,
    the detector concentrates on few)."""
    col = _score_column(threshold)
    rest = by_cluster[~by_cluster["mostly_nsfw"]]
    out = {"mostly": by_cluster[by_cluster["mostly_nsfw"]], "n_rest": int(len(rest))}
    if len(rest):
        out.update({"rest_score_min": float(rest[col].min()), "rest_score_max": float(rest[col].max()),
                    "rest_flag_min": float(rest["share_possibly_sensitive"].min()),
                    "rest_flag_max": float(rest["share_possibly_sensitive"].max()),
                    "flag_spread": bool(rest["share_possibly_sensitive"].mean() > 3 * rest[col].mean())})
    return out
