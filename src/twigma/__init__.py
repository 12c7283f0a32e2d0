"""Research compendium of TWIGMA (Chen & Zou, NeurIPS 2023 Datasets and Benchmarks).

The package holds the reusable code behind the numbered notebooks: the release loader
(:mod:`twigma.release`), the generators of the synthetic sample (:mod:`twigma.synthetic`, run by
``make sample``), the analyses (:mod:`twigma.analysis`), plotting (:mod:`twigma.present.plots`) and output writing
(:mod:`twigma.present.outputs`). Folders are in :mod:`twigma.paths`.

The compendium's version has one source, the ``version`` of ``[project]`` in pyproject.toml:
``__version__`` reads it from the installed package's metadata (``make`` reinstalls the package whenever
pyproject.toml changes), and ``twigma --version``, the HTTP User-Agent and the report show ``__version__``.
CITATION.cff, .zenodo.json and CHANGELOG.md repeat it for the archives that read them; a test checks that
they agree.
"""
from importlib import metadata
from pathlib import Path

from twigma.release import ReleaseError, load_release


def _version() -> str:
    try:
        return metadata.version("twigma")
    except metadata.PackageNotFoundError:  # a checkout run without installing the package (PYTHONPATH=src)
        import tomllib  # Python 3.11+, the version the environment uses

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]


__all__ = ["ReleaseError", "load_release"]
__version__ = _version()
