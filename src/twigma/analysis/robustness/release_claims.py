"""The claims the release alone decides (C2-C6, C11), one runner per group of the grid.

Each ``run_*`` re-checks its group's claims under one specification's values ``p`` by calling the
analysis functions and the claim checks (:mod:`twigma.analysis.claims`) that the notebooks call, and
returns one :func:`~twigma.analysis.robustness.inputs.claim_row` per claim: the estimate is the
statistic the claim is decided on, with its decision threshold. Each ``effective_*`` gives the
values as they act on this release (a window that leaves no month out is ``all``), so that
specifications identical in effect are counted once.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from twigma.analysis import paper
from twigma.analysis.robustness.inputs import (
    Data,
    claim_row,
    effective_window,
    empty_column,
    in_window,
    shared,
    untestable_row,
)

#: The clusters the paper says decline (C4) and rise (C5), as notebook 03's defaults (twigma.analysis.paper).
DECLINING = list(paper.DECLINING)
RISING = list(paper.RISING)
#: The words C3 looks for among the top caption words.
C3_WORDS = paper.PROMINENT_WORDS


def effective_windowed(p: dict, data: Data) -> dict:
    """``p`` with its window as it acts on the release."""
    return {**p, "window": effective_window(data.release["created_at"], p["window"])}


def run_growth(p: dict, data: Data) -> list[dict]:
    """C2, decided on Kendall's tau with the Hamed-Rao Mann-Kendall p (the notebooks' test) or, for
    the log-linear test, on the slope of log(monthly count) per year with its t-test p."""
    from twigma.analysis import claims, overview
    monthly = shared(data, ("monthly_counts", p["window"]), p["window"], overview.monthly_counts, ["id", "created_at"])
    trend = overview.growth_trend(monthly, "n_tweets" if p["count"] == "tweets" else "n_images")
    check = claims.check_c2(trend, alpha=p["alpha"], test=p["test"])
    if p["test"] == "mann-kendall":
        return [claim_row(check, trend.kendall_tau, "Kendall's tau of the monthly count against time "
                          "(Mann-Kendall test)", 0.0, "above", trend.p_value)]
    return [claim_row(check, np.log(trend.growth_per_year), "log-linear slope: change in ln(monthly count) "
                      "per year", 0.0, "above", trend.loglinear_p_value)]


def run_words(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, text
    stop = None if p["stopwords"] == "caption" else text.ENGLISH_STOP_WORDS
    counts = shared(data, ("term_counts", p["window"], p["stopwords"]), p["window"],
                    lambda df: text.term_counts(df["all_captions"], stopwords=stop).iloc[0], ["created_at", "all_captions"])
    top = text.top_words(None, n=p["top_n"], counts=counts)
    check = claims.check_c3(top, words=C3_WORDS)
    found = sum(w in set(top["word"]) for w in C3_WORDS)
    return [claim_row(check, found, f"how many of the {len(C3_WORDS)} words are among the top N",
                      len(C3_WORDS), "at least")]


def _theme_counts(p: dict, data: Data):
    from twigma.analysis import themes
    return shared(data, ("monthly_cluster_counts", p["window"]), p["window"], themes.monthly_cluster_counts,
                  ["created_at", "label_10_cluster"])


def effective_themes(p: dict, data: Data) -> dict:
    """The window as it acts, and ``min_images_per_month`` as the number of months it keeps (the kept
    months of two cut-offs are nested, so the same number means the same months)."""
    q = effective_windowed(p, data)
    counts = _theme_counts(p, data)
    return {**q, "min_images_per_month": int((counts["n_images"] >= p["min_images_per_month"]).sum())}


def run_themes(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, themes
    counts = _theme_counts(p, data)
    if (counts["n_images"] >= p["min_images_per_month"]).sum() < 3:
        raise ValueError(f"fewer than 3 months with at least {p['min_images_per_month']} images in window "
                         f"{p['window']!r}: lower that value of 'min_images_per_month' or drop the window in the "
                         "grid file (robustness.yml).")
    cols = ["id", "created_at", "label_10_cluster"]
    df = in_window(data.release, p["window"], cols) if p["model"] == "logit-clustered" else None  # its image rows
    trends = themes.theme_trends(df, alpha=p["alpha"], min_images_per_month=p["min_images_per_month"],
                                 model=p["model"], counts=counts)
    t = trends.set_index("cluster")
    rows = []
    for cid, ks, direction, pick, what, when in (("C4", DECLINING, "down", max, "weakest decline", "below"),
                                                 ("C5", RISING, "up", min, "weakest rise", "above")):
        check = claims.check_trends(trends, cid, ks, direction, alpha=p["alpha"])
        present = [k for k in ks if k in t.index]
        est = pick(t.loc[present, "slope"]) if present else float("nan")
        p_max = t.loc[present, "p_value"].max() if present else float("nan")
        rows.append(claim_row(check, est, f"{what}: slope of clusters {', '.join(map(str, ks))} in log-odds per "
                                          "year", 0.0, when, p_max))
    return rows


def run_shift(p: dict, data: Data) -> list[dict]:
    """C11 as notebook 03 decides it (:func:`twigma.analysis.theme_shift.theme_shift`); the estimate
    is the weaker of the two trends: the portrait share's slope and minus the nature share's."""
    from twigma.analysis import claims, theme_shift
    if (_theme_counts(p, data)["n_images"] >= p["min_images_per_month"]).sum() < 3:
        raise ValueError(f"fewer than 3 months with at least {p['min_images_per_month']} images in window "
                         f"{p['window']!r}: lower that value of 'min_images_per_month' or drop the window in the "
                         "grid file (robustness.yml).")
    df = in_window(data.release, p["window"], ["id", "created_at", "all_captions"])
    shift = theme_shift.theme_shift(df, alpha=p["alpha"], min_images_per_month=p["min_images_per_month"])
    check = claims.check_c11(shift)
    est = min(shift.portraits.slope, -shift.nature.slope)
    return [claim_row(check, est, "weaker trend: the portrait share's slope and minus the nature share's, in "
                                  "log-odds per year (tweets)", 0.0, "above",
                      max(shift.portraits.p_value, shift.nature.p_value))]


def run_nsfw(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, nsfw
    threshold = 0.5 if p["threshold"] is None else p["threshold"]
    needed = "possibly_sensitive" if p["measure"] == "twitter-flag" else "nsfw_score"
    if empty_column(data.release, needed):
        return [untestable_row("C6", needed, "clusters counted as mostly NSFW", paper.N_MOSTLY_NSFW, "equal")]
    table = nsfw.nsfw_by_cluster(data.release, threshold=threshold, mostly=float(Fraction(p["mostly"])),
                                 measure=p["measure"])
    check = claims.check_c6(table, score_column=nsfw.score_column(threshold))
    return [claim_row(check, int(table["mostly_nsfw"].sum()), "clusters counted as mostly NSFW",
                      paper.N_MOSTLY_NSFW, "equal")]
