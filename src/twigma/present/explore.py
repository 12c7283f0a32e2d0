"""The interactive map of notebook 10_explore: every image of a release on the released UMAP.

:func:`map_table` turns the typed release into the table the map shows (one row per image, in
the release's order): ``x``, ``y`` (``UMAP_dim_1``/``UMAP_dim_2``), ``cluster`` (a categorical
label "k · name"), ``month``, ``date``, ``likes``, ``nsfw_score``, ``caption``, ``image_name``
and ``tweet`` (the tweet's link, ``https://twitter.com/i/web/status/<id>``).

:class:`Explorer` draws it with jupyter-scatter (``jscatter``): an anywidget whose points are
drawn by WebGL (regl-scatterplot) in the browser, so hundreds of thousands of points pan, zoom,
hover and lasso-select without a round trip to Python; only the hovered point's caption, date,
likes and NSFW score are fetched from the kernel, on demand. Two ipywidgets controls filter the
points (clusters; a month range), and a lasso or click selection is shown as a table whose rows
link to the tweets (:meth:`Explorer.selected`).

Why jupyter-scatter and not datashader + holoviews: datashader re-renders an image in Python on
every zoom and pan (a round trip to the kernel, and no individual points to hover until one zooms
far in), and holoviews/bokeh/panel add a large stack of front-end extensions; jupyter-scatter is one
wheel whose JavaScript ships inside it (nothing fetched from the internet), draws every point
itself, and gives hover, lasso selection and filtering on the GPU. ``bench/explore_map.py``
measures time to first render and memory at 800,000 points in headless Chromium.

A notebook run without a browser (papermill, ``make figures``) has no front end to draw the
widget: there :func:`interactive` is False and the notebook shows the static density map of
:func:`density_figure` instead, and says so.
"""
from __future__ import annotations

import os
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd

from twigma.embeddings.search import tweet_url
from twigma.present.plots import categorical_density, cluster_label, cluster_palette

#: Rows of a selection shown as a table (the whole selection stays available as Explorer.selected()).
MAX_TABLE_ROWS = 200
#: Characters of a caption kept for the hover tooltip and the table.
CAPTION_CHARS = 300
COLUMNS = ["x", "y", "cluster", "month", "date", "likes", "nsfw_score", "caption", "image_name", "tweet"]


def interactive() -> bool:
    """Whether this kernel has a front end that can draw a widget: it was started by a Jupyter
    server (JupyterLab, Notebook 7: ``$JPY_SESSION_NAME``) or by VS Code, and not by
    ``twigma run-notebook``/papermill (``make figures``), which have no browser."""
    if os.environ.get("TWIGMA_NOTEBOOK", "").strip():
        return False
    if os.environ.get("JPY_SESSION_NAME", "").strip():
        return True
    try:
        from IPython import get_ipython

        ns = getattr(get_ipython(), "user_ns", {}) or {}
    except ImportError:  # pragma: no cover
        ns = {}
    return bool(ns.get("__vsc_ipynb_file__"))


def cluster_labels(names: pd.Series, clusters) -> list[str]:
    """The map's cluster labels, "k · name", in cluster order."""
    return [cluster_label(int(k), names, width=40) for k in sorted(set(int(c) for c in clusters))]


def map_table(release: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """The table behind the map: one row per image of ``release`` (same order, index 0..n-1).

    Parameters
    ----------
    release : the typed release (:func:`twigma.load_release`), shape (n_images, 12+)
    names : Series cluster -> name (:func:`twigma.analysis.text.cluster_names`)

    Returns
    -------
    DataFrame of shape (n_images, 10) with :data:`COLUMNS`; ``cluster`` is categorical in cluster
    order, ``x``/``y`` float32.
    """
    missing = {"UMAP_dim_1", "UMAP_dim_2", "label_10_cluster", "created_at", "all_captions", "like_count",
               "nsfw_score", "id", "image_name"} - set(release.columns)
    if missing:
        raise KeyError(f"the release has no column(s) {sorted(missing)}: the map needs the typed release of "
                       "twigma.load_release (UMAP_dim_1/2, label_10_cluster, created_at, all_captions, ...).")
    xy = release[["UMAP_dim_1", "UMAP_dim_2"]].to_numpy(dtype=np.float32)
    if not np.isfinite(xy).all():
        bad = int(np.flatnonzero(~np.isfinite(xy).all(axis=1))[0])
        raise ValueError(f"UMAP_dim_1/UMAP_dim_2 are missing or not finite in row {bad} (image "
                         f"{release['image_name'].iloc[bad]}): the map needs coordinates for every image; "
                         "check the release with `make validate`.")
    labels = cluster_labels(names, release["label_10_cluster"])
    by_k = {int(lab.split(" ", 1)[0]): lab for lab in labels}
    created = release["created_at"]

    def short(captions: pd.Series) -> pd.Series:
        captions = captions.astype(str)
        long = captions.str.len() > CAPTION_CHARS
        return captions.where(~long, captions.str.slice(0, CAPTION_CHARS - 1) + "…")

    table = pd.DataFrame({
        "x": xy[:, 0], "y": xy[:, 1],
        "cluster": pd.Categorical(release["label_10_cluster"].astype(int).map(by_k), categories=labels),
        "month": _per_distinct(created.dt.floor("min"), lambda u: u.dt.strftime("%Y-%m")),
        "date": _per_distinct(created.dt.floor("min"), lambda u: u.dt.strftime("%Y-%m-%d %H:%M")),
        "likes": release["like_count"].astype("float64").to_numpy(),  # NaN where the release has none
        "nsfw_score": release["nsfw_score"].astype("float64").round(3).to_numpy(),
        "caption": _per_distinct(release["all_captions"], short),
        "image_name": release["image_name"].astype(str).to_numpy(),
        "tweet": _per_distinct(release["id"].astype(str), lambda u: u.map(tweet_url)),
    })
    return table


def _per_distinct(values: pd.Series, fn) -> np.ndarray:
    """``fn(values).to_numpy()`` computed once per distinct value and spread to the rows (at 14 million
    images, a string operation per row took minutes; captions, times to the minute and tweets repeat)."""
    code, distinct = pd.factorize(values.reset_index(drop=True), use_na_sentinel=False)
    return fn(pd.Series(distinct, dtype=values.dtype)).to_numpy()[code]


def colour_map(table: pd.DataFrame) -> dict:
    """Cluster label -> hex colour, the compendium's cluster palette (as in notebooks 02-05)."""
    from matplotlib.colors import to_hex

    palette = cluster_palette(10)
    return {lab: to_hex(palette[(int(lab.split(" ", 1)[0]) - 1) % len(palette)])
            for lab in table["cluster"].cat.categories}


def density_figure(table: pd.DataFrame, bins: int = 400):
    """The static stand-in for the widget: every image as a categorical density map of the UMAP
    (:func:`twigma.present.plots.categorical_density`), coloured by cluster with a legend of names."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    colours = colour_map(table)
    cats = list(table["cluster"].cat.categories)
    fig, ax = plt.subplots(figsize=(10, 7))
    info = categorical_density(ax, table["x"].to_numpy(), table["y"].to_numpy(), table["cluster"].to_numpy(),
                               cats, [plt.matplotlib.colors.to_rgb(colours[c]) for c in cats], bins=bins)
    ax.set(xlabel="UMAP_dim_1", ylabel="UMAP_dim_2",
           title=f"All {info['points']:,} images on the released UMAP (density, coloured by cluster)")
    ax.legend(handles=[Patch(color=colours[c], label=c) for c in cats], loc="center left",
              bbox_to_anchor=(1.01, 0.5), fontsize=8, title="cluster", title_fontsize=8)
    fig.tight_layout()
    return fig, info


def map_summary(table: pd.DataFrame) -> dict:
    """What notebook 10 says of the map: ``largest`` and ``smallest`` cluster (labels) with their
    ``largest_share`` and ``smallest_share`` of the images, and the ``compact`` and ``diffuse``
    cluster with their ``compact_spread`` and ``diffuse_spread`` (the mean of the standard
    deviations of x and y, in UMAP units); ``last_months``: the last three months of the table."""
    sizes = table["cluster"].value_counts(normalize=True)
    spread = table.groupby("cluster", observed=True)[["x", "y"]].std().mean(axis=1)
    months = sorted(table["month"].unique())
    return {"largest": sizes.index[0], "largest_share": float(sizes.iloc[0]),
            "smallest": sizes.index[-1], "smallest_share": float(sizes.iloc[-1]),
            "compact": spread.idxmin(), "compact_spread": float(spread.min()),
            "diffuse": spread.idxmax(), "diffuse_spread": float(spread.max()),
            "last_months": (months[max(0, len(months) - 3)], months[-1])}


def selection_summary(selection: pd.DataFrame, nsfw_above: float = 0.5) -> dict:
    """Of a :func:`selection_table`: ``n`` rows, ``likes_max`` and ``likes_min`` (NaN if none),
    ``n_nsfw`` (NSFW score above ``nsfw_above``)."""
    likes = selection["likes"]
    return {"n": int(len(selection)), "likes_max": float(likes.max()) if len(likes) else float("nan"),
            "likes_min": float(likes.min()) if len(likes) else float("nan"),
            "n_nsfw": int(selection["nsfw_score"].gt(nsfw_above).sum())}


def same_cluster_share(hits: pd.DataFrame) -> float:
    """Of an image search's results (the query image first): the share of its neighbours that are
    in the query image's cluster."""
    return float((hits["cluster"].iloc[1:] == hits["cluster"].iloc[0]).mean())


def filter_rows(table: pd.DataFrame, clusters=None, months: tuple[str, str] | None = None) -> np.ndarray:
    """Row positions of ``table`` in the given clusters (labels; None: all) and month range
    (inclusive ``("2021-01", "2022-06")``; None: all), ascending."""
    keep = np.ones(len(table), dtype=bool)
    if clusters is not None:
        keep &= table["cluster"].isin(list(clusters)).to_numpy()
    if months is not None:
        lo, hi = months
        m = table["month"].to_numpy()
        keep &= (m >= lo) & (m <= hi)
    return np.flatnonzero(keep)


def selection_table(table: pd.DataFrame, rows, limit: int = MAX_TABLE_ROWS) -> pd.DataFrame:
    """The selected images (row positions ``rows``), most liked first, at most ``limit`` of them:
    image_name, cluster, date, likes, nsfw_score, caption and tweet (link)."""
    rows = np.asarray(rows, dtype=np.int64)
    sel = table.iloc[rows][["image_name", "cluster", "date", "likes", "nsfw_score", "caption", "tweet"]]
    sel = sel.sort_values(["likes", "date"], ascending=[False, True], na_position="last")
    return sel.head(limit) if limit else sel


def selection_html(table: pd.DataFrame, rows, limit: int = MAX_TABLE_ROWS) -> str:
    """The selection as the explorer shows it under the map (HTML): a count, then :func:`selection_table`.
    Every value is escaped and only the tweet column, made from the tweet's id, holds links: a caption is
    text a model wrote about a stranger's picture, and must stay text (not markup, not a link) where a
    script would run with the user's Jupyter token."""
    import html
    import secrets

    rows = np.asarray(rows, dtype=np.int64)
    sel = selection_table(table, rows, limit=limit)
    nonce = secrets.token_hex(8)
    urls = list(sel["tweet"])
    sel = sel.assign(tweet=[f"@@tweet-{nonce}-{i}@@" for i in range(len(sel))])
    body = sel.to_html(index=False, render_links=False, escape=True, na_rep="")
    for i, url in enumerate(urls):
        link = (f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{html.escape(url)}</a>'
                if str(url).startswith("https://") else html.escape(str(url)))
        body = body.replace(f"@@tweet-{nonce}-{i}@@", link, 1)
    more = f", the {len(sel)} most liked shown" if len(rows) > len(sel) else ""
    return (f"<p><b>{len(rows):,} images selected</b>{more} (<code>explorer.selected()</code> "
            "gives them all as a DataFrame).</p>" + body)


@contextmanager
def _quiet():
    """jupyter-scatter 1.0.1 calls DataFrame.set_index(inplace=True) when it loads its font, which pandas 3.1
    warns about on every map: not the reader's concern."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword", module="jscatter")
        yield


class Explorer:
    """The interactive map: a jupyter-scatter widget of ``table`` (:func:`map_table`) with filters by
    cluster and month range, a hover tooltip (caption, date, likes, NSFW score, tweet link) and the
    lasso or click selection shown as a table. ``view()`` returns the widget to display.

    Parameters
    ----------
    table : DataFrame from :func:`map_table`
    height : int, the map's height in pixels
    """

    def __init__(self, table: pd.DataFrame, height: int = 560):
        import ipywidgets as W

        self.table = table
        with _quiet():
            import jscatter  # loads its font on import

            self.scatter = jscatter.Scatter(data=table, x="x", y="y", height=height, legend=True,
                                        axes=False, lasso_initiator=True)
            self.scatter.color(by="cluster", map=colour_map(table))
            self.scatter.size(default=2 if len(table) > 100_000 else 4)
            self.scatter.opacity(default="auto")
            self.scatter.tooltip(True, properties=["color", "date", "likes", "nsfw_score", "tweet"],
                                 preview="caption", preview_type="text", preview_text_lines=4, size="medium")
        cats = list(table["cluster"].cat.categories)
        months = sorted(table["month"].unique())
        self.clusters = W.SelectMultiple(options=cats, value=tuple(cats), rows=min(10, len(cats)),
                                         description="clusters", layout=W.Layout(width="420px"))
        self.months = W.SelectionRangeSlider(options=months, index=(0, len(months) - 1), description="months",
                                             continuous_update=False, layout=W.Layout(width="520px"))
        self.status = W.HTML()
        self.table_out = W.Output()
        self.clusters.observe(self._refilter, names="value")
        self.months.observe(self._refilter, names="value")
        self._widget = None
        self._update_status(len(table))

    # -- filters
    def visible(self) -> np.ndarray:
        """Row positions the filters show now."""
        every = len(self.clusters.value) == len(self.clusters.options)
        full = self.months.index == (0, len(self.months.options) - 1)
        return filter_rows(self.table, None if every else self.clusters.value, None if full else self.months.value)

    def _refilter(self, _change=None):
        rows = self.visible()
        self.scatter.filter(None if len(rows) == len(self.table) else rows)
        self._update_status(len(rows))

    def _update_status(self, n: int):
        lo, hi = self.months.value
        self.status.value = (f"<b>{n:,}</b> of {len(self.table):,} images shown ({lo} to {hi}). Hover a point for "
                             "its caption; lasso (shift + drag, or the lasso button) or click to select: the "
                             "selection appears as a table below.")

    # -- selection
    def selected(self, limit: int | None = None) -> pd.DataFrame:
        """The selected images as a table (see :func:`selection_table`); all of them unless ``limit``."""
        return selection_table(self.table, self.scatter.selection(), limit=limit or 0)

    def _show_selection(self, _change=None):
        from IPython.display import HTML, display

        rows = self.scatter.selection()
        with self.table_out:
            self.table_out.clear_output(wait=True)
            if len(rows):
                display(HTML(selection_html(self.table, rows)))

    def view(self):
        """The widget: filters, the map, and the selection table under it."""
        import ipywidgets as W

        if self._widget is None:
            with _quiet():
                map_widget = self.scatter.show()
            self.scatter.widget.observe(self._show_selection, names="selection")
            self._widget = W.VBox([W.HBox([self.clusters, W.VBox([self.months, self.status])]), map_widget,
                                   self.table_out])
        return self._widget
