"""The report site checked as a whole, as a reader meets it: every notebook run on a small release whose captions carry planted HTML and script, the site built from disk, then every page crawled and opened in headless Chromium: no broken link (Debian's linkchecker and a crawl of every href and src), no markdown left unrendered, every Findings table a table, every "files it wrote" list filled, no absolute machine path, figures that open full size, code folded and never clipped, no serious or critical axe-core violation, no request but file://, and no payload that runs. Also the explorer's selection table and a removed notebook."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from support.browser import chromium, console_errors, requested_urls
from support.hostile_captions import PAYLOAD, hostile

from twigma import paths

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


@pytest.mark.browser
@pytest.mark.skipif(not (paths.ROOT / ".venv" / ".installed").exists(), reason="needs the make-built .venv")
def test_hostile_captions_stay_text_in_jupyterlab(tmp_path, raw_small):
    """`make lab`, 10_explore run to its end on a release whose every caption is hostile (where a script
    would run with the user's Jupyter token): no payload runs after Run All (its tables, and the Markdown
    sentence that quotes a caption), nor on hovering a point, whose tooltip shows its caption literally as
    text (the pointer aimed by CDP at the drawn pixels of the WebGL map, browser.drawn_spots; jupyter-scatter
    1.0.1 writes the preview with textContent, Explorer asking for preview_type="text"), nor after a lasso
    selection, whose table shows the captions literally. The page's screenshot while hovering is left in
    tmp_path/hover.png."""
    import nbformat
    import numpy as np
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from support.browser import JupyterLab, drawn_spots

    from twigma.release import load_release
    from twigma.synthetic.embeddings import make_sample_embeddings
    from twigma.synthetic.release import sample_meta, write_release

    with JupyterLab(tmp_path, webgl=True) as lab:
        driver = lab.driver
        release = write_release(hostile(raw_small, every=1), lab.repo / "data" / "hostile.csv.gz",
                                meta=sample_meta(len(raw_small), 7))
        make_sample_embeddings(load_release(release, cache_dir=tmp_path / "cache"), lab.repo / "data" / "hostile_emb",
                               n_natural=300, n_art=300, dim=32)
        nb_file = lab.repo / "notebooks" / "10_explore.ipynb"
        nb = nbformat.read(nb_file, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        for name, value in (("RELEASE", "data/hostile.csv.gz"), ("EMBEDDINGS", "data/hostile_emb")):
            cell.source, n = re.subn(rf"(?m)^({name}\s*(?::[^=]+)?=\s*)[^#\n]*?(\s*#|$)", rf'\g<1>"{value}"\g<2>',
                                     cell.source)
            assert n == 1, (name, cell.source)
        nbformat.write(nb, str(nb_file))
        lab.open_and_run_all("10_explore.ipynb")
        assert not lab.error_outputs(), lab.error_outputs()

        def pwned():
            return driver.execute_script(
                "return [window.__pwned, document.querySelectorAll('img[src=x], img[onerror], a[href^=javascript]')"
                ".length]")

        assert pwned() == [None, 0]
        lab.scroll(to_top=True)
        canvas = lab.map_canvas(tries=80)
        assert canvas is not None, "the map's canvas was not drawn"
        for _ in range(10):  # JupyterLab may scroll its windowed notebook again: until the map is in view
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
            time.sleep(1)
            r = driver.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                      "return [r.left, r.top, r.width, r.height, innerWidth, innerHeight];", canvas)
            if 0 <= r[1] + r[3] / 2 <= r[5]:
                break
        left, top = max(r[0], 0), max(r[1], 0)
        right, bottom = min(r[0] + r[2], r[4]), min(r[1] + r[3], r[5])

        def mouse(kind, x, y, buttons=0):
            driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": float(x), "y": float(y),
                                                                "button": "left", "buttons": buttons, "clickCount": 1})

        # hover: a point's tooltip. Aim at the 10 px squares of the map with the most drawn pixels (browser.drawn_spots)
        # that the legend and toolbar leave uncovered, one after another until jupyter-scatter shows its tooltip
        tooltip_js = ("const v = document.querySelector('.jp-OutputArea-output .date-value-text'); if (!v) return null;"
                      "let t = v; while (t && !(t.style && t.style.transition.startsWith('opacity'))) t = t.parentElement;"
                      "if (!t) return null; const p = Array.from(t.querySelectorAll('div')).find(e => e.style.webkitLineClamp);"
                      "return {opacity: t.style.opacity, preview: p ? p.textContent : null, preview_elements: p ? "
                      "p.childElementCount : null, elements: t.querySelectorAll('img, script, a, iframe').length};")
        tried, tip = [], None
        for x, y in drawn_spots(driver, (left, top, right, bottom)):
            if driver.execute_script("const e = document.elementFromPoint(arguments[0], arguments[1]);"
                                     "return !e || e.tagName !== 'CANVAS'", x, y):
                continue  # the legend or the toolbar is over the map there
            tried.append((round(x), round(y)))
            mouse("mouseMoved", x, y)
            try:  # jupyter-scatter shows it 500 ms after the pointer stops on a point, then asks the kernel for the text
                tip = WebDriverWait(driver, 2.5, poll_frequency=0.1).until(
                    lambda d: (t := d.execute_script(tooltip_js)) and t["opacity"] == "1" and t["preview"] and t)
                break
            except TimeoutException:
                if len(tried) >= 30:  # about 75 s
                    break
        driver.save_screenshot(str(tmp_path / "hover.png"))
        assert tip, f"no tooltip after hovering {len(tried)} spots of the map {tried[:8]} (see {tmp_path / 'hover.png'})"
        assert PAYLOAD in tip["preview"], tip  # the caption as its characters, every caption being hostile here
        assert tip["preview_elements"] == 0 and tip["elements"] == 0, tip
        assert pwned() == [None, 0]

        # lasso: the selection table under the map
        driver.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output button[title='Activate lasso selection']").click()
        cx, cy, rx, ry = (left + right) / 2, (top + bottom) / 2, 0.42 * (right - left), 0.42 * (bottom - top)
        loop = [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 60)]
        mouse("mouseMoved", *loop[0])
        mouse("mousePressed", *loop[0], 1)
        for x, y in loop[1:]:
            mouse("mouseMoved", x, y, 1)
            time.sleep(0.02)
        mouse("mouseReleased", *loop[-1])
        WebDriverWait(driver, 30).until(lambda d: "images selected" in d.find_element(By.TAG_NAME, "body").text)
        time.sleep(1)
        assert pwned() == [None, 0]
        cells = [td.text for td in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output table td")]
        assert any('<img src=x onerror="window.__pwned=1">' in t for t in cells), cells[:12]
