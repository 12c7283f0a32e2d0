"""Tests of twigma.present.map_page: the report's map of every image, its data (the seeded sample, the density
of every image, the captions as text, links only for a real release), its size at 800,000 images, and the
page it adds to a report's site."""
from __future__ import annotations

import base64
import json
import time
from html import unescape
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from support.map_frames import cluster_names, release_frame

from twigma.present import explore, map_page


def decode(b64: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=dtype)


@pytest.fixture(scope="module")
def frame():
    return release_frame(4000, seed=3, clusters=6, months=9)


@pytest.fixture(scope="module")
def data(frame):
    return map_page.map_data(frame, cluster_names(frame), synthetic=False, sample=700, seed=5)


class _Scripts(HTMLParser):
    """The text of each <script> element of a page, as a browser's HTML parser splits them."""

    def __init__(self):
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self._attrs: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._attrs = dict(attrs)
            self.scripts.append((self._attrs, ""))

    def handle_data(self, text):
        if self._attrs is not None:
            attrs, before = self.scripts[-1]
            self.scripts[-1] = (attrs, before + text)

    def handle_endtag(self, tag):
        if tag == "script":
            self._attrs = None


def test_the_sample_is_seeded_capped_and_in_release_order(frame, data):
    s = data["sample"]
    rows = np.sort(np.random.default_rng(5).choice(len(frame), size=700, replace=False))
    assert s["n"] == 700 and s["seed"] == 5
    np.testing.assert_array_equal(decode(s["x"], "<f4"), frame["UMAP_dim_1"].to_numpy(np.float32)[rows])
    np.testing.assert_array_equal(decode(s["y"], "<f4"), frame["UMAP_dim_2"].to_numpy(np.float32)[rows])
    assert s["caption"] == frame["all_captions"].iloc[rows].tolist()  # 60 characters: none cut
    likes = frame["like_count"].iloc[rows]
    np.testing.assert_array_equal(decode(s["likes"], "<i4"), likes.fillna(-1).to_numpy(np.int64))
    days = (frame["created_at"].iloc[rows].dt.floor("D") - pd.Timestamp("1970-01-01", tz="UTC")).dt.days
    np.testing.assert_array_equal(decode(s["day"], "<i4"), days.to_numpy())
    again = map_page.map_data(frame, cluster_names(frame), synthetic=False, sample=700, seed=5)
    assert again["sample"] == s
    other = map_page.map_data(frame, cluster_names(frame), synthetic=False, sample=700, seed=6)["sample"]
    assert other["x"] != s["x"]
    every = map_page.map_data(frame, cluster_names(frame), synthetic=False, sample=10_000)["sample"]
    assert every["n"] == len(frame)
    np.testing.assert_array_equal(decode(every["x"], "<f4"), frame["UMAP_dim_1"].to_numpy(np.float32))


def test_the_sample_codes_clusters_and_months_as_the_page_lists_them(frame, data):
    s = data["sample"]
    rows = explore.sample_rows(len(frame), 700, 5)
    labels = [c["label"] for c in data["clusters"]]
    shown = [labels[i] for i in decode(s["cluster"], "<u2")]
    assert [int(lab.split(" ", 1)[0]) for lab in shown] == frame["label_10_cluster"].iloc[rows].tolist()
    months = [data["months"][i] for i in decode(s["month"], "<u2")]
    assert months == frame["created_at"].iloc[rows].dt.strftime("%Y-%m").tolist()
    assert data["months"] == sorted(frame["created_at"].dt.strftime("%Y-%m").unique())
    assert [c["colour"] for c in data["clusters"]][:3] == ["#1f77b4", "#ff7f0e", "#2ca02c"]  # tab10, as 02-05


def test_the_density_holds_every_image_in_its_cell_by_cluster_and_month(frame, data):
    """Each (cluster, month) group's cells, counted, equal np.histogram2d of that group's images over the
    page's extent: every image is in the density, once, in its own group."""
    cells, offsets = decode(data["density"]["cells"], "<u2"), decode(data["density"]["offsets"], "<i4")
    bins, (x0, x1, y0, y1) = data["bins"], data["extent"]
    assert offsets[-1] == len(cells) == len(frame) and len(offsets) == len(data["clusters"]) * len(data["months"]) + 1
    x, y = frame["UMAP_dim_1"].to_numpy(np.float32).astype(float), frame["UMAP_dim_2"].to_numpy(np.float32).astype(float)
    assert x0 < x.min() and x.max() < x1 and y0 < y.min() and y.max() < y1
    ks = [c["k"] for c in data["clusters"]]
    month = frame["created_at"].dt.strftime("%Y-%m").to_numpy()
    for ci, k in enumerate(ks):
        for mi, m in enumerate(data["months"]):
            g = ci * len(data["months"]) + mi
            got = np.bincount(cells[offsets[g]:offsets[g + 1]], minlength=bins * bins).reshape(bins, bins)
            sel = (frame["label_10_cluster"].to_numpy() == k) & (month == m)
            want, _, _ = np.histogram2d(y[sel], x[sel], bins=bins, range=[[y0, y1], [x0, x1]])
            np.testing.assert_array_equal(got, want, err_msg=f"cluster {k}, {m}")


def test_one_point_or_one_value_still_has_a_grid():
    one = release_frame(1, seed=1)
    data = map_page.map_data(one, cluster_names(one), synthetic=True)
    x0, x1, y0, y1 = data["extent"]
    assert x1 - x0 == pytest.approx(1.0) and y1 - y0 == pytest.approx(1.0)
    assert decode(data["density"]["offsets"], "<i4")[-1] == 1


def test_tweet_ids_and_the_link_only_for_a_real_release(frame, data):
    s = data["sample"]
    rows = explore.sample_rows(len(frame), 700, 5)
    assert s["tweet"] == frame["id"].iloc[rows].tolist()
    assert data["tweet_url"][0] + s["tweet"][0] + data["tweet_url"][1] == f"https://twitter.com/i/web/status/{s['tweet'][0]}"
    synthetic = map_page.map_data(frame, cluster_names(frame), synthetic=True, sample=700, seed=5)
    assert synthetic["tweet_url"] is None and synthetic["sample"]["tweet"] is None
    assert "no point links to a tweet" in map_page.describe(synthetic) and "its tweet" in map_page.describe(data)
    odd = frame.head(5).assign(id=pd.array(["1", "2x", "javascript:alert(1)", "4", "5"], dtype="str"))
    got = map_page.map_data(odd, cluster_names(odd), synthetic=False)["sample"]["tweet"]
    assert got == ["1", "", "", "4", "5"]  # a link is made from digits only


def test_captions_are_kept_on_one_line_and_cut(frame):
    long = "word " * 100
    odd = frame.head(3).assign(all_captions=pd.array([long, "two\nlines\r\n and\ttabs", "short"], dtype="str"))
    got = map_page.map_data(odd, cluster_names(odd), synthetic=True, caption_chars=30)["sample"]["caption"]
    assert got == [long.strip()[:29] + "…", "two lines and tabs", "short"]


def test_hostile_captions_and_names_stay_data_in_the_page(frame):
    """No caption can end the data's <script> or open a comment in it: the page's HTML, parsed, has its three
    scripts only, and the data reads back exactly as given."""
    evil = ['</script><script>window.__pwned=1</script>', '<!-- <script>', "a & b <b>bold</b> \u00e9 \"q\" 'q' &lt;",
            '</SCRIPT ><img src=x onerror=alert(1)>']
    odd = release_frame(40, seed=2, clusters=3, captions=evil)
    names = pd.Series({k: f"{k} </script><!--" for k in sorted(odd["label_10_cluster"].unique())})
    data = map_page.map_data(odd, names, synthetic=False)
    page = map_page.page_html(data)
    parser = _Scripts()
    parser.feed(page)
    assert [a.get("src") or a.get("type") for a, _ in parser.scripts] == [
        "application/json", "_static/plotly.min.js", "_static/twigma-map.js"]
    inline = parser.scripts[0][1]
    assert "<" not in inline and ">" not in inline and "&" not in inline
    assert json.loads(inline) == json.loads(json.dumps(data))
    assert set(json.loads(inline)["sample"]["caption"]) == set(evil)
    assert "</script><!--" in json.loads(inline)["clusters"][0]["label"]


def test_the_page_names_what_it_shows_and_loads_nothing_from_the_web(data):
    page = map_page.page_html(data)
    assert "http://" not in page.replace(data["tweet_url"][0], "") and "https://" not in page.replace(
        data["tweet_url"][0], "")
    assert "700" in map_page.describe(data) and "4,000" in map_page.describe(data)
    assert "connect-src 'none'" in unescape(page) and 'href="index.html"' in page
    assert "Synthetic sample data" not in page
    synthetic = map_page.map_data(release_frame(50, seed=4), cluster_names(release_frame(50, seed=4)),
                                  synthetic=True)
    assert "Synthetic sample data" in map_page.page_html(synthetic)


def test_the_page_and_its_scripts_are_written_together(tmp_path, data):
    page = map_page.write_page(data, tmp_path)
    assert page == tmp_path / "map.html"
    assert (tmp_path / "_static" / "plotly.min.js").read_bytes() == map_page.plotly_js().read_bytes()
    script = (tmp_path / "_static" / "twigma-map.js").read_text()
    assert "textContent" in script and "innerHTML" not in script  # the page's script writes text only


def test_the_page_fits_its_budget_at_800000_images(tmp_path):
    """A release of 800,000 images (random numbers; every caption 120 characters, every tweet linked: the
    largest page): map.html within PAGE_BUDGET, and with plotly.min.js and the page's script within
    MAP_BUDGET. docs/scaling.md records the sizes."""
    big = release_frame(800_000, seed=11, caption_chars=map_page.CAPTION_CHARS + 40)
    start = time.perf_counter()
    data = map_page.map_data(big, cluster_names(big), synthetic=False)
    seconds = time.perf_counter() - start
    page = map_page.write_page(data, tmp_path)
    assert data["sample"]["n"] == map_page.MAP_SAMPLE
    assert all(len(c) == map_page.CAPTION_CHARS for c in data["sample"]["caption"])
    assert decode(data["density"]["offsets"], "<i4")[-1] == 800_000
    size = page.stat().st_size
    total = size + sum(p.stat().st_size for p in (tmp_path / "_static").iterdir())
    print(f"800,000 images: map.html {size:,} bytes, with its scripts {total:,} bytes; data in {seconds:.1f} s")
    assert size <= map_page.PAGE_BUDGET and total <= map_page.MAP_BUDGET, (size, total)


def _manifest(release_file, synthetic=True):
    from twigma.run.provenance import release_record

    record = release_record(release_file)
    return {"notebooks": {"00_data": {"release": {**record, "synthetic": synthetic}}}}


def test_add_to_site_writes_the_map_of_the_run_release(tmp_path, small_release_file, small_release):
    section = map_page.add_to_site(tmp_path / "out", _manifest(small_release_file), tmp_path / "extra",
                                   tmp_path / "static")
    assert '<a href="map.html">Open the map</a>' in section and "All 3,000 images" in section
    page = (tmp_path / "extra" / "map.html").read_text()
    assert "Synthetic sample data" in page and (tmp_path / "static" / "plotly.min.js").exists()
    data = json.loads(_inline_data(page))
    assert data["n_images"] == len(small_release) and data["tweet_url"] is None


def _inline_data(page: str) -> str:
    parser = _Scripts()
    parser.feed(page)
    return parser.scripts[0][1]


def test_add_to_site_says_why_there_is_no_map(tmp_path, small_release_file):
    manifest = _manifest(small_release_file)
    manifest["notebooks"]["00_data"]["release"]["sha256"] = "0" * 64
    section = map_page.add_to_site(tmp_path, manifest, tmp_path / "extra", tmp_path / "static")
    assert "No map" in section and "has changed since the run" in section and "small.csv.gz" in section
    assert not (tmp_path / "extra" / "map.html").exists() and (tmp_path / "extra").is_dir()
    manifest["notebooks"]["00_data"]["release"]["path"] = str(tmp_path / "gone.csv.gz")
    assert "is no longer where the run read it" in map_page.add_to_site(tmp_path, manifest, tmp_path / "e", tmp_path / "s")
    assert "names no release" in map_page.add_to_site(tmp_path, {"notebooks": {}}, tmp_path / "e", tmp_path / "s")


def test_bad_input_is_named():
    frame = release_frame(10)
    with pytest.raises(KeyError, match="all_captions"):
        map_page.map_data(frame.drop(columns="all_captions"), cluster_names(frame), synthetic=True)
    with pytest.raises(ValueError, match="1 to 256"):
        map_page.map_data(frame, cluster_names(frame), synthetic=True, bins=300)
