"""What ``twigma track`` (``make track``) and notebook 10 show of a :class:`twigma.analysis.track.Tracked`.

- :func:`track_figure`: the share of matching images per month with its trend, and by cluster;
- :func:`write_track`, :func:`track_paths`: its tables and figure under an output root;
- :func:`stored_cluster_names`: the cluster names notebook 02 wrote, when made from this release.

The numbers drawn are computed in :mod:`twigma.analysis.track`; nothing here computes a statistic.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from twigma.files import spreadsheet_safe
from twigma.paths import RunLayout
from twigma.present.figure_files import save_figure
from twigma.present.narrative import direction_text


def stored_cluster_names(results_dir: str | os.PathLike | None, release: pd.DataFrame) -> pd.Series | None:
    """Cluster names from notebook 02's ``cluster_names.csv`` in ``results_dir`` when it was made
    from this release (the same cluster sizes), else None. They are never recomputed here (that
    takes minutes at scale; a notebook run alone computes them, :mod:`twigma.present.notebook`)."""
    from twigma.analysis.text import names_from_table

    if results_dir is None:
        return None
    path = Path(results_dir) / "cluster_names.csv"
    return names_from_table(pd.read_csv(path) if path.exists() else None, release)


def _monthly_panel(ax: plt.Axes, tracked) -> None:
    from twigma.analysis.inference import level_text
    from twigma.analysis.themes import fitted_shares
    from twigma.present.plots import monthly_axis

    mon, tr = tracked.monthly, tracked.trend.iloc[0]
    x = np.arange(len(mon))
    sizes = 8 + 60 * np.sqrt(mon["n_images"] / mon["n_images"].max())
    fit = mon["n_images"] >= tracked.min_images_per_month
    ax.scatter(x[fit], 100 * mon["share"][fit], s=sizes[fit], color="C0", alpha=0.8,
               label="share of the month's images")
    if (~fit).any():
        ax.scatter(x[~fit], 100 * mon["share"][~fit], s=sizes[~fit], facecolors="none", edgecolors="C0",
                   label=f"months with < {tracked.min_images_per_month} images (not fitted)")
    if np.isfinite(tr["slope"]):
        counts = mon[fit].set_index("month")[["n_matching", "n_images", "t_years"]].rename(
            columns={"n_matching": "match"})
        band = fitted_shares(pd.DataFrame({"cluster": ["match"]}), counts, alpha=tracked.alpha)
        xf = x[fit.to_numpy()]
        ax.plot(xf, 100 * band["fitted"], color="C3", lw=1.5,
                label=f"trend: odds x{tr['odds_ratio_per_year']:.2f}/yr, p = {tr['p_value']:.2g} "
                      f"({direction_text(tr['direction'], tracked.alpha)})")
        ax.fill_between(xf, 100 * band["ci_low"], 100 * band["ci_high"], color="C3", alpha=0.15, lw=0,
                        label=f"{level_text(tracked.alpha)} band of the trend")
    else:
        ax.plot([], [], " ", label=f"no trend: {tr['note']}")
    ax.set_ylabel("matching images (% of the month's)")
    ax.set_title(f"Captions matching {tracked.query.text!r}: {tr['n_matching']:,} of {tr['n_images']:,} images")
    monthly_axis(ax, mon["month"], every=max(1, len(mon) // 12))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="best")


def _cluster_panel(ax: plt.Axes, tracked, names: pd.Series | None) -> None:
    from twigma.present.plots import cluster_label, cluster_palette

    cl, share = tracked.clusters, tracked.trend["share"].iloc[0]
    if names is None and "name" in cl:
        names = cl.set_index("cluster")["name"]
    colors = cluster_palette(max(10, int(cl["cluster"].max())))
    ax.barh(np.arange(len(cl)), 100 * cl["share"], color=[colors[int(c) - 1] for c in cl["cluster"]])
    ax.axvline(100 * share, color="k", ls="--", lw=1, label=f"all images: {100 * share:.2g}%")
    ax.set_yticks(np.arange(len(cl)))
    ax.set_yticklabels([cluster_label(int(c), names, width=28) for c in cl["cluster"]], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("matching images (% of the cluster's)")
    ax.set_title("By cluster")
    ax.legend(fontsize=8, loc="lower right")


def track_figure(tracked, names: pd.Series | None = None) -> plt.Figure:
    """Share of matching images per month (points sized by the month's images, the fitted trend and
    its ``1 - alpha`` band over the fitted months, alpha the tracker's) and by cluster (bars, the overall share as a line).

    ``tracked`` is a :class:`twigma.analysis.track.Tracked`; ``names`` labels the clusters (by
    default the ``name`` column of ``tracked.clusters`` when there is one).
    """
    from twigma.present.plots import set_style

    set_style()
    fig, (ax, axc) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2.2, 1]})
    _monthly_panel(ax, tracked)
    _cluster_panel(axc, tracked, names)
    fig.tight_layout()
    return fig


def track_paths(out: str | os.PathLike | None, query_slug: str) -> dict[str, Path]:
    """Where :func:`write_track` puts each table and the figure under the output root ``out``
    (``results/track_<slug>*.csv``, ``figures/track_<slug>.png`` and ``.pdf``)."""
    run = RunLayout.of(out)
    return {"monthly": run.table(f"track_{query_slug}"), "trend": run.table(f"track_{query_slug}_trend"),
            "clusters": run.table(f"track_{query_slug}_by_cluster"),
            "engagement": run.table(f"track_{query_slug}_engagement"),
            "png": run.figure(f"track_{query_slug}", "png"), "pdf": run.figure(f"track_{query_slug}", "pdf")}


def write_track(tracked, out: str | os.PathLike | None, *, synthetic: bool, release: str = "") -> list[Path]:
    """Write the tables and the figure of ``tracked`` under the output root ``out`` (see
    :func:`track_paths`); the figure is marked when the release is synthetic. Everything is
    computed and drawn before the first file is written, and each file is written atomically.

    Returns the paths written.
    """
    from twigma.files import atomic_write

    where = track_paths(out, tracked.slug)
    fig = track_figure(tracked)
    record = {"parameters": {"query": tracked.query.text, "regex": tracked.query.regex,
                             "whole_words": tracked.query.whole_words, "alpha": tracked.alpha,
                             "min_images_per_month": tracked.min_images_per_month},
              "release": {"path": str(release), "rows": int(tracked.trend["n_images"].iloc[0])}}
    tables = {"monthly": tracked.monthly[["month", "n_images", "n_matching", "share"]], "trend": tracked.trend,
              "clusters": tracked.clusters, "engagement": tracked.engagement}
    written = []
    try:
        for key, table in tables.items():
            safe = spreadsheet_safe(table)  # captions that a spreadsheet would read as formulas, quoted
            written.append(atomic_write(where[key], lambda tmp, t=safe: t.to_csv(tmp, index=False)))  # type: ignore[misc]  # mypy infers no lambda with defaults
        written += save_figure(fig, where["png"].with_suffix(""), source="twigma track", name=tracked.slug,
                               record=record, synthetic=synthetic)
    finally:
        plt.close(fig)
    return written
