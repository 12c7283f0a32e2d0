"""The shared run with its report built (``reported`` in tests/conftest.py), under the names the report and
browser tests use: ``run`` (the run's folder), ``release_copy`` (its release) and ``site`` (the front page)."""
from __future__ import annotations

import pytest

from twigma import paths

#: the notebooks of the run: every numbered notebook (the map's widget among them must not reach the report)
RUN = [p.stem for p in sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]


@pytest.fixture(scope="module")
def release_copy(run_release_file):
    """The release the shared run was made from (read it, never change it)."""
    return run_release_file


@pytest.fixture(scope="module")
def run(reported):
    return reported


@pytest.fixture(scope="module")
def site(reported):
    return reported / "report" / "index.html"
