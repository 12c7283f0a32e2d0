"""Tests of twigma.run.params: a notebook's parameters: what its ``parameters`` cell declares, values given on a command line typed as declared, and every parameter's effective value for the run's record."""
from __future__ import annotations

import subprocess

import pytest
from conftest import MAKE_BUILT, make_env

from twigma import paths
from twigma.run import params

NB03 = paths.NOTEBOOKS / "03_theme_shift.ipynb"


def test_values_are_typed_as_declared():
    got = params.typed(NB03, {"ALPHA": "0.05", "MIN_IMAGES_PER_MONTH": "50", "DECLINING": "[1, 3]"})
    assert got == {"ALPHA": 0.05, "MIN_IMAGES_PER_MONTH": 50, "DECLINING": [1, 3]}
    assert params.typed(NB03, {"ALPHA": "1"}) == {"ALPHA": 1.0} and isinstance(params.typed(NB03, {"ALPHA": "1"})["ALPHA"],
                                                                               float)


@pytest.mark.parametrize("given,says", [
    ({"ALPHAX": "0.05"}, "03_theme_shift has no parameter 'ALPHAX'"),
    ({"ALPHA": "abc"}, "ALPHA='abc' is not a float"),
    ({"MIN_IMAGES_PER_MONTH": "2.5"}, "is not a int"),
    ({"DECLINING": "[1, 'x']"}, "is not a list[int]"),
    ({"OUT": "/tmp"}, "OUT is set with --out"),
])
def test_a_bad_parameter_is_refused_with_the_notebooks_parameters_listed(given, says):
    with pytest.raises(params.ParameterError) as info:
        params.typed(NB03, given)
    msg = str(info.value)
    assert says in msg
    if "OUT is set" not in says:
        assert "MIN_IMAGES_PER_MONTH (int, default 20): months with fewer images" in msg


def test_make_params_are_split_as_a_shell_splits_them():
    assert params.parse_assignments("ALPHA=0.05 DECLINING='[1, 3]'") == {"ALPHA": "0.05", "DECLINING": "[1, 3]"}
    with pytest.raises(params.ParameterError, match="is not NAME=VALUE"):
        params.parse_assignments("ALPHA 0.05")


def test_every_declared_parameter_has_an_effective_value():
    eff = params.effective(NB03, {"ALPHA": 0.05})
    assert eff["ALPHA"] == 0.05 and eff["MIN_IMAGES_PER_MONTH"] == 20 and eff["DECLINING"] == [1, 3, 4]
    assert set(eff) == set(params.declared(NB03))


@pytest.mark.skipif(not MAKE_BUILT, reason="make run builds .venv first where make has not built it")
def test_make_run_without_a_notebook_says_how():
    r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "run", "NB=99_nothing"],
                       capture_output=True, text=True, env=make_env(), timeout=120)
    assert r.returncode != 0 and "no notebooks/99_nothing.ipynb" in r.stderr and "03_theme_shift" in r.stderr
