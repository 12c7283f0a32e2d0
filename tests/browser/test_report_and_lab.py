"""Provenance of a run, `make verify`, and the report site as a reader opens it: from disk, in headless Chromium. Also JupyterLab as a reader uses it (`make lab`, a notebook run to its end)."""
from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from support.browser import JupyterLab, broken_images, chromium, console_errors, requested_urls
from support.report_run import RUN

from twigma import paths


@pytest.mark.browser
def test_report_opens_from_disk_and_every_page_is_reachable(site, run):
    claims = pd.read_csv(run / "results" / "claims.csv", dtype=str, keep_default_na=False)
    driver = chromium()
    try:
        driver.get(site.as_uri())
        assert "TWIGMA" in driver.title
        body = driver.find_element("tag name", "body").text
        assert "Synthetic sample data" in body  # the mark of a sample run
        for r in claims.itertuples():
            row = driver.find_element("id", f"claim-{r.claim.lower()}")
            assert r.holds in row.text and r.claim in row.text
            cls = row.find_elements("css selector", ".twigma-verdict.verdict-yes, .twigma-verdict.verdict-no, "
                                    ".twigma-verdict.verdict-untestable, .twigma-verdict.verdict-partly")
            assert cls, f"{r.claim}: the verdict is not coloured"
            assert "on the synthetic sample" in cls[0].text, f"{r.claim}: the badge does not say its data"
        links = {a.get_attribute("href").split("#")[0] for a in driver.find_elements("css selector", "a[href]")
                 if "/notebooks/" in a.get_attribute("href")}
        assert {Path(u).stem for u in links} == set(RUN)
        problems, urls = [], requested_urls(driver)
        for url in sorted(links) + [site.with_name("gallery.html").as_uri()]:
            driver.get(url)
            assert "Synthetic sample data" in driver.find_element("tag name", "body").text, url
            problems += [f"{url}: broken image {b}" for b in broken_images(driver)]
            problems += [f"{url}: console: {e}" for e in console_errors(driver)]
            urls += requested_urls(driver)
        assert not problems, problems
        outside = [u for u in urls if not u.startswith(("file://", "data:", "about:", "blob:"))]
        assert not outside, f"the report asked the network for {outside[:5]}"
        n_png = len(list((run / "figures").glob("*.png")))
        assert len(driver.find_elements("css selector", ".twigma-figure img")) == n_png
        assert len(driver.find_elements("css selector", "table.twigma-prov")) == n_png  # each with its record
        driver.get(next(u for u in links if u.endswith("03_theme_shift.html")))
        assert driver.find_elements("id", "findings"), "claims link to the notebook's Findings section"
    finally:
        driver.quit()


@pytest.mark.browser
@pytest.mark.skipif(not (paths.ROOT / ".venv" / ".installed").exists(), reason="needs the make-built .venv")
def test_jupyterlab_runs_a_notebook_to_its_end(tmp_path):
    """`make lab` as a reader starts it, one notebook run to its end: figures rendered, no error output,
    the outputs named after the notebook, and no news pop-up."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with JupyterLab(tmp_path) as lab:
        lab.open_and_run_all("04_nsfw.ipynb")
        assert not lab.error_outputs(), lab.error_outputs()
        # JupyterLab renders only the cells in view: scroll through and look at every figure as it shows
        seen = 0
        lab.scroll(to_top=True)
        for _ in range(200):
            time.sleep(0.5)  # JupyterLab renders the cells that come into view
            seen = max(seen, len(lab.driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img")))
            assert not broken_images(lab.driver)
            if not lab.scroll():
                break
        assert seen > 0, "no figure was rendered"
        assert "receive official Jupyter news" not in lab.driver.find_element(By.TAG_NAME, "body").text
        # what the reader saves holds every output: figures, no error
        lab.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.CONTROL, "s")
        time.sleep(2)
        saved = nbformat.read(lab.repo / "notebooks" / "04_nsfw.ipynb", as_version=4)
        outputs = [o for c in saved.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
        assert not [o for o in outputs if o.get("output_type") == "error"]
        # run in JupyterLab, the notebook still knows its name: its figures have the paper's names
        assert (lab.repo / "figures" / "04_nsfw_by_cluster.png").exists()
