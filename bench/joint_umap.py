"""Notebook 06's joint UMAP cell, cold and cached, each in a fresh process (issue 18, point 1).

Times :func:`twigma.analysis.distinctness.joint_umap` on the sample store (``data/sample/embeddings``,
or ``--embeddings``) as notebook 06 calls it with its default parameters, in a new Python process
each time, imports included (a cold run pays for importing umap and numba compiling it):

1. cold: an empty cache folder, so the map is computed;
2. cached: the same folder again, so the map is read back (umap is not imported).

Run: ``.venv/bin/python bench/joint_umap.py`` (prints a Markdown table; writes
``bench/out/joint_umap.json``). ``--fit-size`` is the notebook's ``UMAP_FIT_SIZE``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from _common import ROOT, WORK

CELL = """
import time
t0 = time.perf_counter()
from twigma import load_release
from twigma.analysis import distinctness
from twigma.embeddings import store
release = load_release("")
root = store.folder_for("", {emb!r})
mask, X = store.align(release, store.read(root, "twigma"))
sources = {{"TWIGMA": X, "natural": store.read(root, "natural").vectors, "art": store.read(root, "art").vectors}}
t1 = time.perf_counter()
xy = distinctness.joint_umap(sources, fit_size={fit_size}, n_neighbors=15, min_dist=0.1, seed=0)
t2 = time.perf_counter()
import sys
print("RESULT", t1 - t0, t2 - t1, len(xy), "umap" in sys.modules)
"""


def run_once(emb: str, fit_size: int, cache_dir: str) -> dict:
    env = {**os.environ, "TWIGMA_CACHE_DIR": cache_dir, "PYTHONPATH": str(ROOT / "src")}
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CELL.format(emb=emb, fit_size=fit_size)], env=env,
                       capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    load, umap_s, points, imported = p.stdout.strip().splitlines()[-1].split()[1:]
    return {"process_s": round(wall, 1), "load_s": round(float(load), 1), "joint_umap_s": round(float(umap_s), 1),
            "points": int(points), "umap_imported": imported == "True"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embeddings", default=str(ROOT / "data" / "sample" / "embeddings"))
    ap.add_argument("--fit-size", type=int, default=3000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = run_once(args.embeddings, args.fit_size, cache_dir)
        cached = run_once(args.embeddings, args.fit_size, cache_dir)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "fit_size": args.fit_size, "cold": cold, "cached": cached}
    WORK.mkdir(parents=True, exist_ok=True)
    from twigma.files import atomic_write

    atomic_write(WORK / "joint_umap.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1) + "\n"))
    print("| run | process (s) | of which joint_umap (s) | points | umap imported |\n|---|---|---|---|---|")
    for name, r in (("cold", cold), ("cached", cached)):
        print(f"| {name} | {r['process_s']} | {r['joint_umap_s']} | {r['points']:,} | {r['umap_imported']} |")


if __name__ == "__main__":
    main()
