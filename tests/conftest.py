"""Shared fixtures: small synthetic releases and helpers that write bad variants of them."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
if "TWIGMA_CACHE_DIR" not in os.environ:  # typed caches of test files stay out of data/interim
    import tempfile
    os.environ["TWIGMA_CACHE_DIR"] = tempfile.mkdtemp(prefix="twigma-test-cache-")
os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from twigma.synthetic.release import generate_release, write_release  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures_and_seed():
    np.random.seed(0)
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def raw_small() -> pd.DataFrame:
    """A 3,000-image synthetic release as the generator returns it (text and numbers)."""
    return generate_release(3000, seed=7)


@pytest.fixture
def raw(raw_small) -> pd.DataFrame:
    """A fresh copy to edit in a test."""
    return raw_small.copy()


@pytest.fixture(scope="session")
def small_release_file(tmp_path_factory, raw_small):
    """The 3,000-image release written as CSV.gz, marked synthetic like the embedded sample."""
    from twigma.synthetic.release import sample_meta

    path = tmp_path_factory.mktemp("release") / "small.csv.gz"
    return write_release(raw_small, path, meta=sample_meta(3000, 7))


@pytest.fixture(scope="session")
def small_release(small_release_file, tmp_path_factory):
    from twigma.release import load_release

    return load_release(small_release_file, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture
def write_csv(tmp_path):
    """Write a DataFrame as a CSV file (optionally gzip) and return its path."""
    def _write(df: pd.DataFrame, name: str = "release.csv", **kw) -> str:
        path = tmp_path / name
        df.to_csv(path, index=False, **kw)
        return str(path)
    return _write
