"""Exact nearest neighbours against scikit-learn's brute-force search."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from twigma.neighbors import faiss_available, screening_error_bound, topk_cosine


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(15, 48))
    Q = unit(centres[rng.integers(0, 15, 700)] + 0.8 * rng.normal(size=(700, 48)))
    R = unit(centres[rng.integers(0, 15, 2500)] + 0.8 * rng.normal(size=(2500, 48)))
    return Q, R


@pytest.mark.parametrize("precision", ["float32", "bfloat16-screened"])
@pytest.mark.parametrize("k", [1, 5])
def test_same_neighbours_as_sklearn_brute_force(data, precision, k):
    Q, R = data
    d, i = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="cosine").fit(R).kneighbors(Q)
    # small chunks, so that chunk merging is exercised
    got = topk_cosine(Q, R, k, precision=precision, query_batch=128, ref_batch=300)
    np.testing.assert_array_equal(got.indices, i)
    np.testing.assert_allclose(got.scores, 1 - d, atol=1e-5)
    assert ("faiss" in got.backend) == (faiss_available() and precision == "float32")


def test_float16_memory_map_input(tmp_path, data):
    Q, R = data
    np.save(tmp_path / "q.npy", Q.astype(np.float16))
    q16 = np.load(tmp_path / "q.npy", mmap_mode="r")
    got = topk_cosine(q16, R, 3, precision="bfloat16-screened", query_batch=100)
    ref = topk_cosine(np.asarray(q16, np.float32), R, 3, precision="float32")
    np.testing.assert_array_equal(got.indices, ref.indices)


def test_screening_bound_covers_the_observed_error(data):
    import torch

    Q, R = data
    exact = Q @ R.T
    screened = (torch.from_numpy(Q).bfloat16() @ torch.from_numpy(R).bfloat16().T).float().numpy()
    assert np.abs(screened - exact).max() <= screening_error_bound(Q.shape[1])


def test_near_ties_are_certified_or_recomputed():
    # references that differ from each other by less than the screening error
    rng = np.random.default_rng(1)
    base = unit(rng.normal(size=(1, 32)))
    R = unit(base + 1e-3 * rng.normal(size=(200, 32)))
    Q = unit(base + 1e-3 * rng.normal(size=(50, 32)))
    got = topk_cosine(Q, R, 2, precision="bfloat16-screened", extra=4)
    exact = Q.astype(np.float64) @ R.astype(np.float64).T
    best = -np.sort(-exact, axis=1)[:, :2]
    chosen = np.take_along_axis(exact, got.indices, axis=1)
    # the same neighbours up to float32 arithmetic (the scores differ by less than 1e-6)
    np.testing.assert_allclose(chosen, best, atol=1e-6)
    assert got.n_rescored_exact > 0


def test_rejects_bad_arguments(data):
    Q, R = data
    with pytest.raises(ValueError, match="k must be"):
        topk_cosine(Q, R[:3], 5)
    with pytest.raises(ValueError, match="dimensions"):
        topk_cosine(Q[:, :10], R, 1)
