"""The release-only notebooks at DiffusionDB's scale (issue 19, points 1 and 3).

Generates (once, seeded) a synthetic release of ``--n-images`` rows with the generator of
``bench/release_pipeline.py`` (``twigma.synthetic.release.make_sample``) under ``--work``, then:

1. the first load (CSV.gz parse, validation, typed cache) into an empty cache folder, beside a
   plain ``pandas.read_csv`` of the same file (``--no-loads`` skips both);
2. each notebook of ``--notebooks`` (default the release-only ones: 00-05, 10, 11, 12), one at a
   time, with ``twigma run-notebook --release <it> --out <work>/run``: wall time and peak memory as
   the largest sum of the resident memory of the process and all its descendants (the papermill
   kernel included), sampled every 0.1 s; ``--make`` runs ``make -j2 figures`` the same way instead.

Results go to ``<work>/scale_release.json`` and are printed as a Markdown table.
Run: ``.venv/bin/python bench/scale_release.py --n-images 8000000 --work /tmp/scale``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import psutil
from _common import ROOT  # noqa: E402  (bench/ is on the path of a script run from it)
from release_pipeline import run_with_peak_memory  # noqa: E402

RELEASE_ONLY = ["00", "01", "02", "03", "04", "05", "10", "11", "12"]


def notebook(prefix: str) -> Path:
    found = sorted((ROOT / "notebooks").glob(f"{prefix}_*.ipynb"))
    if not found:
        raise SystemExit(f"no notebook notebooks/{prefix}_*.ipynb")
    return found[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-images", type=int, default=8_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "scale")
    ap.add_argument("--notebooks", default=",".join(RELEASE_ONLY), help="comma-separated prefixes")
    ap.add_argument("--no-loads", action="store_true", help="skip the load timings")
    ap.add_argument("--make", action="store_true", help="time make -j2 figures instead of one notebook at a time")
    a = ap.parse_args()

    from twigma.synthetic.release import make_sample

    work = a.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    release = work / f"twigma_synthetic_{a.n_images}.csv.gz"
    if not release.exists():
        t = time.perf_counter()
        make_sample(release, n_images=a.n_images, seed=a.seed)
        print(f"generated {release} in {time.perf_counter() - t:.1f} s", flush=True)
    cache = work / "cache"
    env = {**os.environ, "TWIGMA_CACHE_DIR": str(cache)}
    py = str(ROOT / ".venv" / "bin" / "python")
    result_file = work / "scale_release.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    result.update({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "n_images": a.n_images,
                   "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                              f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"})
    steps = result.setdefault("steps", {})

    def measure(name: str, cmd: list[str]) -> None:
        load = os.getloadavg()[0]
        wall, peak, rc = run_with_peak_memory(cmd, work / f"{name}.log", env=env)
        steps[name] = {"s": round(wall, 1), "peak_gib": round(peak / 2**30, 2), "rc": rc,
                       "load_average_before": round(load, 1)}
        print(f"{name}: {wall:.1f} s, peak {peak / 2**30:.2f} GiB, exit {rc} (load average {load:.1f})", flush=True)
        result_file.write_text(json.dumps(result, indent=2) + "\n")

    if not a.no_loads:
        shutil.rmtree(cache, ignore_errors=True)
        measure("plain_read_csv", [py, "-c", f"import pandas as pd; pd.read_csv({str(release)!r})"])
        measure("first_load", [py, "-c", f"from twigma import load_release; load_release({str(release)!r})"])
    out = work / "run"
    if a.make:
        measure("make_figures", ["make", "-j2", "figures", f"RELEASE={release}", f"OUT={out}"])
    else:
        for prefix in filter(None, a.notebooks.split(",")):  # --notebooks "": the loads only
            nb = notebook(prefix.strip())
            measure(nb.stem, [py, "-m", "twigma", "run-notebook", str(nb), "--release", str(release),
                              "--out", str(out)])
    rows = "\n".join(f"| {k} | {v['s']:.0f} s | {v['peak_gib']:.2f} GiB | {v['rc']} | {v['load_average_before']} |"
                     for k, v in steps.items())
    print(f"\n{a.n_images:,} rows, {result['machine']}, {result['date']}\n\n"
          "| step | wall | peak memory (process tree) | exit | load average before |\n|---|---|---|---|---|\n" + rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
