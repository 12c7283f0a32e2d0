"""Benchmark of the release pipeline at the paper's scale (issue 2, item 10).

Generates an 800,000-row synthetic release (if not already there), then measures

1. the first load of the release (CSV.gz parse, validation, typed cache written) against
   the second load (from the typed Parquet cache), in one process;
2. ``make -j2 figures RELEASE=<it> OUT=<folder>`` from a warm environment (the .venv built)
   and a cold typed cache: wall time, and peak memory as the largest sum of the resident
   memory of make and all its descendants (kernels included), sampled every 0.1 s.

Run: ``make bench`` (or ``.venv/bin/python bench/release_pipeline.py [--n-images N]``).
Results go to ``bench/out/release_pipeline.json`` and are printed as a Markdown table.
Targets on a 2-core machine: pipeline < 90 s, peak < 3 GiB, cached load >= 5x faster.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from twigma.release import load_release  # noqa: E402
from twigma.synthetic.release import make_sample  # noqa: E402


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_with_peak_memory(cmd: list[str], log: Path) -> tuple[float, int, int]:
    start = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        peak = 0
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(ps))
                time.sleep(0.1)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        rc = proc.wait()
        done.set()
        t.join()
    return time.perf_counter() - start, peak, rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-images", type=int, default=800_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()

    work = ROOT / "bench" / "out"
    work.mkdir(parents=True, exist_ok=True)
    release = work / f"twigma_synthetic_{a.n_images}.csv.gz"
    if not release.exists():
        t = time.perf_counter()
        make_sample(release, n_images=a.n_images, seed=a.seed)
        print(f"generated {release} in {time.perf_counter() - t:.1f} s")

    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    t = time.perf_counter()
    load_release(release, cache_dir=cache)
    first = time.perf_counter() - t
    t = time.perf_counter()
    df = load_release(release, cache_dir=cache)
    second = time.perf_counter() - t
    n = len(df)
    del df

    # the pipeline with a cold typed cache: drop the project's cached copy of this file
    for p in (ROOT / "data" / "interim").glob(f"{release.name.split('.')[0]}-*.parquet"):
        p.unlink()
    out = work / "run"
    shutil.rmtree(out, ignore_errors=True)
    wall, peak, rc = run_with_peak_memory(
        ["make", f"-j{a.jobs}", "figures", f"RELEASE={release}", f"OUT={out}"], work / "make_figures.log")
    if rc != 0:
        print(f"make figures failed (exit {rc}); see {work / 'make_figures.log'}", file=sys.stderr)
        return rc

    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "n_images": n,
        "first_load_csv_s": round(first, 2),
        "second_load_cache_s": round(second, 2),
        "cache_speedup": round(first / second, 1),
        "make_figures_s": round(wall, 1),
        "make_figures_peak_gib": round(peak / 2**30, 2),
        "jobs": a.jobs,
    }
    (work / "release_pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n| measure | value | target |\n|---|---|---|\n"
          f"| images | {n:,} | |\n"
          f"| first load (CSV.gz parse + validation + cache) | {first:.1f} s | |\n"
          f"| second load (typed Parquet cache) | {second:.2f} s | |\n"
          f"| speed-up of the cached load | {first / second:.0f}x | >= 5x |\n"
          f"| `make -j{a.jobs} figures` (notebooks 00-05; 06-09 skip: no embeddings; cold cache) | {wall:.0f} s | < 90 s |\n"
          f"| peak memory (make + kernels, summed) | {peak / 2**30:.2f} GiB | < 3 GiB |\n"
          f"\nmachine: {result['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
