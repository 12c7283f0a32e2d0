"""One version: pyproject.toml's, read by the package, ``twigma --version``, the downloads' User-Agent and
the report, and repeated (checked here) in CITATION.cff, .zenodo.json and CHANGELOG.md's newest version."""
from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata

import pandas as pd
import pytest
from support.citation_files import read_cff
from support.fake_services import zenodo_record

import twigma
from twigma import paths, version
from twigma.fetch import zenodo
from twigma.run import report_pages

ROOT = paths.ROOT
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
#: a version heading of CHANGELOG.md (Keep a Changelog): ``## [1.2.3] - 2026-12-07``
RELEASED = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2})$")


def changelog_headings() -> list[str]:
    return [line for line in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("## ")]


def released() -> list[tuple[str, datetime.date]]:
    """CHANGELOG.md's versions, as written (newest first), with their dates."""
    out = []
    for line in changelog_headings()[1:]:
        m = RELEASED.match(line)
        assert m, f"CHANGELOG.md: {line!r} is not a version heading '## [X.Y.Z] - YYYY-MM-DD'"
        out.append((".".join(m.groups()[:3]), datetime.date.fromisoformat(m.group(4))))
    return out


def test_pyproject_version_is_a_release_number():
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), f"pyproject.toml's version {VERSION!r} is not X.Y.Z"


def test_twigma_version_on_the_command_line():
    r = subprocess.run([sys.executable, "-m", "twigma", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"twigma compendium {VERSION}\n"


def test_the_package_reads_pyprojects_version():
    assert twigma.__version__ == VERSION
    assert metadata.version("twigma") == VERSION, ("the installed package's metadata is older than "
                                                   "pyproject.toml: reinstall it (make env)")


def test_a_checkout_run_without_installing_reads_pyproject(monkeypatch):
    """PYTHONPATH=src without pip install: no installed metadata, the version comes from pyproject.toml."""
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert version.read_version() == VERSION


def test_downloads_name_the_version_in_their_user_agent(server, tmp_path, release_bytes):
    """What Zenodo's API sees when make data downloads the release (tests/support/fake_services.py)."""
    zenodo_record(server, release_bytes)
    zenodo.fetch_release(tmp_path, api=f"{server.url}/api", validate=False, progress=False)
    agents = {headers["User-Agent"] for _, _, headers in server.log}
    assert agents == {f"twigma-compendium/{VERSION} (+https://zenodo.org/records/8031785)"}


def test_citation_files_carry_the_version():
    assert read_cff(ROOT / "CITATION.cff")["version"] == VERSION
    assert json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))["version"] == VERSION


def test_the_changelog_lists_versions_newest_first_under_unreleased():
    assert changelog_headings()[0] == "## [Unreleased]"
    versions = released()
    assert versions, "CHANGELOG.md has no version"
    numbers = [tuple(map(int, v.split("."))) for v, _ in versions]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == len(numbers)
    dates = [d for _, d in versions]
    assert dates == sorted(dates, reverse=True)


def test_the_newest_version_in_the_changelog_is_pyprojects_and_released_on_its_date():
    version, date = released()[0]
    assert version == VERSION, f"CHANGELOG.md's newest version is {version}, pyproject.toml's {VERSION}"
    assert read_cff(ROOT / "CITATION.cff")["date-released"] == date.isoformat()


def _index(manifest: dict) -> str:
    claims = pd.DataFrame({"claim": ["C1"], "statement": ["over 800,000 images"], "holds": ["yes"],
                           "notebook": ["00_data"]})
    return report_pages.index_page(claims, manifest, {"00_data"}, False, None,
                                   report_pages.Paths(ROOT, manifest))


@pytest.mark.parametrize("recorded, shown", [
    ([VERSION], f"twigma compendium {VERSION}"),
    ([None], f"twigma compendium {VERSION}"),  # a run that recorded no version: this package's
    (["0.1.0", "0.2.0"], "twigma compendium 0.1.0 and 0.2.0"),  # notebooks run by two versions
])
def test_the_report_names_the_version_that_made_the_run(recorded, shown):
    manifest = {"notebooks": {f"0{i}_nb": {"versions": {"twigma": v, "pandas": "3.0.0"}}
                              for i, v in enumerate(recorded)}}
    assert f"This site shows one run of {shown} reproducing" in _index(manifest)
