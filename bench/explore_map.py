"""Benchmark of the interactive map of notebook 10_explore (issue 11, point 1) at 800,000 points.

Opens JupyterLab (this repository's .venv) on a generated notebook that loads the 800,000-row synthetic
release of ``bench/release_pipeline.py`` (generated here if missing) and shows
``twigma.present.explore.Explorer`` on it, in headless Chromium (Debian's chromium and chromium-driver through
selenium; WebGL in software, SwiftShader, since the machine has no GPU), and measures:

1. ``python``: in the kernel, load from the typed cache, cluster names, ``map_table``, ``Explorer``;
2. ``first render``: from "Run All Cells" to the map's canvas showing points (screenshots of the canvas
   polled until more than 2% of its pixels are coloured);
3. ``filter``: one cluster picked in the cluster list until the map says how many images it shows;
4. ``lasso``: a lasso drawn over the map until the selection table is shown;
5. memory: resident set size of the kernel and of all Chromium processes, after the lasso.

Prints a JSON record and writes it to bench/out/explore_map.json. Run: ``.venv/bin/python bench/explore_map.py``.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import psutil
from _common import ROOT, benchmark_release  # noqa: E402  (bench/ is on the path of a script run from it)

sys.path.insert(0, str(ROOT / "tests"))

from browser import chromium  # noqa: E402

from twigma.release import load_release  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _coloured_share(png: bytes) -> float:
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float((np.abs(a - a[0, 0]).sum(axis=2) > 60).mean())  # pixels unlike the corner (background)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-images", type=int, default=800_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    release = benchmark_release(a.n_images, a.seed)
    work = release.parent
    cache = work / "track_cache"
    load_release(release, cache_dir=cache)  # the typed cache, once

    tmp = Path(tempfile.mkdtemp(prefix="explore_bench_"))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(f"""import time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
from twigma import load_release
from twigma.present import explore
from twigma.analysis.text import cluster_names
release = load_release({str(release)!r}, cache_dir={str(cache)!r})
t1 = time.perf_counter()
names = cluster_names(release)
t2 = time.perf_counter()
table = explore.map_table(release, names)
t3 = time.perf_counter()
e = explore.Explorer(table)
display(e.view())
t4 = time.perf_counter()
print(f"TIMES load={{t1 - t0:.2f}} names={{t2 - t1:.2f}} table={{t3 - t2:.2f}} explorer={{t4 - t3:.2f}}")""")]
    nbformat.write(nb, str(tmp / "map.ipynb"))

    port, token = _free_port(), "bench"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    lab = subprocess.Popen([str(ROOT / ".venv" / "bin" / "jupyter"), "lab", "--no-browser", f"--port={port}",
                            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--allow-root",
                            f"--ServerApp.root_dir={tmp}"],
                           env={**env, "JUPYTER_PATH": str(ROOT / ".venv" / "share" / "jupyter"),
                                "PATH": f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    driver, rec = None, {}
    try:
        for _ in range(120):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(1)
        driver = chromium(webgl=True)
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        driver.get(f"http://127.0.0.1:{port}/lab/tree/map.ipynb?token={token}")
        WebDriverWait(driver, 120).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell"))
        time.sleep(5)  # the kernel starts
        next(e for e in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel") if e.text == "Run").click()
        item = WebDriverWait(driver, 10).until(lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel") if e.text == "Run All Cells"), None))
        t0 = time.perf_counter()
        item.click()

        def drawn(d):
            for c in d.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output canvas"):
                if c.size["width"] > 300 and c.size["height"] > 300 and _coloured_share(c.screenshot_as_png) > 0.02:
                    return c
            return None

        canvas = WebDriverWait(driver, 580, poll_frequency=0.25).until(drawn)
        rec["first_render_s"] = round(time.perf_counter() - t0, 2)
        timed = re.compile(r"TIMES (load=[\d.]+ names=[\d.]+ table=[\d.]+ explorer=[\d.]+)")  # the output, not the code
        WebDriverWait(driver, 120).until(lambda d: timed.search(d.find_element(By.TAG_NAME, "body").text))
        body = driver.find_element(By.TAG_NAME, "body").text
        rec["python_s"] = dict(kv.split("=") for kv in timed.search(body).group(1).split())
        rec["python_s"] = {k: float(v) for k, v in rec["python_s"].items()}

        # filter: pick one cluster in the list
        opts = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output select option")
        t = time.perf_counter()
        opts[0].click()
        WebDriverWait(driver, 120, poll_frequency=0.1).until(
            lambda d: f"of {a.n_images:,} images shown" in d.find_element(By.TAG_NAME, "body").text
            and f"{a.n_images:,} of {a.n_images:,}" not in d.find_element(By.TAG_NAME, "body").text)
        rec["filter_s"] = round(time.perf_counter() - t, 2)
        driver.execute_script("arguments[0].selected = false", opts[0])
        select = driver.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output select")
        driver.execute_script("for (const o of arguments[0].options) o.selected = true;"
                              "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", select)
        time.sleep(3)

        # lasso
        driver.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output button[title='Activate lasso selection']").click()
        r = driver.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                  "return [r.left, r.top, r.width, r.height, innerWidth, innerHeight];", canvas)
        left, top = max(r[0], 0), max(r[1], 0)
        right, bottom = min(r[0] + r[2], r[4]), min(r[1] + r[3], r[5])
        cx, cy, rx, ry = (left + right) / 2, (top + bottom) / 2, 0.3 * (right - left), 0.3 * (bottom - top)
        loop = [(cx + rx * np.cos(x), cy + ry * np.sin(x)) for x in np.linspace(0, 2 * np.pi, 40)]

        def mouse(kind, x, y, buttons):
            driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": float(x), "y": float(y),
                                                                "button": "left", "buttons": buttons, "clickCount": 1})

        mouse("mouseMoved", *loop[0], 0)
        mouse("mousePressed", *loop[0], 1)
        for x, y in loop[1:]:
            mouse("mouseMoved", x, y, 1)
        t = time.perf_counter()
        mouse("mouseReleased", *loop[-1], 0)
        WebDriverWait(driver, 120, poll_frequency=0.1).until(
            lambda d: "images selected" in d.find_element(By.TAG_NAME, "body").text)
        rec["lasso_to_table_s"] = round(time.perf_counter() - t, 2)
        sel = driver.find_element(By.TAG_NAME, "body").text.split("images selected")[0].split("\n")[-1].strip()
        rec["lasso_selected"] = sel

        procs = psutil.Process(lab.pid).children(recursive=True)
        kernel = [p for p in procs if "ipykernel" in " ".join(p.cmdline())]
        rec["kernel_rss_mib"] = round(sum(p.memory_info().rss for p in kernel) / 2**20)
        chrome = psutil.Process(driver.service.process.pid).children(recursive=True)
        rec["chromium_rss_mib"] = round(sum(p.memory_info().rss for p in chrome if p.is_running()) / 2**20)
    finally:
        if driver is not None:
            driver.quit()
        try:
            os.killpg(lab.pid, 15)
        except ProcessLookupError:
            pass
        lab.wait(timeout=30)
    rec.update(n_images=a.n_images, machine=f"{platform.machine()}, {os.cpu_count()} cores, "
               f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
               load_avg_after=round(os.getloadavg()[0], 1), date=time.strftime("%Y-%m-%d"))
    print(json.dumps(rec, indent=1))
    (work / "explore_map.json").write_text(json.dumps(rec, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
