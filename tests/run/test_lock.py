"""Tests of twigma.run.lock: one run at a time on an output folder."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import threading
import time

import pytest
from support.locks import hold_in_another_process, make

from twigma import paths
from twigma.run import lock


def test_a_lock_left_by_a_killed_holder_is_cleared_with_a_note(tmp_path):
    build = tmp_path / "build"
    holder = hold_in_another_process(build)
    # the holder process itself killed with -9: its pid stays in the file, the kernel's lock does not
    pid_line = lock.lock_path(build).read_text().split()
    assert pid_line[0] == str(holder.pid)
    daemon = [int(p) for p in subprocess.run(["pgrep", "-f", f"lock.py hold {build}"], capture_output=True,
                                             text=True).stdout.split()]
    assert daemon
    for p in daemon:
        os.kill(p, signal.SIGKILL)
    holder.kill()
    holder.wait()
    time.sleep(0.3)
    fh, note = lock.acquire(build)
    try:
        assert fh is not None and f"killed (pid {holder.pid})" in note
    finally:
        lock.release(fh)


@pytest.mark.parametrize("variable,value,says", [
    ("OUT", "runs/a\nb", "OUT holds a line break"),
    ("RELEASE", "data/x\ny.csv", "RELEASE holds a line break"),
    ("OUT", "-h", "give it as OUT=./-h"),
    ("RELEASE", "-release.csv", "give it as RELEASE=./-release.csv"),
])
def test_paths_make_cannot_carry_are_refused_before_anything_runs(variable, value, says, tmp_path):
    before = sorted(p.name for p in paths.ROOT.iterdir())
    r = make("figures", f"{variable}={value}", timeout=60, cwd=tmp_path)
    assert r.returncode != 0 and says in r.stderr, r.stderr
    assert "No rule to make target" not in r.stderr and "unexpected EOF" not in r.stderr
    assert sorted(p.name for p in paths.ROOT.iterdir()) == before
    assert list(tmp_path.iterdir()) == []


def test_makes_one_after_another_on_one_out_do_not_trip_on_the_last_ones_lock(tmp_path):
    # the holder of an exited make lets go within a moment; the next make waits for that, not fails
    for _ in range(3):
        r = make("clean", f"OUT={tmp_path / 'out'}", timeout=60)
        assert r.returncode == 0, r.stderr


def test_a_holder_that_has_emptied_its_file_but_not_let_go_is_waited_for(tmp_path):
    # release() empties the file, then unlocks: a run that looks in between finds a lock without a pid
    # (the CI failure "in use by another run (a process that has not written its pid yet)")
    build = tmp_path / "build"
    path = lock.lock_path(build)
    path.parent.mkdir(parents=True, exist_ok=True)
    held = open(path, "a+")  # noqa: SIM115
    fcntl.flock(held, fcntl.LOCK_EX)
    held.truncate(0)
    letting_go = threading.Timer(0.3, lambda: (fcntl.flock(held, fcntl.LOCK_UN), held.close()))
    letting_go.start()
    try:
        fh, note = lock.acquire(build)
        assert fh is not None, note
        assert note == "" and path.read_text().split()[0] == str(os.getpid())
        lock.release(fh)
    finally:
        letting_go.join()


def test_a_holder_that_never_writes_its_pid_is_reported_as_such(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "RETRIES", 4)  # it gives up after RETRIES looks; the default waits 2 s
    build = tmp_path / "build"
    path = lock.lock_path(build)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        fh, says = lock.acquire(build)
        assert fh is None and "has not written its pid yet" in says and str(tmp_path) in says


def test_a_dry_run_takes_no_lock(tmp_path):
    holder = hold_in_another_process(tmp_path / "out" / "build")
    try:
        r = make("-n", "figures", f"OUT={tmp_path / 'out'}", timeout=60)
        assert r.returncode == 0 and "run-notebook" in r.stdout, r.stderr
    finally:
        holder.kill()
        holder.wait()
