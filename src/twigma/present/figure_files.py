"""The one way a figure is saved: PNG and PDF, each written atomically, with the run's provenance in
the files' metadata and, on synthetic data, the red mark.

:meth:`twigma.present.outputs.Outputs.figure` (every notebook's figures) and
:func:`twigma.present.track_figure.write_track` (``twigma track``) both call :func:`save_figure`.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt

#: The formats every figure is saved in, each with the same metadata.
FIGURE_FORMATS = ("png", "pdf")


def save_figure(fig: plt.Figure, stem: str | os.PathLike, *, source: str, name: str, record: dict | None,
                synthetic: bool) -> list[Path]:
    """Write ``fig`` to ``<stem>.png`` and ``<stem>.pdf``, each atomically.

    ``source`` (the notebook or command that made it), ``name`` and the run's provenance
    ``record`` go into the files' metadata (:func:`twigma.run.provenance.figure_metadata`); a
    figure made from ``synthetic`` data is marked first (:func:`twigma.present.plots.mark_synthetic`).
    Returns the paths written.
    """
    from twigma.files import atomic_write
    from twigma.present.plots import mark_synthetic
    from twigma.run import provenance

    if synthetic:
        mark_synthetic(fig)
    stem = Path(stem)
    written = []
    for ext in FIGURE_FORMATS:
        meta = provenance.figure_metadata(ext, source, name, record)
        written.append(atomic_write(stem.with_name(f"{stem.name}.{ext}"),
                                    lambda tmp, e=ext, m=meta: fig.savefig(tmp, format=e, metadata=m)))  # type: ignore[misc]  # mypy infers no lambda with defaults
    return written
