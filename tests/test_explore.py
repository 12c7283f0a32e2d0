"""The interactive map of notebook 10_explore (twigma.present.explore): its table, filters and selection, the
static stand-in, and the widget as a reader meets it: JupyterLab in headless Chromium, the notebook run,
the map's WebGL canvas drawn, a lasso selection giving rows with tweet links."""
from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from browser import JupyterLab, console_errors

from twigma import paths
from twigma.analysis.text import cluster_names
from twigma.present import explore


@pytest.fixture(scope="module")
def names(small_release, tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "cluster_names.csv does not exist yet": computed here, as 02 does
        return cluster_names(tmp_path_factory.mktemp("res"), small_release)


@pytest.fixture(scope="module")
def table(small_release, names):
    return explore.map_table(small_release, names)


def test_map_table_has_one_row_per_image_in_release_order(table, small_release, names):
    assert list(table.columns) == explore.COLUMNS and len(table) == len(small_release)
    np.testing.assert_array_equal(table["x"], small_release["UMAP_dim_1"].to_numpy(np.float32))
    np.testing.assert_array_equal(table["y"], small_release["UMAP_dim_2"].to_numpy(np.float32))
    k = small_release["label_10_cluster"].iloc[5]
    assert table["cluster"].iloc[5] == f"{k} · {names[k]}"[:40] or table["cluster"].iloc[5].startswith(f"{k} · ")
    assert list(table["cluster"].cat.categories) == sorted(table["cluster"].cat.categories,
                                                           key=lambda c: int(c.split(" ")[0]))
    assert table["tweet"].iloc[0] == f"https://twitter.com/i/web/status/{small_release['id'].iloc[0]}"
    assert table["month"].iloc[0] == small_release["created_at"].iloc[0].strftime("%Y-%m")
    assert table["caption"].str.len().max() <= explore.CAPTION_CHARS


def test_map_table_names_the_row_without_coordinates(small_release, names):
    bad = small_release.copy()
    bad.loc[bad.index[7], "UMAP_dim_2"] = np.nan
    with pytest.raises(ValueError, match=r"row 7 .*make validate"):
        explore.map_table(bad, names)
    with pytest.raises(KeyError, match="UMAP_dim_1"):
        explore.map_table(small_release.drop(columns="UMAP_dim_1"), names)


def test_filters_and_selection_table(table):
    cats = list(table["cluster"].cat.categories)
    months = sorted(table["month"].unique())
    rows = explore.filter_rows(table, clusters=cats[:2], months=(months[2], months[5]))
    expected = table.index[table["cluster"].isin(cats[:2]) & table["month"].between(months[2], months[5])]
    np.testing.assert_array_equal(rows, expected.to_numpy())
    assert len(explore.filter_rows(table)) == len(table)
    sel = explore.selection_table(table, rows, limit=7)
    assert len(sel) == 7 and sel["likes"].is_monotonic_decreasing
    assert sel["likes"].iloc[0] == table.iloc[rows]["likes"].max()
    assert set(sel.columns) >= {"caption", "date", "likes", "nsfw_score", "tweet"}


def test_what_notebook_10_says_of_the_map_and_a_selection_against_numpy(table):
    s = explore.map_summary(table)
    counts = {c: int((table["cluster"] == c).sum()) for c in table["cluster"].cat.categories}
    assert s["largest"] == max(counts, key=counts.get) and s["smallest"] == min(counts, key=counts.get)
    assert s["largest_share"] == pytest.approx(max(counts.values()) / len(table))
    spread = {c: np.mean([np.std(g["x"], ddof=1), np.std(g["y"], ddof=1)]) for c, g in table.groupby("cluster", observed=True)}
    assert s["compact"] == min(spread, key=spread.get) and s["diffuse_spread"] == pytest.approx(max(spread.values()))
    months = sorted(set(table["month"]))
    assert s["last_months"] == (months[-3], months[-1])
    sel = explore.selection_table(table, explore.filter_rows(table, [s["largest"]], s["last_months"]), limit=10)
    got = explore.selection_summary(sel)
    assert (got["n"], got["likes_max"], got["likes_min"]) == (len(sel), sel["likes"].max(), sel["likes"].min())
    assert got["n_nsfw"] == sum(v > 0.5 for v in sel["nsfw_score"])
    hits = pd.DataFrame({"cluster": [3, 3, 1, 3, 2]})
    assert explore.same_cluster_share(hits) == 0.5


def test_explorer_filters_and_selects_without_a_browser(table):
    e = explore.Explorer(table)
    e.view()
    cats = e.clusters.options
    e.clusters.value = cats[:1]
    shown = e.scatter.filter()
    np.testing.assert_array_equal(shown, np.flatnonzero(table["cluster"] == cats[0]))
    assert f"{len(shown):,}</b> of {len(table):,}" in e.status.value
    e.months.index = (1, 3)
    assert len(e.scatter.filter()) == len(explore.filter_rows(table, cats[:1], e.months.value))
    e.clusters.value, e.months.index = tuple(cats), (0, len(e.months.options) - 1)
    assert e.scatter.widget.filter is None  # everything shown: no filter at all
    e.scatter.selection([3, 1, 2])
    assert sorted(e.selected().index) == [1, 2, 3]


def test_static_stand_in_draws_every_point(table):
    fig, info = explore.density_figure(table, bins=50)
    assert info["points"] == len(table) and info["bins"] == 50
    assert len(fig.axes[0].get_legend().get_texts()) == table["cluster"].nunique()


def test_interactive_only_with_a_front_end(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv(paths.NOTEBOOK_ENV, raising=False)
    assert not explore.interactive()
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/notebooks/10_explore.ipynb")
    assert explore.interactive()
    monkeypatch.setenv(paths.NOTEBOOK_ENV, "10_explore")  # twigma run-notebook: papermill, no browser
    assert not explore.interactive()


# ------------------------------------------------------------------ JupyterLab ---------

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
        assert any(u.startswith("https://twitter.com/i/web/status/") for u in links)
        severe = [e for e in console_errors(driver) if "favicon" not in e]
        assert not [e for e in severe if "jscatter" in e.lower() or "webgl" in e.lower()], severe
