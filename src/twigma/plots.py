"""One plotting style for the compendium, and the figures that need more than a seaborn call."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

SYNTHETIC_MARK = "synthetic sample data - not the paper's result"


def set_style() -> None:
    """The compendium's plotting style (seaborn's whitegrid, compact fonts)."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
                         "axes.titleweight": "bold", "figure.autolayout": False})


def cluster_palette(n: int = 10) -> list:
    """Ten distinguishable colours, cluster k gets entry k - 1."""
    return sns.color_palette("tab10", n)


def mark_synthetic(fig: plt.Figure, text: str = SYNTHETIC_MARK) -> None:
    """Stamp a figure as made from synthetic data: red text under everything already drawn
    (tick labels included), right-aligned, so it shows in every saved image."""
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())  # in inches
    width, height = fig.get_size_inches()
    fig.text(bbox.x1 / width, bbox.y0 / height - 0.01, text, ha="right", va="top", fontsize=8,
             color="#b00020", fontweight="bold", transform=fig.transFigure)


def categorical_density(ax: plt.Axes, x: np.ndarray, y: np.ndarray, labels: np.ndarray,
                        categories: list, colors: list, bins: int = 400, gamma: float = 0.5) -> dict:
    """Draw many labelled points as a density image (datashader-style categorical shading).

    Each bin of a ``bins`` x ``bins`` grid is coloured by the mix of its points' categories;
    its opacity grows with the log of its count. Legible for millions of points, and its cost
    does not depend on how many points overlap.

    Returns
    -------
    dict with the grid's ``extent``, ``bins`` and the number of ``points`` drawn.
    """
    x, y, labels = np.asarray(x, float), np.asarray(y, float), np.asarray(labels)
    pad_x, pad_y = 0.02 * np.ptp(x), 0.02 * np.ptp(y)
    extent = (x.min() - pad_x, x.max() + pad_x, y.min() - pad_y, y.max() + pad_y)
    rgb = np.zeros((bins, bins, 3))
    total = np.zeros((bins, bins))
    for cat, col in zip(categories, colors):
        m = labels == cat
        h, _, _ = np.histogram2d(y[m], x[m], bins=bins, range=[extent[2:], extent[:2]])
        total += h
        rgb += h[..., None] * np.asarray(col)[None, None, :3]
    with np.errstate(invalid="ignore", divide="ignore"):
        rgb = np.where(total[..., None] > 0, rgb / total[..., None], 1.0)
        alpha = np.where(total > 0, (np.log1p(total) / np.log1p(total.max())) ** gamma, 0.0)
    ax.imshow(np.dstack([rgb, 0.15 + 0.85 * alpha if total.max() else alpha]) * (total[..., None] > 0),
              extent=extent, origin="lower", aspect="auto", interpolation="nearest")
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    return {"extent": extent, "bins": bins, "points": int(len(x))}


def monthly_axis(ax: plt.Axes, months: pd.Series, every: int = 3) -> None:
    """Label a categorical month axis (YYYY-MM) every ``every`` months."""
    ticks = np.arange(0, len(months), every)
    ax.set_xticks(ticks)
    ax.set_xticklabels([months.iloc[i] for i in ticks], rotation=45, ha="right")
