"""The cache tests' fresh cache folder and the random unit vectors the cached analyses are called on."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

CALLS: list[tuple] = []


def slow_sum(x: np.ndarray, scale: float = 1.0, offset: int = 0) -> np.ndarray:
    """Stands for an expensive computation; records each time it really runs."""
    CALLS.append((x.shape, scale, offset))
    return np.asarray(x, dtype=np.float64).sum(axis=0) * scale + offset


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(tmp_path / "interim"))
    CALLS.clear()
    return tmp_path / "interim" / "cache"


def entries(root: Path) -> list[Path]:
    return sorted(root.rglob("output.pkl"))


@pytest.fixture
def random_unit_f16():
    rng = np.random.default_rng(3)
    def make(n, d=16):
        v = rng.normal(size=(n, d)).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float16)
    return make
