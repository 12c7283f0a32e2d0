"""The report's map of every image (twigma.present.map_page) as a reader meets it: the page opened from disk in
headless Chromium with WebGL (software), drawn by plotly.js; a filter by cluster or month changes the points
and the density image to exactly the images it keeps; a hostile caption stays text in the hover label and the
clicked point's panel; a tweet link for a real release only; no request but file:// and data:; and the map of
the shared run's report."""
from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest
from support.browser import axe_violations, chromium, console_errors, drawn_spots, requested_urls
from support.hostile_captions import PAYLOAD
from support.map_frames import cluster_names, release_frame

from twigma.present import map_page

#: The planted payload's first element, as the hover label must show it: as characters.
PLANTED = '<img src=x onerror="window.__pwned=1">'
#: Image 0's caption: the tags and entities plotly.js's hover text would read as its own markup (bold, a link,
#: "<" and ">"), then the payload.
TAGS = ["<b>b</b>", '<a href="https://e.example/">l</a>', "&lt;t&gt;"]
MARKUP = " ".join(TAGS) + " "


def _frame(n: int = 600):
    """``n`` images in 4 clusters over 6 months, every caption hostile and numbered; image 0 alone in the
    lower left corner of the map (the upper right one has plotly's buttons), where the pointer finds it."""
    frame = release_frame(n, seed=21, clusters=4, months=6)
    frame["all_captions"] = [f"image {i} {PAYLOAD}"[:map_page.CAPTION_CHARS] for i in range(n)]
    frame.loc[0, ["UMAP_dim_1", "UMAP_dim_2"]] = [frame["UMAP_dim_1"].min() - 6, frame["UMAP_dim_2"].min() - 6]
    frame.loc[0, "all_captions"] = f"image 0 {MARKUP}{PAYLOAD}"[:map_page.CAPTION_CHARS]
    return frame


def _open(tmp_path, frame, synthetic: bool, webgl: bool = True):
    data = map_page.map_data(frame, cluster_names(frame), synthetic=synthetic)
    page = map_page.write_page(data, tmp_path, back=None)
    driver = chromium(webgl=True, extra_args=() if webgl else ("--disable-webgl",))
    driver.get(page.as_uri())
    _wait(driver, "return document.getElementById('twigma-map').dataset.ready === '1'")
    return driver, data


def _wait(driver, script: str, timeout: float = 30, *args):
    end = time.time() + timeout
    while time.time() < end:
        got = driver.execute_script(script, *args)
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def _drawn(driver) -> dict:
    """What plotly drew: points per trace and the density image's filled cells (rows from the top)."""
    from PIL import Image

    got = driver.execute_script(
        "const gd = document.getElementById('twigma-map');"
        "return {points: gd._fullData.map(t => t.x.length), image: gd._fullLayout.images[0].source,"
        " images: +gd.dataset.images, status: document.getElementById('twigma-status').textContent};")
    png = base64.b64decode(got["image"].split(",", 1)[1])
    got["cells"] = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[..., 3] > 0
    return got


def _expected_cells(frame, data, keep) -> np.ndarray:
    """The density image's filled cells as np.histogram2d finds them for the images ``keep`` (row 0 on top)."""
    x0, x1, y0, y1 = data["extent"]
    x = frame["UMAP_dim_1"].to_numpy(np.float32).astype(float)[keep]
    y = frame["UMAP_dim_2"].to_numpy(np.float32).astype(float)[keep]
    h, _, _ = np.histogram2d(y, x, bins=data["bins"], range=[[y0, y1], [x0, x1]])
    return (h > 0)[::-1]


def _assert_clean(driver) -> None:
    """No console error, no request beyond the page's own files and data: URLs, no serious or critical axe-core
    violation."""
    assert not console_errors(driver)
    outside = [u for u in requested_urls(driver) if not u.startswith(("file://", "data:", "blob:"))]
    assert not outside, outside
    assert not axe_violations(driver)


def _pointer(driver, x: float, y: float, click: bool = False) -> None:
    """Move the pointer (and click) at the data point (x, y), by CDP as a mouse does."""
    px, py = driver.execute_script(
        "const gd = document.getElementById('twigma-map'); gd.scrollIntoView({block: 'center'});"
        "const fl = gd._fullLayout, r = gd.getBoundingClientRect();"
        "return [r.left + fl.xaxis._offset + fl.xaxis.l2p(arguments[0]),"
        " r.top + fl.yaxis._offset + fl.yaxis.l2p(arguments[1])];", x, y)
    for kind in ["mouseMoved"] + (["mousePressed", "mouseReleased"] if click else []):
        driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": px, "y": py, "button": "left",
                                                            "buttons": 1 if kind == "mousePressed" else 0,
                                                            "clickCount": 1})
        time.sleep(0.1)


@pytest.mark.browser
def test_the_map_draws_every_image_and_the_filters_change_it(tmp_path):
    """All points in one WebGL trace per cluster, pixels drawn on the canvas, the density image of every image;
    unticking a cluster, then narrowing the months, draws exactly the images kept (points counted, density
    image against np.histogram2d); nothing asked of the network, no serious or critical axe-core violation."""
    from selenium.webdriver.support.ui import Select

    frame = _frame()
    driver, data = _open(tmp_path, frame, synthetic=False)
    try:
        ks = frame["label_10_cluster"].to_numpy()
        months = frame["created_at"].dt.strftime("%Y-%m").to_numpy()
        got = _drawn(driver)
        assert got["points"] == [int((ks == c["k"]).sum()) for c in data["clusters"]]
        assert got["images"] == len(frame) and "600 of 600 images" in got["status"]
        np.testing.assert_array_equal(got["cells"], _expected_cells(frame, data, np.ones(len(frame), bool)))
        # the points alone (the density image hidden): WebGL drew them on its canvas
        driver.execute_async_script("Plotly.relayout('twigma-map', {'images[0].visible': false})"
                                    ".then(() => arguments[arguments.length - 1]())")
        rect = driver.execute_script("const r = document.querySelector('#twigma-map .nsewdrag').getBoundingClientRect();"
                                     "return [r.left, r.top, r.right, r.bottom];")
        assert driver.find_elements("css selector", "#twigma-map canvas.gl-canvas-context")
        assert len(drawn_spots(driver, rect)) > 50, "the points were not drawn (WebGL)"

        driver.find_element("css selector", "#twigma-clusters input[data-cluster='1']").click()
        _wait(driver, "return document.getElementById('twigma-map').dataset.images !== arguments[0]", 10,
              str(len(frame)))
        keep = ks != data["clusters"][1]["k"]
        got = _drawn(driver)
        assert got["points"][1] == 0 and sum(got["points"]) == int(keep.sum()) == got["images"]
        np.testing.assert_array_equal(got["cells"], _expected_cells(frame, data, keep))

        Select(driver.find_element("id", "twigma-from")).select_by_visible_text(data["months"][2])
        Select(driver.find_element("id", "twigma-to")).select_by_visible_text(data["months"][3])
        keep &= (months >= data["months"][2]) & (months <= data["months"][3])
        _wait(driver, "return +document.getElementById('twigma-map').dataset.images === arguments[0]", 10, int(keep.sum()))
        got = _drawn(driver)
        assert sum(got["points"]) == int(keep.sum()) < len(frame) / 2
        np.testing.assert_array_equal(got["cells"], _expected_cells(frame, data, keep))
        assert f"({data['months'][2]} to {data['months'][3]})" in got["status"]
        _assert_clean(driver)
    finally:
        driver.quit()


@pytest.mark.browser
def test_a_hostile_caption_stays_text_in_the_hover_label_and_the_clicked_point(tmp_path):
    """Hovering image 0 shows its caption, planted markup and all, as characters of the label (no element made
    from it, no script run); a click shows it as text with the link to its tweet."""
    frame = _frame()
    driver, _ = _open(tmp_path, frame, synthetic=False)
    try:
        _pointer(driver, float(frame.loc[0, "UMAP_dim_1"]), float(frame.loc[0, "UMAP_dim_2"]))
        label = _wait(driver, "const t = document.querySelector('.hoverlayer .hovertext');"
                              "return t && {text: t.textContent, elements: t.querySelectorAll('a, img, script').length,"
                              " bold: Array.from(t.querySelectorAll('tspan'))"
                              ".filter(e => (e.getAttribute('style') || '').includes('bold')).length};", 10)
        # each piece as its characters (a line of the label ends at a space, which its text then lacks); the
        # cluster's name too (support.map_frames names them with markup)
        assert label["text"].startswith("image 0 ") and all(p in label["text"] for p in [*TAGS, PLANTED, "<b>&amp;</b>"]), label
        assert label["elements"] == 0 and label["bold"] == 0, label
        _pointer(driver, float(frame.loc[0, "UMAP_dim_1"]), float(frame.loc[0, "UMAP_dim_2"]), click=True)
        caption = _wait(driver, "const c = document.querySelector('#twigma-point .twigma-caption');"
                                "return c && c.textContent;", 10)
        assert caption == frame.loc[0, "all_captions"]
        links = driver.execute_script("return Array.from(document.querySelectorAll('#twigma-point a')).map(a => a.href)")
        assert links == [f"https://twitter.com/i/web/status/{frame.loc[0, 'id']}"]
        assert driver.execute_script(
            "return [window.__pwned, document.querySelectorAll('img[src=x], img[onerror], a[href^=javascript]').length]"
        ) == [None, 0]
    finally:
        driver.quit()


@pytest.mark.browser
def test_a_synthetic_release_links_no_tweet(tmp_path):
    frame = _frame(200)
    driver, _ = _open(tmp_path, frame, synthetic=True)
    try:
        assert "Synthetic sample data" in driver.find_element("tag name", "body").text
        _pointer(driver, float(frame.loc[0, "UMAP_dim_1"]), float(frame.loc[0, "UMAP_dim_2"]), click=True)
        said = _wait(driver, "const c = document.querySelector('#twigma-point .twigma-caption');"
                             "return c && document.getElementById('twigma-point').textContent;", 10)
        assert "synthetic sample, whose tweet ids are made up" in said
        assert not driver.find_elements("css selector", "#twigma-point a")
    finally:
        driver.quit()


@pytest.mark.browser
def test_the_report_links_its_map_of_the_shared_run(site_run):
    """The shared run's report (every fourth caption hostile): the front page links map.html, which draws
    every image from disk, runs no planted payload, asks for nothing but local files and has no serious or
    critical axe-core violation."""
    _, index, release = site_run
    driver = chromium(webgl=True)
    try:
        driver.get(index.as_uri())
        hrefs = driver.execute_script("return Array.from(document.links).map(a => a.getAttribute('href'))")
        assert "map.html" in hrefs
        driver.get(index.with_name("map.html").as_uri())
        _wait(driver, "return document.getElementById('twigma-map').dataset.ready === '1'")
        assert driver.execute_script("return +document.getElementById('twigma-map').dataset.images") == 3000
        assert "Synthetic sample data" in driver.find_element("tag name", "body").text
        assert driver.execute_script(
            "return [window.__pwned, document.querySelectorAll('img[src=x], img[onerror], a[href^=javascript]').length]"
        ) == [None, 0]
        _assert_clean(driver)
    finally:
        driver.quit()


@pytest.mark.browser
def test_a_browser_without_webgl_draws_the_points_as_svg(tmp_path):
    """Without WebGL the points are SVG (plotly's ``scatter``), every one drawn, and hovering one still shows
    its caption as text."""
    frame = _frame(200)
    driver, data = _open(tmp_path, frame, synthetic=True, webgl=False)
    try:
        assert driver.execute_script("return !!document.createElement('canvas').getContext('webgl')") is False
        got = _drawn(driver)
        assert sum(got["points"]) == len(frame) == got["images"]
        assert driver.execute_script("return document.getElementById('twigma-map')._fullData.map(t => t.type)") == [
            "scatter"] * len(data["clusters"])
        assert len(driver.find_elements("css selector", "#twigma-map .scatterlayer path.point")) == len(frame)
        _pointer(driver, float(frame.loc[0, "UMAP_dim_1"]), float(frame.loc[0, "UMAP_dim_2"]))
        text = _wait(driver, "const t = document.querySelector('.hoverlayer .hovertext'); return t && t.textContent;", 10)
        assert text.startswith("image 0 ") and PLANTED in text
        assert not console_errors(driver)
    finally:
        driver.quit()
