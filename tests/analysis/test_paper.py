"""Tests of twigma.analysis.paper: what the paper states, as numbers: the one place the claims' checks, the robustness grid and the notebooks' defaults take them from (../shared/spec/paper.md, sections 1, 3 and 4)."""
from __future__ import annotations

import inspect

import pytest

from twigma import paths
from twigma.analysis import claims, paper, theme_shift
from twigma.analysis.robustness import release_claims
from twigma.run.params import declared

#: notebook -> {parameter: the value of twigma.analysis.paper (or of the package) it must default to}
DEFAULTS = {
    "00_data": {"C1_TARGET_IMAGES": paper.N_IMAGES},
    "03_theme_shift": {"DECLINING": list(paper.DECLINING), "RISING": list(paper.RISING),
                       "PORTRAIT_WORDS": list(theme_shift.PORTRAIT_WORDS),
                       "NATURE_WORDS": list(theme_shift.NATURE_WORDS)},
}


@pytest.mark.parametrize("notebook", sorted(DEFAULTS))
def test_notebook_defaults_are_the_papers_numbers(notebook):
    params = declared(paths.NOTEBOOKS / f"{notebook}.ipynb")
    for name, value in DEFAULTS[notebook].items():
        assert name in params, f"{notebook} has no parameter {name}"
        got = params[name].default
        assert (list(got) if isinstance(got, (list, tuple)) else got) == value, f"{notebook}: {name}"


def test_the_checks_and_the_grid_read_the_same_numbers():
    assert inspect.signature(claims.check_c1).parameters["target"].default == paper.N_IMAGES
    assert tuple(inspect.signature(claims.check_c3).parameters["words"].default) == paper.PROMINENT_WORDS
    assert tuple(release_claims.DECLINING) == paper.DECLINING and tuple(release_claims.RISING) == paper.RISING
    assert tuple(release_claims.C3_WORDS) == paper.PROMINENT_WORDS
    assert "clusters 1, 3, 4" in claims.CLAIMS["C4"] and "clusters 8, 9" in claims.CLAIMS["C5"]
