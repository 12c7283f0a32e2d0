"""NSFW content by cluster and month: Twitter's flag and the CLIP-based detector (claim C6)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from twigma.analysis.overview import month_of


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
    ok = flag.notna().to_numpy() & score.notna().to_numpy()
    a = flag.to_numpy()[ok].astype(bool)
    b = score.to_numpy()[ok] > threshold
    if ok.sum() == 0:
        return {"n": 0, "kappa": float("nan"), "agreement": float("nan"),
                "both": 0, "flag_only": 0, "score_only": 0, "neither": 0}
    kappa = cohen_kappa_score(a, b) if len(np.unique(np.r_[a, b])) > 1 else float("nan")
    return {"n": int(ok.sum()), "kappa": float(kappa), "agreement": float(np.mean(a == b)),
            "both": int(np.sum(a & b)), "flag_only": int(np.sum(a & ~b)),
            "score_only": int(np.sum(~a & b)), "neither": int(np.sum(~a & ~b))}


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
    out["kappa"] = [agreement(df.loc[df["label_10_cluster"] == k, "possibly_sensitive"],
                              df.loc[df["label_10_cluster"] == k, "nsfw_score"], threshold)["kappa"]
                    for k in out["cluster"]]
    share = out["share_possibly_sensitive"] if measure == "twitter-flag" else out[_score_column(threshold)]
    out["mostly_nsfw"] = share > mostly
    out.attrs.update({"measure": measure, "threshold": float(threshold), "mostly": float(mostly)})
    return out


def nsfw_by_month(df: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """NSFW measures per calendar month (columns as :func:`nsfw_table`, plus ``month``)."""
    return nsfw_table(df, month_of(df["created_at"]), threshold).rename_axis("month").reset_index()


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
