"""The report site checked as a whole, as a reader meets it: every notebook run on a small release whose captions carry planted HTML and script, the site built from disk, then every page crawled and opened in headless Chromium: no broken link (Debian's linkchecker and a crawl of every href and src), no markdown left unrendered, every Findings table a table, every "files it wrote" list filled, no absolute machine path, figures that open full size, code folded and never clipped, no serious or critical axe-core violation, no request but file://, and no payload that runs. Also the explorer's selection table and a removed notebook."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from support.browser import chromium, console_errors, requested_urls
from support.hostile_captions import PAYLOAD

AXE_PATHS = [os.environ.get("TWIGMA_AXE", ""), str(Path(__file__).parents[1] / "node_modules/axe-core/axe.min.js"),
             "/usr/lib/node_modules/axe-core/axe.min.js", "/usr/local/lib/node_modules/axe-core/axe.min.js",
             "/opt/axe/node_modules/axe-core/axe.min.js"]


def _axe_source() -> str:
    found = next((p for p in AXE_PATHS if p and Path(p).is_file()), None)
    if not found:
        message = ("axe-core is needed: npm install -g axe-core@4.14.1 (or set TWIGMA_AXE to axe.min.js; "
                   ".ci/run installs it)")
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return Path(found).read_text()


@pytest.mark.browser
def test_pages_in_chromium(site_run):
    """Index, gallery and every notebook page: no payload runs and it shows as text, no console error, no
    request but file://, figures open full size, folded code opens without being clipped sideways, and
    axe-core finds no serious or critical violation."""
    _, index, _ = site_run
    axe = _axe_source()
    driver = chromium()
    driver.set_script_timeout(120)
    pages = [index, index.with_name("gallery.html"), *sorted((index.parent / "notebooks").glob("*.html"))]
    problems, urls, payload_seen = [], [], 0
    try:
        for page in pages:
            driver.get(page.as_uri())
            name = page.relative_to(index.parent)
            if driver.execute_script("return window.__pwned"):
                problems.append(f"{name}: a planted payload ran ({driver.execute_script('return window.__pwned')})")
            planted = driver.execute_script(
                "return Array.from(document.querySelectorAll('img[src=x], img[onerror], a[href^=javascript]'))"
                ".map(e => e.outerHTML)")
            problems += [f"{name}: planted element in the page: {e[:100]}" for e in planted]
            body = driver.find_element("tag name", "body").text
            payload_seen += 'onerror="window.__pwned=1"' in body
            problems += [f"{name}: console: {e}" for e in console_errors(driver)]
            # figures open full size: each output image is inside a link to an image file of the site
            for href in driver.execute_script(
                    "return Array.from(document.querySelectorAll('.cell_output img, .twigma-figure img'))"
                    ".map(i => { const a = i.closest('a'); return a ? a.href : null; })"):
                if not href or not Path(unquote(urlsplit(href).path)).is_file():
                    problems.append(f"{name}: a figure that does not open full size ({href})")
            # folded code: open every fold; no code line is clipped sideways
            clipped = driver.execute_script(
                "document.querySelectorAll('details').forEach(d => d.open = true);"
                "document.getAnimations().forEach(a => a.finish());"  # the folds fade in: axe must see them shown
                "return Array.from(document.querySelectorAll('.cell_input pre, .cell_output pre'))"
                ".filter(p => p.scrollWidth > p.clientWidth + 2).length")
            if clipped:
                problems.append(f"{name}: {clipped} code block(s) clipped sideways")
            driver.execute_script(axe)
            violations = driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "axe.run(document).then(r => done(r.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
                ".map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 2).map(n => n.html.slice(0, 120)))));")
            problems += [f"{name}: axe: {v}" for v in violations]
            urls += requested_urls(driver)
    finally:
        driver.quit()
    assert not problems, problems[:20]
    assert payload_seen, "no page shows a planted caption: the test planted nothing a page shows"
    outside = [u for u in urls if not u.startswith(("file://", "data:", "about:", "blob:"))]
    assert not outside, f"the report asked the network for {outside[:5]}"


@pytest.mark.browser
def test_a_figure_is_wide_enough_to_read(site_run):
    """At a 1400 px window a notebook's figure is shown at least 1000 px wide (or at its own size)."""
    _, index, _ = site_run
    driver = chromium()
    try:
        driver.get((index.parent / "notebooks" / "03_theme_shift.html").as_uri())
        widths = driver.execute_script(
            "return Array.from(document.querySelectorAll('.cell_output img')).map(i => [i.width, i.naturalWidth])")
    finally:
        driver.quit()
    assert widths and all(w >= min(1000, natural) for w, natural in widths), widths


@pytest.mark.browser
def test_explorer_selection_table_keeps_hostile_captions_as_text(small_release, tmp_path):
    """The HTML the explorer shows under the map for a lasso selection, in a plain page: no payload runs,
    the caption reads literally, and the only links are the tweets'."""
    from twigma.analysis.text import cluster_names
    from twigma.present import explore

    rel = small_release.copy()
    rel.attrs["synthetic"] = False  # as a release with real tweet ids: their tweets are linked (not a synthetic one's)
    rel["all_captions"] = rel["all_captions"].astype(str).str.slice(0, 40) + " " + PAYLOAD
    rel.loc[rel.index[0], "all_captions"] = "https://evil.example/phish"
    names = cluster_names(small_release)  # no notebook 02 here: the names are computed
    table = explore.map_table(rel, names)
    page = tmp_path / "selection.html"
    page.write_text("<!doctype html><html lang=en><title>selection</title><body>"
                    + explore.selection_html(table, range(len(table)), limit=20) + "</body></html>")
    driver = chromium()
    try:
        driver.get(page.as_uri())
        assert driver.execute_script("return window.__pwned") is None
        text = driver.find_element("tag name", "body").text
        assert '<img src=x onerror="window.__pwned=1">' in text and "<script>" in text
        hrefs = driver.execute_script("return Array.from(document.links).map(a => a.href)")
        assert len(hrefs) == 20 and all(h.startswith(("https://twitter.com/", "https://x.com/")) for h in hrefs), hrefs
    finally:
        driver.quit()


