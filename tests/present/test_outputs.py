"""Tests of twigma.present.outputs: where a notebook's figures and tables go, written atomically, named after the notebook."""
from __future__ import annotations

import pytest
from support.spreadsheet_cells import cells, evaluable

from twigma.present.outputs import Outputs


def test_claims_observed_text_is_neutralised(tmp_path):
    out = Outputs(tmp_path, synthetic=False, notebook="10_explore")
    path = out.claims([{"claim": "X1", "statement": "-", "observed": "=1+1 images", "holds": "yes"}])
    header, rows = cells(path)
    assert not [c for row in rows for c in row if evaluable(c)]
    assert rows[0][header.index("observed")] == "'=1+1 images" and rows[0][header.index("statement")] == "'-"


def test_notebook_name_is_found_where_each_runner_puts_it(monkeypatch):
    from twigma.present.outputs import NotebookNameUnknown, notebook_name

    for var in ("TWIGMA_NOTEBOOK", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(NotebookNameUnknown, match="make figures"):
        notebook_name()
    # Jupyter Server (JupyterLab, Notebook 7) sets JPY_SESSION_NAME to the notebook's path for its kernels
    # (jupyter-server/jupyter_server#679 and #1100)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/twigma/notebooks/12_my_question.ipynb")
    assert notebook_name() == "12_my_question"
    monkeypatch.setenv("TWIGMA_NOTEBOOK", "03_theme_shift")  # twigma run-notebook's, which wins
    assert notebook_name() == "03_theme_shift"
