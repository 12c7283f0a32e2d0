"""The interactive map of notebook 10_explore (twigma.present.explore): its table, filters and selection, the static stand-in, and the widget as a reader meets it: JupyterLab in headless Chromium, the notebook run, the map's WebGL canvas drawn, a lasso selection giving rows with tweet links."""
from __future__ import annotations

import warnings

import pytest

from twigma import paths
from twigma.present import explore


@pytest.fixture(scope="module")
def sampled_run(small_release_file, tmp_path_factory):
    from twigma.run.runner import run_notebook

    out = tmp_path_factory.mktemp("sampled")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_notebook(paths.NOTEBOOKS / "10_explore.ipynb", release=small_release_file, out=out,
                     parameters={"MAP_POINTS": 700, "WIDGET": "yes"})  # the widget is made (no browser draws it)
    import nbformat

    nb = nbformat.read(out / "build" / "10_explore.ipynb", 4)
    return "\n".join(o.get("text", "") or "".join(o.get("data", {}).get("text/markdown", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_notebook_says_the_map_is_a_sample_and_the_density_every_image(sampled_run, small_release, names):
    text = sampled_run
    points = explore.map_points(small_release, names)
    m = explore.map_summary(points)
    rows = explore.filter_rows(points, [m.largest], m.last_months)  # the example: from every image
    top = explore.most_liked_tweets(small_release, names, rows, limit=10)
    assert (f"**What it shows.** {len(rows):,} images are in {m.largest} between {m.last_months[0]} and "
            f"{m.last_months[1]}; the 10 most liked tweets among them are listed, each once, with "
            f"{top['images'].sum()} of their images in this selection in all, from {top['likes'].max():,.0f} likes") in text
    assert "twitter.com/i/web" not in text and "this is a synthetic release" in text
    assert "No search in this run" in text and "Traceback" not in text  # run without EMBEDDINGS
    assert "the interactive map's table: a seeded random sample of 700 of the 3,000 images" in text
    assert "The interactive map below shows a seeded random sample of 700 of the 3,000 images, one by one." in text
    assert "The map above holds a seeded random sample of 700 of the 3,000 images; the filters show 700 of them" in text
    assert "**What it shows.** All 3,000 images at their released UMAP coordinates" in text
    assert ("| map | (the paper's interactive demo, no longer online) | all 3,000 images on the released UMAP in 10 named "
            "clusters; interactive map of a seeded random sample of 700 of the 3,000 images |") in text
    assert "Traceback" not in text
