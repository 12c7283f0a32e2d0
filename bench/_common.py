"""What the benchmark scripts share: the synthetic release they time, made once under bench/out/."""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "src"))


def benchmark_release(n_images: int, seed: int) -> Path:
    """``bench/out/twigma_synthetic_<n_images>.csv.gz``, generated (seeded) when it is not there yet."""
    from twigma.synthetic.release import make_sample

    WORK.mkdir(parents=True, exist_ok=True)
    release = WORK / f"twigma_synthetic_{n_images}.csv.gz"
    if not release.exists():
        t = time.perf_counter()
        make_sample(release, n_images=n_images, seed=seed)
        print(f"generated {release} in {time.perf_counter() - t:.1f} s")
    return release
