"""The interactive map of notebook 10_explore: the images of a release on the released UMAP.

:func:`map_points` holds every image cheaply (``x``, ``y`` float32, ``cluster`` and ``month``
categoricals: 10 bytes a row), for the static density map (:func:`density_figure`), what the notebook
says of it (:func:`map_summary`) and the filters (:func:`filter_rows`). :func:`map_table` turns rows of
the typed release into the table the interactive map shows (in the release's order): ``x``, ``y``,
``cluster`` (a categorical label "k · name"), ``month``, ``date``, ``likes``, ``nsfw_score``,
``caption``, ``image_name`` and ``tweet`` (the tweet's link, ``https://twitter.com/i/web/status/<id>``; for a
synthetic release, whose ids are made up, no link: :func:`tweet_link`).
Its text columns cost about a hundred bytes a row in Python strings, so past ``MAP_POINTS`` images
(notebook 10's parameter) the table holds a seeded random sample of them (:func:`sample_rows`); the
example selection (:func:`most_liked`, or :func:`most_liked_tweets`: each tweet once, with its number of
images, since a tweet's images share its likes) is drawn from every image all the same, by building text
for the rows it shows only.

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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twigma.analysis.months import Months
from twigma.embeddings.search import tweet_url
from twigma.present.explore_reading import map_summary, same_cluster_share, selection_summary  # noqa: F401  (10 reads them here)
from twigma.present.plots import DensityGrid, categorical_density, cluster_label, cluster_palette

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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


def tweet_link(tweet_id, synthetic: bool) -> str:
    """The tweet column's value: the link that opens the tweet, or, for a synthetic release (made-up
    ids that would open strangers' tweets or none), ``"synthetic id <id> (no tweet)"``, plain text."""
    return f"synthetic id {tweet_id} (no tweet)" if synthetic else tweet_url(tweet_id)


def unlinked(hits: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    """A search's results (``tweet_id``, ``tweet_url``) with :func:`tweet_link` in ``tweet_url``: no live
    link for a synthetic release."""
    if "tweet_id" not in hits or not synthetic:
        return hits
    return hits.assign(tweet_url=[tweet_link(i, True) for i in hits["tweet_id"]])


def cluster_labels(names: pd.Series, clusters) -> list[str]:
    """The map's cluster labels, "k · name", in cluster order."""
    return [cluster_label(int(k), names, width=40) for k in sorted(int(c) for c in pd.unique(np.asarray(clusters)))]


#: The release columns the map reads (:func:`map_table`; :func:`map_points` reads the first four).
MAP_COLUMNS = ["UMAP_dim_1", "UMAP_dim_2", "label_10_cluster", "created_at", "all_captions", "like_count",
               "nsfw_score", "id", "image_name"]


def _coordinates(release: pd.DataFrame, needed: list[str]) -> np.ndarray:
    """``UMAP_dim_1``/``UMAP_dim_2`` as float32 (n, 2), after checking ``needed`` columns exist and the
    coordinates are finite (naming the first bad row)."""
    missing = set(needed) - set(release.columns)
    if missing:
        raise KeyError(f"the release has no column(s) {sorted(missing)}: the map needs the typed release of "
                       "twigma.load_release (UMAP_dim_1/2, label_10_cluster, created_at, all_captions, ...).")
    xy = release[["UMAP_dim_1", "UMAP_dim_2"]].to_numpy(dtype=np.float32)
    if not np.isfinite(xy).all():
        bad = int(np.flatnonzero(~np.isfinite(xy).all(axis=1))[0])
        name = release["image_name"].iloc[bad] if "image_name" in release.columns else "?"
        raise ValueError(f"UMAP_dim_1/UMAP_dim_2 are missing or not finite in row {bad} (image {name}): the map "
                         "needs coordinates for every image; check the release with `make validate`.")
    return xy


def _cluster_column(clusters: pd.Series, labels: list[str]) -> pd.Categorical:
    """The clusters as the categorical of their labels (:func:`cluster_labels`), from the codes alone."""
    ks = np.array([int(lab.split(" ", 1)[0]) for lab in labels])
    lookup = np.full(int(ks.max()) + 1 if len(ks) else 1, -1, dtype=np.int8)
    lookup[ks] = np.arange(len(ks))
    return pd.Categorical.from_codes(lookup[clusters.to_numpy(dtype=np.int64)], categories=labels)  # type: ignore[call-overload]  # pandas-stubs: list categories


def month_categories(created_at: pd.Series) -> pd.Categorical:
    """Calendar month (UTC) of each time as an ordered categorical of ``YYYY-MM`` texts (the distinct
    months, sorted): equal in values to :func:`twigma.analysis.overview.month_of`, one byte a row
    (the codes of :class:`twigma.analysis.months.Months`)."""
    if not len(created_at) or created_at.isna().any():  # no rows, or a missing time (never for a validated release)
        return pd.Categorical(created_at.dt.tz_convert("UTC").dt.strftime("%Y-%m"), ordered=True)
    return Months.of(created_at).categorical(ordered=True)


def map_points(release: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """Every image of ``release`` as a point: ``x``, ``y`` (float32), ``cluster`` (categorical of
    :func:`cluster_labels`, in cluster order) and ``month`` (:func:`month_categories`), index 0..n-1. Its
    columns equal those of :func:`map_table` (``month`` as a categorical of the same texts), at 10
    bytes a row instead of a few hundred; it needs only UMAP_dim_1/2, label_10_cluster and created_at."""
    xy = _coordinates(release, MAP_COLUMNS[:4])
    labels = cluster_labels(names, release["label_10_cluster"])
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1],
                         "cluster": _cluster_column(release["label_10_cluster"], labels),
                         "month": month_categories(release["created_at"])})


def sample_rows(n_images: int, limit: int, seed: int = 0) -> np.ndarray:
    """Row positions, ascending, of a seeded random sample (without replacement) of ``limit`` of
    ``n_images`` rows; every row (0..n-1) when ``limit`` is 0 or negative or not below ``n_images``."""
    if limit <= 0 or limit >= n_images:
        return np.arange(n_images)
    return np.sort(np.random.default_rng(seed).choice(n_images, size=int(limit), replace=False))


def map_table(release: pd.DataFrame, names: pd.Series, rows=None) -> pd.DataFrame:
    """The table behind the interactive map: one row per image of ``release`` at the positions
    ``rows`` (ascending; None: every image), in the release's order, indexed by those positions.

    Parameters
    ----------
    release : the typed release (:func:`twigma.load_release`), shape (n_images, 12+); it needs
        :data:`MAP_COLUMNS` only
    names : Series cluster -> name (:func:`twigma.analysis.text.cluster_names`)
    rows : array of int, optional; e.g. :func:`sample_rows`. The cluster labels are those of the whole
        release either way.

    Returns
    -------
    DataFrame of shape (len(rows), 10) with :data:`COLUMNS`; ``cluster`` is categorical in cluster
    order, ``x``/``y`` float32; ``tweet`` is :func:`tweet_link` (no link when ``release.attrs["synthetic"]``).
    """
    xy = _coordinates(release, MAP_COLUMNS)
    labels = cluster_labels(names, release["label_10_cluster"])
    synthetic = bool(release.attrs.get("synthetic", False))
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == len(release) and np.array_equal(rows, np.arange(len(rows))):
            rows = None  # every image: the table of the whole release, as without rows
        else:
            release, xy = take_rows(release[MAP_COLUMNS], rows), xy[rows]
    created = release["created_at"]

    def short(captions: pd.Series) -> pd.Series:
        captions = captions.astype(str)
        long = captions.str.len() > CAPTION_CHARS
        return captions.where(~long, captions.str.slice(0, CAPTION_CHARS - 1) + "…")

    table = pd.DataFrame({
        "x": xy[:, 0], "y": xy[:, 1],
        "cluster": _cluster_column(release["label_10_cluster"], labels),
        "month": _per_distinct(created.dt.floor("min"), lambda u: u.dt.strftime("%Y-%m")),
        "date": _per_distinct(created.dt.floor("min"), lambda u: u.dt.strftime("%Y-%m-%d %H:%M")),
        "likes": release["like_count"].astype("float64").to_numpy(),  # NaN where the release has none
        "nsfw_score": release["nsfw_score"].astype("float64").round(3).to_numpy(),
        "caption": _per_distinct(release["all_captions"], short),
        "image_name": _text(release["image_name"].astype(str)),
        "tweet": _per_distinct(release["id"].astype(str), lambda u: u.map(lambda i: tweet_link(i, synthetic))),
    })
    return table if rows is None else table.set_axis(pd.Index(rows))


def take_rows(frame: pd.DataFrame, rows) -> pd.DataFrame:
    """``frame.iloc[rows]`` (the same frame), its text columns taken chunk by chunk: pandas joins an arrow
    column's chunks (one per row group of the typed cache) into one copy of the whole column before it
    takes rows from it, even for 10 rows."""
    import pyarrow as pa

    rows = np.asarray(rows, dtype=np.int64)
    order = np.sort(rows)
    cols = {}
    for name in frame.columns:
        values = frame[name]
        if not (isinstance(values.dtype, pd.StringDtype) and hasattr(values.array, "__arrow_array__")):
            cols[name] = values.iloc[order].array
            continue
        arr = pa.array(values.array)
        parts, start = [], 0
        for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
            lo, hi = np.searchsorted(order, [start, start + len(chunk)])
            parts.append(chunk.take(pa.array(order[lo:hi] - start)))
            start += len(chunk)
        cols[name] = pd.array(pa.chunked_array(parts, type=arr.type), dtype=values.dtype)
    out = pd.DataFrame(cols, index=frame.index[order])
    return out if np.array_equal(order, rows) else out.iloc[np.searchsorted(order, rows)]


def _text(values: pd.Series):
    """The values as the table's column: a text (``str``) column's own array, as ``to_numpy()`` would give after
    pandas infers it again, without a Python string per row in between; any other column's ``to_numpy()``."""
    return values.array if isinstance(values.dtype, pd.StringDtype) else values.to_numpy()


def _per_distinct(values: pd.Series, fn):
    """``fn(values)`` computed once per distinct value and spread to the rows (a string operation per row is
    slow on millions of images; captions, times to the minute and tweets repeat), as :func:`_text`."""
    code, distinct = pd.factorize(values.reset_index(drop=True), use_na_sentinel=False)
    out = fn(pd.Series(distinct, dtype=values.dtype))
    return out.array.take(code) if isinstance(out.dtype, pd.StringDtype) else out.to_numpy()[code]


def colour_map(table: pd.DataFrame) -> dict:
    """Cluster label -> hex colour, the compendium's cluster palette (as in notebooks 02-05)."""
    from matplotlib.colors import to_hex

    palette = cluster_palette(10)
    return {lab: to_hex(palette[(int(lab.split(" ", 1)[0]) - 1) % len(palette)])
            for lab in table["cluster"].cat.categories}


def density_figure(table: pd.DataFrame, bins: int = 400) -> tuple[Figure, DensityGrid]:
    """The static stand-in for the widget: every row of ``table`` (:func:`map_points`: every image; or a
    :func:`map_table`) as a categorical density map of the UMAP
    (:func:`twigma.present.plots.categorical_density`), coloured by cluster with a legend of names. Returns the
    figure and its :class:`~twigma.present.plots.DensityGrid`."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    colours = colour_map(table)
    cats = list(table["cluster"].cat.categories)
    fig, ax = plt.subplots(figsize=(10, 7))
    grid = categorical_density(ax, table["x"].to_numpy(), table["y"].to_numpy(), table["cluster"].array,
                               cats, [plt.matplotlib.colors.to_rgb(colours[c]) for c in cats], bins=bins)
    ax.set(xlabel="UMAP_dim_1", ylabel="UMAP_dim_2",
           title=f"All {grid.points:,} images on the released UMAP (density, coloured by cluster)")
    ax.legend(handles=[Patch(color=colours[c], label=c) for c in cats], loc="center left",
              bbox_to_anchor=(1.01, 0.5), fontsize=8, title="cluster", title_fontsize=8)
    fig.tight_layout()
    return fig, grid


def filter_rows(table: pd.DataFrame, clusters=None, months: tuple[str, str] | None = None) -> np.ndarray:
    """Row positions of ``table`` in the given clusters (labels; None: all) and month range
    (inclusive ``("2021-01", "2022-06")``; None: all), ascending."""
    keep = np.ones(len(table), dtype=bool)
    if clusters is not None:
        keep &= table["cluster"].isin(list(clusters)).to_numpy()
    if months is not None:
        lo, hi = months
        month = table["month"]
        if isinstance(month.dtype, pd.CategoricalDtype):  # map_points: compare the few months, not every row
            cats = np.asarray(month.cat.categories, dtype=object)
            inside = np.append((cats >= lo) & (cats <= hi), False)  # code -1 (no month): never inside
            keep &= inside[month.cat.codes.to_numpy()]
        else:
            m = month.to_numpy()
            keep &= (m >= lo) & (m <= hi)
    return np.flatnonzero(keep)


def liked_order(release: pd.DataFrame, rows) -> np.ndarray:
    """The positions ``rows`` ordered as :func:`selection_table` orders them: likes, most first, missing
    last; then time to the minute; then position in ``rows``; made from numbers only."""
    rows = np.asarray(rows, dtype=np.int64)
    likes = release["like_count"].to_numpy(dtype=float, na_value=np.nan)[rows]
    utc = release["created_at"].iloc[rows].dt.tz_convert("UTC").dt.tz_localize(None)
    minute = utc.dt.floor("min").to_numpy().astype("datetime64[us]").astype(np.int64)
    return rows[np.lexsort((minute, -np.nan_to_num(likes, nan=0.0), np.isnan(likes)))]  # stable, as pandas' sort


def most_liked(release: pd.DataFrame, names: pd.Series, rows, limit: int = MAX_TABLE_ROWS) -> pd.DataFrame:
    """:func:`selection_table` of the images of ``release`` at the positions ``rows`` (e.g. :func:`filter_rows`
    of :func:`map_points`): equal to ``selection_table(map_table(release, names), rows, limit)``, but the
    ordering (:func:`liked_order`) is made from numbers and the text only for the ``limit`` rows shown (0: all)."""
    ordered = liked_order(release, rows)
    keep = ordered[:limit] if limit else ordered
    if not len(keep) and len(release):  # no row: the columns' types of a table that has rows (text, not object)
        return selection_table(map_table(release, names, rows=[0]), keep, limit=limit)
    return selection_table(map_table(release, names, rows=keep), np.arange(len(keep)), limit=limit)


def most_liked_tweets(release: pd.DataFrame, names: pd.Series, rows, limit: int = MAX_TABLE_ROWS) -> pd.DataFrame:
    """The most liked **tweets** among the images at ``rows``: each tweet once (its images share its likes),
    at its first image in :func:`liked_order`, with ``images`` (how many of its images are among ``rows``)
    after ``image_name``; at most ``limit`` tweets (0: all), most liked first."""
    ordered = liked_order(release, rows)
    tweets = release["id"].astype(str).to_numpy()
    first = ordered[~pd.Series(tweets[ordered]).duplicated().to_numpy()]
    keep = first[:limit] if limit else first
    table = most_liked(release, names, keep, limit=0)
    counts = pd.Series(tweets[np.asarray(rows, dtype=np.int64)]).value_counts()
    table.insert(1, "images", counts.reindex(tweets[keep]).to_numpy(dtype=np.int64))
    return table


def sample_text(n_shown: int, n_images: int) -> str:
    """What the interactive map holds, in words: "all 24,000 images" or "a seeded random sample of
    1,000,000 of the 8,000,000 images" (``n_shown`` rows of :func:`map_table`, ``n_images`` in all)."""
    if n_shown >= n_images:
        return f"all {n_images:,} images"
    return f"a seeded random sample of {n_shown:,} of the {n_images:,} images"


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
    table : DataFrame from :func:`map_table` (every image, or a sample of them: :func:`sample_rows`)
    height : int, the map's height in pixels
    n_images : int, optional; the release's images, when ``table`` holds a sample of them (the status says so)
    """

    def __init__(self, table: pd.DataFrame, height: int = 560, n_images: int | None = None):
        import ipywidgets as W

        self.table = table
        self.n_images = len(table) if n_images is None else int(n_images)
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
        sampled = (f" (a seeded random sample of the release's {self.n_images:,})"
                   if self.n_images > len(self.table) else "")
        self.status.value = (f"<b>{n:,}</b> of {len(self.table):,} images shown{sampled} ({lo} to {hi}). Hover a point for "
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
