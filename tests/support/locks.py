"""make and the run lock, driven from a test: a lock held by another process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import make_env

from twigma import paths
from twigma.run import lock

LOCK_SCRIPT = paths.ROOT / "src" / "twigma" / "run" / "lock.py"


def make(*args, **kw):
    return subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), *args],
                          capture_output=True, text=True, env=make_env(), **kw)


def hold_in_another_process(build: Path) -> subprocess.Popen:
    """A process that holds ``build``'s lock the way make's holder does, until it is stopped."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    r = subprocess.run([sys.executable, str(LOCK_SCRIPT), "hold", str(build), str(sleeper.pid)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == str(lock.lock_path(build))
    return sleeper
