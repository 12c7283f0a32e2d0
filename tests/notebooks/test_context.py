"""A notebook's opening (twigma.present.notebook.open_notebook) and the inputs notebooks declare: the release, outputs, synthetic flag and cluster names in one call, the banner once, an undeclared table refused, and make's order generated from the declarations (twigma.run.deps)."""
from __future__ import annotations

import nbformat
import pytest
from support.notebook_files import NAMES_NOTE


def test_a_notebook_asking_for_an_undeclared_table_fails_when_run(tmp_path, small_release_file):
    """As a user meets it: a new notebook whose opening reads 02's names without declaring them."""
    from twigma.run.runner import NotebookFailed, run_notebook
    from twigma.run.template import new_notebook

    path = new_notebook("13_undeclared", folder=tmp_path)
    nb = nbformat.read(path, as_version=4)
    opening = next(c for c in nb.cells if "open_notebook(RELEASE, OUT)" in c.source)
    opening.source = opening.source.replace("open_notebook(RELEASE, OUT)",
                                            'open_notebook(RELEASE, OUT, reads=["02_themes_map/cluster_names"])')
    nbformat.write(nb, str(path))
    with pytest.raises(NotebookFailed, match="UndeclaredInput: notebook 13_undeclared reads "
                                             "02_themes_map/cluster_names without declaring it"):
        run_notebook(path, release=small_release_file, out=tmp_path / "out")


def test_every_executed_notebook_shows_the_banner_once_and_reads_02s_names(executed):
    """The session's run (make figures, or every notebook in order): each opening shows the banner once, and
    no reader of 02's table computed the names itself."""
    for p in sorted((executed / "build").glob("[0-9][0-9]_*.ipynb")):
        shown = [str(o.get("data", {}).get("text/markdown", "")) + str(o.get("data", {}).get("text/plain", ""))
                 + str(o.get("text", "")) for c in nbformat.read(p, as_version=4).cells for o in c.get("outputs", [])]
        assert sum("SYNTHETIC sample data" in t for t in shown) == 1, p.stem
        assert not any(NAMES_NOTE in t for t in shown), p.stem
