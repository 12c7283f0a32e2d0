"""Where a notebook's figures and tables go, written atomically.

``Outputs(OUT, notebook="03_theme_shift", synthetic=True)`` writes figures to
``OUT/figures/`` (PNG and PDF, names prefixed by the notebook's number) and tables to
``OUT/results/``. ``OUT`` empty means the repository. Under ``twigma run-notebook`` (what
``make figures`` uses) everything goes to a staging folder first and is moved into place
only when the whole notebook succeeded, so a failing notebook leaves earlier outputs intact.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import paths
from .analysis.claims import COLUMNS as CLAIM_COLUMNS
from .files import atomic_write
from .plots import mark_synthetic

FIGURE_FORMATS = ("png", "pdf")


class Outputs:
    """Writer of one notebook's figures and tables.

    Parameters
    ----------
    out : path-like or "", the output root (default: the repository).
    notebook : str, the notebook's name without extension, e.g. ``"01_growth"``.
    synthetic : bool, stamp every figure "synthetic sample data".
    """

    def __init__(self, out: str | os.PathLike | None, notebook: str, synthetic: bool):
        self.root = paths.output_root(out)
        self.notebook = notebook
        self.prefix = notebook.split("_")[0]
        self.synthetic = bool(synthetic)
        self.figures = self.root / "figures"
        self.results = self.root / "results"
        self.written: list[Path] = []

    def figure(self, fig: plt.Figure, name: str) -> list[Path]:
        """Save ``fig`` as ``figures/<NN>_<name>.png`` and ``.pdf``; mark it if synthetic."""
        if self.synthetic:
            mark_synthetic(fig)
        out = []
        for ext in FIGURE_FORMATS:
            p = self.figures / f"{self.prefix}_{name}.{ext}"
            out.append(atomic_write(p, lambda tmp, ext=ext: fig.savefig(tmp, format=ext)))
        self.written += out
        return out

    def table(self, df: pd.DataFrame, name: str, **to_csv) -> Path:
        """Save ``df`` as ``results/<name>.csv`` (no index unless asked)."""
        to_csv.setdefault("index", False)
        p = atomic_write(self.results / f"{name}.csv", lambda tmp: df.to_csv(tmp, **to_csv))
        self.written.append(p)
        return p

    def claims(self, rows: list[dict]) -> Path:
        """Save this notebook's claim checks to ``results/claims/<notebook>.csv``."""
        df = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
        if self.synthetic:  # a claim "holds" on the sample only because the generator was built so
            df["observed"] = "[synthetic sample] " + df["observed"].astype(str)
        p = atomic_write(self.results / "claims" / f"{self.notebook}.csv", lambda tmp: df.to_csv(tmp, index=False))
        self.written.append(p)
        return p
