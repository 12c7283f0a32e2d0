"""The pages of the report site (:mod:`twigma.run.report`): the landing page with the claims, the
gallery, and each executed notebook prepared as a reader should meet it.

Every string that comes from a run (a caption in an output, a parameter, a claim's words) is escaped
where these pages put it into HTML, and markdown outputs lose any raw HTML they hold (it is shown as
text): a caption is text a model wrote about a picture a stranger posted.

Paths are shown as a reader can use them: relative to the repository, or to the run's output
folder written ``$OUT``; the full paths and SHA-256 stay in ``results/provenance.json``.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pandas as pd

from twigma import paths
from twigma.files import atomic_write
from twigma.present.narrative import text_only_markdown
from twigma.version import VERSION

VERDICT_CLASS = {"yes": "verdict-yes", "no": "verdict-no", "untestable": "verdict-untestable",
                 "partly testable": "verdict-partly"}
SYNTHETIC = "synthetic sample"
RELEASE = "release"
SYNTHETIC_BANNER = ("Synthetic sample data: every number on these pages describes the sample's generator, "
                    "not Twitter, and the claims hold by construction. Run make figures RELEASE=... for real results.")
PATHS_NOTE = ("Paths are relative to the repository, or to this run's output folder (`$OUT`); the full paths "
              "and SHA-256 are in `results/provenance.json`.")
#: Tags by which a notebook asks for its code to stay in view, or has decided already.
KEEP_TAGS = {"show-input", "hide-input", "remove-input", "remove-cell", "hide-cell"}


def esc(x) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))


class Paths:
    """Turns the absolute paths of the machine that ran into paths a reader can use."""

    def __init__(self, out_root: Path, manifest: dict):
        self.out_root = Path(out_root)
        subs: list[tuple[str, str]] = []
        if self.out_root != paths.ROOT:
            subs.append((str(self.out_root), "$OUT"))
        subs += [(str(paths.ROOT) + "/", ""), (str(paths.ROOT), ".")]
        # inputs outside both (a release in a download folder): their folder is elided, the name kept
        for run in manifest.get("notebooks", {}).values():
            for key in ("release", "embeddings"):
                p = (run.get(key) or {}).get("path")
                if p and Path(p).is_absolute() and not self._inside(Path(p)):
                    subs.append((str(Path(p).parent) + "/", "…/"))
        if manifest.get("output_root") and manifest["output_root"] != str(self.out_root):
            subs.insert(0, (manifest["output_root"], "$OUT"))  # a run moved after it was made
        self.subs = sorted(set(subs), key=lambda s: -len(s[0]))  # longest first: $OUT may lie inside ROOT

    def _inside(self, p: Path) -> bool:
        return p.is_relative_to(self.out_root) or p.is_relative_to(paths.ROOT)

    def text(self, s: str) -> str:
        for old, new in self.subs:
            s = s.replace(old, new)
        return s

    def value(self, v):
        """A parameter's value (strings, and strings in lists and dicts) with its paths made relative."""
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        return v


def data_of(claims: pd.DataFrame, manifest: dict) -> pd.Series:
    """Which data each claim's verdict rests on: the ledger's ``data`` column where it has one, else
    (older runs) the release of the notebook that checked it, ``synthetic sample`` or ``release``."""
    runs = manifest.get("notebooks", {})

    def synthetic(run):
        return (run.get("release") or {}).get("synthetic") or (run.get("embeddings") or {}).get("synthetic")

    everywhere = any(synthetic(r) for r in runs.values())  # a claim whose notebook did not run: the run's data

    def derived(nb):
        return SYNTHETIC if (synthetic(runs[nb]) if nb in runs else everywhere) else RELEASE

    if "data" in claims.columns:
        given = claims["data"].astype(str).str.strip()
        return given.where(given != "", claims["notebook"].map(derived))
    return claims["notebook"].map(derived) if "notebook" in claims.columns else pd.Series(RELEASE, claims.index)


def verdict_badge(verdict: str, data: str) -> str:
    """The verdict in colour, with the data it rests on (a dashed badge on the synthetic sample)."""
    cls = VERDICT_CLASS.get(verdict, "verdict-other")
    synth = " on-synthetic" if data == SYNTHETIC else ""
    return (f'<span class="twigma-verdict {cls}{synth}">{esc(verdict)}'
            f'<span class="twigma-data"> · on the {esc(data)}</span></span>')


def prov_rows(run: dict, p: Paths, extra: dict | None = None) -> list[tuple[str, str]]:
    rel = run.get("release") or {}
    emb = run.get("embeddings") or {}
    git = run.get("git") or {}
    v = run.get("versions") or {}
    rows = [("notebook", run.get("notebook_file", run.get("notebook", ""))),
            ("parameters", json.dumps(p.value(run.get("parameters", {})), sort_keys=True, ensure_ascii=False)),
            ("release", f"{p.text(rel.get('path', ''))} ({rel.get('rows') if rel.get('rows') is not None else '?'} "
                        "rows)" + (" (synthetic sample)" if rel.get("synthetic") else "")),
            ("release SHA-256", rel.get("sha256", "")),
            ("embedding store", f"{p.text(emb.get('path', ''))} (digest {emb.get('digest', '')}, model "
                                f"{emb.get('model')})" if emb else "none"),
            ("git commit", f"{git.get('commit')}" + (" with uncommitted changes" if git.get("uncommitted_changes")
                                                     else "")),
            ("run", f"{run.get('started', '')}, {run.get('run_seconds', '?')} s"),
            ("versions", ", ".join(f"{k} {val}" for k, val in v.items() if val))]
    return rows + list((extra or {}).items())


def prov_table(rows) -> str:
    body = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in rows)
    return f'<table class="twigma-prov">{body}</table>'


def claims_table(claims: pd.DataFrame, pages: set[str], manifest: dict, prefix: str = "notebooks/") -> str:
    cols = [("claim", "Claim"), ("paper_says", "The paper says"), ("statement", "Checked as"),
            ("observed", "This run finds"), ("holds", "Verdict (and the data it rests on)"),
            ("notebook", "Checked by")]
    cols = [(c, label) for c, label in cols if c in claims.columns]
    head = "".join(f'<th scope="col">{label}</th>' for _, label in cols)
    data = data_of(claims, manifest)
    rows = []
    for (_, r), d in zip(claims.iterrows(), data):
        cells = []
        page = r.get("notebook", "")
        for c, _ in cols:
            value = r.get(c, "")
            if c == "holds":
                cells.append(f'<td class="{VERDICT_CLASS.get(value, "verdict-other")}-cell">'
                             f"{verdict_badge(value, d)}</td>")
            elif c in ("notebook", "claim") and page in pages:
                cells.append(f'<td><a href="{prefix}{esc(page)}.html#findings">{esc(value)}</a></td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        rows.append(f'<tr id="claim-{esc(r.get("claim", "")).lower()}">{"".join(cells)}</tr>')
    return f'<table class="twigma-claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


#: The robustness summary's columns the index shows (the votes, the estimate's range and what was not
#: counted are in ``in_words``; the full summary is results/robustness_summary.csv).
ROBUSTNESS_COLUMNS = ["claim", "statement", "n_specifications", "n_holds", "in_words", "verdict", "depends_on"]


def compendium_version(manifest: dict) -> str:
    """``twigma compendium <version>``: the version each notebook of the run recorded (all of them, when
    notebooks were run by different versions), or this package's for a run that recorded none."""
    made_by = {str(v) for run in manifest.get("notebooks", {}).values()
               if (v := (run.get("versions") or {}).get("twigma"))}
    return "twigma compendium " + " and ".join(sorted(made_by) or [VERSION])


def index_page(claims, manifest, pages, synthetic: bool, robustness: pd.DataFrame | None, p: Paths,
               map_section: str = "") -> str:
    runs = manifest.get("notebooks", {})
    first: dict = next(iter(runs.values()), {})
    rel = first.get("release") or {}
    emb = next(((r.get("embeddings") or {}) for r in runs.values() if r.get("embeddings")), {})
    git = first.get("git") or {}
    inputs = [("release", p.text(f"{rel.get('path', '?')}") + (" (synthetic sample)" if rel.get("synthetic") else "")),
              ("release rows", rel.get("rows")), ("release SHA-256", rel.get("sha256")),
              ("embedding store", f"{p.text(emb.get('path', ''))} (model {emb.get('model')}, digest {emb.get('digest')})"
               if emb else "none: the image notebooks were skipped"),
              ("git commit", f"{git.get('commit')}" + (" with uncommitted changes" if git.get("uncommitted_changes")
                                                       else "")),
              ("run date", manifest.get("made"))]
    parts = ["# TWIGMA compendium: results of this run", ""]
    if synthetic:
        parts += [f'<div class="twigma-synthetic">{esc(SYNTHETIC_BANNER)}</div>', ""]
    parts += [f"This site shows one run of {esc(compendium_version(manifest))} reproducing *TWIGMA: A dataset of "
              "AI-Generated Images with "
              "Metadata From Twitter* (Chen and Zou, NeurIPS 2023 Datasets and Benchmarks). Every number below was "
              "computed by the notebooks of this run; each claim links to the notebook section that checked it, "
              "and the [gallery](gallery.md) lists every figure with the data, parameters and code that made it; "
              "the [datasheet](datasheet.md) answers Gebru et al.'s questions about the release, with this run's "
              "counts.",
              "", "## Claims", "",
              "Each verdict says the data it rests on: on the *synthetic sample* a verdict only shows that the "
              "notebook finds what the sample's generator built in; only a verdict on the *release* says "
              "something about Twitter.", "",
              claims_table(claims, pages, manifest), ""]
    if robustness is not None and len(robustness):
        parts += ["## Robustness of the claims", "",
                  "How often each claim holds over the specifications of `make robustness`:", "",
                  robustness[[c for c in ROBUSTNESS_COLUMNS if c in robustness]].to_html(
                      index=False, classes="twigma-claims", border=0, escape=True, na_rep=""), ""]
    if map_section:  # twigma.present.map_page.add_to_site: the link to the map, or why there is none
        parts += [map_section, ""]
    parts += ["## Inputs of this run", "", prov_table(inputs), "", PATHS_NOTE, "",
              "## Notebooks", "", *[f"- [{p_}](notebooks/{p_}.ipynb)" for p_ in sorted(pages)], "",
              "```{toctree}", ":hidden:", ":maxdepth: 1", "", "gallery", "datasheet", *[f"notebooks/{p_}" for p_ in sorted(pages)],
              "```", ""]
    return "\n".join(parts)


def figure_anchor(rel: str) -> str:
    return "fig-" + re.sub(r"[^A-Za-z0-9_-]+", "-", Path(rel).stem)


def gallery_page(manifest: dict, pages: set[str], p: Paths) -> str:
    parts = ["# Gallery", "",
             "Every figure of this run, with the record of what made it (the full manifest is "
             "`results/provenance.json`; `make verify` checks the files against it). Click a figure to open it "
             "at full size.", "", PATHS_NOTE, ""]
    runs = manifest.get("notebooks", {})
    figures = [(rel, e) for rel, e in manifest.get("files", {}).items()
               if rel.startswith("figures/") and rel.endswith(".png") and e.get("notebook") in runs]
    if not figures:
        parts.append("This run wrote no figures.")
    for rel, entry in sorted(figures):
        nb = entry.get("notebook")
        name = Path(rel).stem
        link = f"[{nb}](notebooks/{nb}.ipynb)" if nb in pages else esc(nb)
        pdf = rel[:-4] + ".pdf"
        pdf_link = f' (<a href="_static/{esc(pdf)}">PDF</a>)' if pdf in manifest.get("files", {}) else ""
        parts += [f"## {name}", "", f"From {link}.", "",
                  f'<div class="twigma-figure" id="{figure_anchor(rel)}"><a href="_static/{esc(rel)}">'
                  f'<img src="_static/{esc(rel)}" alt="figure {esc(name)} of notebook {esc(nb)}"></a>'
                  f'<p>Full size: <a href="_static/{esc(rel)}">PNG</a>{pdf_link}</p></div>', "",
                  prov_table(prov_rows(runs.get(nb, {}), p, {"file SHA-256": entry.get("sha256")})), ""]
    return "\n".join(parts)


def files_list(manifest: dict, notebook: str, prefix: str = "../") -> str:
    """The files a notebook wrote, each linked: a figure to its gallery entry, any other file to a download."""
    items = []
    for rel, entry in sorted(manifest.get("files", {}).items()):
        if entry.get("notebook") != notebook:
            continue
        if rel.startswith("figures/") and rel.endswith(".png"):
            items.append(f'<li><a href="{prefix}gallery.html#{figure_anchor(rel)}"><code>{esc(rel)}</code></a> '
                         f'(<a href="{prefix}_static/{esc(rel)}">full size</a>)</li>')
        else:
            items.append(f'<li><a href="{prefix}_static/{esc(rel)}" download><code>{esc(rel)}</code></a></li>')
    return f'<ul class="twigma-files">{"".join(items)}</ul>' if items else "<p>It wrote no files.</p>"


def _text_of(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def notebook_page(src: Path, target: Path, run: dict | None, manifest: dict, claims: pd.DataFrame,
                  p: Paths) -> None:
    """The executed notebook as a page: its code folded (``hide-input``, unless a cell asks otherwise), its
    verdicts at the top, paths made relative, markdown outputs without raw HTML, no widget state, and its
    provenance with the files it wrote at the end."""
    nb = nbformat.read(src, as_version=4)
    name = src.stem
    for cell in nb.cells:
        cell.source = p.text(cell.source)
        if cell.cell_type != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if not KEEP_TAGS & set(tags):
            tags.append("hide-input")
        outputs = []
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                continue  # widget state would make MyST-NB load JavaScript from the internet
            if "text" in o:
                o["text"] = p.text(_text_of(o["text"]))
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in data:
                    data[mime] = p.text(_text_of(data[mime]))
            if "text/markdown" in data:
                data["text/markdown"] = text_only_markdown(data["text/markdown"])
            outputs.append(o)
        cell.outputs = outputs
    mine = claims[claims["notebook"] == name] if "notebook" in claims.columns else claims.iloc[:0]
    if len(mine):
        badges = " ".join(f'<a href="#findings">{esc(r.claim)}</a> {verdict_badge(r.holds, d)}'  # type: ignore[arg-type]  # pandas-stubs: a row field is any scalar
                          for r, d in zip(mine.itertuples(), data_of(mine, manifest)))
        at = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
        nb.cells.insert(at, nbformat.v4.new_markdown_cell(
            f'<p class="twigma-page-verdicts">Verdicts of this page: {badges}. The code of each cell is folded: '
            "<em>Show code cell source</em> opens it.</p>"))
    if run:
        nb.cells.append(nbformat.v4.new_markdown_cell(
            "## Provenance of this page\n\n" + prov_table(prov_rows(run, p)) + "\n\n" + PATHS_NOTE
            + "\n\nFiles it wrote:\n\n" + files_list(manifest, name)))
    nb.metadata.pop("widgets", None)
    atomic_write(target, lambda tmp: nbformat.write(nb, str(tmp)))
