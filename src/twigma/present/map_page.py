"""The report's map of every image: one HTML page that opens from disk and draws the release's UMAP with
plotly.js (the copy bundled in the ``plotly`` package; WebGL ``scattergl``, or SVG in a browser without
WebGL), filtered by cluster and month.

What the page holds (:func:`map_data`), within :data:`PAGE_BUDGET` bytes at 800,000 images:

* **every image**, as its cell of a :data:`DENSITY_BINS` x :data:`DENSITY_BINS` grid over the UMAP (two bytes
  an image, grouped by cluster and month), from which the page draws a density image of the images of the
  chosen clusters and months, coloured by the mix of clusters in each cell and opaque by the log of its
  count (as the static map of notebook 10, :func:`twigma.present.plots.categorical_density`);
* a **seeded random sample** of at most :data:`MAP_SAMPLE` images (:data:`MAP_SEED`,
  :func:`twigma.present.explore.sample_rows`; every image of a smaller release) drawn as points, each with
  its caption (cut to :data:`CAPTION_CHARS` characters), date (UTC) and likes shown on hover, and, for a
  real release only, its tweet's link when clicked. A synthetic release's ids are made up: no link.

A caption is text a model wrote about a stranger's picture, so it never becomes markup: the page's data is
JSON in a ``<script type="application/json">`` with every ``<``, ``>`` and ``&`` written as a ``\\u`` escape
(no caption can close the script or open a comment); the page's script puts text into the page with
``textContent`` only, and escapes ``&``, ``<`` and ``>`` as entities in the hover text, which plotly.js
reads as its own small HTML (``<b>``, ``<a href>``, ``<br>``) but shows entities as their characters.

The page asks nothing of the network: plotly.min.js and the page's script (``map_page.js``) are copied
beside it, the density image is a ``data:`` URL drawn in the page, and a Content-Security-Policy forbids
fetches, fonts, frames and images from anywhere else.

:func:`add_to_site` is what ``make report`` (:mod:`twigma.run.report`) calls: it finds the release the run
read (its manifest's path and SHA-256), and writes the page, or says in the report why there is none.
"""
from __future__ import annotations

import base64
import html
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from twigma.embeddings.search import TWEET_URL
from twigma.errors import UserError
from twigma.files import atomic_write
from twigma.present import explore
from twigma.present.plots import cluster_colors

#: Most images drawn as points with hover text; past it, a seeded random sample of this many.
MAP_SAMPLE = 30_000
#: Seed of that sample (numpy's default_rng).
MAP_SEED = 0
#: Cells per axis of the density grid of every image (at most 256: a cell's number is two bytes).
DENSITY_BINS = 200
#: Characters of a caption kept for the hover label and the clicked point.
CAPTION_CHARS = 120
#: Characters per line of a caption in the hover label.
HOVER_LINE = 60
#: Most bytes of the page (map.html, its data included) at 800,000 images, every sampled caption
#: CAPTION_CHARS long and every tweet linked (tests/present/test_map_page.py; docs/scaling.md).
PAGE_BUDGET = 8_000_000
#: Most bytes of everything the map loads at 800,000 images: the page, plotly.min.js and map_page.js.
MAP_BUDGET = 14_000_000
#: The release columns the page reads.
COLUMNS = ["UMAP_dim_1", "UMAP_dim_2", "label_10_cluster", "created_at", "all_captions", "like_count", "id"]
#: File names in the site.
PAGE = "map.html"
SCRIPT = "twigma-map.js"
PLOTLY = "plotly.min.js"
#: What the page may load besides its own scripts: images only as data: URLs (the density image), and no
#: fetch, font, frame, plugin, form or base URL at all.
CSP = ("img-src data: blob:; connect-src 'none'; font-src 'none'; frame-src 'none'; object-src 'none'; "
       "media-src 'none'; base-uri 'none'; form-action 'none'")


class MapPageError(UserError, ValueError):
    """The release, or a setting, with which the map cannot be drawn."""


def plotly_js() -> Path:
    """The plotly.min.js bundled in the ``plotly`` package (``plotly/package_data/``)."""
    from importlib.util import find_spec

    spec = find_spec("plotly")  # found, not imported: the page needs its file only
    found = Path(spec.origin).parent / "package_data" / PLOTLY if spec and spec.origin else None
    if found is None or not found.is_file():  # the base environment has it (env/requirements.in)
        raise ImportError("the report's map needs the plotly package (its bundled plotly.min.js): install the "
                          "environment with `make env`, or `pip install plotly`.")
    return found


def grid_extent(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(x min, x max, y min, y max) of the density grid: the points' range padded by 2% (as the static map);
    a range of one value is widened by 0.5 each way."""
    def span(v):
        lo, hi = float(v.min()), float(v.max())
        pad = 0.02 * (hi - lo)
        return (lo - pad, hi + pad) if hi > lo else (lo - 0.5, hi + 0.5)

    return (*span(x), *span(y))


def grid_cells(x: np.ndarray, y: np.ndarray, extent, bins: int) -> np.ndarray:
    """Each point's cell, ``row * bins + column``, row 0 at the lowest y, of a ``bins`` x ``bins`` grid over
    ``extent`` (every point must lie inside it, as in :func:`grid_extent`)."""
    x0, x1, y0, y1 = extent
    col = np.clip(((np.asarray(x, float) - x0) / (x1 - x0) * bins).astype(np.int64), 0, bins - 1)
    row = np.clip(((np.asarray(y, float) - y0) / (y1 - y0) * bins).astype(np.int64), 0, bins - 1)
    return row * bins + col


def _b64(values: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")


def _density(points: pd.DataFrame, bins: int) -> tuple[dict, tuple]:
    """Every image's cell (uint16, little-endian), ordered by group ``cluster * months + month``, with the
    groups' offsets (int32, one more than the groups)."""
    if not 1 <= bins <= 256:
        raise MapPageError(f"density bins must be 1 to 256 (a cell's number is two bytes), not {bins}")
    x, y = points["x"].to_numpy(np.float64), points["y"].to_numpy(np.float64)
    extent = grid_extent(x, y)
    cells = grid_cells(x, y, extent, bins)
    cluster, month = points["cluster"].cat.codes.to_numpy(np.int64), points["month"].cat.codes.to_numpy(np.int64)
    if (cluster < 0).any() or (month < 0).any():
        raise MapPageError("every image needs a cluster and a month (created_at) to be on the map")
    n_months = len(points["month"].cat.categories)
    group = cluster * n_months + month
    order = np.lexsort((cells, group))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=len(points["cluster"].cat.categories)
                                                         * n_months))])
    return {"cells": _b64(cells[order], "<u2"), "offsets": _b64(offsets, "<i4")}, extent


def _short(captions: pd.Series, chars: int) -> list[str]:
    """Captions on one line (runs of white space as one space), cut to ``chars`` characters with "…"."""
    text = captions.astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    long = text.str.len() > chars
    return text.where(~long, text.str.slice(0, chars - 1) + "…").tolist()


def _sample(release: pd.DataFrame, points: pd.DataFrame, limit: int, seed: int, synthetic: bool,
            chars: int) -> dict:
    """The sampled images as the page's columns: position, cluster and month codes, day (days since
    1970-01-01 UTC), likes (-1 where missing), caption and, for a real release, tweet id."""
    rows = explore.sample_rows(len(release), limit, seed)
    taken = explore.take_rows(release[["created_at", "all_captions", "like_count", "id"]], rows)
    utc = taken["created_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    day = utc.to_numpy().astype("datetime64[D]").astype(np.int64)
    likes = taken["like_count"].to_numpy(dtype=float, na_value=np.nan)
    sample = {"n": int(len(rows)), "seed": int(seed), "limit": int(limit),
              "x": _b64(points["x"].to_numpy()[rows], "<f4"), "y": _b64(points["y"].to_numpy()[rows], "<f4"),
              "cluster": _b64(points["cluster"].cat.codes.to_numpy()[rows], "<u2"),
              "month": _b64(points["month"].cat.codes.to_numpy()[rows], "<u2"),
              "day": _b64(day, "<i4"), "likes": _b64(np.where(np.isnan(likes), -1, likes), "<i4"),
              "caption": _short(taken["all_captions"], chars), "tweet": None}
    if not synthetic:
        ids = taken["id"].astype(str).tolist()
        sample["tweet"] = [i if i.isdigit() else "" for i in ids]  # a link is made from digits only
    return sample


def map_data(release: pd.DataFrame, names: pd.Series, *, synthetic: bool, sample: int = MAP_SAMPLE,
             seed: int = MAP_SEED, bins: int = DENSITY_BINS, caption_chars: int = CAPTION_CHARS) -> dict:
    """What the page draws, as JSON-ready data (the module docstring says what and why).

    Parameters
    ----------
    release : the typed release (:func:`twigma.load_release`) with :data:`COLUMNS`, shape (n_images, 7+)
    names : Series cluster -> name (:func:`twigma.analysis.text.cluster_names`)
    synthetic : whether the release is synthetic (its tweet ids made up: no links)
    sample, seed : at most ``sample`` images drawn as points, chosen with ``seed`` (0: every image)
    bins : cells per axis of the density grid
    caption_chars : characters of a caption kept

    Returns
    -------
    dict with ``n_images``, ``synthetic``, ``extent``, ``bins``, ``clusters`` (label and colour, in cluster
    order), ``months`` (``YYYY-MM``), ``density`` (every image's cell by cluster and month: ``cells``,
    ``offsets``), ``sample`` (the points' columns) and ``tweet_url`` (the link's text before and after the
    id; None for a synthetic release). Numeric columns are base64 of little-endian arrays.
    """
    from matplotlib.colors import to_hex

    missing = [c for c in COLUMNS if c not in release.columns]
    if missing:
        raise KeyError(f"the map needs the release columns {missing}: load the release with twigma.load_release "
                       f"and columns={COLUMNS}.")
    points = explore.map_points(release, names)
    density, extent = _density(points, bins)
    ks = sorted(int(k) for k in pd.unique(release["label_10_cluster"].to_numpy()))
    colours = cluster_colors(ks)
    clusters = [{"k": k, "label": label, "colour": to_hex(colours[k])}
                for k, label in zip(ks, points["cluster"].cat.categories)]
    return {"n_images": int(len(release)), "synthetic": bool(synthetic), "extent": list(extent), "bins": int(bins),
            "caption_chars": int(caption_chars), "clusters": clusters,
            "months": [str(m) for m in points["month"].cat.categories], "density": density,
            "sample": _sample(release, points, sample, seed, synthetic, caption_chars),
            "tweet_url": None if synthetic else TWEET_URL.split("{}", 1)}


def script_json(data: dict) -> str:
    """``data`` as JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` as ``\\u`` escapes (JSON
    reads them back unchanged), so no string can end the element or start a comment in it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def describe(data: dict) -> str:
    """What the map shows, in words (plain text; the page escapes it)."""
    n, s = data["n_images"], data["sample"]
    points = ("every one of them is a point" if s["n"] >= n else
              f"a seeded random sample of {s['n']:,} of them (seed {s['seed']}) are points")
    link = ("; click a point to get the link to its tweet" if data["tweet_url"] else
            "; a synthetic release's tweet ids are made up, so no point links to a tweet")
    return (f"All {n:,} images of the release at their released UMAP coordinates: the coloured density image "
            f"counts every image of the chosen clusters and months in a {data['bins']} x {data['bins']} grid (its "
            f"colour is the mix of clusters in a cell, its opacity grows with the log of the count), and "
            f"{points}, showing its caption (up to {data['caption_chars']} characters), date (UTC) and likes when "
            f"hovered{link}. Scroll to zoom, drag to zoom into a box, double-click to zoom out. UMAP keeps "
            "neighbourhoods, not distances: gaps and sizes on the map are not measures of difference.")


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem 2rem; color: #222; }
.twigma-synthetic { background: #b00020; color: white; padding: 6px 10px; font-weight: bold; }
#twigma-controls { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
#twigma-controls fieldset { border: 1px solid #ccc; padding: 4px 10px; }
#twigma-clusters label { display: block; font-size: 0.9em; }
.twigma-swatch { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 4px; vertical-align: middle; }
#twigma-map { width: 100%; height: 72vh; min-height: 420px; }
#twigma-map image { image-rendering: pixelated; }  /* the density image: its cells, not a blur */
#twigma-point { border-top: 1px solid #ddd; margin-top: 0.5rem; }
"""


def page_html(data: dict, *, static: str = "_static/", back: str | None = "index.html",
              title: str = "Map of every image") -> str:
    """The page: heading, what it shows, the filters, the map and the clicked point; its data inline,
    plotly.min.js and the page's script from ``static`` (a relative folder, ending in ``/``)."""
    e = html.escape
    banner = ('<p class="twigma-synthetic" role="note">Synthetic sample data: these images, captions and likes '
              "were made by the sample's generator, not posted on Twitter.</p>") if data["synthetic"] else ""
    nav = f'<p><a href="{e(back)}">Back to the report</a></p>' if back else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">
<title>{e(title)} · TWIGMA compendium</title>
<style>{STYLE}</style>
</head>
<body>
<main>
{nav}
<h1>{e(title)}</h1>
{banner}
<p id="twigma-about">{e(describe(data))}</p>
<div id="twigma-controls">
<fieldset><legend>Clusters</legend><div id="twigma-clusters"></div>
<button type="button" id="twigma-all">all</button> <button type="button" id="twigma-none">none</button></fieldset>
<fieldset><legend>Months</legend><label>from <select id="twigma-from"></select></label>
<label>to <select id="twigma-to"></select></label></fieldset>
</div>
<p id="twigma-status" aria-live="polite"></p>
<div id="twigma-map"></div>
<section id="twigma-point" aria-live="polite"><h2>Clicked point</h2><p>Click a point of the map to show it here.</p>
</section>
</main>
<script type="application/json" id="twigma-map-data">{script_json(data)}</script>
<script src="{e(static)}{PLOTLY}"></script>
<script src="{e(static)}{SCRIPT}"></script>
</body>
</html>
"""


def write_page(data: dict, folder: str | os.PathLike, static_folder: str | os.PathLike | None = None,
               static: str = "_static/", back: str | None = "index.html") -> Path:
    """Write the page as ``folder/map.html`` and its scripts into ``static_folder`` (default
    ``folder/_static``, which ``static`` must name relative to the page); return the page's path."""
    folder = Path(folder)
    static_folder = Path(static_folder) if static_folder is not None else folder / static
    atomic_write(static_folder / PLOTLY, lambda tmp: shutil.copyfile(plotly_js(), tmp))
    atomic_write(static_folder / SCRIPT, lambda tmp: shutil.copyfile(Path(__file__).with_name("map_page.js"), tmp))
    text = page_html(data, static=static, back=back)
    return atomic_write(folder / PAGE, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _release_of(manifest: dict) -> dict:
    """The release record of the run: notebook 10's (the map's notebook) where it ran, else the first."""
    runs = manifest.get("notebooks", {})
    order = sorted(runs, key=lambda nb: (nb != "10_explore", nb))
    return next((runs[nb]["release"] for nb in order if (runs[nb].get("release") or {}).get("path")), {})


def add_to_site(out_root: str | os.PathLike, manifest: dict, page_folder: str | os.PathLike,
                static_folder: str | os.PathLike) -> str:
    """Write the map of the run's release into a site being built (the page into ``page_folder``, its
    scripts into ``static_folder``, which the site serves as ``_static/`` beside the page) and return the
    index's section about it (MyST Markdown): a link and what it shows, or why there is no map (the release
    is gone from where the run read it, or changed since)."""
    from twigma.analysis.text import cluster_names, names_from_table
    from twigma.paths import RunLayout
    from twigma.present.notebook import CLUSTER_NAMES, table_path
    from twigma.release import load_release
    from twigma.run.provenance import release_record

    Path(page_folder).mkdir(parents=True, exist_ok=True)  # the site's extra folder, even without a map
    head = "## Map of every image\n\n"
    recorded = _release_of(manifest)
    if not recorded:
        return head + "No map: the run's manifest names no release.\n"
    now = release_record(recorded["path"])
    shown = Path(recorded["path"]).name
    if not now.get("exists", True) or (recorded.get("sha256") and now.get("sha256") != recorded["sha256"]):
        why = "is no longer where the run read it" if not now.get("exists", True) else "has changed since the run"
        return (head + f"No map: the release `{shown}` {why}; run `make figures` (with the same RELEASE=) and "
                "`make report` again.\n")
    release = load_release(recorded["path"], columns=COLUMNS)
    names_file = table_path(RunLayout.published(Path(out_root)).results, CLUSTER_NAMES)
    names = names_from_table(pd.read_csv(names_file) if names_file.exists() else None, release)
    if names is None:
        names = cluster_names(release)
    synthetic = bool(recorded.get("synthetic") or release.attrs.get("synthetic"))
    data = map_data(release, names, synthetic=synthetic)
    write_page(data, page_folder, static_folder=static_folder)
    return head + f'<p><a href="{PAGE}">Open the map</a>. {html.escape(describe(data))}</p>\n'
