"""Cost of `make robustness` on an 800,000-row release: the release-only grid (C2 to C6), `make -j2`.

Generates the 800,000-row synthetic release of bench/release_pipeline.py (if not already there; the
same file), then times, from a fresh output folder each:

1. ``make -jJOBS robustness RELEASE=<file> OUT=<fresh>``: every specification of robustness.yml that
   the release alone allows (growth, words, themes, nsfw; no EMBEDDINGS, so C7-C9 are skipped),
   with notebook 00 (validation and typed cache: the cache is reused when it exists) and notebook 12;
2. the same command again: nothing to do (every specification is finished), unless a file of the
   package changed meanwhile (then make reruns them all, as it reruns the notebooks: counted);

and the time of one specification of each group, run alone (and of one image-level logit, the
dearest). Results go to ``bench/out/robustness.json``.

Run: ``.venv/bin/python bench/robustness.py [--jobs 2] [--n-images 800000]``. The target: under 10 minutes
with ``make -j2`` on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

from _common import ROOT, benchmark_release  # noqa: E402  (bench/ is on the path of a script run from it)

from twigma.analysis import robustness as rb  # noqa: E402
from twigma.files import atomic_write  # noqa: E402
from twigma.paths import RunLayout  # noqa: E402
from twigma.run import grid_runs  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-images", type=int, default=800_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()

    release = benchmark_release(a.n_images, a.seed)
    work = release.parent
    out = work / "robustness_run"
    shutil.rmtree(out, ignore_errors=True)
    specs = rb.specifications(grid_runs.read_grid(), images=False)
    cmd = ["make", "--no-print-directory", "-C", str(ROOT), f"-j{a.jobs}", "robustness", f"RELEASE={release}",
           f"OUT={out}"]
    load = os.getloadavg()
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    first = time.perf_counter() - t
    if r.returncode:
        print(r.stdout[-3000:], r.stderr[-3000:], file=sys.stderr)
        return 1
    specs_dir = RunLayout.published(out).robustness
    stamps = {f.name: f.stat().st_mtime_ns for f in specs_dir.glob("*.json")}
    t = time.perf_counter()
    if subprocess.run(cmd, capture_output=True, text=True).returncode:
        print("the second make robustness failed", file=sys.stderr)
        return 1
    again = time.perf_counter() - t
    rerun = [f.name for f in specs_dir.glob("*.json") if f.stat().st_mtime_ns != stamps.get(f.name)]
    per_group = {}
    for group in dict.fromkeys(s.group for s in specs):
        one = next(s for s in specs if s.group == group)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "twigma", "robustness", "run", one.id, "--release", str(release),
                        "--out", str(work / "robustness_single")], check=True, capture_output=True)
        per_group[group] = {"specifications": sum(s.group == group for s in specs),
                            "one_specification_s": round(time.perf_counter() - t, 1), "first": one.text}
    for s in specs:
        if s.group == "themes" and s.values["model"] == "logit-clustered":
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "twigma", "robustness", "run", s.id, "--release", str(release),
                            "--out", str(work / "robustness_single")], check=True, capture_output=True)
            per_group["themes"]["one_logit_clustered_s"] = round(time.perf_counter() - t, 1)
            break
    result = {
        "command": " ".join(cmd[:3] + cmd[4:]).replace(str(ROOT) + "/", ""),
        "n_images": a.n_images, "n_specifications": len(specs), "jobs": a.jobs,
        "first_run_s": round(first, 1), "rerun_s": round(again, 1), "rerun_specifications": len(rerun),
        "per_group": per_group, "target_s": 600,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_before": [round(x, 1) for x in load], "load_average_after": [round(x, 1) for x in os.getloadavg()],
        "summary": r.stdout.strip().splitlines()[-12:],
    }
    atomic_write(work / "robustness.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
