"""Tests of twigma.present.robustness_figure: one claim's specification curve."""
from __future__ import annotations

from support.grids import themes_grid, write

from twigma.present.robustness_figure import robustness_curve
from twigma.run import grid_runs


def test_the_curve_draws_the_decision_threshold_on_axes_that_hold_it(tmp_path, small_release, small_release_file):
    table, _ = grid_runs.run_small(themes_grid(tmp_path, small_release)[0], str(small_release_file))
    fig = robustness_curve(table, "C4")
    top = fig.axes[0]
    lines = [ln for ln in top.get_lines() if ln.get_linestyle() == "--"]
    assert len(lines) == 1 and lines[0].get_ydata()[0] == 0  # C4 needs the weakest slope below 0
    lo, hi = top.get_ylim()
    shown = table.loc[(table["claim"] == "C4") & (table["status"] != "merged"), "estimate"]
    assert lo < shown.min() and hi > 0 and "decision threshold 0" in lines[0].get_label()
    assert "1 rejected, not counted" in top.get_title() and "2 identical in effect, merged" in top.get_title()
    grid = write(tmp_path, "growth:\n  test: [mann-kendall, log-linear]\n  alpha: [0.01]\n  window: [all]\n"
                           "  count: [tweets]\n", "g.yml")
    growth, _ = grid_runs.run_small(grid, str(small_release_file))
    assert len(robustness_curve(growth, "C2").axes) == 3  # one panel per statistic, then the choices
