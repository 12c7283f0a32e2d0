"""The cluster names the explorer tests label the map with."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def names(small_release):
    from twigma.analysis.text import cluster_names  # here: scikit-learn takes a second to import in every process

    return cluster_names(small_release)  # computed here, as 02 does
