"""Tests of twigma.present.plots: one plotting style for the compendium, and the figures that need more than a seaborn call."""
from __future__ import annotations

import pytest
from matplotlib.colors import to_hex

from twigma.present import plots


def test_cluster_colours_stay_for_ten_clusters_and_exist_for_any_number():
    ten = plots.cluster_palette(10)
    assert {k: to_hex(c) for k, c in plots.cluster_colors(range(1, 11)).items()} == \
        {k: to_hex(ten[k - 1]) for k in range(1, 11)}
    assert {k: to_hex(c) for k, c in plots.cluster_colors([8, 3]).items()} == {3: to_hex(ten[2]), 8: to_hex(ten[7])}
    twelve = plots.cluster_colors(range(12))
    assert len({to_hex(c) for c in twelve.values()}) == 12


@pytest.mark.parametrize("n, shape", [(10, (2, 5)), (6, (2, 5)), (3, (1, 3)), (12, (3, 5))])
def test_panel_grid_holds_one_panel_per_cluster(n, shape):
    import matplotlib.pyplot as plt

    fig, axes = plots.panel_grid(n, sharex=True)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == n and visible == axes and len(fig.axes) == shape[0] * shape[1]
    assert tuple(fig.get_size_inches()) == pytest.approx((2.6 * shape[1], 3.0 * shape[0]))
    plt.close(fig)


def test_the_synthetic_mark_needs_no_raster_canvas():
    """A figure drawn by the PDF or SVG backend (MPLBACKEND=pdf) has no canvas.get_renderer()."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    from twigma.present.plots import SYNTHETIC_MARK, mark_synthetic

    fig, ax = plt.subplots()
    ax.set_xlabel("month")
    FigureCanvasSVG(fig)
    mark_synthetic(fig)
    assert [t.get_text() for t in fig.texts] == [SYNTHETIC_MARK]
    plt.close(fig)
