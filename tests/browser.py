"""Headless Chromium for the tests that look at pages the way a reader does (Debian's chromium and
chromium-driver, driven by selenium; `.ci/run` installs them when missing)."""
from __future__ import annotations

import json
import os
import shutil

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


def chromium(webgl: bool = False):
    """A headless Chromium that records the console and every network request. ``webgl=True`` gives
    it WebGL in software (SwiftShader through ANGLE) for pages that draw with it (jupyter-scatter)."""
    require_browser()
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not try to download a driver
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    args = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
            "--allow-file-access-from-files"]
    args += ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"] if webgl else ["--disable-gpu"]
    for arg in args:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    return webdriver.Chrome(options=opts, service=service)


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
