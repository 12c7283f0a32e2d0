"""New notebooks from the template ``notebooks/_template.ipynb`` (``make notebook NAME=NN_topic``).

The template has what every notebook of the compendium has: a header cell (question, what it
reproduces, method, inputs, outputs), a typed ``parameters`` cell, loading, an
:class:`~twigma.present.outputs.Outputs` object, a first figure followed by text rendered from the run,
and a Findings section. ``make figures`` runs a new notebook at once; its outputs carry its name.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from twigma import paths
from twigma.errors import UserError
from twigma.files import atomic_write

TEMPLATE = paths.NOTEBOOKS / "_template.ipynb"
NAME_PATTERN = r"\d\d_[a-z0-9]+(?:_[a-z0-9]+)*"


class NotebookNameError(UserError, ValueError):
    """A name that ``make notebook`` cannot use."""


def next_number(folder: Path = paths.NOTEBOOKS) -> str:
    """The first two-digit number after those of the notebooks in ``folder``."""
    used = [int(p.name[:2]) for p in folder.glob("[0-9][0-9]_*.ipynb")]
    return f"{max(used, default=-1) + 1:02d}"


def new_notebook(name: str, folder: str | Path | None = None, template: str | Path | None = None) -> Path:
    """Write ``folder/<name>.ipynb`` from the template and return its path.

    ``name`` is ``NN_topic``: two digits, an underscore, then lower-case words joined by
    underscores (``10_portrait_rise``). Raises :class:`NotebookNameError` for a malformed name
    or one that exists already; nothing is overwritten.
    """
    folder = Path(folder) if folder else paths.NOTEBOOKS
    name = (name or "").strip().removesuffix(".ipynb")
    if not re.fullmatch(NAME_PATTERN, name):
        raise NotebookNameError(
            f"NAME={name!r} is not of the form NN_topic (two digits, an underscore, lower-case words joined by "
            f"underscores), e.g. NAME={next_number(folder)}_portrait_rise. The number orders the notebooks; "
            f"the next free one is {next_number(folder)}.")
    target = folder / f"{name}.ipynb"
    if target.exists():
        raise NotebookNameError(f"{target} exists already; choose another NAME (the next free number is "
                                f"{next_number(folder)}).")
    clash = [p.stem for p in folder.glob(f"{name[:2]}_*.ipynb")]
    nb = nbformat.read(Path(template) if template else TEMPLATE, as_version=4)
    title = name[3:].replace("_", " ").capitalize()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = (cell.source.replace("{{NN}}", name[:2]).replace("{{TITLE}}", title)
                           .replace("{{NAME}}", name))
    atomic_write(target, lambda tmp: nbformat.write(nb, str(tmp)))
    if clash:
        print(f"note: {', '.join(clash)} has the same number; make figures runs notebooks in name order.")
    return target
