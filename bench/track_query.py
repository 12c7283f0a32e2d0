"""Benchmark of the theme tracker (issue 11, point 2): a one-word query over 800,000 captions.

Uses the 800,000-row synthetic release of ``bench/release_pipeline.py`` (generated here if it is
not there yet) and its typed cache (built once in ``bench/out/track_cache/``). Measures, side by
side in one process, ``--repeat`` times in turn, medians reported:

1. ``cached load``: :func:`~twigma.release.load_release` from the typed Parquet cache;
2. ``match``: :func:`~twigma.analysis.track.match_captions` (RE2 fast path) of the query;
3. ``track``: :func:`~twigma.analysis.track.track`, everything but the files: match, monthly
   table, quasi-binomial trend, the ten clusters' trends, engagement;
4. ``str.contains``: the plain way, ``df["all_captions"].str.contains(pattern, flags=re.IGNORECASE)``
   with the same whole-word pattern (Python's ``re``, one caption at a time);
5. ``python loop``: ``[pattern.search(c) is not None for c in captions]``;

and checks that the masks of 2, 4 and 5 are equal. Then it times the command a user runs,
``twigma track QUERY --release <it> --out <tmp>`` (new process: imports, cached load, track,
four CSV files and the PNG and PDF figure), ``--repeat`` times.

Run: ``.venv/bin/python bench/track_query.py [--query portrait] [--repeat 5]``.
Results go to ``bench/out/track_query.json`` and are printed. Target: a one-word query under 2 s
from the typed cache at 800,000 rows.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil
from _common import benchmark_release  # noqa: E402  (bench/ is on the path of a script run from it)

from twigma.analysis import track  # noqa: E402
from twigma.files import atomic_write  # noqa: E402
from twigma.release import load_release  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-images", type=int, default=800_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--query", default="portrait")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()

    release = benchmark_release(a.n_images, a.seed)
    work = release.parent
    cache = work / "track_cache"
    load_release(release, cache_dir=cache)  # builds the typed cache once

    q = track.compile_query(a.query)
    load_before = os.getloadavg()[0]
    rounds = {k: [] for k in ("cached_load", "match", "track", "str_contains", "python_loop", "cli")}
    masks = {}
    for _ in range(a.repeat):
        t = time.perf_counter()
        df = load_release(release, cache_dir=cache)
        rounds["cached_load"].append(time.perf_counter() - t)
        t = time.perf_counter()
        masks["match"] = track.match_captions(df["all_captions"], q)
        rounds["match"].append(time.perf_counter() - t)
        t = time.perf_counter()
        res = track.track(df, a.query)
        rounds["track"].append(time.perf_counter() - t)
        t = time.perf_counter()
        masks["str_contains"] = df["all_captions"].str.contains(q.pattern.pattern, flags=re.IGNORECASE,
                                                                regex=True).to_numpy(dtype=bool)
        rounds["str_contains"].append(time.perf_counter() - t)
        t = time.perf_counter()
        masks["python_loop"] = np.array([q.pattern.search(c) is not None for c in df["all_captions"].tolist()])
        rounds["python_loop"].append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "twigma", "track", a.query, "--release", str(release), "--out", out],
                           check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "TWIGMA_CACHE_DIR": str(cache), "MPLBACKEND": "Agg"})
            rounds["cli"].append(time.perf_counter() - t)
    assert (masks["match"] == masks["str_contains"]).all() and (masks["match"] == masks["python_loop"]).all()
    load_after = os.getloadavg()[0]
    med = {k: round(statistics.median(v), 3) for k, v in rounds.items()}
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "command": " ".join(["bench/track_query.py", *sys.argv[1:]]),
        "n_images": int(len(df)), "query": a.query, "n_matching": int(masks["match"].sum()),
        "n_distinct_captions": int(df["all_captions"].nunique()), "repeat": a.repeat,
        "median_s": med, "rounds_s": {k: [round(x, 3) for x in v] for k, v in rounds.items()},
        "match_speedup_vs_str_contains": round(med["str_contains"] / med["match"], 1),
        "match_speedup_vs_python_loop": round(med["python_loop"] / med["match"], 1),
        "cached_load_plus_track_s": round(med["cached_load"] + med["track"], 3),
        "masks_equal": True, "trend": res.trend[["slope", "p_value", "direction"]].iloc[0].to_dict(),
        "load_average_1min": [round(load_before, 1), round(load_after, 1)],
    }
    atomic_write(work / "track_query.json", lambda tmp: tmp.write_text(json.dumps(result, indent=2) + "\n"))
    print(json.dumps(result, indent=2))
    print(f"\n| step ({a.n_images:,} rows, query {a.query!r}) | median s |\n|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
