"""A run of a few notebooks on the small release and the report built from it, for the report and browser tests."""
from __future__ import annotations

import shutil

import pytest

from twigma import paths
from twigma.cli import main
from twigma.run.runner import run_notebook

RUN = ["00_data", "03_theme_shift", "04_nsfw", "07_variability", "10_explore"]  # a few notebooks, one of images, and the map (its widget must not reach the report)


@pytest.fixture(scope="module")
def release_copy(tmp_path_factory, small_release_file):
    """The small release under a path of this module's own, so that a test may change it."""
    target = tmp_path_factory.mktemp("rel") / "small.csv.gz"
    shutil.copy(small_release_file, target)
    shutil.copy(str(small_release_file) + ".meta.json", str(target) + ".meta.json")
    return target


@pytest.fixture(scope="module")
def run(tmp_path_factory, release_copy, small_release):
    from twigma.synthetic.embeddings import make_sample_embeddings

    emb = make_sample_embeddings(small_release, tmp_path_factory.mktemp("emb"), n_natural=300, n_art=300, dim=32)
    out = tmp_path_factory.mktemp("run")
    for name in RUN:
        run_notebook(paths.NOTEBOOKS / f"{name}.ipynb", release=release_copy, out=out, embeddings=emb,
                     parameters={"N_BOOT": 20} if name == "07_variability" else None)
    assert main(["claims", "--out", str(out)]) == 0
    assert main(["provenance", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def site(run):
    from twigma.run.report import build_report

    return build_report(run)
