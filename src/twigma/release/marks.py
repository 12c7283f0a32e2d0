"""What a release file says about itself: the synthetic sample's mark, carried inside the file.

A side file (``<file>.meta.json``) is lost when a file is copied or renamed, and a path says
nothing about the bytes behind it; so the sample generator also writes its description into the
file itself, where a copy keeps it:

- a gzip file (``.csv.gz``, the sample's form): the header's comment field (``FCOMMENT``, RFC 1952
  section 2.3.1), which every gzip reader skips, holding :data:`MARK` followed by the JSON;
- a Parquet file: the key-value metadata under the key :data:`PARQUET_KEY`.

The real release carries neither (its files come from Zenodo), so it is never marked. A plain
``.csv`` has nowhere to carry a mark: only its side file marks it.
"""
from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

#: What a gzip comment written by the generator starts with (then the JSON description).
MARK = "twigma-release-meta:"
#: The Parquet metadata key of the same description.
PARQUET_KEY = b"twigma"

_FTEXT, _FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 1, 2, 4, 8, 16


def gzip_comment(path: str | os.PathLike) -> str | None:
    """The comment field of a gzip file's header, or None (not gzip, no comment, unreadable)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(10)
            if len(head) < 10 or head[:3] != b"\x1f\x8b\x08":
                return None
            flags = head[3]
            if flags & _FEXTRA:
                (n,) = struct.unpack("<H", fh.read(2))
                fh.read(n)
            if flags & _FNAME:
                _read_zero_terminated(fh)
            return _read_zero_terminated(fh).decode("latin-1") if flags & _FCOMMENT else None
    except OSError:
        return None


def _read_zero_terminated(fh: BinaryIO, limit: int = 1 << 16) -> bytes:
    out = bytearray()
    while len(out) < limit:
        b = fh.read(1)
        if not b or b == b"\0":
            break
        out += b
    return bytes(out)


def embedded_meta(path: str | os.PathLike) -> dict:
    """The description the generator wrote inside the file (gzip comment or Parquet metadata), or {}."""
    p = Path(path)
    if p.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq

            meta = pq.read_schema(p).metadata or {}
        except Exception:  # not a readable Parquet file: the loader says why
            return {}
        raw = meta.get(PARQUET_KEY)
        return _parse(raw.decode("utf-8")) if raw else {}
    comment = gzip_comment(p)
    return _parse(comment[len(MARK):]) if comment and comment.startswith(MARK) else {}


def _parse(text: str) -> dict:
    try:
        meta = json.loads(text)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def comment_for(meta: dict) -> str:
    """The gzip comment that carries ``meta`` (ASCII JSON, as RFC 1952 asks Latin-1 without NULs)."""
    return MARK + json.dumps(meta, separators=(",", ":"), ensure_ascii=True)


class GzipWithComment(io.RawIOBase):
    """A writable gzip stream onto ``fh`` whose header holds ``comment`` (no file name, time 0, so
    the same data give the same bytes); Python's ``gzip`` module writes no comment field."""

    def __init__(self, fh: BinaryIO, comment: str, level: int = 6):
        super().__init__()
        self._fh = fh
        text = comment.encode("latin-1")
        if b"\0" in text:
            raise ValueError("a gzip comment cannot hold a NUL byte")
        # ID1 ID2 CM=deflate FLG=FCOMMENT MTIME=0 XFL=0 OS=255 (unknown), then the comment
        fh.write(b"\x1f\x8b\x08" + bytes([_FCOMMENT]) + b"\0\0\0\0" + b"\0\xff" + text + b"\0")
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._fh.write(self._deflate.compress(data))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._fh.write(self._deflate.flush())
            self._fh.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        super().close()
