"""One run at a time on an output folder.

Two runs on one ``OUT`` would share its staging folders (``build/.staging/<notebook>``) and each
could delete what the other finished. A run therefore holds an exclusive lock on
a lock file named after ``<OUT>/build`` (in the system's temporary folder, so that nothing is
written into the run) for as long as it lasts: ``make`` takes it when it reads the Makefile,
through a small process that holds it until that make exits (this file run as a script, with the
standard library only, since it runs before the project's environment exists), and
``twigma run-notebook`` takes it when it is started on its own. The lock is the operating
system's (``fcntl.flock``): a run that is killed, even with ``kill -9``, releases it with its
process, so a stale lock cannot block the next run; the pid left in the file only lets the next
run say that a killed run's lock was cleared.

Processes started by a run that holds the lock (make's recipes) find its path in the
environment variable :data:`LOCK_ENV` and do not take it again.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

#: The environment variable that names the lock a running run holds (inherited by its processes).
LOCK_ENV = "TWIGMA_RUN_LOCK"
#: The lock file's name in a run's build folder.
LOCK_NAME = ".run.lock"
#: How long a run waits for the holder of a make that has exited to let go (it checks 5 times a second),
#: or for a holder to write or clear its pid.
RETRIES, RETRY_SECONDS = 40, 0.05


def lock_path(build: str | os.PathLike) -> Path:
    """The lock file of the run whose build folder is ``build``: in the system's temporary folder, named
    by a hash of the folder's real path, so that nothing is written into the run's own folders."""
    key = hashlib.sha1(os.path.realpath(build).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "twigma-run-locks" / f"{key}{LOCK_NAME}"


def held_by_caller(build: str | os.PathLike) -> bool:
    """Whether this process was started by a run that holds the lock of ``build`` already."""
    held = os.environ.get(LOCK_ENV, "")
    return bool(held) and os.path.realpath(held) == str(lock_path(build))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_holder(fh: IO[str]) -> tuple[int | None, str]:
    fh.seek(0)
    words = fh.read().split(maxsplit=1)
    if not words or not words[0].isdigit():
        return None, ""
    return int(words[0]), (words[1].strip() if len(words) > 1 else "")


def _take(fh: IO[str]) -> bool:
    """Lock ``fh``; when its holder has exited, wait the moment its holding process takes to notice
    (it looks every 0.2 s), so that a make started right after another on the same OUT goes ahead.
    A locked file without a pid is a holder between emptying the file and letting go (:func:`release`)
    or between taking the lock and writing its pid (:func:`acquire`): wait for that moment too."""
    for _ in range(RETRIES):
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pid, _ = _read_holder(fh)
            if pid is not None and _alive(pid):
                return False
            time.sleep(RETRY_SECONDS)
    return False


def acquire(build: str | os.PathLike, holder: int | None = None, what: str = "twigma run-notebook"
            ) -> tuple[IO[str] | None, str]:
    """Take the lock of ``build`` for the process ``holder`` (default: this one), which is ``what``.

    Returns ``(file, note)``: the open lock file (the lock lasts while it is open) and a note when a
    killed run's lock was cleared; or ``(None, message)`` when another run holds it, the message
    naming the folder and that run's pid.
    """
    path = lock_path(build)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115  the lock lives as long as the file is open
    if not _take(fh):
        pid, other = _read_holder(fh)
        fh.close()
        who = f"pid {pid}" + (f", {other}" if other else "") if pid else "a process that has not written its pid yet"
        return None, (f"OUT {Path(os.path.realpath(build)).parent} is in use by another run ({who}): wait for "
                      "it to finish, or "
                      "give another OUT")
    pid, _ = _read_holder(fh)
    note = (f"a lock left by a run that was killed (pid {pid}) was cleared" if pid and pid != (holder or os.getpid())
            and not _alive(pid) else "")
    fh.seek(0)
    fh.truncate()
    fh.write(f"{holder or os.getpid()} {what}\n")
    fh.flush()
    return fh, note


def release(fh: IO[str] | None) -> None:
    """Give the lock back (the file stays, empty)."""
    if fh is None or fh.closed:
        return
    fh.seek(0)
    fh.truncate()
    fh.flush()
    fcntl.flock(fh, fcntl.LOCK_UN)
    fh.close()


def hold_for(build: str, pid: int) -> int:
    """For make: take the lock for the process ``pid`` and keep it, in a detached process, until
    that process exits. Prints the lock's path (for :data:`LOCK_ENV`) and returns 0, or prints why
    not and returns 1."""
    fh, note = acquire(build, holder=pid, what="make")
    if fh is None:
        with open(lock_path(build)) as held:
            holder, _ = _read_holder(held)
        if holder == pid:  # this very make, reading its Makefile again after it remade build/deps.mk
            print(lock_path(build), flush=True)
            return 0
        print(note)
        return 1
    if note:
        print(f"note: {note}", file=sys.stderr)
    print(lock_path(build), flush=True)
    if os.fork():  # the parent returns to make at once; the child keeps the lock (inherited descriptor)
        return 0
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    while _alive(pid):
        time.sleep(0.2)
    release(fh)
    os._exit(0)


if __name__ == "__main__":  # python src/twigma/run/lock.py hold BUILD PID (the Makefile)
    if len(sys.argv) != 4 or sys.argv[1] != "hold" or not sys.argv[3].isdigit():
        sys.exit("usage: lock.py hold BUILD_FOLDER PID")
    sys.exit(hold_for(sys.argv[2], int(sys.argv[3])))
