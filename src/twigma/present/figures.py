"""The figures of the theme tracker and of the specification curve, and the one way a figure is saved.

- :func:`save_figure`: a figure as PNG and PDF with its provenance in the files' metadata and, on
  synthetic data, the red mark; :meth:`twigma.present.outputs.Outputs.figure` and
  :func:`write_track` both call it.
- :func:`track_figure`, :func:`write_track`, :func:`track_paths`, :func:`stored_cluster_names`:
  what ``twigma track`` (``make track``) and notebook 10 show of a :class:`twigma.analysis.track.Tracked`.
- :func:`robustness_curve`: one claim's specification curve (notebook 12).
- :func:`direction_text`: a trend's call in words ("not significant at alpha 0.01", never "flat").

The numbers drawn are computed in :mod:`twigma.analysis`; nothing here computes a statistic.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from twigma.files import spreadsheet_safe
from twigma.paths import RunLayout

FIGURE_FORMATS = ("png", "pdf")


def save_figure(fig: plt.Figure, stem: str | os.PathLike, *, source: str, name: str, record: dict | None,
                synthetic: bool) -> list[Path]:
    """Write ``fig`` to ``<stem>.png`` and ``<stem>.pdf``, each atomically.

    ``source`` (the notebook or command that made it), ``name`` and the run's provenance
    ``record`` go into the files' metadata (:func:`twigma.run.provenance.figure_metadata`); a
    figure made from ``synthetic`` data is marked first (:func:`twigma.present.plots.mark_synthetic`).
    Returns the paths written.
    """
    from twigma.files import atomic_write
    from twigma.present.plots import mark_synthetic
    from twigma.run import provenance

    if synthetic:
        mark_synthetic(fig)
    stem = Path(stem)
    written = []
    for ext in FIGURE_FORMATS:
        meta = provenance.figure_metadata(ext, source, name, record)
        written.append(atomic_write(stem.with_name(f"{stem.name}.{ext}"),
                                    lambda tmp, e=ext, m=meta: fig.savefig(tmp, format=e, metadata=m)))  # type: ignore[misc]  # mypy infers no lambda with defaults
    return written


def direction_text(direction: str, alpha: float) -> str:
    """A trend's ``direction`` (up, down, flat) in words: ``"rising at alpha 0.01"``, ``"falling
    at alpha 0.01"``, or ``"not significant at alpha 0.01"`` (a slope whose p-value is not below
    alpha has not been shown to be zero: it is never called flat)."""
    from twigma.analysis.claims import direction_words

    if direction not in ("up", "down"):
        return direction_words("flat", alpha)  # the ledger's words for it (notebook 03)
    return f"{'rising' if direction == 'up' else 'falling'} at alpha {alpha:g}"


# ------------------------------------------------------------------------------- track ----

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


# ------------------------------------------------------------------------------- robustness ---

def _threshold_axis(ax, x, est, thr, holds_when: str) -> None:
    """The decision threshold on one panel of a specification curve, and limits that hold it and every estimate."""
    import textwrap

    finite = np.isfinite(thr)
    if finite.any():
        if np.unique(thr[finite]).size == 1:
            ax.axhline(thr[finite][0], color="0.2", lw=1, ls="--", zorder=1,
                       label=f"decision threshold {thr[finite][0]:g} (the claim needs the estimate {holds_when} it)")
        else:
            ax.scatter(x[finite], thr[finite], marker="_", s=160, color="0.2", zorder=2,
                       label=f"each specification's decision threshold (the estimate must be {holds_when} it)")
    values = np.concatenate([est[np.isfinite(est)], thr[finite]])
    if len(values):
        lo, hi = float(values.min()), float(values.max())
        pad = max(0.08 * (hi - lo), 0.05 * max(abs(lo), abs(hi)), 1e-3)
        ax.set_ylim(lo - pad, hi + pad)
    ax.yaxis.get_label().set_text(textwrap.fill(ax.get_ylabel(), 38))


def robustness_curve(table: pd.DataFrame, claim: str) -> plt.Figure:
    """Specification curve of one claim (Simonsohn, Simmons and Nelson 2020): the estimate under
    every specification, sorted, marked by whether the claim holds, with the decision threshold it
    is compared with on axes that include it (top; one panel per statistic where specifications
    decide on different ones, as C2's Mann-Kendall tau and log-linear slope), and the choices each
    specification made (bottom: one row per choice value, a mark where the specification used it).
    Specifications a notebook rejects are drawn hollow and grey (not counted); those identical in
    effect to another are drawn once (the title says how many were merged).

    ``table`` is ``results/robustness.csv`` (:func:`twigma.run.grid_runs.collect`).
    """
    from matplotlib.ticker import MaxNLocator

    from twigma.analysis.robustness.choices import value_text
    from twigma.analysis.robustness.grid import GROUPS
    from twigma.analysis.robustness.text import range_words

    rows = table[table["claim"] == claim]
    status = rows["status"] if "status" in rows else pd.Series("counted", index=rows.index)
    n_merged = rows.loc[status.eq("merged"), "spec_id"].nunique()
    part = rows[~status.eq("merged")].copy()
    part["_status"] = status[part.index]
    is_default = part["default"].astype(bool)
    kinds = list(dict.fromkeys([*part.loc[is_default, "estimate_is"], *part["estimate_is"]]))
    part["_kind"] = part["estimate_is"].map({k: i for i, k in enumerate(kinds)})
    part = part.sort_values(["_kind", "estimate"], kind="stable").reset_index(drop=True)
    group = GROUPS[part["group"].iloc[0]]
    shown = {c: part[c].map(value_text) for c in group.choices if c in part}
    marks = [(c, v) for c, vals in shown.items() if vals.nunique() > 1 for v in vals.unique()]
    x = np.arange(len(part))
    holds = part["holds"].eq("yes").to_numpy()
    counted = part["_status"].eq("counted").to_numpy()
    fig, axes = plt.subplots(len(kinds) + 1, 1, figsize=(max(6.5, 0.18 * len(part) + 3), 2.2 + 2.0 * len(kinds)
                                                         + 0.22 * len(marks)),
                             sharex=True, height_ratios=[2.2] * len(kinds) + [max(1, 0.22 * len(marks))])
    est = part["estimate"].to_numpy(float)
    thr = pd.to_numeric(part.get("decision_threshold", pd.Series(np.nan, index=part.index)), errors="coerce").to_numpy(float)
    for i, (ax, what) in enumerate(zip(axes[:-1], kinds)):
        mine = part["_kind"].eq(i).to_numpy()
        ax.scatter(x[mine & counted & holds], est[mine & counted & holds], color="C2", s=18, label="claim holds", zorder=3)
        ax.scatter(x[mine & counted & ~holds], est[mine & counted & ~holds], color="C3", s=18, marker="x",
                   label="claim fails", zorder=3)
        if (mine & ~counted).any():
            ax.scatter(x[mine & ~counted], est[mine & ~counted], s=22, marker="D", facecolors="none",
                       edgecolors="0.5", label="rejected by a notebook: not counted", zorder=3)
        dflt = mine & part["default"].astype(bool).to_numpy()
        ax.scatter(x[dflt], est[dflt], s=90, facecolors="none", edgecolors="black", label="notebooks' default", zorder=4)
        ax.set_ylabel(what, fontsize=7)
        when = part.loc[mine, "holds_when"].dropna()
        _threshold_axis(ax, x[mine], est[mine], thr[mine], str(when.iloc[0]) if len(when) else "beyond")
        ax.legend(fontsize=6, loc="best")
    k, n = int((holds & counted).sum()), int(counted.sum())
    first = part["_kind"].eq(0).to_numpy() & counted
    spread = range_words(float(np.nanmin(est[first])) if first.any() else np.nan,
                         float(np.nanmax(est[first])) if first.any() else np.nan, np.nan)
    notes = [f"{int((~counted).sum())} rejected, not counted" if (~counted).any() else "",
             f"{n_merged} identical in effect, merged" if n_merged else ""]
    extra = "; ".join(filter(None, notes))
    axes[0].set_title(f"{claim}: the claim holds in {k} of {n} specifications ({k / max(n, 1):.0%}); {spread}"
                      + (f" in the top panel ({len(kinds)} statistics, one panel each)" if len(kinds) > 1 else "") + (f"\n{extra}" if extra else ""), fontsize=9)
    bottom = axes[-1]
    for i, (c, v) in enumerate(marks):
        used = shown[c].eq(v).to_numpy()
        colours = np.where(~counted[used], "0.6", np.where(holds[used], "C2", "C3"))
        bottom.scatter(x[used], np.full(used.sum(), i), s=10, color=colours, marker="s")
    bottom.set_yticks(range(len(marks)), [f"{c} = {v}" for c, v in marks], fontsize=7)
    bottom.set_ylim(len(marks) - 0.5, -0.5)
    bottom.set_xlabel("specification, sorted by the estimate")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.grid(False)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------- subjects ---

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
