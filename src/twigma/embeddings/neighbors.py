"""Exact nearest neighbours by cosine similarity, in bounded memory.

One function, :func:`topk_cosine`, answers every similarity question of the compendium: the
maximum (k = 1) and mean top-10 similarity of each TWIGMA image to the natural set, and the
top-k artworks of chosen images. Rows are renormalised in float32 on the way in (the store's
float16 rows are unit only to about 1e-3), so scores are cosines computed in float32.

Backends
--------
``float32``
    Chunked matrix products in float32 (torch), keeping a running top-k; memory is bounded by
    the chunk sizes, not by n_queries x n_refs. With faiss installed, its exact
    ``IndexFlatIP`` is used instead (and the result says so).
``bfloat16-screened``
    Exact too, and about three times faster on CPUs with bfloat16 instructions (AVX512-BF16,
    AMX) or on GPUs. Each chunk is first scored in bfloat16; the best ``k + extra``
    candidates per query are then re-scored in float32. The screening error of one dot
    product of unit vectors is at most ``eps`` (:func:`screening_error_bound`: bfloat16's
    rounding of both inputs, float32 accumulation, bfloat16 rounding of the output). A
    query's result is certified exact when its weakest kept candidate scored more than
    ``2 * eps`` below its k-th best: then no discarded row can belong to the true top k
    (its true score is below the screened k-th best minus eps, and k kept rows are above
    it). Queries that cannot be certified are recomputed in float32. The fraction so
    recomputed is reported as ``n_rescored_exact``.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np

BF16_UNIT_ROUNDOFF = 2.0 ** -8  # bfloat16 keeps 8 significant bits
F32_UNIT_ROUNDOFF = 2.0 ** -24


@dataclass
class Neighbors:
    """Top-k result: ``scores`` (n_queries, k) float32 in decreasing order, ``indices``
    (n_queries, k) int64 rows of the reference set, the ``backend`` used, and how many queries
    the screened backend had to recompute in float32 (``n_rescored_exact``)."""

    scores: np.ndarray
    indices: np.ndarray
    backend: str
    n_rescored_exact: int = 0


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def fast_bfloat16(device: str | None = None) -> bool:
    """True on a CUDA GPU (when that is the device), or a CPU with bfloat16 dot-product instructions."""
    import torch

    if torch.cuda.is_available() and (device is None or str(device).startswith("cuda")):
        return True
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def screening_error_bound(dim: int, max_norm: float = 1.0) -> float:
    """Largest difference between a bfloat16-screened dot product and the exact one, for
    vectors of length ``dim`` and norm at most ``max_norm`` (see the module docstring)."""
    u = BF16_UNIT_ROUNDOFF
    scale = max_norm * max_norm
    inputs = (2 * u + u * u) * scale  # |sum x~y~ - xy| <= (2u + u^2) sum|x y| <= (2u + u^2)|x||y|
    accumulate = dim * F32_UNIT_ROUNDOFF * (1 + 2 * u) * scale
    output = u * (1 + 2 * u) * scale  # the product is written as bfloat16
    return float(inputs + accumulate + output)


def _device(device: str | None):
    import torch

    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


#: Where torch (2.9 and later) keeps the float32 precision of matrix products and convolutions.
FP32_PRECISION_SETTINGS = ("cuda.matmul", "cudnn.conv", "mkldnn.matmul")


def _backend(path: str):
    import torch

    obj = torch.backends
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@contextlib.contextmanager
def ieee_float32():
    """Float32 matrix products in IEEE float32 inside the block, whatever the global settings.

    TF32 (CUDA matmul and cuDNN) keeps 10 mantissa bits, and ``set_float32_matmul_precision``
    "high"/"medium" allows TF32 or bfloat16 for float32 products (oneDNN on CPUs too): the
    "exact" passes and the screened backend's certificate assume float32. Torch 2.9 and later
    are set through ``torch.backends.*.fp32_precision`` = "ieee" (mixing that API with the
    legacy ``allow_tf32`` flags makes torch raise), older versions through ``allow_tf32`` and
    ``set_float32_matmul_precision("highest")``. Every setting is restored on the way out,
    exceptions included.
    """
    import torch

    matmul = torch.backends.cuda.matmul
    new_api = hasattr(matmul, "fp32_precision")
    bf16_reduction = matmul.allow_bf16_reduced_precision_reduction
    if new_api:
        saved = {k: _backend(k).fp32_precision for k in FP32_PRECISION_SETTINGS}
    else:
        saved = (torch.get_float32_matmul_precision(), matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    try:
        matmul.allow_bf16_reduced_precision_reduction = False  # the bfloat16 screen's bound assumes float32 sums
        if new_api:
            for k in FP32_PRECISION_SETTINGS:
                _backend(k).fp32_precision = "ieee"
        else:
            torch.set_float32_matmul_precision("highest")
            matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        yield
    finally:
        if new_api:
            for k in reversed(FP32_PRECISION_SETTINGS):
                _backend(k).fp32_precision = saved[k]
        else:
            torch.set_float32_matmul_precision(saved[0])
            matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[1:]
        matmul.allow_bf16_reduced_precision_reduction = bf16_reduction


def _merge_topk(best_v, best_i, v, i, k):
    """The k best of two candidate lists (fewer when both together hold fewer than k)."""
    import torch

    if best_v is None:
        return v, i
    cat_v = torch.cat([best_v, v], dim=1)
    cat_i = torch.cat([best_i, i], dim=1)
    top_v, pos = torch.topk(cat_v, min(k, cat_v.shape[1]), dim=1)
    return top_v, torch.gather(cat_i, 1, pos)


def _exact_chunk(q32, refs32, k, ref_batch):
    import torch

    best_v = best_i = None
    for start in range(0, refs32.shape[0], ref_batch):
        s = q32 @ refs32[start:start + ref_batch].T
        v, i = torch.topk(s, min(k, s.shape[1]), dim=1)
        best_v, best_i = _merge_topk(best_v, best_i, v, i + start, k)
    return best_v, best_i


def topk_cosine(queries: np.ndarray, refs: np.ndarray, k: int = 1, *, precision: str = "auto",
                query_batch: int = 4096, ref_batch: int = 65536, extra: int = 32,
                device: str | None = None, progress: bool = False) -> Neighbors:
    """The k most similar reference rows of every query row, exactly.

    Parameters
    ----------
    queries : array of shape (n_queries, d), unit rows (float16 or float32; memory maps welcome)
    refs : array of shape (n_refs, d), unit rows
    k : int, neighbours per query (at most n_refs)
    precision : {"auto", "float32", "bfloat16-screened"}
        "auto" screens in bfloat16 where the hardware makes it fast, else float32.
    query_batch, ref_batch : int
        Chunk sizes; peak extra memory is about query_batch x ref_batch x 4 bytes plus the
        reference set in float32 (and bfloat16 when screening).
    extra : int, candidates kept beyond k when screening.
    device : str, optional torch device ("cpu", "cuda"); default CUDA when available.
    progress : bool, show a progress bar over query chunks.

    Returns
    -------
    Neighbors
    """
    import torch

    n_refs = len(refs)
    if not 1 <= k <= n_refs:
        raise ValueError(f"k must be between 1 and the number of references ({n_refs}), not {k}")
    if queries.shape[1] != refs.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} dimensions but references {refs.shape[1]}")
    if precision == "auto":
        precision = "bfloat16-screened" if fast_bfloat16(device) else "float32"
    if precision not in ("float32", "bfloat16-screened"):
        raise ValueError(f"unknown precision {precision!r}")

    if precision == "float32" and faiss_available() and (device in (None, "cpu")):
        import faiss

        def unit(x):
            x = np.ascontiguousarray(x, dtype=np.float32)
            return x / np.linalg.norm(x, axis=1, keepdims=True)

        index = faiss.IndexFlatIP(refs.shape[1])
        index.add(unit(refs))
        scores, idx = [], []
        for start in range(0, len(queries), query_batch):
            s, i = index.search(unit(queries[start:start + query_batch]), k)
            scores.append(s)
            idx.append(i)
        return Neighbors(np.vstack(scores).astype(np.float32), np.vstack(idx).astype(np.int64), "faiss IndexFlatIP")

    dev = _device(device)
    # rows stored as float16 are unit only to about 1e-3: renormalise so scores are true cosines
    refs32 = torch.nn.functional.normalize(torch.as_tensor(np.asarray(refs, dtype=np.float32), device=dev), dim=1)
    screened = precision == "bfloat16-screened"
    if screened:
        refs16 = refs32.to(torch.bfloat16)
        ref_norm = float(torch.linalg.vector_norm(refs32, dim=1).max())
        keep = min(k + extra, n_refs)
    out_v = np.empty((len(queries), k), dtype=np.float32)
    out_i = np.empty((len(queries), k), dtype=np.int64)
    n_exact = 0
    starts = range(0, len(queries), query_batch)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc="nearest neighbours", unit="chunk")
    with ieee_float32(), torch.inference_mode():
        for start in starts:
            q32 = torch.nn.functional.normalize(
                torch.as_tensor(np.asarray(queries[start:start + query_batch], dtype=np.float32), device=dev), dim=1)
            if not screened:
                v, i = _exact_chunk(q32, refs32, k, ref_batch)
            else:
                # the bound for the longest rows involved (unit rows stored as float16 are within 1e-3 of 1)
                max_norm = max(ref_norm, float(torch.linalg.vector_norm(q32, dim=1).max()), 1.0)
                eps = screening_error_bound(refs.shape[1], max_norm)
                q16 = q32.to(torch.bfloat16)
                cand_v = cand_i = None
                for r0 in range(0, n_refs, ref_batch):
                    s = q16 @ refs16[r0:r0 + ref_batch].T
                    v, i = torch.topk(s, min(keep, s.shape[1]), dim=1)
                    cand_v, cand_i = _merge_topk(cand_v, cand_i, v.float(), i + r0, keep)
                # exact scores of the candidates, in slices to bound the gathered rows' memory
                exact = torch.empty_like(cand_v)
                step = max(1, 2 ** 26 // (keep * refs32.shape[1]))
                for a in range(0, len(q32), step):
                    exact[a:a + step] = torch.einsum("qd,qkd->qk", q32[a:a + step], refs32[cand_i[a:a + step]])
                v, pos = torch.topk(exact, k, dim=1)
                i = torch.gather(cand_i, 1, pos)
                if keep < n_refs:
                    kth = cand_v[:, k - 1]
                    weakest = cand_v[:, -1]
                    unsure = torch.nonzero(weakest >= kth - 2 * eps).flatten()
                    if len(unsure):
                        n_exact += int(len(unsure))
                        ev, ei = _exact_chunk(q32[unsure], refs32, k, ref_batch)
                        v[unsure], i[unsure] = ev, ei
            out_v[start:start + len(q32)] = v.cpu().numpy()
            out_i[start:start + len(q32)] = i.cpu().numpy()
    backend = f"torch {precision} on {dev.type}"
    return Neighbors(out_v, out_i, backend, n_exact)


#: Distributions whose versions key cached neighbour searches (read from metadata, not imported).
LIBRARIES = ("torch", "numpy", "faiss-cpu", "faiss-gpu")


def cached_topk_cosine(queries: np.ndarray, refs: np.ndarray, k: int = 1, **kw) -> Neighbors:
    """:func:`topk_cosine` kept in :mod:`twigma.cache`: computed once per content of
    ``queries`` and ``refs``, ``k``, the other keyword arguments (``precision``...), the
    versions of :data:`LIBRARIES` and the source of this module; read back on a rerun.

    ``precision="auto"`` is keyed as given: every backend is exact, so a cache written on a
    machine that screened in bfloat16 holds the same neighbours (scores within float32 rounding).
    """
    import sys

    from twigma import cache

    return cache.call(topk_cosine, (queries, refs), {"k": k, **kw}, code=[sys.modules[__name__]],
                      versions=cache.package_versions(*LIBRARIES))


def set_threads(n: int | None = None) -> int:
    """Use ``n`` CPU threads in torch (default: all cores); returns the number set."""
    import torch

    n = n or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n
