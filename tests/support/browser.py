"""Headless Chromium for the tests that look at pages the way a reader does (Debian's chromium and
chromium-driver, driven by selenium; `.ci/run` installs them when missing)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def require_browser():
    """Skip where no browser is installed, except in CI, where the browser tests must run."""
    if CHROMIUM and CHROMEDRIVER:
        return
    message = ("headless Chromium is needed: apt-get install chromium chromium-driver "
               "(.ci/run installs them)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def chromium(webgl: bool = False, extra_args: tuple[str, ...] = (), network_log: bool = True):
    """A headless Chromium that records the console and every network request. ``webgl=True`` gives
    it WebGL in software (SwiftShader through ANGLE) for pages that draw with it (jupyter-scatter);
    ``extra_args`` are more command-line switches (``--disable-webgl``: a browser without it);
    ``network_log=False`` leaves out the record of requests (requested_urls), which a page that talks to a
    server all the time (JupyterLab's kernel messages) would fill."""
    require_browser()
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not try to download a driver
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    args = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
            "--allow-file-access-from-files"]
    args += ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"] if webgl else ["--disable-gpu"]
    args += list(extra_args)
    for arg in args:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", **({"performance": "ALL"} if network_log else {})})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    return webdriver.Chrome(options=opts, service=service)


#: Where axe-core's axe.min.js may be (TWIGMA_AXE first; `.ci/run` installs it globally with npm).
AXE_PATHS = [os.environ.get("TWIGMA_AXE", ""), str(Path(__file__).parents[1] / "node_modules/axe-core/axe.min.js"),
             "/usr/lib/node_modules/axe-core/axe.min.js", "/usr/local/lib/node_modules/axe-core/axe.min.js",
             "/opt/axe/node_modules/axe-core/axe.min.js"]


def axe_violations(driver, impacts=("serious", "critical")) -> list[str]:
    """axe-core's violations of these impacts on the page open in ``driver`` (skipped where axe-core is not
    installed, failed in CI)."""
    found = next((p for p in AXE_PATHS if p and Path(p).is_file()), None)
    if not found:
        message = ("axe-core is needed: npm install -g axe-core@4.14.1 (or set TWIGMA_AXE to axe.min.js; "
                   ".ci/run installs it)")
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    driver.set_script_timeout(120)
    driver.execute_script(Path(found).read_text())
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1], keep = arguments[0];"
        "axe.run(document).then(r => done(r.violations.filter(v => keep.includes(v.impact))"
        ".map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 2).map(n => n.html.slice(0, 120)))));",
        list(impacts))


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requested_urls(driver) -> list[str]:
    """Every URL the pages asked for since the last call (from the performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def broken_images(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);")


def drawn_spots(driver, rect, cell: int = 10) -> list[tuple[float, float]]:
    """The centres (viewport CSS px) of the ``cell`` x ``cell`` px squares of ``rect`` = (left, top, right,
    bottom) in a screenshot of the viewport, most drawn pixels (any colour but the commonest, the background)
    first: where to aim the pointer at a point of a map drawn in WebGL, whose points the page cannot
    locate. The software-drawn explorer map's points are faint (1 to 4 levels off white), hence any colour."""
    import io

    import numpy as np
    from PIL import Image

    shot = np.asarray(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB"), dtype=int)
    dpr = driver.execute_script("return window.devicePixelRatio")
    left, top, right, bottom = rect
    area = shot[int(round(top * dpr)):int(round(bottom * dpr)), int(round(left * dpr)):int(round(right * dpr))]
    colours, counts = np.unique(area.reshape(-1, 3), axis=0, return_counts=True)
    drawn = np.abs(area - colours[counts.argmax()]).max(axis=2) > 0
    size = max(1, int(round(cell * dpr)))
    h, w = (drawn.shape[0] // size) * size, (drawn.shape[1] // size) * size
    per_cell = drawn[:h, :w].reshape(h // size, size, w // size, size).sum(axis=(1, 3))
    order = np.argsort(-per_cell, axis=None, kind="stable")
    return [(left + (j + 0.5) * size / dpr, top + (i + 0.5) * size / dpr)
            for i, j in zip(*np.unravel_index(order, per_cell.shape)) if per_cell[i, j] > 0]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """`make lab` as a reader starts it, in a copy of the repository (JupyterLab's autosave must never
    touch the committed notebooks), with a headless Chromium pointed at it. Use it as a context manager."""

    token = "twigma-test-token"

    def __init__(self, tmp_path, webgl: bool = False):
        self.tmp_path, self.webgl = tmp_path, webgl
        self.lab = self.driver = None

    def __enter__(self):
        import socket
        import subprocess
        import time

        from support.repo_copy import repository_copy

        require_browser()
        self.repo = repository_copy(self.tmp_path / "repo")
        self.log = self.tmp_path / "lab.log"  # the server's output (a pipe nobody reads would fill and stall it)
        self._log_file = self.log.open("w")
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # conftest's Agg would hide the figures
        env["TWIGMA_ROOT"] = str(self.repo)
        self.lab = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(self.repo), "lab",
             f"LAB_ARGS=--no-browser --port={self.port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={self.token}"],
            env=env, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.driver = chromium(webgl=self.webgl, network_log=False)  # while the server starts
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    break
                except OSError:
                    assert self.lab.poll() is None, self.log.read_text()
                    time.sleep(0.2)
        except BaseException:  # no server or browser left behind
            self.__exit__()
            raise
        return self

    def open_and_run_all(self, notebook: str, timeout: int = 300) -> None:
        """Open ``notebooks/<notebook>`` and run it with Run > Run All Cells, until every cell has run."""
        import nbformat
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait

        d = self.driver
        d.get(f"http://127.0.0.1:{self.port}/lab/tree/{notebook}?token={self.token}")
        WebDriverWait(d, 120).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
        # Run All once the notebook's kernel has started and the page is connected to it (as the server lists
        # it): clicked sooner, JupyterLab may find no kernel and ask for one
        WebDriverWait(d, 120, poll_frequency=0.2).until(lambda d: self.kernel_state(notebook) == ("idle", True))
        next(e for e in d.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel") if e.text == "Run").click()
        WebDriverWait(d, 10).until(lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel") if e.text == "Run All Cells"),
            None)).click()
        n_code = sum(c.cell_type == "code" for c in nbformat.read(self.repo / "notebooks" / notebook, 4).cells)

        def finished(d):
            # JupyterLab renders only the cells in view, and a tall output (the map) can leave the view anywhere:
            # look at the end of the notebook, where the last cell shows [n_code]: once everything has run
            self.scroll(to_end=True)
            prompts = [p.text.strip() for p in d.find_elements(By.CSS_SELECTOR, ".jp-CodeCell .jp-InputPrompt")]
            return f"[{n_code}]:" in prompts and not any("*" in p or p == "[ ]:" for p in prompts)

        WebDriverWait(d, timeout, poll_frequency=0.25).until(finished)

    def kernel_state(self, notebook: str) -> tuple[str, bool] | None:
        """The execution state of the kernel of ``notebooks/<notebook>`` and whether a page is connected to it,
        as the server's sessions API lists them (Jupyter Server's REST API, GET /api/sessions: each session's
        kernel model has ``execution_state`` and ``connections``); None before it has one."""
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/sessions",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as r:
            sessions = json.load(r)
        return next(((s["kernel"]["execution_state"], s["kernel"].get("connections", 0) > 0) for s in sessions
                     if s.get("path", "").endswith(notebook) and s.get("kernel")), None)

    def save(self, notebook: str, timeout: int = 30):
        """Save the open notebook as the reader does (ctrl+S) and return ``notebooks/<notebook>`` as JupyterLab
        wrote it, once the file holds outputs (the copy opened had none)."""
        import nbformat
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait

        path = self.repo / "notebooks" / notebook
        self.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.CONTROL, "s")

        def written(_):
            nb = nbformat.read(path, as_version=4)
            return nb if any(c.get("outputs") for c in nb.cells if c.cell_type == "code") else None

        return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(written)

    def text(self) -> str:
        """The page's text as the reader sees it (selenium's visible text: innerText would leave out the cells
        that JupyterLab's content-visibility skips while they are out of view)."""
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.TAG_NAME, "body").text

    def error_outputs(self) -> list[str]:
        from selenium.webdriver.common.by import By

        return [e.text[:300] for e in self.driver.find_elements(
            By.CSS_SELECTOR, '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
            if "Error" in e.text or "Traceback" in e.text]

    def scroll(self, to_top: bool = False, to_end: bool = False) -> bool:
        """Scroll the notebook down by half a screen (or to the top, or to the end); False once at the end."""
        return self.driver.execute_script(
            "const s = Array.from(document.querySelectorAll('.jp-NotebookPanel *'))"
            ".filter(e => e.scrollHeight > e.clientHeight + 10).sort((a, b) => b.scrollHeight - a.scrollHeight)[0];"
            "if (!s) { return false; }"
            "const before = s.scrollTop; if (arguments[0]) { s.scrollTop = 0; return true; }"
            "if (arguments[1]) { s.scrollTop = s.scrollHeight; return true; }"
            "s.scrollTop += s.clientHeight / 2; return s.scrollTop !== before;", to_top, to_end)

    def map_canvas(self, timeout: float = 40):
        """The first drawn canvas of at least 300 x 300 px in an output (the explorer's WebGL map), scrolling
        the notebook down until it appears; None after ``timeout`` seconds."""
        import time

        deadline = time.time() + timeout
        while time.time() < deadline:
            canvas = self.driver.execute_script(
                "return Array.from(document.querySelectorAll('.jp-OutputArea-output canvas'))"
                ".find(c => { const r = c.getBoundingClientRect(); return r.width > 300 && r.height > 300; }) || null;")
            if canvas is not None:
                return canvas
            self.scroll()
            time.sleep(0.2)
        return None

    def __exit__(self, *exc):
        if self.lab is not None:  # the server shuts its kernel down while the browser quits
            try:
                os.killpg(self.lab.pid, 15)
            except ProcessLookupError:  # it has stopped already
                pass
        if self.driver is not None:
            self.driver.quit()
        if self.lab is not None:
            self.lab.wait(timeout=30)
            self._log_file.close()
        return False
