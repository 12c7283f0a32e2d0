"""A copy of this checkout for tests that change the tree a user sees (new notebooks, JupyterLab's autosave)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from twigma import paths

#: The time every copied file gets: older than any environment stamp, so that make in the copy never
#: reinstalls the shared .venv (an editable install from the copy would point the real one at it).
OLD = 946684800  # 2000-01-01


def tracked_copy(dest: Path) -> Path:
    """The tracked files of this checkout (what a clone holds) copied to ``dest``, modes kept (postBuild stays
    executable), nothing else: no .venv, no data/sample/."""
    files = subprocess.run(["git", "-C", str(paths.ROOT), "ls-files", "-z"], capture_output=True, text=True,
                           check=True).stdout.split("\0")
    for rel in filter(None, files):
        src = paths.ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def repository_copy(dest: Path) -> Path:
    """The tracked files of this checkout copied to ``dest``, with the make-built .venv linked in. Run
    make there with ``TWIGMA_ROOT=dest``. Files are dated 2000 so make sees the environment as built."""
    tracked_copy(dest)
    for f in dest.rglob("*"):
        if f.is_file():
            os.utime(f, (OLD, OLD))
    os.symlink(paths.ROOT / ".venv", dest / ".venv")
    return dest
