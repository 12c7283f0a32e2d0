"""Tests of twigma.run.params: a notebook's parameters: what its ``parameters`` cell declares, values given on a command line typed as declared, and every parameter's effective value for the run's record."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import make_env
from PIL import Image

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


def test_make_run_with_two_parameters_is_a_recorded_and_verified_run(tmp_path, small_release_file):
    out = tmp_path / "alpha05"
    r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "run", "NB=03_theme_shift",
                        "PARAMS=ALPHA=0.05 MIN_IMAGES_PER_MONTH=50", f"RELEASE={small_release_file}", f"OUT={out}"],
                       capture_output=True, text=True, env=make_env(), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    manifest = json.loads((out / "results" / "provenance.json").read_text())
    recorded = manifest["notebooks"]["03_theme_shift"]["parameters"]
    assert recorded["ALPHA"] == 0.05 and recorded["MIN_IMAGES_PER_MONTH"] == 50
    assert recorded["DECLINING"] == [1, 3, 4]  # the defaults are recorded too
    png = Image.open(out / "figures" / "03_theme_trends.png")
    assert json.loads(png.info["twigma:parameters"]) == recorded
    ledger = pd.read_csv(out / "results" / "claims.csv", dtype=str, keep_default_na=False)
    assert set(ledger.loc[ledger["notebook"] == "03_theme_shift", "claim"]) >= {"C4", "C5"}
    assert not any("=" in p.name for p in paths.ROOT.iterdir())  # PARAMS made no file of its words
    # make figures on this folder later keeps that run and says so (twigma provenance --notes, its last line)
    notes = subprocess.run([sys.executable, "-m", "twigma", "provenance", "--out", str(out), "--notes"],
                           capture_output=True, text=True, timeout=120)
    assert notes.returncode == 0, notes.stderr
    assert "03_theme_shift in this run was made with ALPHA=0.05 MIN_IMAGES_PER_MONTH=50 (make run)" in notes.stdout
    assert f"rm '{out / 'build' / '03_theme_shift.ipynb'}' && make figures OUT='{out}'" in notes.stdout
    v = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "verify", f"OUT={out}"],
                       capture_output=True, text=True, env=make_env(), timeout=120)
    assert v.returncode == 0 and "0 problem" in v.stdout + v.stderr, v.stdout + v.stderr


def test_make_run_without_a_notebook_says_how():
    r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "run", "NB=99_nothing"],
                       capture_output=True, text=True, env=make_env(), timeout=120)
    assert r.returncode != 0 and "no notebooks/99_nothing.ipynb" in r.stderr and "03_theme_shift" in r.stderr
