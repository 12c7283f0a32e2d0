"""The package as pip installs it into a fresh environment, away from make's .venv: its declared dependencies
suffice to run a notebook, inside a checkout it works on that checkout, and outside one it works on the folder
the user is in (or names), says so, and writes nothing into the environment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.repo_copy import tracked_copy

from twigma import paths

pytestmark = pytest.mark.slow

def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with `pip install .` of a copy of the tracked files (a wheel, not editable), its dependencies
    at the versions of the base lock (pip's constraints file: the same versions, and nothing the package does
    not ask for). Cost: about a minute and a half (pip takes the wheels from its cache or mirror)."""
    tmp = tmp_path_factory.mktemp("install")
    source = tracked_copy(tmp / "source")
    venv = tmp / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-c",
                        str(paths.ROOT / "env" / "requirements.txt"), str(source)], capture_output=True, text=True,
                       timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    return venv, source


def _run(venv: Path, args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in (paths.ROOT_ENV, "PYTHONPATH", paths.CACHE_ENV)}
    return subprocess.run([str(venv / "bin" / "twigma"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env={**base, **env, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"})


def test_outside_a_checkout_it_works_on_the_users_folder_and_runs_a_notebook(installed, tmp_path):
    """In an empty folder: the command says it is not in a checkout and which folder it writes to; the sample,
    the typed cache and a notebook's outputs (01_growth: papermill, the python3 kernel of ipykernel,
    pymannkendall, wordcloud) land under that folder; the venv gains no file."""
    venv, source = installed
    before = _files(venv)
    work = tmp_path / "work"
    work.mkdir()
    r = _run(venv, ["sample"], work)
    assert r.returncode == 0, r.stderr
    assert f"not inside a checkout of the compendium, so {work} is its root" in r.stderr
    release = work / "data" / "sample" / "twigma_sample.csv.gz"
    assert release.is_file()
    r = _run(venv, ["run-notebook", str(source / "notebooks" / "01_growth.ipynb"), "--release", str(release)], work)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert list((work / "figures").glob("01_*.png")) and list((work / "results").glob("*.csv"))
    assert (work / "build" / "01_growth.ipynb").is_file()
    assert list((work / "data" / "interim").iterdir()), "the typed cache belongs under the user's folder"
    assert _files(venv) == before, f"written into the venv: {sorted(_files(venv) - before)[:10]}"


def test_a_named_folder_is_the_root(installed, tmp_path):
    """TWIGMA_ROOT names the folder to work on, wherever the command starts."""
    venv, _ = installed
    named = tmp_path / "named"
    named.mkdir()
    r = _run(venv, ["sample"], tmp_path, TWIGMA_ROOT=str(named))
    assert r.returncode == 0, r.stderr
    assert (named / "data" / "sample" / "twigma_sample.csv.gz").is_file()
    assert not (tmp_path / "data").exists()
    assert "not inside a checkout" not in r.stderr  # the user named the folder: no note


def test_inside_a_checkout_the_installed_package_works_on_that_checkout(installed):
    """Run from a folder of a checkout, the installed package finds the checkout's root (its pyproject.toml
    names twigma) and says nothing about it."""
    venv, source = installed
    r = subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import twigma.paths as p; print(p.ROOT, p.IN_CHECKOUT)"], cwd=source / "notebooks",
                       capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                            if k not in (paths.ROOT_ENV, "PYTHONPATH")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(source), "True"]
    assert not str(source).startswith(str(venv))
