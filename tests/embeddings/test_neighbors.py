"""Tests of twigma.embeddings.neighbors: exact nearest neighbours by cosine similarity, in bounded memory, in one process or on a Dask cluster."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors
from support.vectors import unit32

from twigma.embeddings.neighbors import float32_error_bound, screening_error_bound, topk_cosine

pytestmark = pytest.mark.embedding_layer


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(15, 48))
    Q = unit32(centres[rng.integers(0, 15, 700)] + 0.8 * rng.normal(size=(700, 48)))
    R = unit32(centres[rng.integers(0, 15, 2500)] + 0.8 * rng.normal(size=(2500, 48)))
    return Q, R


BACKENDS = [("numpy", "float32"), ("torch", "float32"), ("torch", "bfloat16-screened")]


def _fp32_settings():
    import torch

    from twigma.embeddings.kernel import FP32_PRECISION_SETTINGS, _backend

    flags = {"bf16_reduction": torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction}
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):  # torch >= 2.9
        return {**flags, **{k: _backend(k).fp32_precision for k in FP32_PRECISION_SETTINGS}}
    return {**flags, "precision": torch.get_float32_matmul_precision(),
            "cuda.matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32}


@pytest.fixture
def tf32_everywhere():
    """Global settings that allow TF32 (and bfloat16 on oneDNN) for float32 products, put back afterwards."""
    import torch

    from twigma.embeddings.kernel import FP32_PRECISION_SETTINGS, _backend

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


@pytest.mark.parametrize("backend,precision", BACKENDS)
@pytest.mark.parametrize("k", [1, 5])
def test_same_neighbours_as_sklearn_brute_force(data, backend, precision, k):
    Q, R = data
    d, i = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="cosine").fit(R).kneighbors(Q)
    # small chunks, so that chunk merging (and numpy's running threshold) is exercised
    got = topk_cosine(Q, R, k, backend=backend, precision=precision, query_batch=128, ref_batch=300)
    np.testing.assert_array_equal(got.indices, i)
    np.testing.assert_allclose(got.scores, 1 - d, atol=1e-5)
    assert got.backend.startswith(f"{backend} {precision}")


@pytest.mark.parametrize("k", [1, 10])
def test_every_backend_gives_the_same_arrays(data, k):
    """numpy (no torch needed) and torch, float32 and bfloat16 screens, any chunking: the same
    indices and the same scores, bit for bit (candidates are re-scored in float64)."""
    Q, R = data
    results = [topk_cosine(Q, R, k, backend=b, precision=p, query_batch=q, ref_batch=r)
               for b, p in BACKENDS for q, r in ((4096, None), (97, 211))]
    for got in results[1:]:
        np.testing.assert_array_equal(got.indices, results[0].indices)
        np.testing.assert_array_equal(got.scores, results[0].scores)


def test_without_torch_the_numpy_backend_is_chosen_and_torch_is_not_imported(data, monkeypatch):
    import subprocess
    import sys

    Q, R = data
    code = ("import sys, numpy as np\n"
            "sys.modules['torch'] = None  # as in an environment without torch: import torch fails\n"
            "from twigma.embeddings.neighbors import topk_cosine\n"
            "Q, R = np.load(sys.argv[1]), np.load(sys.argv[2])\n"
            "g = topk_cosine(Q, R, 5)\n"
            "np.save(sys.argv[3], g.indices); np.save(sys.argv[4], g.scores)\n"
            "assert sys.modules['torch'] is None, 'torch was imported'\n"
            "print(g.backend, '|', g.choice)\n")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        np.save(t / "q.npy", Q)
        np.save(t / "r.npy", R)
        out = subprocess.run([sys.executable, "-c", code, t / "q.npy", t / "r.npy", t / "i.npy", t / "s.npy"],
                             capture_output=True, text=True, check=True).stdout
        assert out.startswith("numpy float32") and "torch is not installed" in out
        ref = topk_cosine(Q, R, 5, backend="torch", precision="bfloat16-screened")
        np.testing.assert_array_equal(np.load(t / "i.npy"), ref.indices)
        np.testing.assert_array_equal(np.load(t / "s.npy"), ref.scores)


def test_plan_without_torch_refuses_torch_and_says_what_to_do(monkeypatch):
    from twigma.embeddings import neighbors, planner

    monkeypatch.setattr(planner, "torch_available", lambda: False)  # the planner decides the plan
    assert neighbors.plan(10, 10, 8).backend == "numpy"
    with pytest.raises(neighbors.NeighborsError, match="backend='numpy'"):
        neighbors.plan(10, 10, 8, precision="bfloat16-screened")


def test_ties_go_to_the_lower_reference_index():
    rng = np.random.default_rng(3)
    R = unit32(rng.normal(size=(50, 16)))
    R = np.vstack([R, R[[7, 7, 3]]])  # rows 50 and 51 repeat row 7, row 52 repeats row 3
    Q = np.vstack([R[7], R[3]]) + 1e-3 * unit32(rng.normal(size=(2, 16)))
    for backend, precision in BACKENDS:
        got = topk_cosine(Q, R, 3, backend=backend, precision=precision, ref_batch=20)
        np.testing.assert_array_equal(got.indices[0], [7, 50, 51])
        np.testing.assert_array_equal(got.indices[1, :2], [3, 52])
        assert got.scores[0, 0] == got.scores[0, 1] == got.scores[0, 2]


def test_float32_bound_covers_the_observed_error(data):
    Q, R = data
    err = np.abs((Q @ R.T).astype(np.float64) - Q.astype(np.float64) @ R.astype(np.float64).T).max()
    assert 0 < err <= float32_error_bound(Q.shape[1], 1.0 + 1e-6)


def test_float16_memory_map_input(tmp_path, data):
    Q, R = data
    np.save(tmp_path / "q.npy", Q.astype(np.float16))
    q16 = np.load(tmp_path / "q.npy", mmap_mode="r")
    got = topk_cosine(q16, R, 3, precision="bfloat16-screened", query_batch=100)
    ref = topk_cosine(np.asarray(q16, np.float32), R, 3, precision="float32", backend="numpy")
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
    base = unit32(rng.normal(size=(1, 32)))
    R = unit32(base + 1e-3 * rng.normal(size=(200, 32)))
    Q = unit32(base + 1e-3 * rng.normal(size=(50, 32)))
    for backend, precision in BACKENDS:
        got = topk_cosine(Q, R, 2, backend=backend, precision=precision, extra=4)
        exact = Q.astype(np.float64) @ R.astype(np.float64).T
        np.testing.assert_array_equal(got.indices, np.argsort(-exact, axis=1, kind="stable")[:, :2])
        np.testing.assert_allclose(got.scores, -np.sort(-exact, axis=1)[:, :2], atol=1e-6)
        assert got.n_rescored_exact > 0  # neither screen can certify these: searched again in float64


def test_rejects_bad_arguments(data):
    Q, R = data
    with pytest.raises(ValueError, match="k must be"):
        topk_cosine(Q, R[:3], 5)
    with pytest.raises(ValueError, match="dimensions"):
        topk_cosine(Q[:, :10], R, 1)


@pytest.mark.parametrize("backend,precision", BACKENDS)
@pytest.mark.parametrize("n_refs,ref_batch", [(5, 2), (6, 65536), (36, 4), (40, 7)])
def test_reference_sets_smaller_than_k_plus_extra(backend, precision, n_refs, ref_batch):
    # k = 5 and 32 extra candidates: every set here is smaller than k + 32, and chunks smaller than k
    rng = np.random.default_rng(2)
    Q, R = unit32(rng.normal(size=(30, 16))), unit32(rng.normal(size=(n_refs, 16)))
    got = topk_cosine(Q, R, 5, backend=backend, precision=precision, ref_batch=ref_batch, query_batch=7)
    exact = Q.astype(np.float64) @ R.astype(np.float64).T
    np.testing.assert_array_equal(got.indices, np.argsort(-exact, axis=1, kind="stable")[:, :5])
    np.testing.assert_allclose(got.scores, -np.sort(-exact, axis=1)[:, :5], atol=1e-6)


@pytest.mark.parametrize("precision", ["float32", "bfloat16-screened"])
def test_float32_passes_run_in_ieee_float32_and_restore_the_settings(data, precision, tf32_everywhere, monkeypatch):
    from twigma.embeddings import kernel, neighbors

    before = tf32_everywhere
    assert before["cuda.matmul"] in ("tf32", True) and before["bf16_reduction"]
    seen = []
    real_merge = kernel._merge_topk

    def spy(*args):
        seen.append(_fp32_settings())
        return real_merge(*args)

    monkeypatch.setattr(kernel, "_merge_topk", spy)
    Q, R = data
    neighbors.topk_cosine(Q[:50], R, 3, backend="torch", precision=precision, ref_batch=500)
    assert seen and all(s["cuda.matmul"] in ("ieee", False) and s.get("cudnn.conv", s.get("cudnn")) in ("ieee", False)
                        and s.get("mkldnn.matmul", "ieee") == "ieee" and s.get("precision", "highest") == "highest"
                        and not s["bf16_reduction"] for s in seen)
    assert _fp32_settings() == before

    def boom(*args):
        raise RuntimeError("interrupted in the middle of a pass")

    monkeypatch.setattr(kernel, "_merge_topk", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        neighbors.topk_cosine(Q[:50], R, 3, backend="torch", precision=precision, ref_batch=500)
    assert _fp32_settings() == before  # restored in finally


def test_the_numpy_screen_gives_the_same_arrays_with_and_without_its_compiled_selection(data, monkeypatch):
    """The numpy float32 screen keeps candidates with a compiled pass (twigma.embeddings.candidates, numba) or,
    without numba, with numpy's comparisons and sorts: the same neighbours and scores, bit for bit, also with
    repeated references (ties), tiny chunks and near ties that need the float64 pass."""
    from twigma.embeddings import candidates

    assert candidates.merger() is not None  # numba comes with umap-learn in the base environment
    rng = np.random.default_rng(4)
    Q, R = data
    R_ties = np.vstack([R, R[rng.integers(0, len(R), 300)]])
    base = unit32(rng.normal(size=(1, 32)))
    near = (unit32(base + 1e-3 * rng.normal(size=(50, 32))), unit32(base + 1e-3 * rng.normal(size=(200, 32))))
    cases = [(Q, R, 10, {}), (Q, R_ties, 5, {"ref_batch": 211, "query_batch": 97}), (*near, 2, {"extra": 4})]
    compiled = [topk_cosine(q, r, k, backend="numpy", **kw) for q, r, k, kw in cases]
    monkeypatch.setattr(candidates, "merger", lambda: None)
    for (q, r, k, kw), got in zip(cases, compiled):
        plain = topk_cosine(q, r, k, backend="numpy", **kw)
        np.testing.assert_array_equal(got.indices, plain.indices)
        np.testing.assert_array_equal(got.scores, plain.scores)
    assert compiled[2].n_rescored_exact > 0


def test_the_compiled_selection_uses_one_thread_on_a_dask_worker(monkeypatch):
    """A Dask worker's nanny sets OMP_NUM_THREADS=1: the selection kernel then runs one thread per worker."""
    from twigma.embeddings import candidates

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert candidates.threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    import numba
    assert candidates.threads() == numba.config.NUMBA_NUM_THREADS


def test_the_serial_and_the_parallel_selection_keep_the_same_candidates(monkeypatch):
    """One thread (a Dask worker) runs the serial build of the kernel, more the parallel one: the same kept
    candidates."""
    from twigma.embeddings import candidates

    rng = np.random.default_rng(8)
    scores = rng.random((300, 1000)).astype(np.float32)
    kept = []
    for n in (1, 2):
        monkeypatch.setattr(candidates, "threads", lambda n=n: n)
        best_v, best_i = np.full((300, 7), -np.inf, np.float32), np.full((300, 7), -1, np.int64)
        for r0 in range(0, 1000, 256):
            candidates.merger()(scores[:, r0:r0 + 256], r0, best_v, best_i)
        kept.append((np.sort(best_v, axis=1), np.sort(best_i, axis=1)))
    np.testing.assert_array_equal(kept[0][0], kept[1][0])
    np.testing.assert_array_equal(kept[0][1], kept[1][1])
    np.testing.assert_array_equal(kept[0][0], -np.sort(-scores, axis=1)[:, :7][:, ::-1])
