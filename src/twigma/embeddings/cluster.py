"""The image analyses on a Dask cluster: which cluster, sharded exact search, tree-reduced sums.

Which cluster
-------------
``SCHEDULER`` (make) / ``--scheduler`` (``twigma run-notebook``, ``twigma embed``) reaches the
package through one environment variable, :data:`ENV` (``TWIGMA_SCHEDULER``), read only by
:func:`setting`:

* empty: everything runs in this process, as without Dask;
* ``local:N``: a :class:`distributed.LocalCluster` of N worker processes (one thread each) is
  started on first use in this process and closed when the process ends;
* anything else: the address of a running scheduler (``tcp://host:8786``), as
  ``distributed.Client(address)`` takes it. Its workers need this package installed and, for
  ``twigma embed``, the same file system.

Inside a Dask worker :func:`client` is always ``None``: work sent to the cluster never sends
work on again.

What runs there
---------------
* :func:`topk_sharded`, behind :func:`twigma.embeddings.neighbors.topk_cosine` (notebooks 08,
  09): the queries (TWIGMA rows) cut into shards of ``shard_rows``; the reference set, as float32
  unit rows, sent once to every worker (``scatter(broadcast=True)``); each shard's exact top-k
  computed on a worker and written to disk (:func:`twigma.files.atomic_write`) as it arrives, so
  a killed run resumes without recomputing finished shards; a progress bar counts shards. The
  shards are put together in order. Without a cluster the same shards run one after another in
  this process (searches of more than ``shard_rows`` queries), resumable the same way.
* :func:`tree_sum`: a sum over row shards (the dispersion of notebook 07:
  :mod:`twigma.analysis.variability`), each shard on a worker, partial sums added pairwise in a
  fixed binary tree, so the order of additions does not depend on which worker finishes first.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from twigma.embeddings import kernel, planner
from twigma.errors import UserError
from twigma.files import atomic_write

#: The one environment variable that says which cluster to use (see the module docstring).
ENV = "TWIGMA_SCHEDULER"
#: Rows of X per task of :func:`tree_sum` (a multiple of variability's chunks of 65,536 rows).
SUM_ROWS = 262144
#: How long to wait for a scheduler's answer.
CONNECT_TIMEOUT = "20s"

log = logging.getLogger(__name__)


class SchedulerError(UserError, ValueError):
    """A SCHEDULER setting that cannot be used."""


def setting() -> str:
    """The cluster asked for: the value of ``$TWIGMA_SCHEDULER`` (empty: none)."""
    return os.environ.get(ENV, "").strip()


def parse(value: str) -> tuple[str, object] | None:
    """``None`` for "", ``("local", N)`` for "local:N", ``("address", value)`` otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    if value.startswith("local"):
        n = value.partition(":")[2]
        if not n.isdigit() or int(n) < 1:
            raise SchedulerError(f"SCHEDULER={value!r}: write local:N with N the number of worker processes "
                                 "(local:2), or give a running scheduler's address (tcp://host:8786).")
        return ("local", int(n))
    return ("address", value)


def in_worker() -> bool:
    """True when called from a task running on a Dask worker."""
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _start(value: str):
    """(client, local cluster or None) for a setting."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask[distributed] is in the environment
        raise SchedulerError(f"SCHEDULER={value!r} needs dask[distributed]: pip install 'dask[distributed]'") from exc
    parsed = parse(value)
    assert parsed is not None, "_start needs a setting"  # client() returns before it without one
    kind, arg = parsed
    if kind == "local":
        cluster = LocalCluster(n_workers=arg, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        return Client(cluster), cluster
    try:
        return Client(arg, timeout=CONNECT_TIMEOUT), None
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"SCHEDULER={value}: no Dask scheduler answered there ({exc}). Start one "
                             "(`dask scheduler`, then `dask worker <address>` on each machine), or use local:N.") from exc


_STATE: dict = {"setting": None, "client": None, "cluster": None}


def client():
    """The Dask client of :func:`setting` (started on first use, kept for the process), or
    ``None`` without a setting or inside a Dask worker."""
    value = setting()
    if not value or in_worker():
        return None
    if _STATE["setting"] == value and _STATE["client"] is not None and _STATE["client"].status == "running":
        return _STATE["client"]
    close()
    parse(value)  # a bad setting fails here, before anything starts
    _STATE["client"], _STATE["cluster"] = _start(value)
    _STATE["setting"] = value
    return _STATE["client"]


def close() -> None:
    """Close the client of :func:`client` and the local cluster it started, if any."""
    c, lc = _STATE["client"], _STATE["cluster"]
    _STATE.update(setting=None, client=None, cluster=None)
    with contextlib.suppress(Exception):
        if c is not None:
            c.close()
    with contextlib.suppress(Exception):
        if lc is not None:
            lc.close()


atexit.register(close)


@contextlib.contextmanager
def connect(value: str):
    """A client for ``value`` (an address or local:N) for the block; a local cluster started
    here is closed on the way out. (``twigma embed --scheduler``.)"""
    c, lc = _start(value)
    try:
        yield c
    finally:
        c.close()
        if lc is not None:
            lc.close()


def n_threads(c) -> int:
    """Worker threads of the cluster (at least 1)."""
    return max(1, sum(w.get("nthreads", 1) for w in c.scheduler_info(n_workers=-1)["workers"].values())) \
        if c is not None else 1


# -- sharded exact search ----------------------------------------------------------------------

def _shard_task(refs32: np.ndarray, queries: np.ndarray, k: int, p, kw: dict):
    """One shard's exact top k, on a worker or in this process: (scores, indices, n_exact, backend, reason).
    A worker without torch follows a torch plan with numpy (the same result)."""
    if p.backend == "torch" and not planner.torch_available():
        p = kernel.Plan("numpy", "float32", "cpu", f"torch is not installed on this worker (planned: {p.describe()})")
    v, i, n_exact = kernel.search_block(queries, refs32, k, p, **kw)
    return v, i, n_exact, p.describe(), p.reason


def _shard_path(work: Path, j: int) -> Path:
    return work / f"shard-{j:05d}.npz"


def _write_shard(work: Path, j: int, result) -> None:
    v, i, n_exact, backend, reason = result
    atomic_write(_shard_path(work, j), lambda tmp: np.savez(tmp, scores=v, indices=i, n_exact=np.int64(n_exact),
                                                             backend=np.str_(backend), reason=np.str_(reason)))


def _read_shard(work: Path, j: int, rows: int, k: int):
    """A finished shard, or None when it is missing or not what this search needs."""
    f = _shard_path(work, j)
    if not f.exists():
        return None
    try:
        with np.load(f) as z:
            out = (z["scores"], z["indices"], int(z["n_exact"]), str(z["backend"]), str(z["reason"]))
    except Exception:  # damaged: computed again
        return None
    return out if out[0].shape == (rows, k) == out[1].shape else None


def work_folder(queries, refs, k: int, shard_rows: int) -> Path:
    """Where the finished shards of a search are kept: under the cache folder, keyed by the content
    of ``queries`` and ``refs``, ``k``, ``shard_rows`` and the code of the search."""
    from twigma import cache, paths
    key = cache.key(topk_sharded, (queries, refs), {"k": k, "shard_rows": shard_rows},
                    code=[kernel, planner, sys.modules[__name__]])
    return paths.cache_root() / "shards" / f"topk-{key[:20]}"


def topk_sharded(queries: np.ndarray, refs: np.ndarray, k: int, p, *, refs32: np.ndarray | None = None,
                 client=None, shard_rows: int = 16384, work_dir: str | os.PathLike | None = None,
                 progress: bool | None = None, query_batch: int = 4096, ref_batch: int | None = None,
                 extra: int | None = None):
    """:func:`twigma.embeddings.neighbors.topk_cosine` shard by shard with plan ``p``
    (:func:`twigma.embeddings.neighbors.plan`, made once, here), see the module docstring.

    ``client`` None runs the shards in this process. Returns a ``Neighbors`` whose ``backend``
    names the backends the shards used and the cluster, ``n_shards`` and ``shards_reused``.
    """
    from tqdm.auto import tqdm

    n = len(queries)
    if shard_rows < 1:
        raise kernel.NeighborsError(f"shard_rows must be at least 1, not {shard_rows}")
    kw = dict(query_batch=query_batch, ref_batch=ref_batch, extra=extra)
    shards = [(j, a, min(a + shard_rows, n)) for j, a in enumerate(range(0, n, shard_rows))]
    work = Path(work_dir) if work_dir else work_folder(queries, refs, k, shard_rows)
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for j, a, b in shards:
        r = _read_shard(work, j, b - a, k)
        if r is not None:
            results[j] = r
    reused = len(results)
    pending = [s for s in shards if s[0] not in results]
    if progress is None:
        progress = len(shards) > 1 and sys.stderr.isatty()
    bar = tqdm(total=len(shards), initial=reused, unit="shard", desc=f"nearest neighbours ({shard_rows:,} queries "
               "per shard)", disable=not progress)
    if refs32 is None:
        refs32 = kernel.unit_rows(refs)
    if client is None:
        for j, a, b in pending:
            results[j] = _shard_task(refs32, np.asarray(queries[a:b]), k, p, kw)
            _write_shard(work, j, results[j])
            bar.update()
        where = "in this process"
    else:
        from distributed import as_completed

        refs_f = client.scatter(refs32, broadcast=True, hash=False)  # once to every worker
        window = 2 * n_threads(client)
        todo = list(pending)
        futures = {}

        def submit():
            j, a, b = todo.pop(0)
            q = client.scatter(np.asarray(queries[a:b]), hash=False)
            fut = client.submit(_shard_task, refs_f, q, k, p, kw, pure=False, key=f"topk-shard-{j}-{os.urandom(4).hex()}")
            futures[fut] = j
            return fut

        ac = as_completed([submit() for _ in range(min(window, len(todo)))])
        for fut in ac:
            j = futures.pop(fut)
            results[j] = fut.result()
            _write_shard(work, j, results[j])
            bar.update()
            fut.release()
            if todo:
                ac.add(submit())
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
        where = f"on a Dask cluster of {workers} worker{'s' * (workers != 1)} ({n_threads(client)} threads)"
    bar.close()
    ordered = [results[j] for j, _, _ in shards]
    scores = np.concatenate([r[0] for r in ordered]) if ordered else np.empty((0, k), np.float32)
    indices = np.concatenate([r[1] for r in ordered]) if ordered else np.empty((0, k), np.int64)
    backends = sorted({r[3] for r in ordered})
    reasons = sorted({r[4] for r in ordered})
    shutil.rmtree(work, ignore_errors=True)
    return kernel.Neighbors(scores, indices, f"{' + '.join(backends)}, {len(shards)} shard"
                                f"{'s' * (len(shards) != 1)} {where}", sum(r[2] for r in ordered),
                                choice="; ".join(reasons), n_shards=len(shards), shards_reused=reused)


# -- tree reduction ----------------------------------------------------------------------------

def _add(a, b):
    if isinstance(a, tuple):
        return tuple(_add(x, y) for x, y in zip(a, b))
    return a + b


def tree_sum(func, X: np.ndarray, *, split: dict | None = None, shard_rows: int | None = None, **kw):
    """``func(X[a:b], **split[a:b], **kw)`` summed over row shards of X, on the cluster of :func:`client`.

    ``split`` maps keyword names to ``(array, axis)``: those arrays are cut like X's rows along
    ``axis`` (e.g. bootstrap counts of shape (n_boot, n): axis 1). Results may be arrays, numbers
    or tuples of them (added element by element). The partial results are added pairwise in a
    fixed binary tree over the shards (shard 0 + 1, 2 + 3, ...), on the workers. Without a
    cluster the shards are summed in this process, in the same tree. When ``kw`` has a ``chunk``
    (func's own rows per step), shards hold whole chunks, so that func computes the same chunks
    as on all of X at once and only the float64 additions of the tree differ.
    """
    split = split or {}
    shard_rows = shard_rows or SUM_ROWS
    if kw.get("chunk"):  # whole chunks of func per shard: its products are the single-process ones
        shard_rows = max(1, shard_rows // kw["chunk"]) * kw["chunk"]
    n = len(X)
    bounds = [(a, min(a + shard_rows, n)) for a in range(0, n, shard_rows)] or [(0, 0)]
    c = client()

    def part(a, b):
        return {name: np.take(arr, np.arange(a, b), axis=axis) for name, (arr, axis) in split.items()}

    if c is None:
        level = [func(np.asarray(X[a:b]), **part(a, b), **kw) for a, b in bounds]
        while len(level) > 1:
            level = [_add(*level[i:i + 2]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
        return level[0]
    level = [c.submit(func, c.scatter(np.asarray(X[a:b]), hash=False), pure=False, **kw,
                      **{name: c.scatter(v, hash=False) for name, v in part(a, b).items()})
             for a, b in bounds]
    depth = 0
    while len(level) > 1:
        depth += 1
        level = [c.submit(_add, level[i], level[i + 1], pure=False) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    log.info("tree_sum: %d shards, %d levels", len(bounds), depth)
    return level[0].result()
