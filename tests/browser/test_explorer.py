"""The interactive map of notebook 10_explore (twigma.present.explore): its table, filters and selection, the static stand-in, and the widget as a reader meets it: JupyterLab in headless Chromium, the notebook run, the map's WebGL canvas drawn, a lasso selection giving rows with tweet links."""
from __future__ import annotations

import time

import numpy as np
import pytest
from support.browser import JupyterLab, console_errors

from twigma import paths


@pytest.mark.browser
@pytest.mark.skipif(not (paths.ROOT / ".venv" / ".installed").exists(), reason="needs the make-built .venv")
def test_the_map_renders_in_jupyterlab_and_a_lasso_gives_rows(tmp_path):
    """`make lab`, 10_explore run to its end: the map's WebGL canvas is drawn, a lasso over it selects
    points, and the selection appears as a table with tweet links; no error output."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with JupyterLab(tmp_path, webgl=True) as lab:
        driver = lab.driver
        lab.open_and_run_all("10_explore.ipynb")
        assert not lab.error_outputs(), lab.error_outputs()
        # the map: scroll to it and wait for its canvas (WebGL, drawn by regl-scatterplot)
        canvas = lab.map_canvas(tries=60)
        assert canvas is not None, "the map's canvas was not drawn"
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
        time.sleep(2)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "3,000 of 3,000 images shown" in body or "images shown" in body
        # lasso: the map's lasso button, then a drag in a loop around the canvas (the sample's map is a ring)
        driver.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output button[title='Activate lasso selection']").click()
        rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                     "return [r.left, r.top, r.width, r.height, innerWidth, innerHeight];", canvas)
        left, top = max(rect[0], 0), max(rect[1], 0)
        right, bottom = min(rect[0] + rect[2], rect[4]), min(rect[1] + rect[3], rect[5])
        cx, cy, rx, ry = (left + right) / 2, (top + bottom) / 2, 0.42 * (right - left), 0.42 * (bottom - top)
        loop = [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 60)]

        def mouse(kind, x, y, buttons):
            driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": float(x), "y": float(y),
                                                                "button": "left", "buttons": buttons, "clickCount": 1})

        mouse("mouseMoved", *loop[0], 0)
        mouse("mousePressed", *loop[0], 1)
        for x, y in loop[1:]:
            mouse("mouseMoved", x, y, 1)
            time.sleep(0.02)
        mouse("mouseReleased", *loop[-1], 0)
        WebDriverWait(driver, 30).until(lambda d: "images selected" in d.find_element(By.TAG_NAME, "body").text)
        links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output table a")]
        assert not any("twitter.com" in u or "x.com" in u for u in links)  # the sample's ids are made up: no links
        assert "(no tweet)" in driver.find_element(By.TAG_NAME, "body").text
        severe = [e for e in console_errors(driver) if "favicon" not in e]
        assert not [e for e in severe if "jscatter" in e.lower() or "webgl" in e.lower()], severe
