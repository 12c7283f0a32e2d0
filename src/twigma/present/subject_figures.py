"""The two figures of notebook 11: :func:`subject_trends_figure` (every caption subject's trend) and
:func:`likes_vs_trend_figure` (the trends against the subjects' likes).

The numbers drawn are computed in :mod:`twigma.analysis.subjects`; nothing here computes a statistic.
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

#: Colour of each trend call in notebook 11's figures.
CALL_COLOURS = {"up": "C2", "down": "C3", "flat": "0.6"}


def subject_trends_figure(subjects: pd.DataFrame, fdr: float) -> plt.Figure:
    """Every subject's trend as an odds ratio per year with its interval at the table's ``ci_level``
    (FCR-adjusted: :func:`twigma.analysis.subjects.interval_level`), fastest riser at the top, coloured
    by its Benjamini-Hochberg call at ``fdr`` (:func:`twigma.analysis.subjects.subject_trends`); points
    sized by the subject's share. A grey point's interval includes 1, a coloured one's excludes it."""
    fig, ax = plt.subplots(figsize=(7.5, 0.22 * len(subjects) + 1.4))
    ys = np.arange(len(subjects))[::-1]
    odds = np.exp(subjects["slope"])
    colours = [CALL_COLOURS[d] for d in subjects["direction"]]
    ax.grid(axis="y", visible=False)  # grid lines would hide the intervals, drawn as lines too
    ax.hlines(ys, np.exp(subjects["ci_low"]), np.exp(subjects["ci_high"]), colors=colours, lw=1.6, alpha=0.75)
    ax.scatter(odds, ys, c=colours, s=12 + 60 * np.sqrt(subjects["share"] / subjects["share"].max()), zorder=3)
    ax.axvline(1, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(mpl.ticker.FixedLocator([2.0 ** k for k in range(-6, 7)]))  # halvings, doublings
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"x{v:g}"))
    ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    ax.set_yticks(ys, subjects["subject"], fontsize=7)
    level = f"{100 * float(subjects['ci_level'].iloc[0]):.3g}%" if len(subjects) else ""
    ax.set(xlabel=f"odds ratio per year of an image's caption naming the subject (log scale)\n{level} intervals: "
                  f"false-coverage-rate adjusted for BH at FDR {fdr:g} (Benjamini & Yekutieli 2005)",
           title=f"{len(subjects)} caption subjects: trend of their monthly share")
    labels = {"up": f"rising (selected by BH at FDR {fdr:g})", "down": f"falling (selected by BH at FDR {fdr:g})",
              "flat": f"not selected at FDR {fdr:g} (interval includes 1)"}
    for d, c in CALL_COLOURS.items():
        ax.scatter([], [], color=c, label=labels[d])
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def likes_vs_trend_figure(subjects: pd.DataFrame, relation, n_labels: int = 5) -> plt.Figure:
    """Each subject's trend (log-odds per year) against the likes of its images relative to
    same-month images (each tweet weighing 1), the ``n_labels`` fastest risers and fallers named; the
    title gives Spearman's rho with its bootstrap interval
    (:class:`twigma.analysis.subjects.LikesRelation`), a description of overlapping subjects."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.scatter(subjects["slope"], subjects["likes_diff"], c=[CALL_COLOURS[d] for d in subjects["direction"]],
               s=12 + 120 * np.sqrt(subjects["share"] / subjects["share"].max()), alpha=0.85)
    for r in pd.concat([subjects.head(n_labels), subjects.tail(n_labels)]).itertuples():
        ax.annotate(r.subject, (r.slope, r.likes_diff), fontsize=7, xytext=(3, 3), textcoords="offset points")  # type: ignore[arg-type]  # pandas-stubs: a row field is any scalar
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel="trend of the subject's share (log-odds per year)",
           ylabel="mean log(1 + likes), each tweet once:\nsubject minus same-month others",
           title=f"Rising subjects and likes (descriptive; subjects overlap): Spearman rho = {relation.rho:.2f}, "
                 f"{relation.level_text} bootstrap interval {relation.rho_low:.2f} to {relation.rho_high:.2f}, "
                 f"{relation.n} subjects")
    ax.title.set_fontsize(9)
    fig.tight_layout()
    return fig
