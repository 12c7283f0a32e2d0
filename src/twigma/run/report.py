"""The report site: a run's executed notebooks, claims and figures as static HTML (``make report``).

Built with Sphinx and MyST-NB (the engine of Jupyter Book 1), offline, from what ``make figures``
left under the output root: ``build/*.ipynb`` (executed copies), ``results/claims.csv``,
``results/provenance.json`` and ``figures/``. The site opens from disk (``report/index.html``),
needs no server and asks nothing of the internet:

* a landing page: the run's inputs and date, and the claims table (the paper's words, this run's
  numbers, the verdict in colour), each claim linking to the Findings of the notebook that checked it;
* a gallery of every figure, each with its provenance and a link to its notebook;
* one page per notebook, with its outputs, its provenance at the end and navigation between pages;
* on a run of the synthetic sample, a banner on every page says so (the theme's announcement bar).

The Sphinx sources are generated under ``build/report-src/`` and rebuilt whole each time.
"""
from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path

import nbformat
import pandas as pd

from twigma import paths
from twigma.errors import UserError

VERDICT_CLASS = {"yes": "verdict-yes", "no": "verdict-no", "untestable": "verdict-untestable"}
SYNTHETIC_BANNER = ("Synthetic sample data: every number on these pages describes the sample's generator, "
                    "not Twitter, and the claims hold by construction. Run make figures RELEASE=... for real results.")

CSS = """
.twigma-claims { border-collapse: collapse; width: 100%; font-size: 0.9em; }
.twigma-claims th, .twigma-claims td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
.twigma-claims th { background: #f3f3f3; }
.verdict-yes { background: #d8f0d8; font-weight: bold; }
.verdict-no { background: #f6d5d5; font-weight: bold; }
.verdict-untestable { background: #eeeeee; color: #555; }
.verdict-other { background: #fff3cd; }
.twigma-prov { font-size: 0.8em; border-collapse: collapse; margin-bottom: 2em; }
.twigma-prov td { border: 1px solid #ddd; padding: 2px 6px; word-break: break-all; }
.twigma-prov td:first-child { white-space: nowrap; font-weight: bold; word-break: normal; }
.twigma-figure img { max-width: 100%; border: 1px solid #eee; }
.twigma-synthetic { background: #b00020; color: white; padding: 6px 10px; font-weight: bold; margin-bottom: 1em; }
"""


class ReportError(UserError, RuntimeError):
    """A run that cannot be turned into a report as it is."""


def _esc(x) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))


def _load_run(out_root: Path) -> tuple[pd.DataFrame, dict, list[Path]]:
    claims_file = out_root / "results" / "claims.csv"
    manifest_file = out_root / "results" / "provenance.json"
    notebooks = sorted((out_root / "build").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in (claims_file, manifest_file) if not p.exists()]
    if missing or not notebooks:
        raise ReportError(f"{out_root}: no complete run to report ({', '.join(missing) or 'no executed notebooks'} "
                          "missing). Run `make figures` (with the same OUT=) first; `make report` does it for you.")
    claims = pd.read_csv(claims_file, dtype=str, keep_default_na=False)
    return claims, json.loads(manifest_file.read_text()), notebooks


def _is_synthetic(manifest: dict) -> bool:
    for run in manifest.get("notebooks", {}).values():
        if (run.get("release") or {}).get("synthetic") or (run.get("embeddings") or {}).get("synthetic"):
            return True
    return False


def _prov_rows(run: dict, extra: dict | None = None) -> list[tuple[str, str]]:
    rel = run.get("release") or {}
    emb = run.get("embeddings") or {}
    git = run.get("git") or {}
    v = run.get("versions") or {}
    rows = [("notebook", run.get("notebook_file", run.get("notebook", ""))),
            ("parameters", json.dumps(run.get("parameters", {}), sort_keys=True)),
            ("release", f"{rel.get('path', '')} ({rel.get('rows') if rel.get('rows') is not None else '?'} rows)"),
            ("release SHA-256", rel.get("sha256", "")),
            ("embedding store", f"{emb.get('path', '')} (digest {emb.get('digest', '')}, model {emb.get('model')})"
             if emb else "none"),
            ("git commit", f"{git.get('commit')}" + (" with uncommitted changes" if git.get("uncommitted_changes")
                                                     else "")),
            ("run", f"{run.get('started', '')}, {run.get('run_seconds', '?')} s"),
            ("versions", ", ".join(f"{k} {val}" for k, val in v.items() if val))]
    return rows + list((extra or {}).items())


def _prov_table(rows) -> str:
    body = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="twigma-prov">{body}</table>'


def _claims_table(claims: pd.DataFrame, pages: set[str]) -> str:
    cols = [("claim", "Claim"), ("paper_says", "The paper says"), ("statement", "Checked as"),
            ("observed", "This run finds"), ("holds", "Verdict"), ("notebook", "Checked by")]
    cols = [(c, label) for c, label in cols if c in claims.columns]
    head = "".join(f"<th>{label}</th>" for _, label in cols)
    rows = []
    for r in claims.to_dict(orient="records"):
        cells = []
        for c, _ in cols:
            value = r.get(c, "")
            if c == "holds":
                cells.append(f'<td class="{VERDICT_CLASS.get(value, "verdict-other")}">{_esc(value)}</td>')
            elif c == "notebook" and value in pages:
                cells.append(f'<td><a href="notebooks/{_esc(value)}.html#findings">{_esc(value)}</a></td>')
            elif c == "claim" and r.get("notebook") in pages:
                cells.append(f'<td><a href="notebooks/{_esc(r["notebook"])}.html#findings">{_esc(value)}</a></td>')
            else:
                cells.append(f"<td>{_esc(value)}</td>")
        rows.append(f'<tr id="claim-{_esc(r.get("claim", "")).lower()}">{"".join(cells)}</tr>')
    return f'<table class="twigma-claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _index(claims, manifest, pages, synthetic: bool, robustness: pd.DataFrame | None) -> str:
    runs = manifest.get("notebooks", {})
    first = next(iter(runs.values()), {})
    rel = first.get("release") or {}
    emb = next(((r.get("embeddings") or {}) for r in runs.values() if r.get("embeddings")), {})
    git = first.get("git") or {}
    inputs = [("release", f"{rel.get('path', '?')}" + (" (synthetic sample)" if rel.get("synthetic") else "")),
              ("release rows", rel.get("rows")), ("release SHA-256", rel.get("sha256")),
              ("embedding store", f"{emb.get('path')} (model {emb.get('model')}, digest {emb.get('digest')})"
               if emb else "none: the image notebooks were skipped"),
              ("git commit", f"{git.get('commit')}" + (" with uncommitted changes" if git.get("uncommitted_changes")
                                                       else "")),
              ("run date", manifest.get("made"))]
    parts = ["# TWIGMA compendium: results of this run", ""]
    if synthetic:
        parts += [f'<div class="twigma-synthetic">{_esc(SYNTHETIC_BANNER)}</div>', ""]
    parts += ["This site shows one run of the compendium reproducing *TWIGMA: A dataset of AI-Generated Images with "
              "Metadata From Twitter* (Chen and Zou, NeurIPS 2023 Datasets and Benchmarks). Every number below was "
              "computed by the notebooks of this run; each claim links to the notebook section that checked it, "
              "and the [gallery](gallery.md) lists every figure with the data, parameters and code that made it.",
              "", "## Inputs of this run", "", _prov_table(inputs), "", "## Claims", "",
              _claims_table(claims, pages), ""]
    if robustness is not None and len(robustness):
        parts += ["## Robustness of the claims", "",
                  "How often each claim holds over the specifications of `make robustness`:", "",
                  robustness.to_html(index=False, classes="twigma-claims", border=0, escape=True), ""]
    parts += ["## Notebooks", "", *[f"- [{p}](notebooks/{p}.ipynb)" for p in sorted(pages)], "",
              "```{toctree}", ":hidden:", ":maxdepth: 1", "", "gallery", *[f"notebooks/{p}" for p in sorted(pages)],
              "```", ""]
    return "\n".join(parts)


def _gallery(manifest: dict, out_root: Path, pages: set[str]) -> str:
    parts = ["# Gallery", "",
             "Every figure of this run, with the record of what made it (the full manifest is "
             "`results/provenance.json`; `make verify` checks the files against it).", ""]
    runs = manifest.get("notebooks", {})
    figures = [(rel, e) for rel, e in manifest.get("files", {}).items()
               if rel.startswith("figures/") and rel.endswith(".png")]
    if not figures:
        parts.append("This run wrote no figures.")
    for rel, entry in sorted(figures):
        nb = entry.get("notebook")
        name = Path(rel).stem
        link = f"[{nb}](notebooks/{nb}.ipynb)" if nb in pages else _esc(nb)
        parts += [f"## {name}", "", f"From {link}.", "",
                  f'<div class="twigma-figure"><img src="_static/{rel}" alt="{_esc(name)}"></div>', "",
                  _prov_table(_prov_rows(runs.get(nb, {}), {"file SHA-256": entry.get("sha256"),
                                                              "PDF": rel[:-4] + ".pdf"})), ""]
    return "\n".join(parts)


def _notebook_page(src: Path, target: Path, run: dict | None) -> None:
    """The executed notebook with its provenance appended (the synthetic mark is the site's banner)."""
    nb = nbformat.read(src, as_version=4)
    if run:
        files = "".join(f"<li><code>{_esc(f)}</code></li>" for f in sorted(run.get("files", {})))
        nb.cells.append(nbformat.v4.new_markdown_cell(
            "## Provenance of this page\n\n" + _prov_table(_prov_rows(run)) + f"\n\nFiles it wrote:<ul>{files}</ul>"))
    for cell in nb.cells:  # widget state would make MyST-NB load JavaScript from the internet
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if "application/vnd.jupyter.widget-view+json" not in o.get("data", {})]
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, str(target))


def _conf(synthetic: bool) -> str:
    options = {"show_toc_level": 2, "home_page_in_toc": True, "use_download_button": False,
               "use_fullscreen_button": False}
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
html_css_files = ["twigma.css"]
html_show_sourcelink = False
html_copy_source = False
nb_execution_mode = "off"
nb_merge_streams = True
myst_heading_anchors = 3
myst_enable_extensions = ["html_image"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "myst.xref_missing", "misc.highlighting_failure"]
exclude_patterns = ["_build"]
# no JavaScript from the internet: Sphinx would load MathJax from a CDN on pages with maths; a local
# stub stands in (the notebooks write their formulas as text, so nothing is lost)
mathjax_path = "no-mathjax.js"
'''


def build_report(out: str | os.PathLike | None = None, target: str | os.PathLike | None = None,
                 quiet: bool = True) -> Path:
    """Render the run under ``out`` (default: the repository) into ``target`` (default
    ``<out>/report``); return the landing page's path."""
    from sphinx.cmd.build import build_main

    out_root = paths.resolve(out, default=paths.ROOT)
    claims, manifest, notebooks = _load_run(out_root)
    target = Path(target) if target else out_root / "report"
    src = out_root / "build" / "report-src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    (src / "_static").mkdir()
    synthetic = _is_synthetic(manifest)
    runs = manifest.get("notebooks", {})
    pages = {p.stem for p in notebooks}
    for p in notebooks:
        _notebook_page(p, src / "notebooks" / p.name, runs.get(p.stem))
    for rel in manifest.get("files", {}):
        if rel.startswith("figures/") and (out_root / rel).is_file():
            (src / "_static" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out_root / rel, src / "_static" / rel)
    robustness_file = out_root / "results" / "robustness_summary.csv"
    robustness = pd.read_csv(robustness_file) if robustness_file.exists() else None
    (src / "_static" / "twigma.css").write_text(CSS)
    (src / "_static" / "no-mathjax.js").write_text("/* MathJax is not bundled: the report makes no requests. */\n")
    (src / "conf.py").write_text(_conf(synthetic))
    (src / "index.md").write_text(_index(claims, manifest, pages, synthetic, robustness))
    (src / "gallery.md").write_text(_gallery(manifest, out_root, pages))
    # MyST-NB writes its working folders beside the output folder: build the site inside build/ and
    # move it into place when it is complete
    tmp = out_root / "build" / "report-html" / "site"
    shutil.rmtree(tmp.parent, ignore_errors=True)
    args = ["-b", "html", "-E", "-a", str(src), str(tmp)] + (["-q"] if quiet else [])
    code = build_main(args)
    if code != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ReportError(f"Sphinx could not build the report from {src} (exit code {code}); see the messages above.")
    shutil.rmtree(tmp / ".doctrees", ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)  # the old site goes only once the new one is complete
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(tmp), str(target))
    shutil.rmtree(tmp.parent, ignore_errors=True)
    return target / "index.html"
