"""Where a notebook's figures and tables go, written atomically, named after the notebook.

``out = Outputs(OUT, synthetic=True)`` finds the name of the notebook that is running
(:func:`notebook_name`) and writes under it; no notebook spells its own name, so a copied
notebook never writes over the notebook it was copied from:

==========================  ===================================  ======================================
notebook                    figures (PNG and PDF)                tables
==========================  ===================================  ======================================
one of the paper's (00-09)  ``figures/<NN>_<figure>.png``        ``results/<table>.csv``
any other, e.g. 10_portrait ``figures/10_portrait_<figure>.png`` ``results/10_portrait/<table>.csv``
==========================  ===================================  ======================================

The paper's notebooks (:data:`twigma.paths.PAPER_NOTEBOOKS`) keep the fixed names of the
results contract; claim checks of every notebook go to ``results/claims/<notebook>.csv``.
``OUT`` empty means the repository. Under ``twigma run-notebook`` (what ``make figures`` uses)
everything goes to a staging folder first and is moved into place only when the whole
notebook succeeded, so a failing notebook leaves earlier outputs intact.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from twigma import paths
from twigma.analysis.claims import ClaimRow, notebook_rows
from twigma.errors import UserError
from twigma.files import atomic_write, spreadsheet_safe
from twigma.present.figure_files import FIGURE_FORMATS, save_figure
from twigma.run import provenance

__all__ = ["FIGURE_FORMATS", "NotebookNameUnknown", "Outputs", "notebook_name"]


class NotebookNameUnknown(UserError, RuntimeError):
    """The running notebook's file name could not be found."""


def _name_from(path: str | os.PathLike) -> str:
    name = Path(str(path)).name
    return name[: -len(".ipynb")] if name.endswith(".ipynb") else Path(name).stem


def notebook_name() -> str:
    """The file name (without ``.ipynb``) of the notebook whose kernel runs this code.

    Looked up, in order, in:

    1. ``$TWIGMA_NOTEBOOK``, set by ``twigma run-notebook`` (``make figures``);
    2. ``$JPY_SESSION_NAME``, the notebook's path, set by Jupyter Server for the kernels that
       JupyterLab and Notebook 7 start (``__session__`` in the kernel's namespace holds the same);
    3. ``PAPERMILL_INPUT_PATH``, which ``papermill --inject-paths`` adds to the parameters;
    4. ``__vsc_ipynb_file__``, which VS Code sets.

    Raises :class:`NotebookNameUnknown` saying how to run the notebook otherwise.
    """
    for var in (paths.NOTEBOOK_ENV, "JPY_SESSION_NAME"):
        if os.environ.get(var, "").strip():
            return _name_from(os.environ[var].strip())
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        shell = None
    ns = getattr(shell, "user_ns", {}) or {}
    for var in ("__session__", "PAPERMILL_INPUT_PATH", "__vsc_ipynb_file__"):
        if str(ns.get(var) or "").strip():
            return _name_from(ns[var])
    raise NotebookNameUnknown(
        "cannot tell which notebook is running, so its outputs cannot be named after it. Run it with "
        "`make figures`, `twigma run-notebook NOTEBOOK`, in JupyterLab (`make lab`), or with "
        "`papermill --inject-paths`; or give the name: Outputs(OUT, synthetic=..., notebook='NN_topic').")


class Outputs:
    """Writer of one notebook's figures, tables and claim checks.

    Parameters
    ----------
    out : path-like or "", the output root (default: the repository).
    synthetic : bool, stamp every figure "synthetic sample data".
    notebook : str, optional
        The notebook's name without extension; by default the running notebook's
        (:func:`notebook_name`). Scripts outside a notebook pass it.
    """

    def __init__(self, out: str | os.PathLike | None, synthetic: bool, notebook: str | None = None):
        #: The folders written to now (under ``twigma run-notebook``: the notebook's staging folder).
        self.layout = paths.RunLayout.of(out)
        self.root = self.layout.root
        self.notebook = notebook or notebook_name()
        self.synthetic = bool(synthetic)
        self.figures = self.layout.figures
        self.results = self.layout.results
        #: Where the tables of notebooks that have finished are read from (e.g. 02's
        #: cluster_names.csv): the output root itself, never this run's staging folder.
        self.published_results = paths.RunLayout.published(out).results
        if self.notebook in paths.PAPER_NOTEBOOKS:  # the results contract: fixed names
            self.figure_prefix = self.notebook.split("_")[0]
            self.tables = self.results
        else:  # a copy or a new notebook: everything carries its own name
            self.figure_prefix = self.notebook
            self.tables = self.results / self.notebook
        self.written: list[Path] = []

    def __repr__(self) -> str:
        return f"Outputs(notebook={self.notebook!r}, figures={self.figures}, tables={self.tables})"

    def figure_path(self, name: str, ext: str = "png") -> Path:
        """Where figure ``name`` of this notebook is written."""
        return self.figures / f"{self.figure_prefix}_{name}.{ext}"

    def table_path(self, name: str) -> Path:
        """Where table ``name`` of this notebook is written."""
        return self.tables / f"{name}.csv"

    def figure(self, fig: plt.Figure, name: str) -> list[Path]:
        """Save ``fig`` as PNG and PDF (see the module's table); mark it if synthetic. The run's key
        provenance (notebook, parameters, release SHA-256 and rows, store digest and model, git commit)
        goes into the files' metadata (:func:`twigma.run.provenance.figure_metadata`)."""
        out = save_figure(fig, self.figure_path(name, "png").with_suffix(""), source=self.notebook, name=name,
                          record=provenance.current(), synthetic=self.synthetic)
        self.written += out
        return out

    def table(self, df: pd.DataFrame, name: str, **to_csv) -> Path:
        """Save ``df`` as a CSV table (no index unless asked; see the module's table).

        Text that a spreadsheet would read as a formula (a caption starting with ``=``, ``+``, ``-``, ``@``,
        a tab or a carriage return) is written with a leading single quote, as OWASP advises against CSV
        injection (:func:`twigma.files.spreadsheet_safe`); numbers, and text that is a plain number, stay."""
        to_csv.setdefault("index", False)
        safe = spreadsheet_safe(df)
        p = atomic_write(self.table_path(name), lambda tmp: safe.to_csv(tmp, **to_csv))
        self.written.append(p)
        return p

    def claims(self, rows: Sequence[ClaimRow]) -> Path:
        """Save this notebook's claim checks (:class:`~twigma.analysis.claims.ClaimCheck`, or rows of its own)
        to ``results/claims/<notebook>.csv``."""
        safe = spreadsheet_safe(notebook_rows(rows, self.notebook, self.synthetic))
        p = atomic_write(self.layout.claims_of(self.notebook), lambda tmp: safe.to_csv(tmp, index=False))
        self.written.append(p)
        return p
