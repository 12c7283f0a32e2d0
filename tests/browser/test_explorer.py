"""The interactive map of notebook 10_explore (twigma.present.explore): its table, filters and selection, the static stand-in, and the widget as a reader meets it: JupyterLab in headless Chromium, the notebook run, the map's WebGL canvas drawn, a lasso selection giving rows, and hostile captions kept as text throughout. Also JupyterLab as a reader uses it (`make lab`, a notebook run to its end and saved), on the same run."""
from __future__ import annotations

import re
import time

import numpy as np
import pytest
from support.browser import JupyterLab, broken_images, console_errors
from support.hostile_captions import PAYLOAD, hostile

from twigma import paths

NOTEBOOK = "10_explore.ipynb"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not (paths.ROOT / ".venv" / ".installed").exists(),
                                 reason="needs the make-built .venv")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, raw_small):
    """`make lab` with 10_explore run to its end (Run > Run All Cells) in headless Chromium with WebGL, once
    for this module's tests, on a release whose every caption is hostile (where a script would run with the
    user's Jupyter token) and synthetic embeddings of it. SEARCH_TEXT is empty: the synthetic store has no
    text model, so text search would load torch and open_clip only to say so; image search still shows its
    table and the sentence that quotes a caption."""
    import nbformat

    from twigma.release import load_release
    from twigma.synthetic.embeddings import make_sample_embeddings
    from twigma.synthetic.release import sample_meta, write_release

    tmp_path = tmp_path_factory.mktemp("lab")
    with JupyterLab(tmp_path, webgl=True) as lab:
        release = write_release(hostile(raw_small, every=1), lab.repo / "data" / "hostile.csv.gz",
                                meta=sample_meta(len(raw_small), 7))
        make_sample_embeddings(load_release(release, cache_dir=tmp_path / "cache"), lab.repo / "data" / "hostile_emb",
                               n_natural=300, n_art=300, dim=32)
        nb_file = lab.repo / "notebooks" / NOTEBOOK
        nb = nbformat.read(nb_file, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        for name, value in (("RELEASE", "data/hostile.csv.gz"), ("EMBEDDINGS", "data/hostile_emb"), ("SEARCH_TEXT", "")):
            cell.source, n = re.subn(rf"(?m)^({name}\s*(?::[^=]+)?=\s*)[^#\n]*?(\s*#|$)", rf'\g<1>"{value}"\g<2>',
                                     cell.source)
            assert n == 1, (name, cell.source)
        nbformat.write(nb, str(nb_file))
        lab.open_and_run_all(NOTEBOOK)
        yield lab


def pwned(driver) -> list:
    """Whether a planted payload ran (window.__pwned) and how many of its elements are in the page."""
    return driver.execute_script(
        "return [window.__pwned, document.querySelectorAll('img[src=x], img[onerror], a[href^=javascript]').length]")


def test_jupyterlab_runs_a_notebook_to_its_end(lab):
    """`make lab` as a reader starts it, 10_explore run to its end: no error output, its figures rendered
    (scrolled through, every image in view loaded), no news pop-up; saved (ctrl+S), the notebook holds every
    figure the run wrote and no error; and run in JupyterLab, the notebook still knows its name: its outputs
    are named after it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = lab.driver
    assert not lab.error_outputs(), lab.error_outputs()
    # scroll through and look at every figure as it shows: once the images in view have loaded, none is broken
    loaded = "return Array.from(document.querySelectorAll('.jp-OutputArea-output img')).every(i => i.complete);"
    seen = 0
    lab.scroll(to_top=True)
    for _ in range(200):
        WebDriverWait(driver, 10, poll_frequency=0.1).until(lambda d: d.execute_script(loaded))
        seen = max(seen, len(driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img")))
        assert not broken_images(driver)
        if not lab.scroll():
            break
    assert seen > 0, "no figure was rendered"
    assert "receive official Jupyter news" not in lab.text()
    # what the reader saves holds every output: each figure the run wrote, no error
    saved = lab.save(NOTEBOOK)
    outputs = [o for c in saved.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    figures = sorted(p.name for p in (lab.repo / "figures").glob("10_explore_*.png"))
    # the run's outputs have the notebook's name: the static map and the theme tracker's figure
    assert "10_explore_map.png" in figures and any(f.startswith("10_explore_track_") for f in figures), figures
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= len(figures), figures
    assert not [o for o in outputs if o.get("output_type") == "error"]


def test_the_map_in_jupyterlab_draws_and_keeps_hostile_captions_as_text(lab, tmp_path):
    """10_explore run in JupyterLab on a release whose every caption is hostile: no payload runs after Run
    All (its tables, and the Markdown sentence that quotes a caption), nor on hovering a point, whose tooltip
    shows its caption literally as text (the pointer aimed by CDP at the drawn pixels of the WebGL map,
    browser.drawn_spots; jupyter-scatter 1.0.1 writes the preview with textContent, Explorer asking for
    preview_type="text"), nor after a lasso selection, whose table shows the captions literally. The page's
    screenshot while hovering is left in tmp_path/hover.png. The map as a reader meets it: its WebGL canvas
    drawn, a lasso selection giving rows, no tweet links for a synthetic release."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from support.browser import drawn_spots

    driver = lab.driver
    assert not lab.error_outputs(), lab.error_outputs()
    assert pwned(driver) == [None, 0]
    lab.scroll(to_top=True)
    canvas = lab.map_canvas()
    assert canvas is not None, "the map's canvas was not drawn"
    assert "images shown" in lab.text()
    # JupyterLab may scroll its windowed notebook again: until the map is in view and stays where it is
    where = "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height, innerWidth, innerHeight];"
    last = []

    def in_view(d):
        r = d.execute_script(where, canvas)
        if not 0 <= r[1] + r[3] / 2 <= r[5]:
            d.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
        steady, last[:] = r == last, r
        return steady and 0 <= r[1] + r[3] / 2 <= r[5] and r

    r = WebDriverWait(driver, 20, poll_frequency=0.25).until(in_view)
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
    assert pwned(driver) == [None, 0]

    # lasso: the selection table under the map
    driver.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output button[title='Activate lasso selection']").click()
    cx, cy, rx, ry = (left + right) / 2, (top + bottom) / 2, 0.42 * (right - left), 0.42 * (bottom - top)
    loop = [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 24)]
    mouse("mouseMoved", *loop[0])
    mouse("mousePressed", *loop[0], 1)
    for x, y in loop[1:]:
        mouse("mouseMoved", x, y, 1)
        time.sleep(0.02)
    mouse("mouseReleased", *loop[-1])
    # the map's cell says how many are selected (its own text: a cheap look, where the page's text walks it all)
    WebDriverWait(driver, 30, poll_frequency=0.2).until(
        lambda d: "images selected" in d.execute_script("return arguments[0].closest('.jp-Cell').innerText;", canvas))
    time.sleep(1)  # a payload put into the page as HTML would have run by now (its image x fails at once)
    assert pwned(driver) == [None, 0]
    cells, links = driver.execute_script(
        "const q = s => Array.from(document.querySelectorAll('.jp-OutputArea-output table ' + s));"
        "return [q('td').map(e => e.innerText), q('a').map(a => a.href)];")
    assert any('<img src=x onerror="window.__pwned=1">' in t for t in cells), cells[:12]
    assert not any("twitter.com" in u or "x.com" in u for u in links)  # a synthetic release's ids: no links
    assert "(no tweet)" in lab.text()
    severe = [e for e in console_errors(driver) if "favicon" not in e]
    assert not [e for e in severe if "jscatter" in e.lower() or "webgl" in e.lower()], severe
