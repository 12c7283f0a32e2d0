"""A notebook's opening in one call: the release, the outputs, the synthetic flag, the tables it reads
from other notebooks, the embedding store, and the banner, shown once.

::

    nb = open_notebook(RELEASE, OUT, columns=["id", "created_at", "label_10_cluster"],
                       reads=["02_themes_map/cluster_names"])
    release, out, SYNTHETIC, names = nb.release, nb.out, nb.synthetic, nb.names

**Declared inputs.** A table of another notebook is named ``<notebook>/<table>`` and declared in the
notebook's metadata, ``"twigma": {"reads": ["02_themes_map/cluster_names"]}``, from which make orders
the notebooks (:mod:`twigma.run.deps` writes ``build/deps.mk``). Asking for a table the metadata does
not declare fails here, with what to add; so the order make follows is never short of a table read.

**Cluster names** (``02_themes_map/cluster_names``) are read from 02's table when it was made from this
release. A notebook run alone (JupyterLab, ``make run``, ``twigma run-notebook``) without it computes
them with 02's default parameters and says so in one line; under ``make figures``, which runs 02
first (and sets ``TWIGMA_INPUTS=required``), a missing or stale table is an error.

The package's computing layer (:mod:`twigma.analysis`) reads no files: every file a notebook reads is
read here, or by the release and embedding readers.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from twigma import paths
from twigma.errors import UserError
from twigma.present.narrative import banner, display_markdown
from twigma.present.outputs import Outputs, notebook_name
from twigma.run.deps import declared_reads

__all__ = ["CLUSTER_NAMES", "MissingInput", "Notebook", "UndeclaredInput", "open_notebook", "table_path"]

#: Notebook 02's table of cluster names, as a notebook declares it.
CLUSTER_NAMES = "02_themes_map/cluster_names"


class UndeclaredInput(UserError, RuntimeError):
    """A notebook asked for another notebook's table that its metadata does not declare."""


class MissingInput(UserError, RuntimeError):
    """A declared table is not there (or was made from another release) when it must be."""


@dataclass(frozen=True)
class Notebook:
    """What a notebook opens with (:func:`open_notebook`)."""

    release: pd.DataFrame  # the typed release, with the columns asked for
    out: Outputs  # where its figures, tables and claim checks go
    synthetic: bool  # the release (or the embedding store) is synthetic, known from the data itself
    names: pd.Series | None  # cluster -> short name, when CLUSTER_NAMES is among reads; else None
    store: Path | None  # the embedding store's folder, when embeddings were asked for; else None
    reads: tuple[str, ...]  # the other notebooks' tables it declared

    def table(self, ref: str) -> pd.DataFrame:
        """Another notebook's table ``ref`` (``<notebook>/<table>``), declared in ``reads``.

        Raises :class:`UndeclaredInput` for an undeclared one, :class:`MissingInput` when it is not there."""
        _check_declared([ref], self.reads, self.out.notebook)
        path = table_path(self.out.published_results, ref)
        if not path.exists():
            raise MissingInput(f"{self.out.notebook} reads {ref}, and {path} does not exist: run notebook "
                               f"{ref.split('/')[0]} first (make figures does).")
        return pd.read_csv(path)


def table_path(results: str | os.PathLike, ref: str) -> Path:
    """Where table ``ref`` (``<notebook>/<table>``) of a run whose results folder is ``results`` lies:
    the paper's notebooks write ``results/<table>.csv``, any other ``results/<notebook>/<table>.csv``."""
    writer, table = ref.split("/")
    folder = Path(results) if writer in paths.PAPER_NOTEBOOKS else Path(results) / writer
    return folder / f"{table}.csv"


def _notebook_file(name: str) -> Path | None:
    """The running notebook's file: where Jupyter, papermill (``--inject-paths``) or VS Code say it is,
    in the kernel's folder (the runner and JupyterLab start it in the notebook's), or in notebooks/."""
    from IPython import get_ipython

    ns = getattr(get_ipython(), "user_ns", {}) or {}
    said = [os.environ.get("JPY_SESSION_NAME", ""), *(str(ns.get(v) or "") for v in
                                                      ("__session__", "PAPERMILL_INPUT_PATH", "__vsc_ipynb_file__"))]
    candidates = [Path(s.strip()) for s in said if s.strip().endswith(".ipynb")]
    candidates += [Path.cwd() / f"{name}.ipynb", paths.NOTEBOOKS / f"{name}.ipynb"]
    return next((c for c in candidates if c.stem == name and c.is_file()), None)


def _check_declared(asked, declared, name: str) -> None:
    missing = [r for r in asked if r not in declared]
    if missing:
        listed = ", ".join(f'"{r}"' for r in [*declared, *missing])
        raise UndeclaredInput(
            f"notebook {name} reads {', '.join(missing)} without declaring it: add it to the notebook's metadata "
            f'("twigma": {{"reads": [{listed}]}}; in JupyterLab: Property Inspector, Advanced Tools), '
            "so that make runs the notebook that writes it first.")


def open_notebook(release: str | os.PathLike | None, out: str | os.PathLike | None, *,
                  columns: list[str] | None = None, reads: list[str] | tuple[str, ...] = (),
                  embeddings: str | os.PathLike | None = None, notebook: str | os.PathLike | None = None,
                  show_banner: bool = True) -> Notebook:
    """Open a notebook: load ``release`` (only ``columns`` when given), open its :class:`Outputs`
    under ``out``, check that every table in ``reads`` is declared in the notebook's metadata and
    read the cluster names when :data:`CLUSTER_NAMES` is among them, find the embedding store when
    ``embeddings`` is given (the notebook's ``EMBEDDINGS`` parameter, ``""`` for the sample's), and
    show the banner once (:func:`twigma.present.narrative.banner`).

    ``notebook`` is the notebook's file, for a script or a test (default: the running notebook's).
    The run is synthetic when the release says so in itself (``attrs["synthetic"]``) or the store does.
    """
    from twigma.embeddings import store
    from twigma.release import load_release

    name = Path(notebook).stem if notebook else notebook_name()
    reads = tuple(reads)
    if reads:
        file = Path(notebook) if notebook else _notebook_file(name)
        if file is None:
            raise UndeclaredInput(f"notebook {name} reads {', '.join(reads)}, and its file (where these are "
                                  "declared) was not found; pass open_notebook(..., notebook=<its path>).")
        _check_declared(reads, declared_reads(file), name)
    df = load_release(release or None, columns=columns)
    root = store.folder_for(release, embeddings) if embeddings is not None else None
    synthetic = bool(df.attrs["synthetic"] or (root is not None and store.is_synthetic(root)))
    outputs = Outputs(out, synthetic=synthetic, notebook=name)
    if show_banner:
        banner(df if synthetic == bool(df.attrs["synthetic"]) else True)  # a synthetic store makes the run synthetic
    names = _cluster_names(outputs, df, release) if CLUSTER_NAMES in reads else None
    return Notebook(df, outputs, synthetic, names, root, reads)


def _cluster_names(out: Outputs, df: pd.DataFrame, release) -> pd.Series:
    """02's names when its table fits this release; else an error under make, a computed fallback alone."""
    from twigma.analysis.text import cluster_names, names_from_table
    from twigma.release import load_release

    path = table_path(out.published_results, CLUSTER_NAMES)
    table = pd.read_csv(path) if path.exists() else None
    names = names_from_table(table, df)
    if names is not None:
        return names
    shown = path.relative_to(out.published_results.parent)  # results/cluster_names.csv under OUT
    why = (f"`{shown}` was made from another release" if table is not None
           else f"`{shown}` does not exist (notebook 02 writes it)")
    if os.environ.get(paths.INPUTS_ENV) == "required":
        raise MissingInput(f"notebook {out.notebook} reads {CLUSTER_NAMES}, but {path} "
                           + ("was made from another release" if table is not None else "does not exist") + ". make ran "
                           "02 before this notebook, so 02's run did not write it for this release: see 02's executed "
                           "copy under build/, then run make figures again.")
    display_markdown(f"Cluster names: computed here with notebook 02's default parameters, because {why}; "
                     "this notebook runs alone (`make figures` runs 02 first and uses its names).")
    captions = df if "all_captions" in df.columns else load_release(release or None,
                                                                     columns=["all_captions", "label_10_cluster"])
    return cluster_names(captions)
