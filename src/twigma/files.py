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


#: What a spreadsheet reads as the start of a formula when a cell begins with it (OWASP, "CSV Injection"):
#: ``=``, ``+``, ``-``, ``@``, a tab or a carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A cell that is a plain number ("-0.5", "+3", "1e-3") is read as that number, not a formula: it stays.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_cell(value):
    """``value`` as a spreadsheet may show it: text that would start a formula gets a leading single quote
    (OWASP's CSV-injection advice: ``=SUM(1+1)`` -> ``'=SUM(1+1)``), and a carriage return inside text becomes
    a line feed (pandas quotes a cell holding a line feed but not one holding a lone carriage return, which a
    reader takes for the end of the row: the text after it would start a row of its own). Numbers, plain
    numeric text and other text are returned as they are."""
    if not isinstance(value, str):
        return value
    if value[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(value):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def spreadsheet_safe(table):
    """A copy of the DataFrame ``table`` (the same one when nothing changes) whose text cells, index and
    column names cannot start a formula when a spreadsheet opens its CSV (see :func:`spreadsheet_cell`);
    numeric columns are untouched, so a negative number stays a number."""
    import pandas as pd

    def text_like(values) -> bool:
        return values.dtype == object or pd.api.types.is_string_dtype(values.dtype)

    out = table
    for i in range(table.shape[1]):
        col = table.iloc[:, i]
        if not text_like(col):
            continue
        safe = col.map(spreadsheet_cell)
        changed = (safe != col).fillna(False).to_numpy(dtype=bool)  # NaN stays NaN
        if changed.any():
            out = out.copy() if out is table else out
            out.isetitem(i, safe.where(changed, col))
    names = [spreadsheet_cell(c) for c in table.columns]
    if names != list(table.columns):
        out = out.copy() if out is table else out
        out.columns = names
    if text_like(table.index) and not isinstance(table.index, pd.MultiIndex):
        index = table.index.map(spreadsheet_cell)
        if not index.equals(table.index):
            out = out.copy() if out is table else out
            out.index = index
    return out


def from_spreadsheet_safe(value):
    """The text :func:`spreadsheet_cell` was given, for a table this package reads back (a single quote
    followed by a formula start is taken off)."""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in (*FORMULA_STARTS, "\n"):
        return value[1:]
    return value
