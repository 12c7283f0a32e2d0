"""The compendium's version, from its one source: ``version`` under ``[project]`` in pyproject.toml.

It is read from the installed package's metadata (``make`` reinstalls the package whenever pyproject.toml
changes); ``twigma --version``, the downloads' User-Agent and the report show it, and ``twigma.__version__``
is it. CITATION.cff, .zenodo.json and CHANGELOG.md repeat it for the archives that read them, and
tests/project/test_version.py checks that they agree (docs/releasing.md).
"""
from __future__ import annotations

from importlib import metadata
from pathlib import Path


def read_version() -> str:
    """pyproject.toml's version, as the installed package records it, or from pyproject.toml itself in a
    checkout run without installing the package (``PYTHONPATH=src``)."""
    try:
        return metadata.version("twigma")
    except metadata.PackageNotFoundError:
        import tomllib  # Python 3.11+, the environment's version

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]


VERSION = read_version()
