"""Benchmark of the report's map of every image (``twigma.present.map_page``, issue 28 point 6) at 800,000 images.

Loads the 800,000-row synthetic release of ``bench/release_pipeline.py`` (generated here if missing) from its
typed cache, builds the map's data and page (as ``make report`` does, with the tweet links of a real release
unless ``--synthetic``), and opens the page from disk in headless Chromium (Debian's chromium and
chromium-driver through selenium; WebGL in software, SwiftShader, since the machine has no GPU). Measures:

1. ``python``: ``cluster_names``, ``map_page.map_data`` and writing the page;
2. sizes: map.html, plotly.min.js and the page's script, against ``PAGE_BUDGET`` and ``MAP_BUDGET``;
3. ``first render``: from the page's navigation start to the map drawn (its ``data-ready``), by the browser's clock;
4. ``cluster filter``: one cluster unticked until the map is drawn again (density and points);
5. ``month filter``: the first month range narrowed to its middle third, likewise;
6. memory: resident set size of all Chromium processes with the map open.

Prints a JSON record and writes it to bench/out/map_page.json. Run: ``.venv/bin/python bench/map_page.py``.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _common import ROOT, WORK, benchmark_release  # noqa: E402  (bench/ is on the path of a script run from it)

sys.path.insert(0, str(ROOT / "tests"))

from support.browser import chromium  # noqa: E402

from twigma.analysis.text import cluster_names  # noqa: E402
from twigma.present import map_page  # noqa: E402
from twigma.release import load_release  # noqa: E402


def _redraw_ms(driver, action: str) -> float:
    """Milliseconds from ``action`` (JavaScript) until the map has drawn again (its data-images changed)."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1], gd = document.getElementById('twigma-map');"
        "const before = gd.dataset.images + '/' + gd.dataset.points, t0 = performance.now();"
        + action +
        "(function poll() { if (gd.dataset.images + '/' + gd.dataset.points !== before) done(performance.now() - t0);"
        " else setTimeout(poll, 5); })();")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-images", type=int, default=800_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--synthetic", action="store_true", help="no tweet links (as for the synthetic sample)")
    a = ap.parse_args()

    release_file = benchmark_release(a.n_images, a.seed)
    release = load_release(release_file, cache_dir=release_file.parent / "track_cache", columns=map_page.COLUMNS)
    t0 = time.perf_counter()
    names = cluster_names(release)
    t1 = time.perf_counter()
    data = map_page.map_data(release, names, synthetic=a.synthetic)
    t2 = time.perf_counter()
    site = Path(tempfile.mkdtemp(prefix="map_bench_"))
    page = map_page.write_page(data, site, back=None)
    t3 = time.perf_counter()
    page_bytes = page.stat().st_size
    total = page_bytes + sum(p.stat().st_size for p in (site / "_static").iterdir())

    driver = chromium(webgl=True)
    driver.set_script_timeout(120)
    try:
        driver.get(page.as_uri())
        end = time.time() + 120
        while driver.execute_script("return document.getElementById('twigma-map').dataset.ready") != "1":
            assert time.time() < end, "the map was not drawn in 120 s"
            time.sleep(0.05)
        first = driver.execute_script("return performance.now()")  # since navigation start, the browser's clock
        cluster = _redraw_ms(driver, "document.querySelector('#twigma-clusters input[data-cluster=\"0\"]').click();")
        months = len(data["months"])
        month = _redraw_ms(driver, f"const f = document.getElementById('twigma-from'), t = document.getElementById("
                                   f"'twigma-to'); f.value = '{months // 3}'; t.value = '{2 * months // 3}';"
                                   "t.dispatchEvent(new Event('change'));")
        service = psutil.Process(driver.service.process.pid)
        rss = sum(p.memory_info().rss for p in service.children(recursive=True))
    finally:
        driver.quit()

    record = {"n_images": a.n_images, "synthetic": a.synthetic, "sample": data["sample"]["n"],
              "bins": data["bins"], "seconds": {"cluster_names": round(t1 - t0, 2), "map_data": round(t2 - t1, 2),
                                                "write_page": round(t3 - t2, 2)},
              "bytes": {"map.html": page_bytes, "with scripts": total, "page budget": map_page.PAGE_BUDGET,
                        "map budget": map_page.MAP_BUDGET},
              "browser_ms": {"first render": round(first), "cluster filter": round(cluster), "month filter": round(month)},
              "chromium_rss_mib": round(rss / 2**20), "machine": f"{platform.machine()}, {psutil.cpu_count()} cores",
              "load_average": [round(x, 1) for x in psutil.getloadavg()]}
    print(json.dumps(record, indent=1))
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "map_page.json").write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
