"""Exact nearest neighbours against scikit-learn's brute-force search."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from twigma.embeddings.neighbors import faiss_available, screening_error_bound, topk_cosine


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


@pytest.mark.parametrize("precision", ["float32", "bfloat16-screened"])
@pytest.mark.parametrize("n_refs,ref_batch", [(5, 2), (6, 65536), (36, 4), (40, 7)])
def test_reference_sets_smaller_than_k_plus_extra(precision, n_refs, ref_batch):
    # k = 5 and 32 extra candidates: every set here is smaller than k + 32, and chunks smaller than k
    rng = np.random.default_rng(2)
    Q, R = unit(rng.normal(size=(30, 16))), unit(rng.normal(size=(n_refs, 16)))
    got = topk_cosine(Q, R, 5, precision=precision, ref_batch=ref_batch, query_batch=7)
    exact = Q.astype(np.float64) @ R.astype(np.float64).T
    np.testing.assert_array_equal(got.indices, np.argsort(-exact, axis=1, kind="stable")[:, :5])
    np.testing.assert_allclose(got.scores, -np.sort(-exact, axis=1)[:, :5], atol=1e-6)


def _fp32_settings():
    import torch

    from twigma.embeddings.neighbors import FP32_PRECISION_SETTINGS, _backend

    flags = {"bf16_reduction": torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction}
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):  # torch >= 2.9
        return {**flags, **{k: _backend(k).fp32_precision for k in FP32_PRECISION_SETTINGS}}
    return {**flags, "precision": torch.get_float32_matmul_precision(),
            "cuda.matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32}


@pytest.fixture
def tf32_everywhere():
    """Global settings that allow TF32 (and bfloat16 on oneDNN) for float32 products, put back afterwards."""
    import torch

    from twigma.embeddings.neighbors import FP32_PRECISION_SETTINGS, _backend

    new_api = hasattr(torch.backends.cuda.matmul, "fp32_precision")
    saved = _fp32_settings()
    if new_api:
        for k, v in zip(FP32_PRECISION_SETTINGS, ("tf32", "tf32", "bf16")):
            _backend(k).fp32_precision = v
    else:
        torch.set_float32_matmul_precision("medium")
        torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = True
    yield _fp32_settings()
    if new_api:
        for k in FP32_PRECISION_SETTINGS:
            _backend(k).fp32_precision = saved[k]
    else:
        torch.set_float32_matmul_precision(saved["precision"])
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved["cuda.matmul"], saved["cudnn"]
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = saved["bf16_reduction"]


@pytest.mark.parametrize("precision", ["float32", "bfloat16-screened"])
def test_float32_passes_run_in_ieee_float32_and_restore_the_settings(data, precision, tf32_everywhere, monkeypatch):
    from twigma.embeddings import neighbors

    before = tf32_everywhere
    assert before["cuda.matmul"] in ("tf32", True) and before["bf16_reduction"]
    monkeypatch.setattr(neighbors, "faiss_available", lambda: False)  # the torch float32 pass, not faiss
    seen = []
    real_merge = neighbors._merge_topk

    def spy(*args):
        seen.append(_fp32_settings())
        return real_merge(*args)

    monkeypatch.setattr(neighbors, "_merge_topk", spy)
    Q, R = data
    neighbors.topk_cosine(Q[:50], R, 3, precision=precision, ref_batch=500)
    assert seen and all(s["cuda.matmul"] in ("ieee", False) and s.get("cudnn.conv", s.get("cudnn")) in ("ieee", False)
                        and s.get("mkldnn.matmul", "ieee") == "ieee" and s.get("precision", "highest") == "highest"
                        and not s["bf16_reduction"] for s in seen)
    assert _fp32_settings() == before

    def boom(*args):
        raise RuntimeError("interrupted in the middle of a pass")

    monkeypatch.setattr(neighbors, "_merge_topk", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        neighbors.topk_cosine(Q[:50], R, 3, precision=precision, ref_batch=500)
    assert _fp32_settings() == before  # restored in finally
