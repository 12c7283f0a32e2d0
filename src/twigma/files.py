"""File helpers: atomic writes, the SHA-256 of a file, and what counts as an image file.

Atomic writes: a file either has its final name and is complete, or does not exist.

Every writer of the compendium (figures, tables, caches, shards, stores, downloads' side
tables) goes through :func:`atomic_write`, so an interrupted run or a parallel one never
leaves a half-written file under a name that looks finished.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

#: The one list of image file extensions (lower case, with the dot): the files ``twigma embed``
#: embeds, that clip-retrieval's ids drop, that ``image_name`` may end in, that ``make refs`` keeps
#: and that the notebooks show as thumbnails.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")

#: A regular expression matching an image extension at the end of a name, case-insensitive.
IMAGE_SUFFIX_PATTERN = r"(?i:" + "|".join(re.escape(s) for s in IMAGE_SUFFIXES) + r")$"


def slug(text: str) -> str:
    """``text`` lower-cased, with every run of characters other than a-z and 0-9 turned into ``_``
    (``"Lighthouse at dusk"`` -> ``"lighthouse_at_dusk"``): how a query's files are named (``twigma track``,
    ``twigma search``)."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower())


def is_image_name(name: str | os.PathLike) -> bool:
    """True when ``name`` ends in one of :data:`IMAGE_SUFFIXES` (any case)."""
    return os.path.splitext(str(name))[1].lower() in IMAGE_SUFFIXES


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
