"""Benchmark of the release pipeline at the paper's scale (issue 2, item 10).

Generates an 800,000-row synthetic release (if not already there), then measures

1. side by side in one process, on the same file, ``--repeat`` times in turn: a plain
   ``pandas.read_csv(path)`` (no types, no checks), the first load of the release with
   :func:`~twigma.release.load_release` (CSV.gz parse, validation, typed cache written; an empty
   cache folder each time) and the second load (from the typed Parquet cache); the medians are
   reported, and once the reference path of the loader (pandas text parse and the ``_parse_*``
   functions, which the fast path falls back to) for comparison; the tables of the fast path
   (fresh and from the cache) must equal the reference's exactly (``assert_frame_equal``);
2. ``make -j2 figures RELEASE=<it> OUT=<folder>`` from a warm environment (the .venv built)
   and a cold typed cache: wall time, and peak memory as the largest sum of the resident
   memory of make and all its descendants (kernels included), sampled every 0.1 s
   (``--no-figures`` skips it).

Run: ``make bench`` (or ``.venv/bin/python bench/release_pipeline.py [--n-images N] [--no-figures]``).
Results go to ``bench/out/release_pipeline.json`` and are printed as a Markdown table.
Targets on a 2-core machine: first load <= 2x a plain ``pandas.read_csv`` of the same file,
cached load >= 5x faster than the first, pipeline < 90 s, peak < 3 GiB.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
from _common import ROOT, benchmark_release  # noqa: E402  (bench/ is on the path of a script run from it)

from twigma.release import load_release, read_raw, validate  # noqa: E402


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_with_peak_memory(cmd: list[str], log: Path, env: dict | None = None) -> tuple[float, int, int]:
    """Wall time, peak resident memory of the process tree (sampled every 0.1 s) and exit code of ``cmd``,
    its output in ``log`` (also used by bench/scale_release.py)."""
    start = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env)
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
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the load timings (medians reported)")
    ap.add_argument("--no-figures", action="store_true", help="time the loads only, not make figures")
    a = ap.parse_args()

    release = benchmark_release(a.n_images, a.seed)
    work = release.parent

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    load_before = os.getloadavg()[0]  # other work on the machine slows both sides, not evenly
    cache = work / "cache"
    rounds = {"plain": [], "first": [], "second": []}
    for _ in range(a.repeat):  # in turn, so that a busy moment of the machine falls on all three
        shutil.rmtree(cache, ignore_errors=True)
        rounds["plain"].append(timed(lambda: pd.read_csv(release)))
        rounds["first"].append(timed(lambda: load_release(release, cache_dir=cache)))
        rounds["second"].append(timed(lambda: load_release(release, cache_dir=cache)))
    plain, first, second = (statistics.median(rounds[k]) for k in ("plain", "first", "second"))
    ref: dict = {}
    reference = timed(lambda: ref.setdefault("df", validate(read_raw(release), release)))
    fresh = load_release(release, cache=False)  # the fast path, without the cache
    pd.testing.assert_frame_equal(fresh, ref["df"], check_exact=True)  # same dtypes, same values
    pd.testing.assert_frame_equal(load_release(release, cache_dir=cache), ref["df"], check_exact=True)
    n = len(fresh)
    ref.clear()  # free the reference table before the figures are timed
    del fresh
    load_after = os.getloadavg()[0]
    print("rounds (s): " + "; ".join(f"{k} {', '.join(f'{v:.2f}' for v in vs)}" for k, vs in rounds.items()))

    wall = peak = None
    if not a.no_figures:
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
        "repeat": a.repeat,
        "plain_read_csv_s": round(plain, 2),
        "first_load_csv_s": round(first, 2),
        "first_load_vs_read_csv": round(first / plain, 2),
        "reference_path_s": round(reference, 2),
        "fast_equals_reference": True,  # asserted above with pandas.testing.assert_frame_equal
        "second_load_cache_s": round(second, 2),
        "cache_speedup": round(first / second, 1),
        "rounds_s": {k: [round(v, 2) for v in vs] for k, vs in rounds.items()},
        "load_average_1min": [round(load_before, 1), round(load_after, 1)],
        "make_figures_s": None if wall is None else round(wall, 1),
        "make_figures_peak_gib": None if peak is None else round(peak / 2**30, 2),
        "jobs": a.jobs,
    }
    (work / "release_pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    table = (f"\n| measure | value | target |\n|---|---|---|\n"
             f"| images | {n:,} | |\n"
             f"| plain `pandas.read_csv` of the same file (no types, no checks) | {plain:.2f} s | |\n"
             f"| first load (CSV.gz parse + validation + cache) | {first:.2f} s | |\n"
             f"| first load / plain `read_csv` | {first / plain:.2f}x | <= 2x |\n"
             f"| reference path alone (pandas text parse + `_parse_*`, no cache; run once) | {reference:.1f} s | |\n"
             f"| second load (typed Parquet cache) | {second:.2f} s | |\n"
             f"| speed-up of the cached load | {first / second:.0f}x | >= 5x |\n")
    if wall is not None:
        table += (f"| `make -j{a.jobs} figures` (notebooks 00-05; 06-09 skip: no embeddings; cold cache) "
                  f"| {wall:.0f} s | < 90 s |\n"
                  f"| peak memory (make + kernels, summed) | {peak / 2**30:.2f} GiB | < 3 GiB |\n")
    print(table + f"\nloads: median of {a.repeat} rounds, taken in turn in one process; 1-minute load "
                  f"average {load_before:.1f} before, {load_after:.1f} after\nmachine: {result['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
