"""Exact nearest neighbours by cosine similarity, in bounded memory, in one process or on a Dask cluster.

One function, :func:`topk_cosine`, answers every similarity question of the compendium: the
maximum (k = 1) and mean top-10 similarity of each TWIGMA image to the natural set, and the
top-k artworks of chosen images.

How a search is computed
------------------------
1. **Unit rows.** Every row is normalised in float64 and rounded to float32 (the store's
   float16 rows are unit only to about 1e-3). The score of a pair is defined as the dot product
   of these float32 unit rows, computed in float64: a cosine to float32 rounding.
2. **Screen.** A fast matrix product (float32, or bfloat16 with torch where the hardware has
   it) scores every pair; the ``k + extra`` best candidates of each query are kept. The error
   of one screened product is at most ``eps`` (:func:`float32_error_bound`,
   :func:`screening_error_bound`).
3. **Certify and re-score.** A query's candidates surely hold its true top k when its k-th
   best screened score lies more than ``2 * eps`` above its weakest kept one (a discarded row
   scores at most the weakest plus eps; k kept rows score at least the k-th minus eps). The
   candidates are re-scored in float64, row by row, and ordered by **higher score, then lower
   reference index** (ties broken the same way everywhere). Queries that cannot be certified
   are searched again over every reference in float64 (``n_rescored_exact`` counts them).

So the neighbour indices and scores do not depend on the backend, the precision of the
screen, the chunk sizes, the shards or the number of workers: numpy and torch, one process and
a cluster give the same arrays.

Backends (``backend=``, ``precision=``)
---------------------------------------
``numpy``
    float32 matrix products in numpy's BLAS (OpenBLAS), with a running per-query threshold so
    that keeping the best candidates costs a comparison per score. Needs nothing but numpy:
    the search works without torch.
``torch``
    float32 (IEEE, never TF32) or bfloat16-screened products in torch, on the CPU or a CUDA GPU.
``auto``
    CUDA when torch sees a GPU (bfloat16 screen); otherwise, for a search large enough to
    matter (>= 1e12 flop), the fastest of numpy float32, torch float32 and (only on CPUs with
    bfloat16 instructions) torch bfloat16, from a short measurement of each on this machine
    (:func:`machine_rates`, once per process); smaller searches use numpy float32. The choice
    and its reason are reported (``Neighbors.backend``, ``Neighbors.choice``).

Scale
-----
Searches of more than ``shard_rows`` queries, and every search while a Dask cluster is set
(``SCHEDULER``, see :mod:`twigma.embeddings.cluster`), run shard by shard: finished shards are
written to disk and a killed run resumes without recomputing them.
"""
from __future__ import annotations

import os

import numpy as np

from twigma.embeddings.kernel import (
    Neighbors,
    NeighborsError,
    Plan,
    float32_error_bound,
    ieee_float32,
    screening_error_bound,
    search_block,
    unit_rows,
)
from twigma.embeddings.planner import MEASURE_ABOVE_FLOP, cpu_has_bfloat16, machine_rates, plan, torch_available

#: Queries per shard when a search is sharded (a resumable unit of work).
SHARD_ROWS = 16384

#: The kernel's and the planner's names, re-exported: callers and tests use them through this module.
__all__ = ["MEASURE_ABOVE_FLOP", "SHARD_ROWS", "Neighbors", "NeighborsError", "Plan", "cached_topk_cosine",
           "cpu_has_bfloat16", "float32_error_bound", "ieee_float32", "machine_rates", "plan",
           "screening_error_bound", "search_block", "set_threads", "topk_cosine", "torch_available", "unit_rows"]


def topk_cosine(queries: np.ndarray, refs: np.ndarray, k: int = 1, *, precision: str = "auto",
                backend: str = "auto", query_batch: int = 4096, ref_batch: int | None = None,
                extra: int | None = None, device: str | None = None, progress: bool | None = None,
                shard_rows: int = SHARD_ROWS, work_dir: str | os.PathLike | None = None) -> Neighbors:
    """The k most similar reference rows of every query row, exactly.

    Parameters
    ----------
    queries : array of shape (n_queries, d), unit rows (float16 or float32; memory maps welcome)
    refs : array of shape (n_refs, d), unit rows
    k : int, neighbours per query (at most n_refs)
    precision : {"auto", "float32", "bfloat16-screened"}, the arithmetic of the screen (every
        choice gives the same result, see the module docstring)
    backend : {"auto", "numpy", "torch"}
    query_batch, ref_batch : int
        Chunk sizes; peak extra memory is about query_batch x ref_batch x 4 bytes plus the
        reference set in float32 (and bfloat16 when screening).
    extra : int, candidates kept beyond k (default 8 for the float32 screen, 32 for bfloat16).
    device : str, optional torch device ("cpu", "cuda"); default CUDA when torch sees one.
    progress : bool, a progress bar per shard (default: when sharded and stderr is a terminal).
    shard_rows : int, queries per shard; searches with more queries, and every search on a Dask
        cluster (``SCHEDULER``), run in resumable shards (:mod:`twigma.embeddings.cluster`).
    work_dir : folder of the finished shards (default: under the cache folder, by content).

    Returns
    -------
    Neighbors
    """
    from twigma.embeddings import cluster

    n_refs = len(refs)
    if not 1 <= k <= n_refs:
        raise NeighborsError(f"k must be between 1 and the number of references ({n_refs}), not {k}")
    if queries.ndim != 2 or queries.shape[1] != refs.shape[1]:
        raise NeighborsError(f"queries have {queries.shape[1:]} dimensions but references {refs.shape[1]}")
    refs32 = unit_rows(refs)
    pilot = None
    if backend == "auto" and precision == "auto" and len(queries) and torch_available() and cpu_has_bfloat16() \
            and 2.0 * len(queries) * n_refs * refs.shape[1] >= MEASURE_ABOVE_FLOP:
        rows = np.linspace(0, len(queries) - 1, min(256, len(queries))).astype(np.int64)  # spread over the set
        pilot = (unit_rows(np.asarray(queries[rows])), refs32)
    p = plan(len(queries), n_refs, refs.shape[1], backend=backend, precision=precision, device=device, k=k,
             extra=extra, pilot=pilot)
    client = cluster.client()
    if client is not None or len(queries) > shard_rows:
        return cluster.topk_sharded(queries, refs, k, p, refs32=refs32, client=client, shard_rows=shard_rows,
                                    work_dir=work_dir, progress=progress, query_batch=query_batch,
                                    ref_batch=ref_batch, extra=extra)
    v, i, n_exact = search_block(queries, refs32, k, p, query_batch=query_batch, ref_batch=ref_batch, extra=extra)
    return Neighbors(v, i, p.describe(), n_exact, choice=p.reason)


#: Distributions whose versions key cached neighbour searches (read from metadata, not imported).
LIBRARIES = ("torch", "numpy")


def cached_topk_cosine(queries: np.ndarray, refs: np.ndarray, k: int = 1, **kw) -> Neighbors:
    """:func:`topk_cosine` kept in :mod:`twigma.cache`: computed once per content of
    ``queries`` and ``refs``, ``k``, the other keyword arguments (``precision``...), the
    versions of :data:`LIBRARIES` and the source of this module; read back on a rerun.

    ``precision="auto"`` is keyed as given: every backend gives the same neighbours and scores,
    so a cache written on another machine, or on a cluster, holds the same result.
    """
    import sys

    from twigma import cache
    from twigma.embeddings import cluster, kernel, planner

    return cache.call(topk_cosine, (queries, refs), {"k": k, **kw},
                      code=[sys.modules[__name__], kernel, planner, cluster],
                      versions=cache.package_versions(*LIBRARIES))


def set_threads(n: int | None = None) -> int:
    """Use ``n`` CPU threads in torch, when installed (default: all cores); returns the number set."""
    n = n or os.cpu_count() or 1
    if torch_available():
        import torch

        torch.set_num_threads(n)
    return n
