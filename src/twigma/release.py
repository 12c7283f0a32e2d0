"""The TWIGMA release table: its schema, a validating loader and a typed Parquet cache.

The release (Zenodo record 8031785) is one row per image. :func:`load_release` reads a
CSV, CSV.gz or Parquet file in that format, checks every column, converts it to compact
types and caches the typed table as Parquet under ``data/interim/`` so that later reads
skip the CSV parse. Bad input raises :class:`ReleaseError`, whose message names the
file, the column, the first offending row and what to do.

CSV and CSV.gz files are read by a fast path (pyarrow's multithreaded CSV reader and
vectorised checks) that converts a column only where its checks certify the result equals
that of the reference path (pandas text parse, then the ``_parse_*`` functions); anything it
does not certify goes to the reference path, which also writes every error message.

Typed columns (see :data:`COLUMNS`):

========================  ==========================  =========================================
column                    dtype                       meaning
========================  ==========================  =========================================
id                        str (digits)                tweet id (19 digits for 2021-2023)
image_name                str (any non-empty token)   the image's name: its media id, photo file code or file name
created_at                datetime64[us, UTC]         tweet creation time
like_count                Int64 (nullable)            likes, week of 29 May 2023; NA = deleted
quote_count               Int64 (nullable)            quotes, same week
reply_count               Int64 (nullable)            replies, same week
all_captions              str                         BLIP caption(s); several joined by " | "
label_10_cluster          int8                        k-means cluster (k = 10), 1..10
possibly_sensitive        boolean (nullable)          Twitter's sensitive-media flag
nsfw_score                float32                     CLIP-based NSFW detector score, [0, 1]
UMAP_dim_1, UMAP_dim_2    float32                     2-D UMAP of the CLIP image embeddings
========================  ==========================  =========================================

``id`` is strict, since results depend on it (tweets are counted and rehydrated by it): plain
digits only, never a float. ``image_name`` is documented only as "Twitter media id", and only
the image analyses use it (to match photos and embeddings to rows), so it is lenient: any
non-empty token is accepted and its form is recorded in ``df.attrs["image_name_form"]``
(:data:`IMAGE_NAME_FORMS`). A float-formatted ``image_name`` (``1.6e+18``,
``1609459200000000000.0``, a Parquet float column, or digits rounded through a float) has lost
digits: it loads with a warning that images cannot be matched to rows, so notebooks 00-05 still run.
"""
from __future__ import annotations

import ast
import gzip
import hashlib
import json
import os
import re
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import paths
from .files import atomic_write

#: Bump when the typed schema or the validation changes: old caches are then ignored.
SCHEMA_VERSION = 2  # 2: image_name accepts any non-empty token (file codes, file names, floats)

#: column -> (dtype after loading, meaning). The order is the release's.
COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("str", "tweet id, a string of digits (never a float)"),
    "image_name": ("str", "name of the image: its Twitter media id, photo file code or file name (any non-empty token)"),
    "created_at": ("datetime64[us, UTC]", "tweet creation time, UTC"),
    "like_count": ("Int64", "likes in the week of 29 May 2023; missing when the tweet was deleted"),
    "quote_count": ("Int64", "quotes in the week of 29 May 2023; missing when the tweet was deleted"),
    "reply_count": ("Int64", "replies in the week of 29 May 2023; missing when the tweet was deleted"),
    "all_captions": ("str", "BLIP caption(s) of the image; several captions are joined by ' | '"),
    "label_10_cluster": ("int8", "k-means cluster (k = 10) of the CLIP ViT-L/14 image embedding, 1..10"),
    "possibly_sensitive": ("boolean", "Twitter's sensitive-media flag"),
    "nsfw_score": ("float32", "CLIP-based NSFW detector score in [0, 1]"),
    "UMAP_dim_1": ("float32", "first coordinate of the 2-D UMAP of the CLIP image embeddings"),
    "UMAP_dim_2": ("float32", "second coordinate of the 2-D UMAP of the CLIP image embeddings"),
}
REQUIRED = list(COLUMNS)
COUNT_COLUMNS = ["like_count", "quote_count", "reply_count"]
N_CLUSTERS = 10
CAPTION_SEPARATOR = " | "

ZENODO_RECORD = "8031785"
_FIX_ADVICE = (
    "Versions of the TWIGMA release before May 2024 stored the tweet id column as a floating-point "
    "number, which loses digits (a 19-digit id cannot be held exactly by a float). The newest version "
    f"of Zenodo record {ZENODO_RECORD} (May 2024) fixed this: download it again "
    f"(https://zenodo.org/records/{ZENODO_RECORD}; see docs/real-data.md) and point RELEASE at the new "
    "file. If you wrote this file yourself, read the ids as text (pandas: dtype=str) before saving."
)


class ReleaseError(ValueError):
    """A release file that cannot be used as it is.

    Attributes name the ``file``, the ``column`` and the first offending ``row`` (0-based data
    row; the file line is ``row + 2`` for a CSV with a header) where they apply.
    """

    def __init__(self, file, problem: str, *, column: str | None = None, row: int | None = None,
                 value=None, advice: str = ""):
        self.file = str(file)
        self.column = column
        self.row = row
        self.value = value
        self.problem = problem
        self.advice = advice
        where = [f"{self.file}"]
        if column is not None:
            where.append(f"column '{column}'")
        if row is not None:
            where.append(f"data row {row} (line {row + 2} of a CSV with a header)")
        msg = ", ".join(where) + f": {problem}"
        if value is not None:
            msg += f" (value: {value!r})"
        if advice:
            msg += f"\n  What to do: {advice}"
        super().__init__(msg)


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    hit: bool


# --------------------------------------------------------------------------------------
# reading the raw text
# --------------------------------------------------------------------------------------

def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _open_text_head(path: Path, n_bytes: int = 65536) -> bytes:
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as fh:
        return fh.read(n_bytes)


def _first_bad_utf8_line(path: Path) -> tuple[int, bytes]:
    """Return (0-based line number, line) of the first line that is not valid UTF-8."""
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as fh:
        for i, line in enumerate(fh):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return i, line
    return -1, b""


def _read_raw(path: Path) -> pd.DataFrame:
    """Read the file as a table of text (or, for Parquet, of its stored types)."""
    if path.stat().st_size == 0:
        raise ReleaseError(path, "the file is empty (0 bytes)",
                           advice="the download was probably interrupted: download the release again.")
    if _is_parquet(path):
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise ReleaseError(path, f"cannot read it as Parquet: {exc}",
                               advice="download the file again, or convert it to CSV.") from None
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8",
            compression="gzip" if _is_gzip(path) else None, low_memory=False,
        )
    except pd.errors.EmptyDataError:
        raise ReleaseError(path, "the file has no header and no rows",
                           advice="download the release again; the file should start with a header line "
                                  f"naming the columns {', '.join(REQUIRED)}.") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ReleaseError(path, f"the gzip stream is truncated or damaged ({exc})",
                           advice="the download was cut short: download the file again "
                                  "(see docs/real-data.md).") from None
    except UnicodeDecodeError as exc:
        line_no, line = _first_bad_utf8_line(path)
        row = line_no - 1 if line_no >= 1 else None
        raise ReleaseError(path, f"the file is not UTF-8 text ({exc.reason} at byte 0x{exc.object[exc.start]:02x})",
                           row=row, value=line[:80].decode("utf-8", "replace") if line else None,
                           advice="re-save the file as UTF-8 (for example `iconv -f latin1 -t utf-8`), "
                                  "or download the release again.") from None
    except pd.errors.ParserError as exc:
        raise ReleaseError(path, f"the CSV cannot be parsed ({exc})",
                           advice="check that the file is the comma-separated release table "
                                  "and that quotes are balanced.") from None


def _check_columns(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    raw = raw.rename(columns=lambda c: str(c).strip().lstrip("\ufeff"))
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("Unnamed: ")])  # a written index
    missing = [c for c in REQUIRED if c not in raw.columns]
    if not missing:
        return raw
    header = ",".join(map(str, raw.columns))
    for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        if len(raw.columns) <= 2 and header.count(sep) >= 3:
            raise ReleaseError(path, f"the header is separated by {name}, not commas",
                               advice="the release is comma-separated: re-save the file with ',' as the "
                                      "delimiter (pandas: df.to_csv(path, index=False)).")
    raise ReleaseError(path, f"missing column(s) {', '.join(repr(c) for c in missing)}; "
                             f"found {', '.join(repr(str(c)) for c in raw.columns[:20])}",
                       column=missing[0],
                       advice="point RELEASE at the TWIGMA release table (Zenodo record "
                              f"{ZENODO_RECORD}); if a column was renamed, rename it back.")


# --------------------------------------------------------------------------------------
# column parsers: each takes the raw column and returns the typed one or raises
# --------------------------------------------------------------------------------------

def _text(col: pd.Series) -> pd.Series:
    return col.astype("string[pyarrow]") if col.dtype != "str" else col


def _first(mask, col: pd.Series) -> tuple[int, object]:
    """(row number in the file, value) of the first True of ``mask``; the index holds file rows."""
    pos = int(np.flatnonzero(np.asarray(mask))[0])
    return int(col.index[pos]), col.iloc[pos]


_DIGITS = r"^\d+$"
_FLOATY = r"^\d+(\.\d*)?([eE][+-]?\d+)?$"


def _parse_id(col: pd.Series, name: str, path: Path) -> pd.Series:
    if pd.api.types.is_float_dtype(col.dtype):
        raise ReleaseError(path, "ids are stored as floating-point numbers, which loses digits",
                           column=name, advice=_FIX_ADVICE)
    s = _text(col.astype(str) if not pd.api.types.is_string_dtype(col.dtype) else col).str.strip()
    missing = s.isna() | (s == "")
    if missing.any():
        pos, _ = _first(missing, s)
        raise ReleaseError(path, "an id is missing", column=name, row=pos,
                           advice="every image needs its tweet id and media id; use the release file as published.")
    bad = ~s.str.fullmatch(_DIGITS)
    if bad.any():
        pos, value = _first(bad, s)
        if re.fullmatch(_FLOATY, str(value)):
            raise ReleaseError(path, "ids are written as floats or in scientific notation, which loses digits",
                               column=name, row=pos, value=value, advice=_FIX_ADVICE)
        raise ReleaseError(path, "an id is not a string of digits", column=name, row=pos, value=value,
                           advice="ids must be written as plain digits; check the column was not edited.")
    if name == "id" and len(s) >= 20 and (s.str.len() >= 18).all():
        # float64 keeps 53 bits: a 19-digit id that went through a float is a multiple of 256.
        if (pd.to_numeric(s).to_numpy() % 256 == 0).all():
            raise ReleaseError(path, "every id is a multiple of 256: the ids were rounded through a float",
                               column=name, row=0, value=s.iloc[0], advice=_FIX_ADVICE)
    return s.astype("str")


def _parse_image_name(col: pd.Series, name: str, path: Path) -> pd.Series:
    """Any non-empty token, stripped; a float column becomes the text of its values (its form is
    then ``float``, see :func:`image_name_form`). Only a missing or empty value is an error."""
    if pd.api.types.is_float_dtype(col.dtype):
        missing = col.isna()
        if missing.any():
            pos, _ = _first(missing, col)
            raise ReleaseError(path, "an image name is missing", column=name, row=pos,
                               advice="every image needs its image_name; use the release file as published.")
        return pd.Series([repr(float(v)) for v in col.to_numpy()], index=col.index).astype("str")
    s = _text(col.astype(str) if not pd.api.types.is_string_dtype(col.dtype) else col).str.strip()
    missing = s.isna() | (s == "")
    if missing.any():
        pos, _ = _first(missing, s)
        raise ReleaseError(path, "an image name is missing", column=name, row=pos,
                           advice="every image needs its image_name (the media id, file code or file name of "
                                  "its photo); use the release file as published.")
    return s.astype("str")


# --------------------------------------------------------------------------------------
# image_name: what form the release uses, and the key photos and embeddings are matched by
# --------------------------------------------------------------------------------------

#: The forms of ``image_name`` told apart by :func:`image_name_form` (``mixed``: more than one).
IMAGE_NAME_FORMS = {
    "media_id": "Twitter media id, plain digits (the photo's media key is 3_<media id>)",
    "file_code": "the photo's file code, as in https://pbs.twimg.com/media/<file code>.jpg",
    "file_name": "a file name: a media id or file code with an image extension (.jpg, .png, ...)",
    "float": "a media id written as a floating-point number: digits are lost, images cannot be matched",
    "other": "a token of another shape (spaces, slashes, ...)",
}
_FORM_PATTERNS = (  # tried in this order; the first that matches decides
    ("media_id", r"^[0-9]+$"),
    ("float", r"^[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?$|^(?i:[+-]?(?:nan|inf|infinity))$"),
    ("file_name", r"^[^/\\]+\.(?i:jpe?g|png|webp|gif|bmp|tiff?)$"),
    ("file_code", r"^[A-Za-z0-9_-]+$"),
)
IMAGE_EXTENSION = r"\.(?i:jpe?g|png|webp|gif|bmp|tiff?)$"
_FLOAT_ADVICE = (
    "the digits a float lost cannot be recovered from this file, so downloaded photos and embeddings "
    "cannot be matched to its rows: the image analyses (notebooks 06 to 09) will find no match. "
    "The release-only notebooks (00 to 05) do not use image_name and run as usual. To match images, "
    f"download the newest version of Zenodo record {ZENODO_RECORD} (https://zenodo.org/records/{ZENODO_RECORD}; "
    "`make data`, see docs/real-data.md) and point RELEASE at it; if you wrote this file yourself, read "
    "image_name as text (pandas: dtype=str) before saving."
)


@dataclass(frozen=True)
class ImageNameForm:
    """What :func:`image_name_form` finds: the ``form`` of the column (a key of
    :data:`IMAGE_NAME_FORMS` or ``mixed``), the number of rows of each form in ``counts``, and
    the first float-formatted row and value (``None`` when there is none)."""

    form: str
    counts: dict
    first_float_row: int | None = None
    first_float_value: str | None = None
    rounded: bool = False  # digits that all went through a float (every one a multiple of 256)

    @property
    def n_float(self) -> int:
        return int(self.counts.get("float", 0))


def image_name_form(names: pd.Series) -> ImageNameForm:
    """The form of a typed ``image_name`` column: ``media_id``, ``file_code``, ``file_name``,
    ``float``, ``other`` or ``mixed``, with counts per form (vectorised; one pass per form).

    A column of 18-19 digit media ids (at least 20 rows) that are all multiples of 256 went
    through a float64 (which keeps 53 bits) and is reported as ``float`` with ``rounded=True``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    s = names.astype("str")
    text = pa.array(s, type=pa.string())
    labels = [label for label, _ in _FORM_PATTERNS] + ["other"]
    code = np.full(len(s), len(labels) - 1, dtype=np.int8)  # index into labels
    left = np.ones(len(s), dtype=bool)
    for i, (label, pattern) in enumerate(_FORM_PATTERNS):
        if label == "media_id":  # the usual case, in one fast pass
            hit = pc.ascii_is_decimal(text).to_numpy(zero_copy_only=False) & (pc.utf8_length(text).to_numpy() > 0)
        else:
            where = np.flatnonzero(left)
            hit = np.zeros(len(s), dtype=bool)
            hit[where] = pc.match_substring_regex(text.take(pa.array(where)), pattern).to_numpy(zero_copy_only=False)
        code[hit & left] = i
        left &= ~hit
        if not left.any():
            break
    rounded = False
    if len(s) >= 20 and (code == 0).all():
        lengths = pc.utf8_length(text)
        # float64 keeps 53 bits: an 18-19 digit id that went through a float is a multiple of 256;
        # n % 256 depends only on the last 8 digits, since 10**8 is a multiple of 256
        def multiples_of_256(t) -> bool:
            return bool((pc.cast(pc.utf8_slice_codeunits(t, -8), pa.int64()).to_numpy() % 256 == 0).all())

        if pc.min(lengths).as_py() >= 18 and pc.max(lengths).as_py() <= 19 and \
                multiples_of_256(text.slice(0, 1000)) and multiples_of_256(text):  # the first rows decide most
            code[:] = labels.index("float")
            rounded = True
    n = np.bincount(code, minlength=len(labels))
    counts = {labels[i]: int(n[i]) for i in np.argsort(labels) if n[i]}
    floats = np.flatnonzero(code == labels.index("float"))
    first_row = int(s.index[floats[0]]) if len(floats) else None
    first_value = str(s.iloc[floats[0]]) if len(floats) else None
    label = next(iter(counts)) if len(counts) == 1 else "mixed"
    return ImageNameForm(label, counts, first_row, first_value, rounded)


def image_keys(names: pd.Series) -> pd.Series:
    """The key each ``image_name`` is matched by: the name without an image extension
    (``FrXy7_aWcAE1a2b.jpg`` -> ``FrXy7_aWcAE1a2b``), else the name itself. Downloaded photos
    are named ``<key>.<ext>`` and embedding ids are file stems, so both compare with this key."""
    return names.astype("str").str.replace(IMAGE_EXTENSION, "", regex=True)


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside this module, for warnings that point at the caller."""
    import inspect

    frame, level = inspect.currentframe(), 0
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return max(level, 1)


def _note_image_name_form(df: pd.DataFrame, path: Path) -> ImageNameForm:
    """Record the form of ``image_name`` in ``df.attrs`` and warn when some of it is float-formatted."""
    info = image_name_form(df["image_name"])
    df.attrs["image_name_form"] = info.form
    df.attrs["image_name_forms"] = dict(info.counts)
    if info.n_float:
        if info.rounded:
            what = ("every image_name is a multiple of 256: the media ids were rounded through a "
                    "floating-point number")
        else:
            share = "every image_name is" if info.form == "float" else \
                f"{info.n_float:,} of {len(df):,} image_name values are"
            what = (f"{share} written as a floating-point number (first at data row {info.first_float_row}: "
                    f"{info.first_float_value!r})")
        warnings.warn(f"{path}, column 'image_name': {what}, so matching images to rows is not "
                      f"possible.\n  What to do: {_FLOAT_ADVICE}",
                      UserWarning, stacklevel=_caller_stacklevel())
    return info


def _parse_datetime(col: pd.Series, name: str, path: Path) -> pd.Series:
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        out = col.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(col.dtype):
        out = col.dt.tz_localize("UTC")
    else:
        s = _text(col).str.strip()
        out = pd.to_datetime(s, format="ISO8601", utc=True, errors="coerce")
        bad = out.isna() & s.notna()
        if bad.any():  # Twitter's own v1.1 format, e.g. "Wed Oct 10 20:19:24 +0000 2018"
            alt = pd.to_datetime(s[bad], format="%a %b %d %H:%M:%S %z %Y", utc=True, errors="coerce")
            out = out.copy()
            out[bad] = alt
            bad = out.isna() & s.notna()
        if bad.any():
            pos, value = _first(bad, s)
            raise ReleaseError(path, "cannot read this as a date and time", column=name, row=pos, value=value,
                               advice="dates must be ISO-8601, such as 2022-11-03T14:22:10Z or "
                                      "'2022-11-03 14:22:10+00:00'; fix or remove the row.")
    if out.isna().any():
        pos, _ = _first(out.isna(), out)
        raise ReleaseError(path, "the creation time is missing", column=name, row=pos,
                           advice="every tweet has a creation time; use the release file as published.")
    return out.astype("datetime64[us, UTC]")


def _parse_number(col: pd.Series, name: str, path: Path, advice: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("float64")
    s = _text(col).str.strip()
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    bad = out.isna() & s.notna() & ~s.str.lower().isin(["nan", "na", "null", "none"])
    if bad.any():
        pos, value = _first(bad, s)
        raise ReleaseError(path, "not a number", column=name, row=pos, value=value, advice=advice)
    return out


def _parse_count(col: pd.Series, name: str, path: Path) -> pd.Series:
    x = _parse_number(col, name, path, "engagement counts are whole numbers, or empty when unknown.")
    vals = x.to_numpy()
    bad = ~np.isnan(vals) & ((vals < 0) | (vals != np.round(vals)))
    if bad.any():
        pos, value = _first(bad, col)
        raise ReleaseError(path, "a count must be a whole number >= 0", column=name, row=pos, value=value,
                           advice="engagement counts are whole numbers, or empty when the tweet was deleted.")
    return x.astype("Int64")


def _parse_cluster(col: pd.Series, name: str, path: Path) -> pd.Series:
    x = _parse_number(col, name, path, "clusters are the integers 1 to 10.")
    vals = x.to_numpy()
    bad = np.isnan(vals) | (vals < 1) | (vals > N_CLUSTERS) | (vals != np.round(vals))
    if bad.any():
        pos, value = _first(bad, col)
        hint = ""
        if np.nanmin(vals) == 0 and np.nanmax(vals) <= N_CLUSTERS - 1:
            hint = " The clusters look numbered 0..9: add 1 to the column to number them 1..10 as the release does."
        raise ReleaseError(path, f"cluster out of range: clusters are the integers 1..{N_CLUSTERS}",
                           column=name, row=pos, value=value,
                           advice="use the release's label_10_cluster column as published." + hint)
    return x.astype("int8")


def _parse_unit_score(col: pd.Series, name: str, path: Path) -> pd.Series:
    x = _parse_number(col, name, path, "the NSFW score is a number in [0, 1], or empty.")
    vals = x.to_numpy()
    bad = ~np.isnan(vals) & ((vals < 0) | (vals > 1))
    if bad.any():
        pos, value = _first(bad, col)
        raise ReleaseError(path, "NSFW score out of range [0, 1]", column=name, row=pos, value=value,
                           advice="the detector's score is a probability; if the column holds percentages, "
                                  "divide it by 100.")
    return x.astype("float32")


def _parse_float(col: pd.Series, name: str, path: Path) -> pd.Series:
    x = _parse_number(col, name, path, "UMAP coordinates are numbers.")
    if x.isna().any():
        pos, value = _first(x.isna(), col)
        raise ReleaseError(path, "a UMAP coordinate is missing", column=name, row=pos, value=value,
                           advice="every image has UMAP coordinates in the release; use the file as published.")
    return x.astype("float32")


_TRUE = {"true", "1", "1.0", "yes", "t"}
_FALSE = {"false", "0", "0.0", "no", "f"}


def _parse_bool(col: pd.Series, name: str, path: Path) -> pd.Series:
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("boolean")
    s = _text(col.astype(str) if not pd.api.types.is_string_dtype(col.dtype) else col).str.strip().str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[s.isin(_TRUE).fillna(False).to_numpy()] = True
    out[s.isin(_FALSE).fillna(False).to_numpy()] = False
    bad = out.isna() & s.notna() & ~s.isin(["", "nan", "na", "none", "null"])
    if bad.any():
        pos, value = _first(bad, col)
        raise ReleaseError(path, "not a boolean", column=name, row=pos, value=value,
                           advice="use True/False, true/false or 1/0.")
    return out


def _join_list_literal(text: str) -> str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    if isinstance(value, (list, tuple)):
        return CAPTION_SEPARATOR.join(str(v).strip() for v in value)
    return text


def _parse_captions(col: pd.Series, name: str, path: Path) -> pd.Series:
    s = _text(col).str.strip()
    is_list = (s.str.startswith("[") & s.str.endswith("]")).fillna(False).to_numpy()
    if is_list.any():
        s = s.copy()
        s[is_list] = [_join_list_literal(t) for t in s[is_list]]
    return s.fillna("").astype("str")


_PARSERS = {
    "id": _parse_id, "image_name": _parse_image_name, "created_at": _parse_datetime,
    "like_count": _parse_count, "quote_count": _parse_count, "reply_count": _parse_count,
    "all_captions": _parse_captions, "label_10_cluster": _parse_cluster,
    "possibly_sensitive": _parse_bool, "nsfw_score": _parse_unit_score,
    "UMAP_dim_1": _parse_float, "UMAP_dim_2": _parse_float,
}


def _drop_exact_duplicates(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    hashes = pd.util.hash_pandas_object(raw, index=False)
    candidates = hashes.duplicated(keep=False).to_numpy()
    if not candidates.any():
        return raw
    dup = np.zeros(len(raw), dtype=bool)
    dup[candidates] = raw[candidates].duplicated(keep="first").to_numpy()
    n = int(dup.sum())
    if n:
        warnings.warn(f"{path}: dropped {n} exact duplicate row(s) ({n / len(raw):.2%} of {len(raw)})",
                      UserWarning, stacklevel=3)
        raw = raw[~dup]  # the index keeps each row's position in the file, for error messages
    return raw


def validate(raw: pd.DataFrame, path: str | os.PathLike = "<table>") -> pd.DataFrame:
    """Check a raw release table and return it typed (see the module's table).

    ``raw`` may hold text (as read from CSV) or stored types (as read from Parquet).
    Raises :class:`ReleaseError` on the first problem found. The form of ``image_name`` is
    recorded in ``attrs["image_name_form"]``; a float-formatted one warns (see the module's notes).
    """
    path = Path(path)
    raw = _check_columns(raw, path)
    if len(raw) == 0:
        raise ReleaseError(path, "the file has a header but no rows",
                           advice="download the release again; it holds about 800,000 rows.")
    raw = _drop_exact_duplicates(raw.reset_index(drop=True), path)
    typed = {name: _PARSERS[name](raw[name], name, path) for name in REQUIRED}
    extra = {c: raw[c] for c in raw.columns if c not in COLUMNS}
    df = pd.DataFrame({**typed, **extra}).reset_index(drop=True)
    _note_image_name_form(df, path)
    return df


# --------------------------------------------------------------------------------------
# the fast path for CSV and CSV.gz: pyarrow parses, vectorised checks certify
# --------------------------------------------------------------------------------------
#
# ``validate(_read_raw(path))`` is the reference: it reads every cell as text with pandas and
# parses each column with the ``_parse_*`` functions above. The fast path reads the same text
# with pyarrow's multithreaded CSV reader and converts a column itself only when a vectorised
# check certifies that the reference would accept every value and give the same result (plain
# digits for ids, ISO-8601 with an offset for dates, decimal numbers in range, ...). A column
# it does not certify goes through its ``_parse_*`` function on the same text; anything else it
# does not certify (a header that needs cleaning, a row of the wrong width, a damaged or
# non-UTF-8 file, an invalid value) makes it give up, and the reference path reads the file
# again, so every error message is the reference's.

_FAST_ID_MAX_DIGITS = 19  # every such string of digits fits an unsigned 64-bit integer
_FAST_DATE = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
_FAST_DATE_TZ = _FAST_DATE + r"(Z|[+-][0-9]{2}:[0-9]{2})$"
_FAST_DATE_NAIVE = _FAST_DATE + r"$"
_FAST_COUNT = r"^[0-9]{1,15}(\.0+)?$"  # whole numbers a float64 holds exactly
_FAST_CLUSTER = r"^([1-9]|10)(\.0+)?$"
_FAST_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
_BOOL_MISSING = ["nan", "na", "none", "null"]


class _NotCertified(Exception):
    """The fast path met something it does not certify: the reference path reads the file."""


def _arrow_text_table(path: Path):
    """The CSV as a pyarrow table of text, cells exactly as ``_read_raw`` reads them, or raise."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    head = _open_text_head(path)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    end = head.find(b"\n")
    if end < 0 or b'"' in head[:end] or b"\r" in head[:end].rstrip(b"\r"):
        raise _NotCertified("no plain header line")
    names = head[:end].rstrip(b"\r").decode("utf-8").split(",")
    if len(set(names)) != len(names) or any(n != n.strip() or n == "" for n in names):
        raise _NotCertified("header needs cleaning")  # pandas renames or strips these
    if [n for n in REQUIRED if n not in names]:
        raise _NotCertified("missing columns")
    # the reference drops a written index ("Unnamed: 0"); keep the names it keeps
    keep = [n for n in names if not n.startswith("Unnamed: ")]
    source = pa.OSFile(str(path))
    if _is_gzip(path):
        source = pa.CompressedInputStream(source, "gzip")
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=1 << 22),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True, include_columns=keep),
        )
    finally:
        source.close()
    if table.column_names != keep:
        raise _NotCertified("pyarrow read other column names")
    if table.num_rows == 0:
        raise _NotCertified("no rows")
    return table


def _fast_drop_duplicates(table, path: Path):
    """Drop exact duplicate rows as ``_drop_exact_duplicates`` does.

    Returns (table, file row of each row kept, the warning to give or None).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    key = table.column("image_name")  # rows that are equal have equal media ids
    if key.null_count == 0 and pc.all(pc.ascii_is_decimal(key)).as_py() \
            and pc.max(pc.utf8_length(key)).as_py() <= _FAST_ID_MAX_DIGITS:
        key = pd.Series(pc.cast(key, pa.uint64()).to_numpy())
    else:
        key = pd.Series(key.to_pandas())
    candidates = key.duplicated(keep=False).to_numpy()
    rows = np.arange(n)
    if not candidates.any():
        return table, rows, None
    dup = np.zeros(n, dtype=bool)
    dup[candidates] = table.filter(pa.array(candidates)).to_pandas().duplicated(keep="first").to_numpy()
    n_dup = int(dup.sum())
    if not n_dup:
        return table, rows, None
    message = f"{path}: dropped {n_dup} exact duplicate row(s) ({n_dup / n:.2%} of {n})"
    return table.filter(pa.array(~dup)), rows[~dup], message


def _all_match(col, pattern: str, *, nulls: bool) -> bool:
    import pyarrow.compute as pc

    if col.null_count and not nulls:
        return False
    return bool(pc.all(pc.match_substring_regex(col, pattern)).as_py() is not False)


def _fast_float64(col, pattern: str, *, nulls: bool) -> np.ndarray | None:
    """float64 values (NaN where empty) when every value is a plain decimal, else None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _all_match(col, pattern, nulls=nulls):
        return None
    values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
    return values if np.isfinite(values[~np.isnan(values)]).all() else None


def _fast_id(col, name: str):
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count or pc.all(pc.ascii_is_decimal(col)).as_py() is not True:
        return None
    if name == "id" and len(col) >= 20:
        lengths = pc.utf8_length(col)
        if pc.min(lengths).as_py() >= 18:  # the reference's rounded-through-a-float test applies
            if pc.max(lengths).as_py() > _FAST_ID_MAX_DIGITS:
                return None
            # n % 256 depends only on the last 8 digits, since 10**8 is a multiple of 256
            last8 = pc.cast(pc.utf8_slice_codeunits(col, -8), pa.int64()).to_numpy()
            if (last8 % 256 == 0).all():
                return None  # the reference raises its error
    return col.to_pandas()


def _fast_image_name(col, name: str):
    """Certified when every name is a token of letters, digits and ``._+-`` (nothing to strip)."""
    if col.null_count or not _all_match(col, r"^[A-Za-z0-9._+-]+$", nulls=False):
        return None
    return col.to_pandas()


def _fast_datetime(col, name: str):
    import pyarrow as pa
    import pyarrow.compute as pc

    if _all_match(col, _FAST_DATE_TZ, nulls=False):
        out = pc.cast(col, pa.timestamp("us", "UTC"))
    elif _all_match(col, _FAST_DATE_NAIVE, nulls=False):
        out = pc.cast(pc.cast(col, pa.timestamp("us")), pa.timestamp("us", "UTC"))  # naive times are UTC
    else:
        return None
    return pd.Series(out.to_pandas(), copy=False).astype("datetime64[us, UTC]")


def _fast_count(col, name: str):
    values = _fast_float64(col, _FAST_COUNT, nulls=True)
    return None if values is None else pd.Series(values).astype("Int64")


def _fast_cluster(col, name: str):
    values = _fast_float64(col, _FAST_CLUSTER, nulls=False)
    return None if values is None else pd.Series(values.astype("int8"))


def _fast_unit_score(col, name: str):
    values = _fast_float64(col, _FAST_DECIMAL, nulls=True)
    if values is None or ((values < 0) | (values > 1)).any():  # NaN compares False
        return None
    return pd.Series(values.astype("float32"))


def _fast_float(col, name: str):
    values = _fast_float64(col, _FAST_DECIMAL, nulls=False)
    return None if values is None else pd.Series(values.astype("float32"))


def _fast_bool(col, name: str):
    import pyarrow as pa
    import pyarrow.compute as pc

    low = pc.ascii_lower(col)  # non-ASCII letters stay uncertified, as they should
    true = pc.is_in(low, value_set=pa.array(sorted(_TRUE))).to_numpy(zero_copy_only=False)
    false = pc.is_in(low, value_set=pa.array(sorted(_FALSE))).to_numpy(zero_copy_only=False)
    missing = pc.or_(pc.is_in(low, value_set=pa.array(_BOOL_MISSING)), pc.is_null(col)).to_numpy(zero_copy_only=False)
    if not (true | false | missing).all():
        return None
    return pd.Series(pd.arrays.BooleanArray(true, ~(true | false)))


def _plain_captions(col) -> np.ndarray:
    """True where a caption needs no strip and is no list literal (or is empty), from its end bytes.

    A caption is plain when its first byte is printable ASCII other than '[' and its last byte
    printable ASCII other than a space: Python's ``str.strip`` then leaves it as it is.
    """
    import pyarrow as pa

    out = [np.zeros(0, dtype=bool)]
    for chunk in col.chunks:
        chunk = chunk if chunk.type == pa.string() else chunk.cast(pa.string())  # 32-bit offsets
        _, offsets, data = chunk.buffers()
        offsets = np.frombuffer(offsets, dtype=np.int32)[chunk.offset: chunk.offset + len(chunk) + 1]
        start, end = offsets[:-1], offsets[1:]
        empty = end == start  # nulls: the reader turns "" into null
        if data is None or empty.all():
            out.append(empty)
            continue
        data = np.frombuffer(data, dtype=np.uint8)
        first, last = data[np.where(empty, 0, start)], data[np.where(empty, 0, end - 1)]
        out.append(empty | ((first >= 0x21) & (first <= 0x7E) & (first != 0x5B) & (last >= 0x21) & (last <= 0x7E)))
    return np.concatenate(out)


def _fast_captions(col, name: str):
    plain = _plain_captions(col)
    s = pd.Series(col.to_pandas(), copy=False)
    if not plain.all():  # strip and list literals, the reference's way, on those rows only
        s = s.copy()
        s[~plain] = _parse_captions(s[~plain], name, Path()).to_numpy()
    return s.fillna("").astype("str")


_FAST_PARSERS = {
    "id": _fast_id, "image_name": _fast_image_name, "created_at": _fast_datetime,
    "like_count": _fast_count, "quote_count": _fast_count, "reply_count": _fast_count,
    "all_captions": _fast_captions, "label_10_cluster": _fast_cluster,
    "possibly_sensitive": _fast_bool, "nsfw_score": _fast_unit_score,
    "UMAP_dim_1": _fast_float, "UMAP_dim_2": _fast_float,
}


def _read_csv_fast(path: Path) -> pd.DataFrame | None:
    """The typed table of a CSV or CSV.gz release, or None where the reference path must read it.

    Returns what ``validate(_read_raw(path), path)`` returns, with the same warnings.
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    try:
        table = _arrow_text_table(path)
        # pyarrow's kernels let go of the GIL: the columns are checked and converted side by side,
        # and beside the search for duplicate rows; if it drops some, what is left is done again
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            deduplicated = pool.submit(_fast_drop_duplicates, table, path)
            fast = dict(zip(REQUIRED, pool.map(lambda n: _FAST_PARSERS[n](table.column(n), n), REQUIRED)))
            kept, rows, dropped = deduplicated.result()
            if kept is not table:
                table = kept
                fast = dict(zip(REQUIRED, pool.map(lambda n: _FAST_PARSERS[n](table.column(n), n), REQUIRED)))
        typed = {}
        for name in REQUIRED:
            out = fast[name]
            if out is None:  # not certified: the reference parser on the same text
                col = table.column(name)
                out = _PARSERS[name](pd.Series(col.to_pandas().array, index=rows), name, path)
            typed[name] = out.reset_index(drop=True)
        extra = {c: pd.Series(table.column(c).to_pandas(), copy=False)
                 for c in table.column_names if c not in COLUMNS}
        df = pd.DataFrame({**typed, **extra})
    except (_NotCertified, ReleaseError):
        return None  # the reference path reads it again and raises its own error
    except Exception:  # pyarrow's errors for bad CSV, bad gzip, bad UTF-8 ...: the reference explains them
        return None
    if dropped:  # given here, once the fast path has succeeded, so a fallback does not repeat it
        warnings.warn(dropped, UserWarning, stacklevel=2)  # the same line as the reference's warning
    _note_image_name_form(df, path)
    return df


# --------------------------------------------------------------------------------------
# the public loader and its cache
# --------------------------------------------------------------------------------------

def _cache_path(path: Path, cache_dir: Path) -> Path:
    """``<stem>-<hash of the path>-<hash of size, mtime, schema>.parquet``."""
    st = path.stat()
    where = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    version = hashlib.sha1(f"{st.st_size}|{st.st_mtime_ns}|v{SCHEMA_VERSION}".encode()).hexdigest()[:8]
    stem = path.name.split(".")[0]
    return cache_dir / f"{stem}-{where}-{version}.parquet"


def _write_cache(df: pd.DataFrame, path: Path) -> None:
    """The typed table as Parquet, written for speed: LZ4, dictionaries only where values repeat."""
    repeat = ["all_captions", "label_10_cluster", "possibly_sensitive", *COUNT_COLUMNS]
    df.to_parquet(path, index=False, compression="lz4", write_statistics=False,
                  use_dictionary=[c for c in repeat if c in df.columns])


def provenance(path: str | os.PathLike) -> dict:
    """Sidecar metadata of a release file (``<file>.meta.json``), if any.

    The sample generator writes one with ``"synthetic": true``; the real release has none.
    """
    side = Path(str(path) + ".meta.json")
    if side.exists():
        return json.loads(side.read_text())
    return {}


def is_synthetic(path: str | os.PathLike) -> bool:
    """True when the file was made by the sample generator (so figures must say so)."""
    return bool(provenance(path).get("synthetic", False))


def load_release(path: str | os.PathLike | None = None, *, cache: bool = True,
                 cache_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load a TWIGMA release file into a typed, validated table.

    Parameters
    ----------
    path : path-like, optional
        A CSV, CSV.gz or Parquet file in the release's format. Relative paths are taken from
        the repository root. Empty or None reads the embedded synthetic sample (which
        ``make sample`` writes; this function never generates data).
    cache : bool, default True
        Keep a typed Parquet copy under ``cache_dir`` and reuse it while the file's path, size
        and modification time are unchanged.
    cache_dir : path-like, optional
        Where the typed copies live (default ``$TWIGMA_CACHE_DIR``, else ``data/interim/``).

    Returns
    -------
    pandas.DataFrame of shape (n_images, 12 + extra columns)
        Columns and dtypes as in :data:`COLUMNS`. ``df.attrs`` holds ``source`` (the file),
        ``synthetic`` (bool), ``cache`` (the Parquet copy used, if any), ``image_name_form``
        (see :func:`image_name_form`) and ``image_name_forms`` (rows of each form).

    Warns
    -----
    UserWarning
        When ``image_name`` is float-formatted: the table is returned, but images cannot be
        matched to its rows (notebooks 00 to 05 do not need them).

    Raises
    ------
    ReleaseError
        If the file is missing, unreadable or not in the release's format.
    """
    p = paths.release_file(path)
    if not p.exists():
        if p == paths.SAMPLE_RELEASE:
            raise ReleaseError(p, "the embedded synthetic sample has not been made yet", advice=paths.MAKE_SAMPLE_ADVICE)
        raise ReleaseError(p, "no such file",
                           advice="download the release (see docs/real-data.md) or give the right path.")
    if p.is_dir():
        raise ReleaseError(p, "this is a folder, not a release file",
                           advice="give the path of the CSV, CSV.gz or Parquet file inside it.")

    cache_dir = cache_dir or os.environ.get("TWIGMA_CACHE_DIR")
    cpath = _cache_path(p, paths.resolve(cache_dir, default=paths.INTERIM)) if cache else None
    df = None
    if cpath is not None and cpath.exists():
        try:
            df = pd.read_parquet(cpath)
        except Exception:  # a damaged cache is rebuilt, never trusted
            df = None
        else:
            forms = df.attrs.get("image_name_forms")  # recorded in the cache's metadata when it was written
            df.attrs = {}
            if isinstance(forms, dict) and forms and not forms.get("float"):
                df.attrs.update(image_name_form=next(iter(forms)) if len(forms) == 1 else "mixed",
                                image_name_forms=forms)
            else:  # computed again, and its warning given at every load, not only the first
                _note_image_name_form(df, p)
    if df is None:
        df = _read_csv_fast(p) if not _is_parquet(p) and p.stat().st_size else None
        if df is None:
            df = validate(_read_raw(p), p)
        if cpath is not None:
            atomic_write(cpath, lambda tmp: _write_cache(df, tmp))  # parallel notebooks never see half a cache
            for old in cpath.parent.glob(cpath.name.rsplit("-", 1)[0] + "-*.parquet"):
                if old != cpath:  # copies of earlier versions of the same file
                    old.unlink(missing_ok=True)
    df.attrs = {"source": str(p), "synthetic": is_synthetic(p), "cache": str(cpath) if cpath else None,
                "image_name_form": df.attrs["image_name_form"], "image_name_forms": df.attrs["image_name_forms"]}
    return df


def data_dictionary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per release column: dtype, non-missing count and share, range or example, meaning."""
    rows = []
    for name, (_, meaning) in COLUMNS.items():
        col = df[name]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            rng = f"{col.min()} .. {col.max()}"
        elif isinstance(col.dtype, pd.DatetimeTZDtype):
            rng = f"{col.min():%Y-%m-%d %H:%M} .. {col.max():%Y-%m-%d %H:%M} UTC"
        elif pd.api.types.is_bool_dtype(col.dtype):
            rng = f"True: {int((col == True).sum())}, False: {int((col == False).sum())}, missing: {int(col.isna().sum())}"  # noqa: E712
        else:
            example = col.dropna().iloc[0] if col.notna().any() else ""
            rng = f"e.g. {str(example)[:60]!r}"
        rows.append({"column": name, "dtype": str(col.dtype), "non_missing": int(col.notna().sum()),
                     "share_missing": float(col.isna().mean()), "range_or_example": rng, "meaning": meaning})
    return pd.DataFrame(rows)
