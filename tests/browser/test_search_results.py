"""Text-to-image and image-to-image search on a store that ``twigma embed`` made from real photographs (shipped inside skimage, sklearn and matplotlib) with a tiny random-weight open_clip model."""
from __future__ import annotations

import pandas as pd
import pytest

from twigma.embeddings import search


@pytest.mark.browser
def test_hostile_captions_in_search_results_stay_text(setup, tmp_path):
    """Search results as a notebook shows them (the DataFrame's HTML, which JupyterLab and the report put
    in the page) with captions that carry HTML and script: in headless Chromium nothing runs, no planted
    element or link appears, and the caption reads literally."""
    from support.browser import chromium

    from twigma import load_release

    payload = ('<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> '
               '<a href="javascript:window.__pwned=3">open</a>')
    rel = load_release(setup["release"])
    rel["all_captions"] = rel["all_captions"].astype(str) + " " + payload
    res = search.Searcher(setup["store"], rel, device="cpu").image(setup["names"][0], k=5)
    assert res["caption"].str.contains("<script>", regex=False).all()
    page = tmp_path / "results.html"
    with pd.option_context("display.max_colwidth", None):  # the whole caption (by default pandas cuts it at 50)
        shown = res._repr_html_()
    page.write_text(f"<!doctype html><html lang=en><title>search</title><body>{shown}</body></html>")
    driver = chromium()
    try:
        driver.get(page.as_uri())
        assert driver.execute_script("return window.__pwned") is None
        assert not driver.execute_script(
            "return document.querySelectorAll('img, script:not([src]), a[href^=javascript]').length")
        assert driver.find_element("tag name", "body").text.count('<img src=x onerror="window.__pwned=1">') == 5
    finally:
        driver.quit()
