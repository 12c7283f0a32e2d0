"""Tests of twigma.run.deps: which notebook reads which other notebook's table, as make reads it."""
from __future__ import annotations

import json

import pytest
from support.notebook_files import _notebook_file

from twigma.run import deps


def test_the_deps_generator_refuses_a_read_of_no_notebook(tmp_path):
    good = _notebook_file(tmp_path, "02_themes_map")
    bad = _notebook_file(tmp_path, "13_typo", ["02_theme_map/cluster_names"])
    with pytest.raises(deps.DepsError, match="no notebook 02_theme_map.ipynb"):
        deps.makefile_text([good, bad])
    wrong = tmp_path / "13_wrong.ipynb"
    wrong.write_text(json.dumps({"metadata": {"twigma": {"reads": "02_themes_map/cluster_names"}}}))
    with pytest.raises(deps.DepsError, match="must be a list"):
        deps.declared_reads(wrong)
