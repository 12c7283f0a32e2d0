"""One block's exact top k: the unit rows, the screens, their error bounds, the certificate and
the float64 re-scoring.

:mod:`twigma.embeddings.neighbors` explains the method and is the module to call;
:mod:`twigma.embeddings.planner` chooses the :class:`Plan` (backend and precision) that
:func:`search_block` follows; :mod:`twigma.embeddings.cluster` runs :func:`search_block` shard by
shard, in this process or on Dask workers.
"""
import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from twigma.embeddings import candidates
from twigma.errors import UserError

BF16_UNIT_ROUNDOFF = 2.0 ** -8  # bfloat16 keeps 8 significant bits
F32_UNIT_ROUNDOFF = 2.0 ** -24


class NeighborsError(UserError, ValueError):
    """A search that cannot be made as asked (a backend that is not installed, bad arguments)."""


@dataclass
class Neighbors:
    """Top-k result: ``scores`` (n_queries, k) float32 in decreasing order, ``indices``
    (n_queries, k) int64 rows of the reference set (ties: the lower index first), the
    ``backend`` used and why it was chosen (``choice``), how many queries were recomputed in
    float64 over every reference (``n_rescored_exact``), and for sharded searches the number
    of shards and how many were read back from an interrupted run (``shards_reused``)."""

    scores: np.ndarray
    indices: np.ndarray
    backend: str
    n_rescored_exact: int = 0
    choice: str = ""
    n_shards: int = 1
    shards_reused: int = 0


@dataclass(frozen=True)
class Plan:
    """How a search runs: ``backend`` ("numpy" or "torch"), ``precision`` of the screen
    ("float32" or "bfloat16-screened"), torch ``device``, and why (``reason``)."""

    backend: str
    precision: str
    device: str
    reason: str

    def describe(self) -> str:
        blas = " BLAS" if self.backend == "numpy" else ""
        return f"{self.backend} {self.precision}{blas} on {self.device}"


def default_ref_batch(p: Plan) -> int:
    """References per product: 8192 for numpy (the running threshold needs several chunks), 65536 for torch."""
    return 8192 if p.backend == "numpy" else 65536


# -- the rows compared: unit rows in float32 ----------------------------------------------

def unit_rows(x: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Rows normalised in float64 and rounded to float32 (chunk by chunk; memory maps welcome).
    Each row's result depends on that row only."""
    n = len(x)
    out = np.empty((n, x.shape[1]), dtype=np.float32)
    for a in range(0, n, chunk):
        r = np.asarray(x[a:a + chunk], dtype=np.float64)
        norm = np.sqrt(np.einsum("ij,ij->i", r, r))
        if not np.all(norm > 0):
            bad = a + int(np.flatnonzero(~(norm > 0))[0])
            raise NeighborsError(f"row {bad} of the embeddings is zero or not finite: it has no direction to "
                                 "compare; remove it or embed the image again.")
        out[a:a + chunk] = r / norm[:, None]
    return out


# -- error bounds of the screens ------------------------------------------------------------

def float32_error_bound(dim: int, max_norm: float = 1.0) -> float:
    """Largest error of a float32 dot product of two float32 vectors of length ``dim`` and norm
    at most ``max_norm`` (accumulation only: the inputs are the float32 unit rows themselves):
    gamma_dim |x||y| with gamma_n = n u / (1 - n u) (Higham 2002, eq. 3.5)."""
    nu = dim * F32_UNIT_ROUNDOFF
    return float(nu / (1 - nu) * max_norm * max_norm)


def screening_error_bound(dim: int, max_norm: float = 1.0) -> float:
    """Largest difference between a bfloat16-screened dot product and the exact one, for
    vectors of length ``dim`` and norm at most ``max_norm`` (bfloat16's rounding of both inputs,
    float32 accumulation, bfloat16 rounding of the output)."""
    u = BF16_UNIT_ROUNDOFF
    scale = max_norm * max_norm
    inputs = (2 * u + u * u) * scale  # |sum x~y~ - xy| <= (2u + u^2) sum|x y| <= (2u + u^2)|x||y|
    accumulate = dim * F32_UNIT_ROUNDOFF * (1 + 2 * u) * scale
    output = u * (1 + 2 * u) * scale  # the product is written as bfloat16
    return float(inputs + accumulate + output)


# -- torch helpers ---------------------------------------------------------------------------

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
    float32 screen's bound assumes float32. Torch 2.9 and later are set through
    ``torch.backends.*.fp32_precision`` = "ieee" (mixing that API with the legacy ``allow_tf32``
    flags makes torch raise), older versions through ``allow_tf32`` and
    ``set_float32_matmul_precision("highest")``. Every setting is restored on the way out,
    exceptions included.
    """
    import torch

    matmul = torch.backends.cuda.matmul
    new_api = hasattr(matmul, "fp32_precision")
    bf16_reduction = matmul.allow_bf16_reduced_precision_reduction
    saved: Any  # by setting name with the new API, a tuple with the legacy one
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
    """The k best of two torch candidate lists (fewer when both together hold fewer than k)."""
    import torch

    if best_v is None:
        return v, i
    cat_v = torch.cat([best_v, v], dim=1)
    cat_i = torch.cat([best_i, i], dim=1)
    top_v, pos = torch.topk(cat_v, min(k, cat_v.shape[1]), dim=1)
    return top_v, torch.gather(cat_i, 1, pos)


# -- screens: the best `keep` candidates of each query by a fast product ---------------------

def _screen_numpy(q32: np.ndarray, refs32: np.ndarray, keep: int, ref_batch: int):
    """Candidates by float32 BLAS products: a running threshold per query (its weakest kept
    score) means a new chunk costs one comparison per score; only scores above it are merged."""
    b, n_refs = len(q32), len(refs32)
    best_v = np.full((b, keep), -np.inf, dtype=np.float32)
    best_i = np.full((b, keep), -1, dtype=np.int64)
    merge = candidates.merger()
    if merge is not None:  # one compiled pass per block, in parallel over the queries
        for r0 in range(0, n_refs, ref_batch):
            merge(q32 @ refs32[r0:r0 + ref_batch].T, r0, best_v, best_i)
        return best_v, best_i
    seen = 0
    for r0 in range(0, n_refs, ref_batch):
        s = q32 @ refs32[r0:r0 + ref_batch].T
        m = s.shape[1]
        if seen == 0 and m > keep:  # the first chunk: its best, straight from the scores
            pos = np.argpartition(-s, keep - 1, axis=1)[:, :keep]
            best_v = np.take_along_axis(s, pos, axis=1)
            best_i = pos.astype(np.int64) + r0
        elif seen < keep or m <= 2 * keep:  # small chunks: keep the best of everything so far
            cat_v = np.concatenate([best_v, s], axis=1)
            cat_i = np.concatenate([best_i, np.broadcast_to(np.arange(r0, r0 + m), (b, m))], axis=1)
            pos = np.argpartition(-cat_v, keep - 1, axis=1)[:, :keep]
            best_v = np.take_along_axis(cat_v, pos, axis=1)
            best_i = np.take_along_axis(cat_i, pos, axis=1)
        else:
            rows, cols = np.nonzero(s > best_v.min(axis=1)[:, None])
            if len(rows):
                u, inv, n_new = np.unique(rows, return_inverse=True, return_counts=True)
                v = np.concatenate([best_v[u].ravel(), s[rows, cols]])
                ii = np.concatenate([best_i[u].ravel(), cols.astype(np.int64) + r0])
                g = np.concatenate([np.repeat(np.arange(len(u)), keep), inv])
                order = np.lexsort((ii, -v, g))
                starts = np.concatenate([[0], np.cumsum(keep + n_new)[:-1]])
                take = order[(starts[:, None] + np.arange(keep)).ravel()]
                best_v[u] = v[take].reshape(-1, keep)
                best_i[u] = ii[take].reshape(-1, keep)
        seen += m
    return best_v, best_i


def screen_torch(q32: np.ndarray, refs_t, keep: int, ref_batch: int, dev, bf16: bool):
    """Candidates by torch products (float32 IEEE or bfloat16) with torch.topk."""
    import torch

    q = torch.as_tensor(q32, device=dev)
    if bf16:
        q = q.to(torch.bfloat16)
    cand_v = cand_i = None
    for r0 in range(0, refs_t.shape[0], ref_batch):
        s = q @ refs_t[r0:r0 + ref_batch].T
        v, i = torch.topk(s, min(keep, s.shape[1]), dim=1)
        cand_v, cand_i = _merge_topk(cand_v, cand_i, v.float(), i + r0, keep)
    assert cand_v is not None and cand_i is not None  # refs_t has rows: search_block took their max norm
    return cand_v.cpu().numpy(), cand_i.cpu().numpy().astype(np.int64)


# -- exact scores, order, certificate ---------------------------------------------------------

def _dot64(q32: np.ndarray, refs32: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Float64 dot products of each query row with its candidate rows ``idx`` (n, m): row by row,
    so a score does not depend on which block or shard the query was in."""
    out = np.empty(idx.shape, dtype=np.float64)
    step = max(1, 2 ** 23 // max(1, idx.shape[1] * q32.shape[1]))
    for a in range(0, len(q32), step):
        out[a:a + step] = np.einsum("qd,qkd->qk", q32[a:a + step].astype(np.float64),
                                    refs32[idx[a:a + step]].astype(np.float64))
    return out


def _ordered(exact: np.ndarray, idx: np.ndarray, k: int):
    """The k best of each row by higher score, then lower index."""
    order = np.lexsort((idx, -exact), axis=-1)[:, :k]
    return (np.take_along_axis(exact, order, axis=1).astype(np.float32),
            np.take_along_axis(idx, order, axis=1))


def _exact_float64(q32: np.ndarray, refs32: np.ndarray, keep: int, ref_batch: int):
    """Candidates of a few queries by float64 products over every reference."""
    q64 = q32.astype(np.float64)
    best_v = np.full((len(q32), 0), -np.inf)
    best_i = np.zeros((len(q32), 0), dtype=np.int64)
    for r0 in range(0, len(refs32), ref_batch):
        s = q64 @ refs32[r0:r0 + ref_batch].astype(np.float64).T
        cat_v = np.concatenate([best_v, s], axis=1)
        cat_i = np.concatenate([best_i, np.broadcast_to(np.arange(r0, r0 + s.shape[1]), s.shape)], axis=1)
        if cat_v.shape[1] > keep:
            pos = np.argpartition(-cat_v, keep - 1, axis=1)[:, :keep]
            cat_v, cat_i = np.take_along_axis(cat_v, pos, axis=1), np.take_along_axis(cat_i, pos, axis=1)
        best_v, best_i = cat_v, cat_i
    return best_i


def uncertified(cand_v: np.ndarray, k: int, eps: float) -> np.ndarray:
    """Queries whose candidates are not certified to hold their true top k (step 3 of
    :mod:`twigma.embeddings.neighbors`)."""
    kth = -np.partition(-cand_v, k - 1, axis=1)[:, k - 1]
    return np.flatnonzero(cand_v.min(axis=1) >= kth - 2 * eps)



def search_block(queries: np.ndarray, refs32: np.ndarray, k: int, p: Plan, *, query_batch: int = 4096,
                 ref_batch: int | None = None, extra: int | None = None, refs_t=None):
    """The exact top k of ``queries`` against float32 unit rows ``refs32`` (:func:`unit_rows`)
    in this process, with plan ``p``. Returns (scores, indices, n_rescored_exact)."""
    n_refs, dim = refs32.shape
    ref_batch = ref_batch or default_ref_batch(p)
    screened = p.precision == "bfloat16-screened"
    if extra is None:
        extra = 32 if screened else 8
    keep = min(k + extra, n_refs)
    ref_norm = float(np.sqrt(np.einsum("ij,ij->i", refs32, refs32, dtype=np.float64)).max())
    out_v = np.empty((len(queries), k), dtype=np.float32)
    out_i = np.empty((len(queries), k), dtype=np.int64)
    n_exact = 0
    ctx: contextlib.ExitStack | contextlib.nullcontext = contextlib.nullcontext()
    dev = None
    if p.backend == "torch":
        import torch

        dev = _device(p.device)
        if refs_t is None:
            refs_t = torch.as_tensor(refs32, device=dev)
            if screened:
                refs_t = refs_t.to(torch.bfloat16)
        ctx = contextlib.ExitStack()
        ctx.enter_context(ieee_float32())
        ctx.enter_context(torch.inference_mode())
    with ctx:
        for start in range(0, len(queries), query_batch):
            q32 = unit_rows(queries[start:start + query_batch])
            max_norm = max(ref_norm, float(np.sqrt(np.einsum("ij,ij->i", q32, q32, dtype=np.float64)).max()), 1.0)
            if p.backend == "numpy":
                cand_v, cand_i = _screen_numpy(q32, refs32, keep, ref_batch)
            else:
                cand_v, cand_i = screen_torch(q32, refs_t, keep, ref_batch, dev, screened)
            eps = screening_error_bound(dim, max_norm) if screened else float32_error_bound(dim, max_norm)
            v, i = _ordered(_dot64(q32, refs32, cand_i), cand_i, k)
            if keep < n_refs:
                unsure = uncertified(cand_v, k, eps)
                if len(unsure) and screened:  # again with the float32 screen, certified with its own bound
                    v32, i32 = _screen_numpy(q32[unsure], refs32, min(k + 8, n_refs), 8192)
                    ok = np.setdiff1d(np.arange(len(unsure)), uncertified(v32, k, float32_error_bound(dim, max_norm)))
                    v[unsure[ok]], i[unsure[ok]] = _ordered(_dot64(q32[unsure[ok]], refs32, i32[ok]), i32[ok], k)
                    unsure = np.delete(unsure, ok)
                if len(unsure):  # float64 over every reference
                    n_exact += len(unsure)
                    idx = _exact_float64(q32[unsure], refs32, keep, ref_batch)
                    v[unsure], i[unsure] = _ordered(_dot64(q32[unsure], refs32, idx), idx, k)
            out_v[start:start + len(q32)] = v
            out_i[start:start + len(q32)] = i
    return out_v, out_i, n_exact


