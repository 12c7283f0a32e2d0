"""File helpers: atomic writes, and the SHA-256 of a file.

Atomic writes: a file either has its final name and is complete, or does not exist.

Every writer of the compendium (figures, tables, caches, shards, stores, downloads' side
tables) goes through :func:`atomic_write`, so an interrupted run or a parallel one never
leaves a half-written file under a name that looks finished.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a hidden temporary path beside ``path``, then rename it to ``path``.

    The temporary name keeps the suffix (libraries that infer the format from it still work)
    and is unique per process and thread. On any error the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes, as hex (read in chunks: any size of file)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
