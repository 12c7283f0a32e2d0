"""Two runs on one OUT: the second stops at once, naming the run that holds it, and never deletes or half-writes the first one's outputs; a killed run's lock does not block the next. Paths that cannot pass through make (a line break, a leading dash) are refused before anything is made."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.locks import hold_in_another_process, make

from twigma import paths
from twigma.run import lock
from twigma.run.runner import RunInUseError, run_notebook


def digest(folder: Path) -> dict:
    """Every file under ``folder`` (the lock file aside) by its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != lock.LOCK_NAME}


def wait_until_free(build: Path, seconds: float = 10) -> None:
    end = time.time() + seconds
    while time.time() < end:
        fh, _ = lock.acquire(build)
        if fh is not None:
            lock.release(fh)
            return
        time.sleep(0.1)
    raise AssertionError(f"{build} is still locked after {seconds} s")


def test_a_second_make_on_a_run_in_progress_stops_and_changes_nothing(executed, tmp_path):
    run = shutil.copytree(executed, tmp_path / "run")
    before = digest(run)
    holder = hold_in_another_process(run / "build")
    try:
        for goal in ("figures", "report", "clean"):
            r = make(goal, f"OUT={run}", timeout=60)
            assert r.returncode != 0
            assert f"OUT {run} is in use by another run (pid {holder.pid}, make)" in r.stderr, r.stderr
            assert digest(run) == before, goal
    finally:
        holder.kill()
        holder.wait()
    wait_until_free(run / "build")  # the holder follows its make: gone with it, even after kill -9


def test_run_notebook_on_a_folder_in_use_says_so(executed, tmp_path, small_release_file):
    run = shutil.copytree(executed, tmp_path / "run")
    before = digest(run)
    holder = hold_in_another_process(run / "build")
    try:
        with pytest.raises(RunInUseError, match=rf"in use by another run \(pid {holder.pid}"):
            run_notebook(paths.NOTEBOOKS / "00_data.ipynb", release=small_release_file, out=run)
        assert digest(run) == before
    finally:
        holder.kill()
        holder.wait()


def test_two_notebook_runs_started_together_on_one_out(tmp_path, small_release_file):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "twigma", "run-notebook", str(paths.NOTEBOOKS / "00_data.ipynb"),
           "--release", str(small_release_file), "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k != lock.LOCK_ENV}
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    time.sleep(1.0)
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    first_out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, first_out
    assert second.returncode != 0 and "is in use by another run" in second.stderr + second.stdout
    assert "Traceback" not in second.stderr
    assert (out / "build" / "00_data.ipynb").exists() and not (out / "build" / ".staging" / "00_data").exists()
