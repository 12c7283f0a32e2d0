"""The report site as a reader opens it: from disk, in headless Chromium, every page reachable and nothing fetched from the network. (JupyterLab as a reader uses it, a notebook run to its end, is tested in test_explorer.py on that module's one JupyterLab run.)"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.browser import broken_images, chromium, console_errors, requested_urls
from support.report_run import RUN


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

