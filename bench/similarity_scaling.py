"""Exact similarity search: this machine's matrix-product rates, the search's achieved rate per
backend, and the search on a Dask LocalCluster of 1 and N workers (issue 19, points 2-3).

In one run, on the same synthetic embeddings (768-d, float16 queries as the store holds them,
built around shared "concepts" so that neighbourhoods look like CLIP's):

1. matrix-product GFLOPS of numpy float32 (BLAS), torch float32 and, on CPUs with bfloat16
   instructions, torch bfloat16 (:func:`twigma.embeddings.neighbors.machine_rates`), side by side;
2. the search ``topk_cosine(queries, refs, k)`` in one process with each backend, and with
   ``auto``: seconds, achieved GFLOPS (2 n_queries n_refs d / seconds), share of the best float32
   matrix-product rate, and whether every backend gave the same arrays;
3. the same search (numpy float32 on every worker) on a ``LocalCluster`` of 1 worker and of
   ``--workers`` workers, one thread each (Dask sets BLAS to one thread per worker): seconds,
   speed-up, scaling efficiency t1 / (N tN), equality with the one-process arrays.

Every figure is given twice: per second of wall-clock time, and per CPU-second (user + system time of
the processes doing the work: this process, or the Dask workers). On a shared machine the wall-clock
figures move with the load (recorded before and after); the CPU-time ones much less, so the search's
share of the matrix-product rate and the cluster's overhead are read from them.

Run: ``.venv/bin/python bench/similarity_scaling.py`` (about 3 minutes on 2 cores at the default
16,384 x 50,000 x 768); ``--n-queries 800000`` is the paper's scale (about 2 x 10^14 flop per
worker count: an hour or more on two cores).
Results: ``bench/out/similarity_scaling.json`` and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time

import numpy as np
from _common import WORK

from twigma.embeddings import neighbors


def embeddings(n: int, concepts: np.ndarray, rng, noise: float = 1.2) -> np.ndarray:
    x = concepts[rng.integers(0, len(concepts), n)] + noise * rng.standard_normal((n, concepts.shape[1]),
                                                                                   dtype=np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)


def cpu_seconds(pid: int | None = None) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def timed(f):
    """(result, wall seconds, CPU seconds of this process)."""
    t, c = time.perf_counter(), cpu_seconds()
    out = f()
    return out, time.perf_counter() - t, cpu_seconds() - c


def matmul_rates(d: int, n: int = 4096, m: int = 8192, repeats: int = 3) -> dict:
    """GFLOPS per wall second and per CPU-second of an (n x d) @ (d x m) product, best of ``repeats``."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, d), dtype=np.float32), rng.standard_normal((m, d), dtype=np.float32)
    flop = 2.0 * n * m * d
    products = {"numpy float32": lambda: a @ b.T}
    if neighbors.torch_available():
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        products["torch float32"] = lambda: ta @ tb.T
        if neighbors.cpu_has_bfloat16():
            ha, hb = ta.bfloat16(), tb.bfloat16()
            products["torch bfloat16"] = lambda: ha @ hb.T
    out = {}
    with neighbors.ieee_float32() if neighbors.torch_available() else contextlib.nullcontext():
        for name, f in products.items():
            f()
            runs = [timed(f)[1:] for _ in range(repeats)]
            out[name] = {"gflops_wall": round(flop / min(w for w, _ in runs) / 1e9, 1),
                         "gflops_per_cpu_second": round(flop / min(c for _, c in runs) / 1e9, 1)}
    return out


def same(a, b) -> bool:
    return bool(np.array_equal(a.indices, b.indices) and np.array_equal(a.scores, b.scores))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-queries", type=int, default=16384)
    ap.add_argument("--n-refs", type=int, default=50000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shard-rows", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backends", default="",
                    help="one-process searches to run, e.g. numpy:float32,auto:auto (default: every backend this "
                         "machine has, then auto); the first is the reference the others and the cluster must equal")
    ap.add_argument("--cluster-sizes", default="",
                    help="LocalCluster sizes, e.g. 2 (default: 1 and --workers); speed-up and efficiency need 1")
    a = ap.parse_args()

    rng = np.random.default_rng(a.seed)
    concepts = rng.standard_normal((500, a.dim), dtype=np.float32)
    Q, R = embeddings(a.n_queries, concepts, rng), embeddings(a.n_refs, concepts, rng)
    flop = 2.0 * a.n_queries * a.n_refs * a.dim
    out = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "bfloat16": neighbors.cpu_has_bfloat16(), "torch": neighbors.torch_available(),
                       "load_before": os.getloadavg()},
           "size": {"n_queries": a.n_queries, "n_refs": a.n_refs, "dim": a.dim, "k": a.k, "flop": flop}}

    rates = matmul_rates(a.dim)
    out["matmul"] = rates
    best32 = max(v["gflops_wall"] for name, v in rates.items() if "float32" in name)
    best32_cpu = max(v["gflops_per_cpu_second"] for name, v in rates.items() if "float32" in name)

    runs = {}
    options = [("numpy", "float32")]
    if neighbors.torch_available():
        options += [("torch", "float32")] + ([("torch", "bfloat16-screened")] if neighbors.cpu_has_bfloat16() else [])
    options += [("auto", "auto")]
    if a.backends:
        options = [tuple(o.split(":", 1)) for o in a.backends.split(",")]
    rows = []
    for backend, precision in options:
        got, t, cpu = timed(lambda b=backend, p=precision: neighbors.topk_cosine(Q, R, a.k, backend=b, precision=p,
                                                          shard_rows=a.n_queries))
        runs[backend, precision] = got
        rows.append({"backend": backend, "precision": precision, "used": got.backend, "choice": got.choice,
                     "seconds": round(t, 2), "gflops": round(flop / t / 1e9, 1),
                     "share_of_best_float32_matmul": round(flop / t / 1e9 / best32, 3),
                     "cpu_seconds": round(cpu, 2), "gflops_per_cpu_second": round(flop / cpu / 1e9, 1),
                     "share_of_best_float32_matmul_cpu": round(flop / cpu / 1e9 / best32_cpu, 3),
                     "queries_recomputed_in_float64": got.n_rescored_exact})
    first = runs[options[0]]
    out["one_process"] = rows
    out["one_process_same_arrays"] = all(same(first, g) for g in runs.values())

    from distributed import Client, LocalCluster

    from twigma.embeddings import cluster

    dask_rows = []
    sizes = sorted({int(n) for n in a.cluster_sizes.split(",")}) if a.cluster_sizes else sorted({1, a.workers})
    for n in sizes:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
                Client(lc) as c:
            before = sum(c.run(cpu_seconds).values())  # workers up, and their CPU time so far
            got, t, own = timed(lambda n=n: cluster.topk_sharded(Q, R, a.k, neighbors.Plan("numpy", "float32", "cpu", "bench"),
                                                             client=c, shard_rows=a.shard_rows,
                                                             work_dir=WORK / f"similarity_shards_{n}"))
            workers_cpu = sum(c.run(cpu_seconds).values()) - before
        dask_rows.append({"workers": n, "seconds": round(t, 2), "gflops": round(flop / t / 1e9, 1),
                          "cpu_seconds_workers": round(workers_cpu, 2), "cpu_seconds_client": round(own, 2),
                          "gflops_per_cpu_second": round(flop / (workers_cpu + own) / 1e9, 1),
                          "same_arrays_as_one_process": same(first, got), "shards": got.n_shards})
    t1, c1 = dask_rows[0]["seconds"], dask_rows[0]["cpu_seconds_workers"] + dask_rows[0]["cpu_seconds_client"]
    for r in dask_rows if sizes[0] == 1 else []:  # speed-up and efficiency are against 1 worker
        r["speedup"] = round(t1 / r["seconds"], 2)
        r["efficiency"] = round(t1 / (r["workers"] * r["seconds"]), 2)
        # CPU-time efficiency: the 1-worker run's CPU-seconds over this run's (1 = no overhead from more workers)
        r["cpu_efficiency"] = round(c1 / (r["cpu_seconds_workers"] + r["cpu_seconds_client"]), 2)
    out["dask_localcluster"] = dask_rows
    out["dask_vs_one_process_numpy"] = round(rows[0]["seconds"] / dask_rows[-1]["seconds"], 2)
    out["dask_vs_one_process_numpy_cpu"] = round(rows[0]["cpu_seconds"] / (dask_rows[-1]["cpu_seconds_workers"]
                                                                          + dask_rows[-1]["cpu_seconds_client"]), 2)
    out["machine"]["load_after"] = os.getloadavg()

    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "similarity_scaling.json").write_text(json.dumps(out, indent=2))
    print(f"## {a.n_queries:,} x {a.n_refs:,} x {a.dim}, k = {a.k} ({flop:.2e} flop); load "
          f"{out['machine']['load_before'][0]:.1f} -> {out['machine']['load_after'][0]:.1f} on {os.cpu_count()} cores\n")
    print("| matrix product | GFLOPS (wall) | GFLOPS per CPU-second |\n|---|---|---|")
    for name, v in rates.items():
        print(f"| {name} | {v['gflops_wall']} | {v['gflops_per_cpu_second']} |")
    print("\n| backend | used | s | GFLOPS | of best float32 matmul | CPU s | GFLOPS per CPU-s | of best per CPU-s |"
          " recomputed |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} {r['precision']} | {r['used']} | {r['seconds']} | {r['gflops']} | "
              f"{r['share_of_best_float32_matmul']:.0%} | {r['cpu_seconds']} | {r['gflops_per_cpu_second']} | "
              f"{r['share_of_best_float32_matmul_cpu']:.0%} | {r['queries_recomputed_in_float64']} |")
    auto = next((r["choice"] for r in rows if r["backend"] == "auto"), None)
    print(f"\nsame arrays across backends: {out['one_process_same_arrays']}" + (f"; auto: {auto}" if auto else "") + "\n")
    print("| LocalCluster workers | s | GFLOPS | speed-up | efficiency | CPU s (workers + client) | "
          "GFLOPS per CPU-s | CPU efficiency | same arrays |\n|---|---|---|---|---|---|---|---|---|")
    for r in dask_rows:
        print(f"| {r['workers']} | {r['seconds']} | {r['gflops']} | {r.get('speedup', '-')} | {r.get('efficiency', '-')} | "
              f"{r['cpu_seconds_workers']} + {r['cpu_seconds_client']} | {r['gflops_per_cpu_second']} | "
              f"{r.get('cpu_efficiency', '-')} | {r['same_arrays_as_one_process']} |")
    print(f"\none process ({rows[0]['backend']} {rows[0]['precision']}, all cores) / {dask_rows[-1]['workers']} workers: wall {out['dask_vs_one_process_numpy']}, "
          f"CPU-seconds {out['dask_vs_one_process_numpy_cpu']}")


if __name__ == "__main__":
    main()
