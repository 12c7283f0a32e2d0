"""The cluster names the explorer tests label the map with."""
from __future__ import annotations

import pytest

from twigma.analysis.text import cluster_names


@pytest.fixture(scope="module")
def names(small_release):
    return cluster_names(small_release)  # computed here, as 02 does
