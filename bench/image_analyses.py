"""Benchmark of the image analyses at the paper's scale (issue 3, item 7).

Synthetic unit embeddings (768-d, float16, memory-mapped as the store holds them):
800,000 TWIGMA x 50,000 natural x 50,000 art, built around shared "concepts" so that
neighbourhoods look like CLIP's (a few close neighbours, many far ones). Timed, in one
process whose peak memory is sampled:

1. dispersion of each of the three sets (exact formula, :mod:`twigma.analysis.variability`);
2. maximum similarity of every TWIGMA image to the natural set (k = 1, exact);
3. the top-5 artworks of 1,000 TWIGMA images (exact).

Then side-by-side on subsets both can handle: scikit-learn's NearestNeighbors (brute,
cosine) against :func:`twigma.embeddings.neighbors.topk_cosine`, and scipy's pdist (cosine) against
the dispersion formula, checking that the answers agree.

Run: ``.venv/bin/python bench/image_analyses.py`` (about 10 minutes with data generation).
Results: ``bench/out/image_analyses.json`` and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from twigma.analysis.variability import dispersion  # noqa: E402
from twigma.embeddings.neighbors import set_threads, topk_cosine  # noqa: E402


def make_set(path: Path, n: int, concepts: np.ndarray, noise: float, shift: np.ndarray, seed: int) -> None:
    """Write n unit rows around random concepts (+ a set-wide shift) as float16 .npy, in chunks."""
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    d = concepts.shape[1]
    out = np.lib.format.open_memmap(path.with_suffix(".tmp.npy"), mode="w+", dtype=np.float16, shape=(n, d))
    for s in range(0, n, 50_000):
        m = min(50_000, n - s)
        x = concepts[rng.integers(0, len(concepts), m)] + shift + noise * rng.normal(size=(m, d)).astype(np.float32) / np.sqrt(d)
        out[s:s + m] = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)
    out.flush()
    del out
    os.replace(path.with_suffix(".tmp.npy"), path)


class PeakMemory:
    def __init__(self):
        self.proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()

    def __enter__(self):
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.05)

    def __exit__(self, *exc):
        self._stop.set()
        self.t.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-twigma", type=int, default=800_000)
    ap.add_argument("--n-ref", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--precision", default="auto", help="auto, float32 or bfloat16-screened")
    ap.add_argument("--skip-comparison", action="store_true")
    a = ap.parse_args()
    threads = set_threads()
    work = ROOT / "bench" / "out" / "image_analyses"
    work.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(0)
    concepts = rng.normal(size=(2000, a.dim)).astype(np.float32)
    concepts /= np.linalg.norm(concepts, axis=1, keepdims=True)
    style = lambda s: (np.random.default_rng(s).normal(size=a.dim) / np.sqrt(a.dim)).astype(np.float32)  # noqa: E731
    t = time.perf_counter()
    files = {"twigma": work / f"twigma_{a.n_twigma}.npy", "natural": work / f"natural_{a.n_ref}.npy",
             "art": work / f"art_{a.n_ref}.npy"}
    make_set(files["twigma"], a.n_twigma, concepts[:1500], 0.9, 0.6 * style(1), 1)
    make_set(files["natural"], a.n_ref, concepts, 1.1, 0.3 * style(2), 2)
    make_set(files["art"], a.n_ref, concepts[500:], 1.2, 0.5 * style(3), 3)
    print(f"data ready in {time.perf_counter() - t:.0f} s", flush=True)
    X = {k: np.load(v, mmap_mode="r") for k, v in files.items()}

    timings = {}
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        disp = {k: dispersion(v) for k, v in X.items()}
        timings["dispersion_3_sets_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        nb = topk_cosine(X["twigma"], X["natural"], k=1, precision=a.precision, progress=True)
        timings["max_similarity_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pick = np.sort(np.random.default_rng(1).choice(a.n_twigma, 1000, replace=False))
        topk_cosine(np.asarray(X["twigma"][pick]), X["art"], k=5, precision="float32")  # timed, not kept
        timings["top5_art_of_1000_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - t0
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
                   f"torch threads {threads}",
        "n_twigma": a.n_twigma, "n_natural": a.n_ref, "n_art": a.n_ref, "dim": a.dim,
        "backend_max_similarity": nb.backend, "queries_recomputed_in_float32": nb.n_rescored_exact,
        "dispersion": {k: round(v, 5) for k, v in disp.items()},
        **{k: round(v, 1) for k, v in timings.items()},
        "peak_rss_gib": round(mem.peak / 2**30, 2),
        "flops_max_similarity": 2.0 * a.n_twigma * a.n_ref * a.dim,
    }

    if not a.skip_comparison:
        from scipy.spatial.distance import pdist
        from sklearn.neighbors import NearestNeighbors

        nq = 20_000
        Q = np.asarray(X["twigma"][:nq], dtype=np.float32)
        R = np.asarray(X["natural"], dtype=np.float32)
        t = time.perf_counter()
        d, i = NearestNeighbors(n_neighbors=1, algorithm="brute", metric="cosine", n_jobs=-1).fit(R).kneighbors(Q)
        t_sk = time.perf_counter() - t
        t = time.perf_counter()
        ours = topk_cosine(Q, R, k=1, precision=a.precision)
        t_ours = time.perf_counter() - t
        agree = float(np.mean(ours.indices[:, 0] == i[:, 0]))
        score_gap = float(np.abs(ours.scores[:, 0] - (1 - d[:, 0])).max())
        m = 5_000
        S = np.asarray(X["twigma"][:m], dtype=np.float64)
        t = time.perf_counter()
        ref_disp = pdist(S, "cosine").mean()
        t_pdist = time.perf_counter() - t
        t = time.perf_counter()
        our_disp = dispersion(S)
        t_disp = time.perf_counter() - t
        result["comparison"] = {
            "max_similarity_queries": nq, "sklearn_brute_cosine_s": round(t_sk, 2), "ours_s": round(t_ours, 2),
            "speedup_vs_sklearn": round(t_sk / t_ours, 1), "same_neighbour_share": agree,
            "max_score_difference": score_gap,
            "dispersion_rows": m, "scipy_pdist_s": round(t_pdist, 3), "ours_dispersion_s": round(t_disp, 4),
            "speedup_vs_pdist": round(t_pdist / t_disp, 0), "dispersion_difference": abs(ref_disp - our_disp),
        }
    (ROOT / "bench" / "out" / "image_analyses.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
