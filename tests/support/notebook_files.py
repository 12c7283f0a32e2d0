"""Notebook files made for the tests of a notebook's opening and of make's reading of what it reads."""
from __future__ import annotations

import pytest

from twigma import paths
from twigma.present import notebook as context

NAMES_NOTE = "computed here with notebook 02's default parameters"


def _notebook_file(folder, name, reads=None):
    """A notebook file whose metadata declares ``reads`` (none when None)."""
    import nbformat  # here: this module is a plugin of every test process, pytest-xdist's controller too

    nb = nbformat.v4.new_notebook()
    if reads is not None:
        nb.metadata["twigma"] = {"reads": reads}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def shown(monkeypatch):
    """What open_notebook displays (the banner and any note), as Markdown texts."""
    texts = []
    monkeypatch.setattr(context, "display_markdown", texts.append)
    monkeypatch.setattr("twigma.present.narrative.display_markdown", texts.append)  # banner()'s
    monkeypatch.delenv(paths.INPUTS_ENV, raising=False)
    return texts
