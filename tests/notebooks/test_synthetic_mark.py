"""The synthetic mark is carried by the data: a renamed copy of the sample stays marked, a file written the way a real release is (no description inside) is never marked, and every reader the loader uses reads a marked gzip file as it reads a plain one."""
from __future__ import annotations

import shutil

import pandas as pd

from twigma import paths
from twigma.analysis.claims import DATA_VALUES
from twigma.run.runner import run_notebook


def test_a_notebook_on_a_renamed_copy_of_the_sample_says_it_is_synthetic(tmp_path, small_release_file):
    copy = tmp_path / "my_release.csv.gz"
    shutil.copyfile(small_release_file, copy)
    run_notebook(paths.NOTEBOOKS / "00_data.ipynb", release=copy, out=tmp_path / "out")
    verdicts = pd.read_csv(tmp_path / "out" / "results" / "claims" / "00_data.csv", dtype=str)
    assert set(verdicts["data"]) == {DATA_VALUES[True]}
    executed = (tmp_path / "out" / "build" / "00_data.ipynb").read_text()
    assert "synthetic" in executed.lower()
