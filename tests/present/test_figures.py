"""Tests of twigma.present.figures: the figures of the theme tracker and of the specification curve, and the one way a figure is saved."""
from __future__ import annotations

import pandas as pd
from support.grids import themes_grid, write

from twigma.analysis import track
from twigma.present import figures
from twigma.run import grid_runs


def test_the_curve_draws_the_decision_threshold_on_axes_that_hold_it(tmp_path, small_release, small_release_file):
    from twigma.present.figures import robustness_curve

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


def test_cluster_names_are_given_not_read(small_release, tmp_path):
    names = pd.Series({k: f"name {k}" for k in range(1, 11)})
    res = track.track(small_release, "portrait", names=names)
    assert res.clusters.set_index("cluster")["name"].to_dict() == names.to_dict()
    assert "name" not in track.track(small_release, "portrait").clusters  # nothing is read from disk
    # the reader the CLI uses: notebook 02's file only when it was made from this release
    sizes = small_release["label_10_cluster"].value_counts().sort_index()
    table = pd.DataFrame({"cluster": sizes.index, "name": [f"n{k}" for k in sizes.index], "n_images": sizes.values})
    table.to_csv(tmp_path / "cluster_names.csv", index=False)
    assert figures.stored_cluster_names(tmp_path, small_release).tolist() == table["name"].tolist()
    table.assign(n_images=table["n_images"] + 1).to_csv(tmp_path / "cluster_names.csv", index=False)
    assert figures.stored_cluster_names(tmp_path, small_release) is None  # another release's names
    assert figures.stored_cluster_names(tmp_path / "nothing", small_release) is None


def test_a_trend_not_significant_is_never_called_flat_in_words():
    assert figures.direction_text("flat", 0.01) == "not significant at alpha 0.01"
    assert figures.direction_text("up", 0.05) == "rising at alpha 0.05"
    assert figures.direction_text("down", 0.01) == "falling at alpha 0.01"
