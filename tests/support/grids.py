"""Robustness grid files, a release with a planted claim, and a grid run on it."""
from __future__ import annotations

import numpy as np

from twigma.analysis import robustness as rb, themes
from twigma.run import grid_runs

NSFW_GRID = """
nsfw:
  measure: [detector, twitter-flag]
  threshold: [0.5, 0.3, 0.7]
  mostly: [1/2, 2/3]
"""


def write(tmp_path, text, name="grid.yml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _planted(raw, tmp_path, nsfw_score):
    """Clusters 5 and 7: detector score ``nsfw_score`` and flagged; the others 0.02 and not flagged."""
    from twigma.synthetic.release import write_release

    df = raw.copy()
    hot = df["label_10_cluster"].isin([5, 7])
    df["nsfw_score"] = np.where(hot, nsfw_score, 0.02)
    df["possibly_sensitive"] = hot
    return write_release(df, tmp_path / f"planted_{nsfw_score}.csv")


def _run_grid(grid_path, release, out):
    grid = grid_runs.read_grid(grid_path)
    for s in rb.specifications(grid, images=False):
        grid_runs.run_spec(s.id, grid_path=grid_path, release=str(release), out=out)
    return grid_runs.collect(grid_path=grid_path, release=str(release), out=out)


THEMES_GRID = """
themes:
  model: [quasi-binomial, logit-clustered]
  alpha: [0.01]
  min_images_per_month: [20, {same}]
  window: [all, from-2020]
"""


def themes_grid(tmp_path, release) -> tuple:
    """THEMES_GRID with a second cut-off that keeps the same months as 20 on ``release``."""
    n = themes.monthly_cluster_counts(release)["n_images"]
    same = int(n[n < 20].max()) + 1
    assert same < 20 and n.between(same, 19).sum() == 0
    return write(tmp_path, THEMES_GRID.format(same=same)), same
