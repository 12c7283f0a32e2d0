"""One plotting style for the compendium, and the figures that need more than a seaborn call."""
from __future__ import annotations

from dataclasses import dataclass

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


def cluster_colors(clusters) -> dict:
    """A colour for each cluster label in ``clusters``, for any number of clusters.

    Labels within 1..10 (the release's) keep :func:`cluster_palette`'s colours, cluster k entry k - 1,
    whichever of them are present, so a figure colours a cluster alike in every notebook; other labels
    (more than ten clusters, or numbered from 0) get evenly spaced hues in label order."""
    ks = sorted({int(k) for k in clusters})
    if ks and ks[0] >= 1 and ks[-1] <= 10:
        ten = cluster_palette(10)
        return {k: ten[k - 1] for k in ks}
    return dict(zip(ks, sns.color_palette("husl", len(ks))))


def panel_grid(n: int, ncols: int = 5, panel: tuple[float, float] = (2.6, 3.0), **kw) -> tuple[plt.Figure, list]:
    """A figure of ``n`` panels in rows of at most ``ncols`` (ten panels: 2 x 5, each ``panel`` inches),
    and its ``n`` axes in reading order; the grid's unused cells are hidden, and the panel above each of
    them shows its x tick labels (``sharex`` and the other ``kw`` go to :func:`matplotlib.pyplot.subplots`)."""
    cols = max(1, min(n, ncols))
    rows = max(1, -(-n // cols))
    fig, grid = plt.subplots(rows, cols, figsize=(panel[0] * cols, panel[1] * rows), squeeze=False, **kw)
    for i in range(n, rows * cols):
        grid[i // cols, i % cols].set_visible(False)
        if i >= cols:
            grid[i // cols - 1, i % cols].tick_params(labelbottom=True)
    return fig, list(grid.flat[:n])


def mark_synthetic(fig: plt.Figure, text: str = SYNTHETIC_MARK) -> None:
    """Stamp a figure as made from synthetic data: red text under everything already drawn
    (tick labels included), right-aligned, so it shows in every saved image."""
    bbox = fig.get_tightbbox()  # in inches
    width, height = fig.get_size_inches()
    fig.text(bbox.x1 / width, bbox.y0 / height - 0.01, text, ha="right", va="top", fontsize=8,
             color="#b00020", fontweight="bold", transform=fig.transFigure)


@dataclass(frozen=True)
class DensityGrid:
    """The grid a categorical density map was drawn on (:func:`categorical_density`)."""

    #: the grid's (x min, x max, y min, y max) and its bins per axis
    extent: tuple[float, float, float, float]
    bins: int
    #: the points drawn
    points: int


def categorical_density(ax: plt.Axes, x: np.ndarray, y: np.ndarray, labels: np.ndarray,
                        categories: list, colors: list, bins: int = 400, gamma: float = 0.5) -> DensityGrid:
    """Draw many labelled points as a density image (datashader-style categorical shading).

    Each bin of a ``bins`` x ``bins`` grid is coloured by the mix of its points' categories;
    its opacity grows with the log of its count. Legible for millions of points, and its cost
    does not depend on how many points overlap.

    ``labels`` may be a pandas Categorical (or categorical Series): then its codes are compared, not
    its values (comparing label strings is slow at millions of points). Each point's
    bin is found once and counted per category (the counts of ``np.histogram2d``, exactly).

    Returns
    -------
    :class:`DensityGrid`: the grid's ``extent``, ``bins`` and the number of ``points`` drawn.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    pad_x, pad_y = 0.02 * np.ptp(x), 0.02 * np.ptp(y)
    extent = (float(x.min() - pad_x), float(x.max() + pad_x), float(y.min() - pad_y), float(y.max() + pad_y))
    labels = labels.array if isinstance(labels, pd.Series) else labels
    if isinstance(labels, pd.Categorical):
        labels, keys = labels.set_categories(categories).codes, range(len(categories))  # other labels: -1
    else:
        labels, keys = np.asarray(labels), categories
    cell = _grid_cell(y, extent[2:], bins) * bins + _grid_cell(x, extent[:2], bins)  # -1 and beyond: outside
    inside = (cell >= 0) & (cell < bins * bins)
    rgb = np.zeros((bins, bins, 3))
    total = np.zeros((bins, bins))
    for cat, col in zip(keys, colors):
        m = (labels == cat) & inside
        h = np.bincount(cell[m], minlength=bins * bins).reshape(bins, bins).astype(float)
        total += h
        rgb += h[..., None] * np.asarray(col)[None, None, :3]
    with np.errstate(invalid="ignore", divide="ignore"):
        rgb = np.where(total[..., None] > 0, rgb / total[..., None], 1.0)
        alpha = np.where(total > 0, (np.log1p(total) / np.log1p(total.max())) ** gamma, 0.0)
    ax.imshow(np.dstack([rgb, 0.15 + 0.85 * alpha if total.max() else alpha]) * (total[..., None] > 0),
              extent=extent, origin="lower", aspect="auto", interpolation="nearest")
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    return DensityGrid(extent=extent, bins=int(bins), points=int(len(x)))


def _grid_cell(v: np.ndarray, span, bins: int) -> np.ndarray:
    """The bin (0..bins-1) of each value among ``bins`` equal bins over ``span``, as ``np.histogram2d``
    finds it (its edges, its right-closed last bin); a large sentinel outside the span."""
    lo, hi = float(span[0]), float(span[1])
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    i = np.searchsorted(edges, v, side="right")
    i[v == edges[-1]] -= 1
    return np.where((i >= 1) & (i <= bins), i - 1, bins * bins).astype(np.int64)


def monthly_axis(ax: plt.Axes, months: pd.Series, every: int = 3) -> None:
    """Label a categorical month axis (YYYY-MM) every ``every`` months."""
    ticks = np.arange(0, len(months), every)
    ax.set_xticks(ticks)
    ax.set_xticklabels([months.iloc[i] for i in ticks], rotation=45, ha="right")


def cluster_label(k: int, names, width: int | None = None) -> str:
    """``"3 · woman, hair, long"``: a cluster's number and its name (``names`` maps number to name;
    from :func:`twigma.analysis.text.cluster_names`), cut to ``width`` characters if given."""
    name = str(names.get(k, "")) if names is not None else ""
    label = f"{k} · {name}" if name else str(k)
    return label if width is None or len(label) <= width else label[: width - 1] + "…"


def ccdf(ax: plt.Axes, values, label: str | None = None, **kw) -> None:
    """Complementary CDF of non-negative counts on log-log axes: share of units with at least x,
    plotted at x + 1 so that zeros show (one point per distinct value: no binning artefacts)."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    uniq, first = np.unique(x, return_index=True)
    share_at_least = 1.0 - first / len(x)
    ax.step(uniq + 1, share_at_least, where="post", label=label, **kw)
    ax.set_xscale("log", base=10)
    ax.set_yscale("log", base=10)


def images_by_name(folder) -> dict:
    """Image files of ``folder`` (and its subfolders) by file name without extension, which for
    TWIGMA's downloaded photos (``make images``) is the release's ``image_name``."""
    from pathlib import Path

    from twigma.files import IMAGE_SUFFIXES

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"IMAGES={folder}: no such folder. Give the folder of images named by image_name "
                                "(make images writes data/raw/twigma_images/), or leave IMAGES empty.")
    return {p.stem: p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()}


def example_grid(examples: pd.DataFrame, files: dict, labels: dict, per_row: int, thumb: int = 160) -> plt.Figure:
    """A grid of thumbnails, one row per cluster: ``examples`` has ``cluster`` and ``image_name``
    (those in ``files``); ``labels`` maps cluster to its row label. Only drawn, never saved here."""
    from PIL import Image

    clusters = sorted(examples["cluster"].unique())
    fig, axes = plt.subplots(len(clusters), per_row, figsize=(1.3 * per_row + 1.8, 1.3 * len(clusters)),
                             squeeze=False)
    for row, k in zip(axes, clusters):
        names = examples.loc[examples["cluster"] == k, "image_name"].tolist()[:per_row]
        for j, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if j < len(names):
                with Image.open(files[names[j]]) as opened:
                    im = opened.convert("RGB")
                    im.thumbnail((thumb, thumb))
                    ax.imshow(np.asarray(im))
        row[0].set_ylabel(labels.get(k, str(k)), rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig
