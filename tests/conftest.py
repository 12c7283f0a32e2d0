"""Shared fixtures: small synthetic releases, their embeddings, one executed run of every notebook on them
(made once per test session, shared by the pytest-xdist workers), and helpers that write bad variants."""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# jsonschema builds rfc3987_syntax's grammar at import (1.3 s in every process; python-jsonschema/jsonschema#1428)
# for the "iri" formats, which no schema the tests validate uses (test_citation.py checks that): the test
# processes do without it, as the package's commands do (src/twigma/__main__.py)
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
if "TWIGMA_CACHE_DIR" not in os.environ:  # typed caches of test files stay out of data/interim
    import tempfile
    os.environ["TWIGMA_CACHE_DIR"] = tempfile.mkdtemp(prefix="twigma-test-cache-")
os.environ.setdefault("MPLBACKEND", "Agg")
# one BLAS thread per process (set before numpy loads OpenBLAS; subprocesses and notebook kernels inherit it):
# the tests run two to a 2-core machine (-n 2), where OpenBLAS's default of a thread per core makes every
# small matrix product wait on a busy core (test_likes.py: 32 s -> 20 s)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from twigma.synthetic.release import generate_release, write_release  # noqa: E402

# fixtures shared by test modules of several folders
pytest_plugins = ['support.cache_entries', 'support.explore_tables', 'support.fake_services', 'support.hostile_captions', 'support.notebook_files', 'support.quirky_releases', 'support.rehydration', 'support.release_files', 'support.report_run', 'support.tiny_clip']


@pytest.fixture(autouse=True)
def _close_figures_and_seed():
    np.random.seed(0)
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def raw_small() -> pd.DataFrame:
    """A 3,000-image synthetic release as the generator returns it (text and numbers)."""
    return generate_release(3000, seed=7)


@pytest.fixture
def raw(raw_small) -> pd.DataFrame:
    """A fresh copy to edit in a test."""
    return raw_small.copy()


@contextlib.contextmanager
def _exclusive(lock: Path):
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def shared_once(tmp_path_factory, name: str, build) -> Path:
    """The folder ``name`` made by ``build(folder)`` once per test session: the pytest-xdist workers share
    one base folder, and the first to ask builds it under a file lock while the others wait and reuse it
    (a failed build leaves nothing, so the next one tries again and fails the same way). Tests must not
    change what is in it: copy it first."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder the workers' own base folders are made in
    target = root / f"shared-{name}"
    with _exclusive(root / f"shared-{name}.lock"):
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            try:
                build(target)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
            (target / ".complete").touch()
    return target


@pytest.fixture(scope="session")
def small_release_file(tmp_path_factory, raw_small):
    """The 3,000-image release written as CSV.gz, marked synthetic like the embedded sample (one file for
    the whole session: the executed run below records its path)."""
    from twigma.synthetic.release import sample_meta

    folder = shared_once(tmp_path_factory, "release",
                         lambda d: write_release(raw_small, d / "small.csv.gz", meta=sample_meta(3000, 7)))
    return folder / "small.csv.gz"


@pytest.fixture(scope="session")
def small_release(small_release_file, tmp_path_factory):
    from twigma.release import load_release

    return load_release(small_release_file, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def small_embeddings(tmp_path_factory, small_release):
    """Synthetic embeddings (64-d) for the 3,000-image release, in the store format."""
    from twigma.synthetic.embeddings import make_sample_embeddings

    return shared_once(tmp_path_factory, "embeddings",
                       lambda d: make_sample_embeddings(small_release, d, n_natural=600, n_art=600, dim=64))


#: the make-built environment: with it the executed run goes through make figures, as a reader's does
MAKE_BUILT = (Path(__file__).resolve().parents[1] / ".venv" / ".installed").exists()


def make_env() -> dict:
    """The environment for a make started by a test: without the MAKEFLAGS of a make around pytest
    (make test), whose job server the test's make cannot reach."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def _run_every_notebook(out: Path, release: Path, embeddings: Path) -> None:
    from twigma import paths

    if MAKE_BUILT:  # in parallel (make's default), the claims ledger and the provenance manifest at the end
        r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "figures", f"RELEASE={release}",
                            f"EMBEDDINGS={embeddings}", f"OUT={out}"], capture_output=True, text=True, env=make_env())
        assert r.returncode == 0, r.stdout + r.stderr
        (out / "make-figures.log").write_text(r.stdout)
        return
    from twigma.cli import main
    from twigma.run.runner import run_notebook

    for nb in sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        run_notebook(nb, release=release, out=out, embeddings=embeddings)
    assert main(["claims", "--out", str(out)]) == 0
    assert main(["provenance", "--out", str(out)]) == 0


@pytest.fixture(scope="session")
def run_release_file(tmp_path_factory, raw_small) -> Path:
    """The release of the shared run: the 3,000 images of ``raw_small`` with every fourth caption carrying
    planted HTML and script (support/hostile_captions.py), marked synthetic like the embedded sample, so that
    every page and notebook output made from the run is checked against it; in a folder whose name has a
    space, as a user's "My Drive" has."""
    from support.hostile_captions import hostile

    from twigma.synthetic.release import sample_meta

    def build(d: Path) -> None:
        (d / "My Drive").mkdir()
        write_release(hostile(raw_small), d / "My Drive" / "run.csv.gz", meta=sample_meta(3000, 7))

    return shared_once(tmp_path_factory, "run-release", build) / "My Drive" / "run.csv.gz"


@pytest.fixture(scope="session")
def run_release(run_release_file, tmp_path_factory) -> pd.DataFrame:
    from twigma.release import load_release

    return load_release(run_release_file, cache_dir=tmp_path_factory.mktemp("run-cache"))


@pytest.fixture(scope="session")
def run_embeddings(tmp_path_factory, run_release) -> Path:
    """Synthetic embeddings (64-d) of the shared run's release, in the store format."""
    from twigma.synthetic.embeddings import make_sample_embeddings

    return shared_once(tmp_path_factory, "run-embeddings",
                       lambda d: make_sample_embeddings(run_release, d, n_natural=600, n_art=600, dim=64))


@pytest.fixture(scope="session")
def executed(tmp_path_factory, run_release_file, run_embeddings) -> Path:
    """Every notebook run once per test session on ``run_release_file`` and ``run_embeddings`` (`make figures
    RELEASE= EMBEDDINGS= OUT=` where make built .venv, its output in make-figures.log), into a folder whose
    name has a space, for every test that reads a run: read it, never change it (copy it first, as
    tests/notebooks/test_make_figures.py does to run make again on it)."""
    return shared_once(tmp_path_factory, "run",
                       lambda d: _run_every_notebook(d / "out put", run_release_file, run_embeddings)) / "out put"


@pytest.fixture(scope="session")
def reported(tmp_path_factory, executed) -> Path:
    """A copy of the shared run with its report site built (``twigma report``), once per session: the run's
    folder, with the site's front page at report/index.html. Read it, never change it."""
    import shutil

    from twigma.run.report import build_report

    def build(d: Path) -> None:
        shutil.copytree(executed, d / "run", symlinks=True)
        build_report(d / "run")

    return shared_once(tmp_path_factory, "reported", build) / "run"


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1 (tests/servers.py) that the fetch tests script, closed afterwards."""
    from support.servers import LocalServer

    s = LocalServer()
    yield s
    s.close()


@pytest.fixture
def write_csv(tmp_path):
    """Write a DataFrame as a CSV file (optionally gzip) and return its path."""
    def _write(df: pd.DataFrame, name: str = "release.csv", **kw) -> str:
        path = tmp_path / name
        df.to_csv(path, index=False, **kw)
        return str(path)
    return _write


#: what each folder of tests/ runs: the whole-run folders are marked so that `make test-fast` leaves them out
FOLDER_MARKS = {"notebooks": "notebooks", "browser": "browser"}


#: the markers of tests that run notebooks, make, a browser or a new environment: minutes of work between them
HEAVY_MARKS = {"notebooks", "browser", "slow", "embedding_layer"}


def _schedule(items: list) -> list:
    """The tests in the order pytest-xdist hands their files to the workers (`--dist loadfile
    --no-loadscope-reorder`), so that both stay busy: first one file that reads the shared run (its worker
    makes the run, notebooks side by side), then the heavy files that do not read it (the other worker's work
    meanwhile), then the other files that read it, and the unit tests last, many short files that fill the
    gaps as the workers finish."""
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)

    def reads_run(group):
        return any("executed" in item.fixturenames for item in group)

    def heavy(group):
        return any(HEAVY_MARKS & {m.name for m in item.iter_markers()} for item in group)

    readers = [f for f, g in files.items() if reads_run(g)]
    rank = {f: 2 if f in readers else 1 if heavy(g) else 3 for f, g in files.items()}
    rank.update(dict.fromkeys(readers[:1], 0))
    return [item for f in sorted(files, key=lambda f: rank[f]) for item in files[f]]


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    for item in items:
        folder = Path(item.fspath).relative_to(root).parts[0]
        if folder in FOLDER_MARKS:
            item.add_marker(getattr(pytest.mark, FOLDER_MARKS[folder]))
    items[:] = _schedule(items)
