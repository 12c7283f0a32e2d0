"""Research compendium of TWIGMA (Chen & Zou, NeurIPS 2023 Datasets and Benchmarks).

The package holds the reusable code behind the numbered notebooks: the release loader
(:mod:`twigma.release`), the generators of the synthetic sample (:mod:`twigma.synthetic`, run by
``make sample``), the analyses (:mod:`twigma.analysis`), plotting (:mod:`twigma.present.plots`) and output writing
(:mod:`twigma.present.outputs`). Folders are in :mod:`twigma.paths`.

``twigma.__version__`` is the compendium's version (:mod:`twigma.version`).
"""
from twigma.release import ReleaseError, load_release
from twigma.version import VERSION as __version__

__all__ = ["ReleaseError", "__version__", "load_release"]
