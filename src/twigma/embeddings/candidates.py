"""Each query's best candidates, kept as a block of scores arrives: the selection step of the numpy
float32 screen of :mod:`twigma.embeddings.kernel`.

One pass over the block, in parallel over the queries (numba, which umap-learn already brings): each
score is compared with the query's weakest kept one and replaces it when higher. Done with numpy
(a comparison array, ``np.nonzero`` and a sort of the candidates per block) the selection costs a
large share of the matrix products' time (docs/scaling.md). Without numba the numpy way is used.

Which candidates are kept may differ from the numpy way only among scores equal at the weakest kept
one; the search re-scores every candidate in float64 and certifies the top k against the weakest kept
score (a score not kept is never above it), so the search's results are the same either way
(tests/embeddings/test_neighbors.py).
"""
from __future__ import annotations

import importlib.util
import os

_KERNEL = None


def merger():
    """The compiled kernel ``merge(scores, first_index, best_v, best_i)``, or None without numba.

    ``scores`` (b, m) float32 are the scores of references ``first_index .. first_index + m - 1``;
    ``best_v`` (b, keep) float32 and ``best_i`` (b, keep) int64 hold each query's kept candidates
    (start them at -inf and -1) and are updated in place.
    """
    global _KERNEL
    if _KERNEL is None:
        if importlib.util.find_spec("numba") is None:
            return None
        _KERNEL = _compile()
    return _KERNEL


def threads() -> int:
    """Threads for the kernel: ``OMP_NUM_THREADS`` where it is set (a Dask worker's nanny sets 1, so that
    workers x threads stays the cores), else numba's default (the cores), never more than numba has."""
    import numba

    try:
        wanted = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        wanted = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # numba sets it through globals()
    return max(1, min(wanted, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]  # as above


def _compile():
    import numba

    def kernel(scores, first_index, best_v, best_i):
        b, m = scores.shape
        keep = best_v.shape[1]
        for q in numba.prange(b):
            row_v, row_i = best_v[q], best_i[q]
            weakest = 0
            for j in range(1, keep):
                if row_v[j] < row_v[weakest]:
                    weakest = j
            low = row_v[weakest]
            for c in range(m):
                v = scores[q, c]
                if v > low:  # strictly: of equal scores the earlier (lower index) stays
                    row_v[weakest] = v
                    row_i[weakest] = first_index + c
                    weakest = 0
                    for j in range(1, keep):
                        if row_v[j] < row_v[weakest]:
                            weakest = j
                    low = row_v[weakest]

    parallel = numba.njit(parallel=True, cache=True, nogil=True)(kernel)
    serial = numba.njit(cache=True, nogil=True)(kernel)  # prange is range here: no OpenMP threads at all

    def merge(scores, first_index, best_v, best_i):
        n = threads()
        if n == 1:  # a Dask worker (one thread each, maybe several per process): the serial kernel
            serial(scores, first_index, best_v, best_i)
        else:
            numba.set_num_threads(n)
            parallel(scores, first_index, best_v, best_i)

    return merge
