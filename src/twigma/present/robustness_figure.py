"""The specification curve of one claim (notebook 12): :func:`robustness_curve`.

The numbers drawn are computed in :mod:`twigma.analysis.robustness`; nothing here computes a statistic.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


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
