"""The report site checked as a whole, as a reader meets it: every notebook run on a small release whose captions carry planted HTML and script, the site built from disk, then every page crawled and opened in headless Chromium: no broken link (Debian's linkchecker and a crawl of every href and src), no markdown left unrendered, every Findings table a table, every "files it wrote" list filled, no absolute machine path, figures that open full size, code folded and never clipped, no serious or critical axe-core violation, no request but file://, and no payload that runs. Also the explorer's selection table and a removed notebook."""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest

from twigma import paths
from twigma.cli import main


def _pages(index: Path) -> list[Path]:
    """The site's pages (not the theme's templates that Sphinx copies into _static/)."""
    return sorted(p for p in index.parent.rglob("*.html") if "_static" not in p.relative_to(index.parent).parts)


def _soup(page: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.read_text(), "html.parser")


def test_every_notebook_has_a_page(site_run):
    _, index, _ = site_run
    names = {p.stem for p in paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    assert {p.stem for p in (index.parent / "notebooks").glob("*.html")} == names


def test_no_link_is_broken_by_a_crawl_of_every_href_and_src(site_run):
    """Every href and src of every page resolves to a file of the site, and every #fragment to an id there."""
    _, index, _ = site_run
    ids: dict[Path, set[str]] = {}
    broken = []
    for page in _pages(index):
        for tag in _soup(page).find_all(href=True) + _soup(page).find_all(src=True):
            url = tag.get("href") or tag.get("src")
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "mailto", "data") or url.startswith("javascript:"):
                if url.startswith("javascript:"):
                    broken.append(f"{page.name}: a javascript: link {url[:60]}")
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if not target.exists():
                broken.append(f"{page.relative_to(index.parent)}: {url} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = {t["id"] for t in _soup(target).find_all(id=True)}
                if unquote(parts.fragment) not in ids[target]:
                    broken.append(f"{page.relative_to(index.parent)}: {url} (no id {parts.fragment})")
    assert not broken, broken[:20]


def test_no_link_is_broken_says_linkchecker(site_run):
    """Debian's linkchecker over the site from disk (it drops root to `nobody`: it gets a readable copy)."""
    exe = shutil.which("linkchecker")
    if not exe:
        message = "linkchecker is needed: apt-get install linkchecker (.ci/run installs it)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    _, index, _ = site_run
    with tempfile.TemporaryDirectory(prefix="twigma-site-") as tmp:
        copy = Path(tmp) / "site"
        shutil.copytree(index.parent, copy)
        for p in [Path(tmp), *copy.rglob("*"), copy]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        r = subprocess.run([exe, "--no-status", "--no-warnings", "-o", "csv", str(copy / "index.html")],
                           capture_output=True, text=True, timeout=300)
    rows = list(csv.DictReader(io.StringIO("\n".join(line for line in r.stdout.splitlines() if not line.startswith("#"))),
                               delimiter=";"))
    bad = [f"{row['parentname']}: {row['urlname']} ({row['result']})" for row in rows if row.get("valid") != "True"]
    assert r.returncode == 0 and not bad, (bad[:20], r.stderr[-2000:])
    assert rows == [] or all(row.get("valid") == "True" for row in rows)


def test_no_markdown_is_left_unrendered(site_run):
    _, index, _ = site_run
    left = []
    for page in _pages(index):
        for el in _soup(page).select("article p, article li, article td"):
            text = el.get_text(" ", strip=True)
            if re.search(r"\|\s*-{3,}\s*\|", text) or re.match(r"^\|.*\|$", text) or "**" in text:
                left.append(f"{page.name}: {text[:120]}")
    assert not left, left[:10]


def test_every_notebook_page_has_its_findings_table_and_its_files(site_run):
    out, index, _ = site_run
    import json

    manifest = json.loads((out / "results" / "provenance.json").read_text())
    for page in sorted((index.parent / "notebooks").glob("*.html")):
        soup = _soup(page)
        findings = soup.find(id="findings")
        assert findings is not None and findings.find("table"), f"{page.name}: no Findings table"
        assert "verdict" in findings.find("table").get_text().lower(), page.name
        files = soup.select("ul.twigma-files li a")
        wrote = {rel for rel, e in manifest["files"].items() if e["notebook"] == page.stem}
        assert wrote and {a.get_text() for a in soup.select("ul.twigma-files li a code")} == wrote, page.name
        for a in files:  # figures link to their gallery entry or the image, the rest to a download
            href = a["href"]
            assert href.startswith(("../gallery.html#fig-", "../_static/")), href


def test_no_page_shows_an_absolute_path_of_the_machine(site_run):
    out, index, release = site_run
    machine = [str(out), str(paths.ROOT), str(release.parent), tempfile.gettempdir() + "/", "/home/", "/root/"]
    found = []
    for page in _pages(index):
        text = page.read_text()
        found += [f"{page.name}: {m}" for m in machine if m in text]
    assert not found, found[:10]
    params = _soup(index.parent / "notebooks" / "03_theme_shift.html").find("th", string="parameters")
    shown = params.find_next("td").get_text()
    assert '"OUT": "$OUT"' in shown and f'"RELEASE": "…/{release.name}"' in shown, shown


def test_every_code_cell_is_folded(site_run):
    _, index, _ = site_run
    for page in sorted((index.parent / "notebooks").glob("*.html")):
        soup = _soup(page)
        inputs = soup.select("div.cell div.cell_input")
        assert inputs, page.name
        assert all(i.find_parent("details") is not None for i in inputs), page.name


def test_claims_and_badges_say_which_data_the_verdict_rests_on(site_run):
    out, index, _ = site_run
    claims = pd.read_csv(out / "results" / "claims.csv", dtype=str, keep_default_na=False)
    soup = _soup(index)
    for r in claims.itertuples():
        row = soup.find(id=f"claim-{r.claim.lower()}")
        badge = row.select_one(".twigma-verdict")
        assert badge and r.holds in badge.get_text() and "synthetic sample" in badge.get_text(), r.claim
        assert "on-synthetic" in badge["class"]
    page = _soup(index.parent / "notebooks" / "03_theme_shift.html").select(".twigma-page-verdicts .twigma-verdict")
    assert len(page) == len(claims[claims["notebook"] == "03_theme_shift"]) > 0


def test_claims_without_a_data_column_take_it_from_the_release(site_run):
    """Older runs have no `data` column: the badge says what the notebook's release was."""
    import json

    from twigma.run import report_pages

    out, _, _ = site_run
    claims = pd.read_csv(out / "results" / "claims.csv", dtype=str, keep_default_na=False)
    manifest = json.loads((out / "results" / "provenance.json").read_text())
    older = claims.drop(columns=["data"], errors="ignore")
    assert set(report_pages.data_of(older, manifest)) == {"synthetic sample"}
    for run in manifest["notebooks"].values():
        run["release"]["synthetic"] = False
        if run.get("embeddings"):
            run["embeddings"]["synthetic"] = False
    assert set(report_pages.data_of(older, manifest)) == {"release"}
    given = older.assign(data=["release"] * len(older))
    assert "on the release" in report_pages.claims_table(given, set(), manifest)


def test_a_removed_notebook_leaves_no_stale_entry(site_run, tmp_path, capsys):
    """A notebook that ran and was then removed from notebooks/: make verify says what it dropped, and
    neither the manifest nor the report's gallery lists its figures any more."""
    import json

    from twigma.run.report import build_report

    out, _, _ = site_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("report"))
    rec = json.loads((copy / "build" / ".provenance" / "04_nsfw.json").read_text())
    rec["notebook"], rec["notebook_file"] = "13_gone", "notebooks/13_gone.ipynb"  # ran once, since removed
    rec["files"] = {"figures/13_gone_map.png": rec["files"]["figures/04_nsfw_by_cluster.png"]}
    shutil.copy(copy / "figures" / "04_nsfw_by_cluster.png", copy / "figures" / "13_gone_map.png")
    shutil.copy(copy / "build" / "04_nsfw.ipynb", copy / "build" / "13_gone.ipynb")
    (copy / "build" / ".provenance" / "13_gone.json").write_text(json.dumps(rec))
    manifest = json.loads((copy / "results" / "provenance.json").read_text())
    manifest["notebooks"]["13_gone"] = {k: v for k, v in rec.items() if k != "files"}
    manifest["files"]["figures/13_gone_map.png"] = {"sha256": rec["files"]["figures/13_gone_map.png"],
                                                     "notebook": "13_gone"}
    (copy / "results" / "provenance.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    main(["verify", "--out", str(copy)])
    said = capsys.readouterr().out
    assert "13_gone" in said and "notebooks/13_gone.ipynb is gone" in said, said
    after = json.loads((copy / "results" / "provenance.json").read_text())
    assert "13_gone" not in after["notebooks"] and "figures/13_gone_map.png" not in after["files"]
    assert not (copy / "build" / "13_gone.ipynb").exists()
    site = build_report(copy)
    gallery = site.with_name("gallery.html").read_text()
    assert "13_gone" not in gallery and not (site.parent / "notebooks" / "13_gone.html").exists()
