"""Benchmark of the cache of intermediate results (twigma.cache; issue 7, point 7).

Two measurements, each a first run with an empty cache folder against a rerun that finds it
filled, every run in its own process (as a notebook rerun is):

1. **Similarity searches of notebooks 08 and 09** on a large synthetic store (768-d float16
   unit rows, memory-mapped, built as in ``bench/image_analyses.py``; default the paper's
   scale, 800,000 TWIGMA x 50,000 natural x 50,000 art): the maximum and mean top-10
   similarity of every TWIGMA image to the natural set
   (:func:`twigma.analysis.likes.similarity_to_reference`, notebook 08) and the closest artwork
   of every TWIGMA image (:func:`twigma.analysis.inspiration.most_art_like`, notebook 09).
   Reported: the time of each step and of the whole process (imports and reading included),
   and that the cached results equal the computed ones.
2. **Notebook 06 on the embedded sample**, through ``python -m twigma run-notebook`` (the
   command behind ``make figures``): wall time of the first run (joint UMAP with numba
   compilation, linear probes) and of a rerun (``--no-notebook`` skips it).

Run: ``.venv/bin/python bench/cache_reruns.py [--n-twigma 200000 --n-ref 20000]``.
Results: ``bench/out/cache_reruns.json`` and a Markdown table on stdout. Target: each rerun at
least 5x faster than its first run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))


def build_store(n_twigma: int, n_ref: int, dim: int) -> dict[str, Path]:
    """The synthetic sets of bench/image_analyses.py (same seeds), reused when already written."""
    from image_analyses import make_set

    work = ROOT / "bench" / "out" / "image_analyses"
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    concepts = rng.normal(size=(2000, dim)).astype(np.float32)
    concepts /= np.linalg.norm(concepts, axis=1, keepdims=True)
    style = lambda s: (np.random.default_rng(s).normal(size=dim) / np.sqrt(dim)).astype(np.float32)  # noqa: E731
    files = {"twigma": work / f"twigma_{n_twigma}_{dim}.npy", "natural": work / f"natural_{n_ref}_{dim}.npy",
             "art": work / f"art_{n_ref}_{dim}.npy"}
    make_set(files["twigma"], n_twigma, concepts[:1500], 0.9, 0.6 * style(1), 1)
    make_set(files["natural"], n_ref, concepts, 1.1, 0.3 * style(2), 2)
    make_set(files["art"], n_ref, concepts[500:], 1.2, 0.5 * style(3), 3)
    return files


def search_phase(files: dict[str, str], result: str, precision: str) -> None:
    """One process: the two searches as notebooks 08 and 09 make them; timings to ``result``."""
    t_proc = time.perf_counter()
    from twigma.analysis import inspiration, likes
    from twigma.embeddings.neighbors import set_threads

    set_threads()
    X = {k: np.load(v, mmap_mode="r") for k, v in files.items()}
    ids = np.arange(len(X["twigma"])).astype(str)
    out = {}
    t = time.perf_counter()
    sim = likes.similarity_to_reference(X["twigma"], X["natural"], k=10, precision=precision)
    out["similarity_to_natural_s"] = time.perf_counter() - t
    t = time.perf_counter()
    art = inspiration.most_art_like(X["twigma"], ids, X["art"], n=12, precision=precision)
    out["most_art_like_s"] = time.perf_counter() - t
    out["process_s"] = time.perf_counter() - t_proc
    out["backend"] = sim.attrs["backend"]
    np.save(Path(result).with_suffix(".sim.npy"), sim.to_numpy())
    art.to_csv(Path(result).with_suffix(".art.csv"))
    Path(result).write_text(json.dumps(out))


def run_search(files, cache_dir: Path, work: Path, tag: str, precision: str) -> dict:
    result = work / f"{tag}.json"
    env = {**os.environ, "TWIGMA_CACHE_DIR": str(cache_dir)}
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--phase", json.dumps({k: str(v) for k, v in files.items()}),
                    "--phase-result", str(result), "--precision", precision], check=True, env=env)
    wall = time.perf_counter() - t
    out = json.loads(result.read_text())
    out["wall_s"] = wall
    return out


def run_notebook(cache_dir: Path, out_dir: Path) -> float:
    env = {**os.environ, "TWIGMA_CACHE_DIR": str(cache_dir), "HF_HUB_OFFLINE": "1"}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "twigma", "run-notebook", "notebooks/06_distinctness.ipynb",
                    "--out", str(out_dir)], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-twigma", type=int, default=800_000)
    ap.add_argument("--n-ref", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--precision", default="auto", help="auto, float32 or bfloat16-screened")
    ap.add_argument("--no-notebook", action="store_true", help="skip the notebook 06 measurement")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--phase-result", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:
        search_phase(json.loads(a.phase), a.phase_result, a.precision)
        return 0

    t = time.perf_counter()
    files = build_store(a.n_twigma, a.n_ref, a.dim)
    print(f"store ready in {time.perf_counter() - t:.0f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="twigma-bench-cache-"))
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
                   f"Python {platform.python_version()}",
        "command": "python bench/cache_reruns.py " + " ".join(sys.argv[1:]),
        "n_twigma": a.n_twigma, "n_natural": a.n_ref, "n_art": a.n_ref, "dim": a.dim,
    }
    try:
        cache_dir = work / "interim"
        first = run_search(files, cache_dir, work, "first", a.precision)
        print(f"searches, first run: {first}", flush=True)
        rerun = run_search(files, cache_dir, work, "rerun", a.precision)
        print(f"searches, rerun: {rerun}", flush=True)
        same_sim = bool(np.array_equal(np.load(work / "first.sim.npy"), np.load(work / "rerun.sim.npy")))
        same_art = (work / "first.art.csv").read_text() == (work / "rerun.art.csv").read_text()
        result["searches"] = {
            "backend": first["backend"],
            **{f"first_{k}": round(v, 2) for k, v in first.items() if k.endswith("_s")},
            **{f"rerun_{k}": round(v, 2) for k, v in rerun.items() if k.endswith("_s")},
            "speedup_similarity_to_natural": round(first["similarity_to_natural_s"] / rerun["similarity_to_natural_s"], 1),
            "speedup_most_art_like": round(first["most_art_like_s"] / rerun["most_art_like_s"], 1),
            "speedup_process": round(first["wall_s"] / rerun["wall_s"], 1),
            "rerun_results_identical": same_sim and same_art,
            "cache_size_mib": round(sum(p.stat().st_size for p in cache_dir.rglob("*") if p.is_file()) / 2**20, 1),
        }
        if not a.no_notebook:
            nb_cache = work / "nb-interim"
            t1 = run_notebook(nb_cache, work / "nb-first")
            t2 = run_notebook(nb_cache, work / "nb-rerun")
            # figures carry their run's provenance in their metadata: compare the pixels, and the table's bytes
            from matplotlib.image import imread

            png = "figures/06_joint_umap.png"
            same = ((work / "nb-first" / "results/distinctness.csv").read_bytes()
                    == (work / "nb-rerun" / "results/distinctness.csv").read_bytes()
                    and np.array_equal(imread(work / "nb-first" / png), imread(work / "nb-rerun" / png)))
            result["notebook_06_sample"] = {"first_s": round(t1, 1), "rerun_s": round(t2, 1),
                                            "speedup": round(t1 / t2, 1), "outputs_identical": same}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    (ROOT / "bench" / "out" / "cache_reruns.json").write_text(json.dumps(result, indent=2) + "\n")
    s = result["searches"]
    rows = [("similarity of every TWIGMA image to natural (08, top-10)", s["first_similarity_to_natural_s"],
             s["rerun_similarity_to_natural_s"], s["speedup_similarity_to_natural"]),
            ("closest artwork of every TWIGMA image (09)", s["first_most_art_like_s"], s["rerun_most_art_like_s"],
             s["speedup_most_art_like"]),
            ("whole search process (imports, reading, both searches)", s["first_wall_s"], s["rerun_wall_s"],
             s["speedup_process"])]
    if "notebook_06_sample" in result:
        n = result["notebook_06_sample"]
        rows.append(("notebook 06 on the sample (run-notebook)", n["first_s"], n["rerun_s"], n["speedup"]))
    print(f"\n{result['command']}\n{result['machine']}, {result['date']}; "
          f"{a.n_twigma:,} x {a.n_ref:,} x {a.dim}, {s['backend']}\n")
    print("| step | first run | rerun (cached) | speed-up |\n|---|---|---|---|")
    for name, f, r, x in rows:
        print(f"| {name} | {f:.1f} s | {r:.2f} s | {x:.0f}x |")
    print(f"\nreruns identical to first runs: searches {s['rerun_results_identical']}"
          + (f", notebook 06 {result['notebook_06_sample']['outputs_identical']}" if "notebook_06_sample" in result else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
