"""What a release file is before it is parsed: its encoding, whether it is a web page, its header.

A file that is not the release table in UTF-8 gets a message naming what it is instead, so that the
advice fits: a UTF-16 file is converted from UTF-16 (not from Latin-1), an HTML error page saved under
the release's name is downloaded again (not "renamed back"), a header that names a column twice is
refused naming that column (pandas would keep the second silently as ``like_count.1``).
"""
from __future__ import annotations

import csv
import gzip
import re
import shlex
from pathlib import Path

from twigma.release.schema import ReleaseError

_BOMS = (  # longest first: the UTF-32 little-endian mark begins with the UTF-16 one
    (b"\xff\xfe\x00\x00", "UTF-32 little-endian", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32 big-endian", "UTF-32"),
    (b"\xff\xfe", "UTF-16 little-endian", "UTF-16"),
    (b"\xfe\xff", "UTF-16 big-endian", "UTF-16"),
)
#: Share of NUL bytes at the positions that hold them in ASCII text of a wide encoding: above it (and
#: almost none at the others), the text is that encoding. A few NUL bytes in a caption stay far below.
_WIDE_SHARE = 0.4


def head_bytes(path: Path, n_bytes: int = 8192) -> bytes:
    """The first bytes of the file's text (decompressed when it is gzip); empty if unreadable."""
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        with (gzip.open if gz else open)(path, "rb") as fh:
            return fh.read(n_bytes)
    except (OSError, EOFError):
        return b""  # a damaged gzip: the reader says so


def wide_encoding(head: bytes) -> tuple[str, str, str] | None:
    """(encoding named for a reader, how it was seen, iconv's name) of UTF-16/UTF-32 text, else None."""
    for bom, name, iconv in _BOMS:
        if head.startswith(bom):
            return name, f"it starts with the {name} byte-order mark {bom.hex(' ').upper()}", iconv
    head = head[: len(head) // 4 * 4]
    if len(head) < 8:
        return None
    nul = [sum(b == 0 for b in head[k::4]) / len(head[k::4]) for k in range(4)]
    if max(nul) < _WIDE_SHARE:
        return None
    without_bom = "every {} byte is NUL, as in {} text without a byte-order mark"
    if all(x > _WIDE_SHARE for x in nul[1:]) and nul[0] < 0.1:
        return "UTF-32 little-endian", without_bom.format("second, third and fourth", "UTF-32 little-endian"), "UTF-32LE"
    if all(x > _WIDE_SHARE for x in nul[:3]) and nul[3] < 0.1:
        return "UTF-32 big-endian", without_bom.format("first, second and third", "UTF-32 big-endian"), "UTF-32BE"
    if nul[1] > _WIDE_SHARE and nul[3] > _WIDE_SHARE and max(nul[0], nul[2]) < 0.1:
        return "UTF-16 little-endian", without_bom.format("second", "UTF-16 little-endian"), "UTF-16LE"
    if nul[0] > _WIDE_SHARE and nul[2] > _WIDE_SHARE and max(nul[1], nul[3]) < 0.1:
        return "UTF-16 big-endian", without_bom.format("first", "UTF-16 big-endian"), "UTF-16BE"
    return None


def converted_name(path: Path) -> str:
    """Where a converted copy goes: ``release.csv`` or ``release.csv.gz`` -> ``release.utf8.csv``."""
    name = re.sub(r"(\.csv)?(\.gz)?$", "", path.name, flags=re.I)
    return str(path.with_name(f"{name}.utf8.csv"))


def _refuse_wide(path: Path, head: bytes) -> None:
    found = wide_encoding(head)
    if found is None:
        return
    name, seen, iconv = found
    src, dst = shlex.quote(str(path)), shlex.quote(converted_name(path))
    command = (f"gunzip -c {src} | iconv -f {iconv} -t UTF-8 > {dst}" if _is_gz(path)
               else f"iconv -f {iconv} -t UTF-8 {src} > {dst}")
    raise ReleaseError(path, f"the file is {name} text, not UTF-8 ({seen})",
                       advice=f"convert it to UTF-8: `{command}` (pandas: pd.read_csv(path, encoding="
                              f"'{iconv.lower()}').to_csv('{converted_name(path)}', index=False)), then give "
                              "the new file as RELEASE. Spreadsheets save 'Unicode text' as UTF-16.")


def _is_gz(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


_HTML_START = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<?xml")


def _refuse_page(path: Path, head: bytes) -> None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(_HTML_START):  # only at the start: a caption may hold HTML and stays text
        title = re.search(rb"<title[^>]*>(.*?)</title>", head, flags=re.I | re.S)
        said = f" titled {title.group(1).decode('utf-8', 'replace').strip()[:80]!r}" if title else ""
        kind = "an XML document" if text.startswith(b"<?xml") and b"<html" not in text[:1024] else "an HTML page"
        raise ReleaseError(path, f"the file is {kind}{said}, not the release table: probably an error page from "
                                 "the server (a timeout, a quota or a login page) saved in place of the download",
                           advice="delete it and download the release again (`make data`, or from "
                                  "https://zenodo.org/records/8031785; see docs/real-data.md); if the server keeps "
                                  "answering so, try again later.")
    if text.startswith((b"{", b"[{")):
        said = head[:120].decode("utf-8", "replace").replace("\n", " ")
        raise ReleaseError(path, f"the file is a JSON document ({said!r}...), not the release table: probably an "
                                 "error answer from a server saved in place of the download",
                           advice="delete it and download the release again (`make data`; see docs/real-data.md).")


def _refuse_repeated_names(path: Path, head: bytes) -> None:
    line = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    try:
        names = [n.strip() for n in next(csv.reader([line]))]
    except (csv.Error, StopIteration):
        return
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n and n in seen:
            raise ReleaseError(path, f"the header names the column '{n}' twice (columns {seen[n] + 1} and {i + 1} "
                                     "of the header line)", column=n,
                               advice=f"a table has one column of each name: remove or rename one of the two "
                                      f"'{n}' columns (read as it is, the second would be kept silently as "
                                      f"'{n}.1'), or download the release again (make data).")
        seen.setdefault(n, i)


def check_text_file(path: Path) -> None:
    """Refuse a file that is not UTF-8 CSV text in a way a reader can name: a wide encoding (UTF-16 or
    UTF-32), a web page or JSON document saved under the release's name, a header naming a column twice."""
    head = head_bytes(path)
    if not head:
        return
    _refuse_wide(path, head)
    _refuse_page(path, head)
    _refuse_repeated_names(path, head)
