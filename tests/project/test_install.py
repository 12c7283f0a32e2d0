"""The package as pip installs it into a fresh environment, away from make's .venv: its declared dependencies
suffice to run a notebook, inside a checkout it works on that checkout, and outside one it works on the folder
the user is in (or names), says so, and writes nothing into the environment.

pip builds the wheel from a copy of the tracked files and installs it (not editable) into a fresh venv; the
dependencies are not downloaded again but resolved from the wheel's requirements against the base lock, as
`pip install -c env/requirements.txt` would (support.dependency_view: pinned, inside every requirement, the
versions .venv holds), and the venv sees those distributions' files alone, through a folder of links. So a
dependency the package or notebook 01 needs but does not declare fails here as it would for a user; that every
import of the package and the notebooks is declared is checked statically in tests/project/test_packaging.py."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support import dependency_view
from support.repo_copy import tracked_copy

from twigma import paths

pytestmark = pytest.mark.slow

def _files(*folders: Path) -> set[str]:
    """The files under ``folders``, following links (the dependencies' folder is links into .venv), leaving out
    __pycache__ (bytecode, numba's caches)."""
    found = set()
    for folder in folders:
        for root, dirs, files in os.walk(folder, followlinks=True):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            found.update(os.path.join(root, f) for f in files)
    return found


def _installed(requirement: str) -> bool:
    req = Requirement(requirement)
    try:
        return req.specifier.contains(metadata.version(req.name), prereleases=True)
    except metadata.PackageNotFoundError:
        return False


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the wheel pip builds from a copy of the tracked files, and a .pth naming a folder of links
    to the distributions its requirements resolve to under the base lock (appended after the venv's own
    site-packages). Cost: a few seconds."""
    tmp = tmp_path_factory.mktemp("install")
    source = tracked_copy(tmp / "source")
    venv = tmp / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    # the build backend from this environment when it has what pyproject's build-system asks (make's does: the
    # embedding layer pins setuptools); otherwise pip's own isolated build, from its index
    build = tomllib.loads((source / "pyproject.toml").read_text())["build-system"]["requires"]
    here = ["--no-build-isolation", "--no-index"] if all(_installed(r) for r in build) else []
    r = subprocess.run([*pip, "wheel", "--no-deps", *here, "-w", str(tmp / "dist"), str(source)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel, = (tmp / "dist").glob("twigma-*.whl")
    r = subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index",
                        str(wheel)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    site, = venv.glob("lib/python*/site-packages")
    ours = Path(sysconfig.get_path("purelib"))  # .venv's site-packages, which make built from the locks
    requires = next(metadata.distributions(path=[str(site)], name="twigma")).requires or []
    deps = dependency_view.resolve(requires, paths.ROOT / "env" / "requirements.txt", ours, "twigma")
    assert "twigma" not in deps and {"papermill", "ipykernel", "pymannkendall", "wordcloud"} <= set(deps)
    view = dependency_view.link_view(deps, ours, tmp / "dependencies")
    (site / "zz-dependencies.pth").write_text(f"{view}\n")
    return venv, source, view


def _run(venv: Path, args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in (paths.ROOT_ENV, "PYTHONPATH", paths.CACHE_ENV)}
    return subprocess.run([str(venv / "bin" / "twigma"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env={**base, **env, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"})


def test_outside_a_checkout_it_works_on_the_users_folder_and_runs_a_notebook(installed, tmp_path):
    """In an empty folder: the command says it is not in a checkout and which folder it writes to; the sample,
    the typed cache and a notebook's outputs (01_growth: papermill, the python3 kernel of ipykernel,
    pymannkendall, wordcloud) land under that folder; the environment (the venv, its dependencies) gains no file."""
    venv, source, dependencies = installed
    before = _files(venv, dependencies)
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
    after = _files(venv, dependencies)
    assert after == before, f"written into the environment: {sorted(after - before)[:10]}"


def test_a_named_folder_is_the_root(installed, tmp_path):
    """TWIGMA_ROOT names the folder to work on, wherever the command starts."""
    venv, _, _ = installed
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
    venv, source, _ = installed
    r = subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import twigma.paths as p; print(p.ROOT, p.IN_CHECKOUT, p.__file__)"], cwd=source / "notebooks",
                       capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                            if k not in (paths.ROOT_ENV, "PYTHONPATH")})
    assert r.returncode == 0, r.stderr
    root, in_checkout, module = r.stdout.split()
    assert [root, in_checkout] == [str(source), "True"]
    assert Path(module).is_relative_to(venv / "lib"), f"twigma imported from {module}, not the wheel in the venv"
    assert not str(source).startswith(str(venv))
