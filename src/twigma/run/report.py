"""The report site: a run's executed notebooks, claims and figures as static HTML (``make report``).

Built with Sphinx and MyST-NB (the engine of Jupyter Book 1), offline, from what ``make figures``
left under the output root: ``build/*.ipynb`` (executed copies), ``results/claims.csv``,
``results/provenance.json`` and ``figures/``. The site opens from disk (``report/index.html``),
needs no server and asks nothing of the internet:

* a landing page: the claims table (the paper's words, this run's numbers, the verdict in colour with
  the data it rests on, synthetic sample or release), each claim linking to the Findings of the
  notebook that checked it, then the run's inputs and date;
* a gallery of every figure (full size on click), each with its provenance and a link to its notebook;
* a map of every image of the release (:mod:`twigma.present.map_page`): filters by cluster and month, a
  hover label with caption, date and likes, and for a real release the tweet's link;
* one page per notebook that reads like a paper's section: its verdicts first, figures and text with
  the code folded (a toggle opens it; long lines wrap), markdown outputs rendered as MyST (tables),
  figures that open full size, and at the end its provenance and the files it wrote, each linked;
* on a run of the synthetic sample, a banner on every page says so (the theme's announcement bar);
* paths as a reader can use them (relative to the repository or ``$OUT``; full ones in the manifest);
* notebooks removed from ``notebooks/`` since the run are left out (:func:`provenance.without_removed`).

The pages themselves are made by :mod:`twigma.run.report_pages`.

The Sphinx sources are generated under ``build/report-src/`` and rebuilt whole each time.
"""
from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from twigma import paths
from twigma.errors import UserError
from twigma.files import atomic_write
from twigma.present import datasheet, map_page
from twigma.run import provenance, report_pages as pages_
from twigma.run.report_pages import SYNTHETIC_BANNER

CSS = """
/* a page reads like a paper's section: a wide column so figures keep legible legends */
.bd-page-width { max-width: 110rem; }
.bd-main .bd-content .bd-article-container { max-width: 100%; }
/* code is never clipped sideways: long lines wrap */
div.highlight pre, div.cell_output pre, .output pre { white-space: pre-wrap; overflow-wrap: anywhere; }
div.cell details.hide summary { font-size: 0.85em; color: #444; }
/* wide tables (03's trends, 08's models, 10's search) scroll sideways instead of being clipped */
div.cell_output, div.cell_output div.output { max-width: 100%; overflow-x: auto; }
div.cell_output table, .bd-article table.dataframe { display: block; max-width: 100%; overflow-x: auto; }
div.cell_output table.dataframe th { white-space: nowrap; }
.cell_output img, .twigma-figure img { max-width: 100%; height: auto; cursor: zoom-in; }
a.twigma-zoom { display: inline-block; }
.twigma-claims { border-collapse: collapse; width: 100%; font-size: 0.9em; }
.twigma-claims th, .twigma-claims td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
.twigma-claims th { background: #f3f3f3; }
.twigma-verdict { display: inline-block; padding: 1px 6px; border-radius: 4px; font-weight: bold; border: 2px solid transparent; }
.twigma-verdict.on-synthetic { border-style: dashed; border-color: #b00020; }
.twigma-data { font-weight: normal; font-size: 0.85em; }
.verdict-yes { background: #d8f0d8; color: #0b3d0b; }
.verdict-no { background: #f6d5d5; color: #5a0a0a; }
.verdict-untestable { background: #eeeeee; color: #333; font-weight: normal; }
.verdict-partly { background: #fff3cd; color: #4a3b00; }
.verdict-other { background: #fff3cd; color: #4a3b00; }
.twigma-prov { font-size: 0.8em; border-collapse: collapse; margin-bottom: 2em; }
.twigma-prov td, .twigma-prov th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
.twigma-prov td { word-break: break-all; }
.twigma-prov th { white-space: nowrap; }
.twigma-figure img { border: 1px solid #eee; }
.twigma-synthetic { background: #b00020; color: white; padding: 6px 10px; font-weight: bold; margin-bottom: 1em; }
"""


#: A table or output that scrolls sideways takes keyboard focus, so that it can be scrolled without a mouse
#: (WCAG 2.1.1; axe's scrollable-region-focusable), and is named for screen readers.
JS = """
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("div.cell_output table, table.dataframe, div.cell_output div.output")) {
    if (el.scrollWidth > el.clientWidth && !el.hasAttribute("tabindex")) {
      el.tabIndex = 0;
      el.setAttribute("role", "region");
      el.setAttribute("aria-label", "wide output: scroll sideways with the arrow keys");
    }
  }
});
"""


class ReportError(UserError, RuntimeError):
    """A run that cannot be turned into a report as it is."""


def _load_run(out_root: Path) -> tuple[pd.DataFrame, dict, list[Path]]:
    """The run's claims, its manifest (without the notebooks removed since, see
    :func:`twigma.run.provenance.prune`) and the executed notebooks the manifest knows."""
    run = paths.RunLayout.published(out_root)
    notebooks = sorted(run.build.glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in (run.claims_csv, run.manifest) if not p.exists()]
    if missing or not notebooks:
        raise ReportError(f"{out_root}: no complete run to report ({', '.join(missing) or 'no executed notebooks'} "
                          "missing). Run `make figures` (with the same OUT=) first; `make report` does it for you.")
    claims = pd.read_csv(run.claims_csv, dtype=str, keep_default_na=False)
    manifest, _ = provenance.without_removed(json.loads(run.manifest.read_text()))
    known = manifest.get("notebooks", {})
    notebooks = [p for p in notebooks if p.stem in known]
    if "notebook" in claims.columns:  # the claims of a removed notebook went with it
        claims = claims[claims["notebook"].isin(known) | (claims["notebook"] == "")]
    return claims, manifest, notebooks


def _is_synthetic(manifest: dict) -> bool:
    for run in manifest.get("notebooks", {}).values():
        if (run.get("release") or {}).get("synthetic") or (run.get("embeddings") or {}).get("synthetic"):
            return True
    return False


def _conf(synthetic: bool) -> str:
    options = {"show_toc_level": 2, "home_page_in_toc": True, "use_download_button": False,
               "use_fullscreen_button": False,
               # the notebook pages give the in-page contents' column to their figures (legible legends)
               "secondary_sidebar_items": {"**": [], "index": ["page-toc"], "gallery": ["page-toc"]}}
    if synthetic:
        options["announcement"] = html.escape(SYNTHETIC_BANNER)
    return f'''# Generated by twigma.run.report: edit the generator, not this file.
project = "TWIGMA compendium"
author = "TWIGMA compendium contributors"
extensions = ["myst_nb"]
html_theme = "sphinx_book_theme"
html_theme_options = {options!r}
html_title = "TWIGMA compendium"
html_context = {{"default_mode": "light"}}
html_static_path = ["_static"]
html_extra_path = ["_extra"]  # the map of every image (twigma.present.map_page), copied as it is
html_css_files = ["twigma.css"]
html_js_files = ["twigma.js"]
html_show_sourcelink = False
html_copy_source = False
nb_execution_mode = "off"
nb_merge_streams = True
# markdown outputs (the Findings tables, the sentences after each figure) are parsed as MyST, with
# its tables, not as CommonMark without them
nb_render_markdown_format = "myst"
nb_code_prompt_show = "Show code cell {{type}}"
nb_code_prompt_hide = "Hide code cell {{type}}"
# text from a run (a caption, a query) is shown as it is: no curly quotes or dashes made from it
smartquotes = False
myst_heading_anchors = 3
myst_enable_extensions = ["html_image", "strikethrough"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "myst.xref_missing", "misc.highlighting_failure",
                     "myst.strikethrough"]
exclude_patterns = ["_build"]
# no JavaScript from the internet: Sphinx would load MathJax from a CDN on pages with maths; a local
# stub stands in (the notebooks write their formulas as text, so nothing is lost)
mathjax_path = "no-mathjax.js"
'''


#: What :func:`finish_page` edits, as CSS selectors of the markup the tools write. A figure of a notebook's
#: outputs: Sphinx copies every image to ``_images/`` (a notebook page lives one folder down).
OUTPUT_FIGURE = 'img[src^="../_images/"]'
#: Accessible names that differ from the visible label (axe: label-content-name-mismatch), whose visible
#: words are the better name: sphinx-book-theme's search field, in every page's sidebar (its theme.conf's
#: ``sidebars``; the button of pydata-sphinx-theme's components/search-button-field.html, ``aria-label="Search"``
#: beside the words "Search... Ctrl+K")...
SEARCH_FIELD = "button.search-button-field"
#: ... and MyST-NB's toggle of each folded code cell (``<summary aria-label="Toggle hidden content">`` in
#: a ``details.hide``, myst_nb/sphinx_.py's visit_HideCellInput), inside each cell tagged ``hide-input``.
FOLDED_CELL, FOLD_TOGGLE = "div.cell.tag_hide-input", "details.hide > summary"


def finish_page(text: str, title: str, where: str = "the page") -> str:
    """Last touches to a page Sphinx built (its HTML ``text``, returned edited): each figure of a notebook's
    outputs opens full size on click (a link around the image) with an alternative text that names it
    (``<title>: figure <n>``) rather than its file; the theme's search field and MyST-NB's fold toggles are
    named by what the reader sees.

    A page without the markup these edits expect (the search field; a fold toggle in each folded cell) raises
    :class:`ReportError` naming ``where``: the theme or MyST-NB changed, and the edits must follow."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for n, img in enumerate(soup.select(OUTPUT_FIGURE), start=1):
        img["alt"] = f"{title}: figure {n}"
        if img.parent is not None and img.parent.name != "a":
            img.wrap(soup.new_tag("a", attrs={"class": "twigma-zoom", "href": str(img["src"]),
                                              "title": "open the figure at full size"}))
    search = soup.select(SEARCH_FIELD)
    folded = soup.select(FOLDED_CELL)
    toggles = [cell.select_one(FOLD_TOGGLE) for cell in folded]
    missing = ([f"the theme's search field ({SEARCH_FIELD})"] if not search else []) + \
              ([f"the toggle ({FOLD_TOGGLE}) of {toggles.count(None)} of {len(folded)} folded code cells "
                f"({FOLDED_CELL})"] if None in toggles else [])
    if missing:
        raise ReportError(f"{where}: the report's last touches expect markup the page lacks: {'; '.join(missing)}. "
                          "sphinx-book-theme or MyST-NB writes its pages differently than the versions in "
                          "env/requirements.txt: install those (make setup), or update twigma.run.report.finish_page "
                          "to the new markup.")
    for tag in search + toggles:
        if tag is not None:
            tag.attrs.pop("aria-label", None)
    return soup.decode(formatter="html5")


def _finish(page: Path, title: str, where: str) -> None:
    text = finish_page(page.read_text(encoding="utf-8"), title, where)
    atomic_write(page, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def build_report(out: str | os.PathLike | None = None, target: str | os.PathLike | None = None,
                 quiet: bool = True) -> Path:
    """Render the run under ``out`` (default: the repository) into ``target`` (default
    ``<out>/report``); return the landing page's path."""
    from sphinx.cmd.build import build_main

    out_root = paths.resolve(out, default=paths.ROOT)
    layout = paths.RunLayout.published(out_root)
    claims, manifest, notebooks = _load_run(out_root)
    target = Path(target) if target else layout.report
    src = layout.build / "report-src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    (src / "_static").mkdir()
    synthetic = _is_synthetic(manifest)
    runs = manifest.get("notebooks", {})
    pages = {p.stem for p in notebooks}
    shown = pages_.Paths(out_root, manifest)
    for p in notebooks:
        pages_.notebook_page(p, src / "notebooks" / p.name, runs.get(p.stem), manifest, claims, shown)
    for rel in manifest.get("files", {}):  # figures for the gallery; tables, PDFs and notebooks to download
        if (out_root / rel).is_file():
            (src / "_static" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out_root / rel, src / "_static" / rel)
    robustness_file = layout.results / "robustness_summary.csv"
    robustness = pd.read_csv(robustness_file) if robustness_file.exists() else None
    _write(src / "_static" / "twigma.css", CSS)
    _write(src / "_static" / "twigma.js", JS)
    _write(src / "_static" / "no-mathjax.js", "/* MathJax is not bundled: the report makes no requests. */\n")
    _write(src / "conf.py", _conf(synthetic))
    map_section = map_page.add_to_site(out_root, manifest, src / "_extra", src / "_static")  # map.html
    _write(src / "index.md", pages_.index_page(claims, manifest, pages, synthetic, robustness, shown, map_section))
    _write(src / "gallery.md", pages_.gallery_page(manifest, pages, shown))
    _write(src / "datasheet.md", datasheet.render(out_root))  # the release's datasheet with this run's counts
    # MyST-NB writes its working folders beside the output folder: build the site inside build/ and
    # move it into place when it is complete
    tmp = layout.build / "report-html" / "site"
    shutil.rmtree(tmp.parent, ignore_errors=True)
    args = ["-b", "html", "-E", "-a", str(src), str(tmp)] + (["-q"] if quiet else [])
    code = build_main(args)
    if code != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ReportError(f"Sphinx could not build the report from {src} (exit code {code}); see the messages above.")
    # the pages Sphinx wrote: not the run's files copied under _static/, nor the pages html_extra_path copies
    # as they are (map.html is no theme page)
    extra = {f.relative_to(src / "_extra") for f in (src / "_extra").rglob("*") if f.is_file()}
    for page in tmp.rglob("*.html"):
        rel = page.relative_to(tmp)
        if rel not in extra and not any(part.startswith("_") for part in rel.parts[:-1]):
            _finish(page, page.stem, f"the report page {rel} (built from {src})")
    shutil.rmtree(tmp / ".doctrees", ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)  # the old site goes only once the new one is complete
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(tmp), str(target))
    shutil.rmtree(tmp.parent, ignore_errors=True)
    return target / "index.html"
