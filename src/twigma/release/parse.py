"""The reference parser of a release file: raw text read as pandas reads it, one checked parser per column.

Each ``parse_*`` function takes a raw text column and returns the typed one, or raises
:class:`~twigma.release.schema.ReleaseError` naming the file, the column, the first offending row and what
to do. :func:`validate` applies them all. The fast path (:mod:`twigma.release.fast`) is certified against them.
"""
from __future__ import annotations

import ast
import gzip
import os
import re
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from twigma.release.dates import check_date_range, refuse_other_date_format
from twigma.release.forms import note_image_name_form
from twigma.release.schema import (
    CAPTION_SEPARATOR,
    COLUMNS,
    FLOAT_ID_ADVICE,
    MAX_TWEET_ID,
    N_CLUSTERS,
    REQUIRED,
    ZENODO_RECORD,
    ReleaseError,
)
from twigma.release.sniff import check_text_file

# --------------------------------------------------------------------------------------
# reading the raw text
# --------------------------------------------------------------------------------------

def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def open_text_head(path: Path, n_bytes: int = 65536) -> bytes:
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as fh:
        return fh.read(n_bytes)


def _first_bad_utf8_line(path: Path) -> tuple[int, bytes]:
    """Return (0-based line number, line) of the first line that is not valid UTF-8."""
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as fh:
        for i, line in enumerate(fh):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return i, line
    return -1, b""


def read_raw(path: Path) -> pd.DataFrame:
    """Read the file as a table of text (or, for Parquet, of its stored types)."""
    if path.stat().st_size == 0:
        raise ReleaseError(path, "the file is empty (0 bytes)",
                           advice="the download was probably interrupted: download the release again.")
    if is_parquet(path):
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise ReleaseError(path, f"cannot read it as Parquet: {exc}",
                               advice="download the file again, or convert it to CSV.") from None
    check_text_file(path)
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8",
            compression="gzip" if is_gzip(path) else None, low_memory=False,
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
        raise ReleaseError(path, f"the file is not UTF-8 text ({exc.reason} at byte 0x{exc.object[exc.start]:02x}; "
                                 "single bytes like this one are Windows-1252 or Latin-1 text)",
                           row=row, value=line[:80].decode("utf-8", "replace") if line else None,
                           advice="re-save the file as UTF-8 (for example `iconv -f WINDOWS-1252 -t UTF-8 FILE > "
                                  "FILE.utf8.csv`), or download the release again.") from None
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


def parse_id(col: pd.Series, name: str, path: Path) -> pd.Series:
    if pd.api.types.is_float_dtype(col.dtype):
        raise ReleaseError(path, "ids are stored as floating-point numbers, which loses digits",
                           column=name, advice=FLOAT_ID_ADVICE)
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
                               column=name, row=pos, value=value, advice=FLOAT_ID_ADVICE)
        raise ReleaseError(path, "an id is not a string of digits", column=name, row=pos, value=value,
                           advice="ids must be written as plain digits; check the column was not edited.")
    _refuse_out_of_range_ids(s, name, path)
    if name == "id" and len(s) >= 20 and (s.str.len() >= 18).all():
        # float64 keeps 53 bits: a 19-digit id that went through a float is a multiple of 256.
        if (pd.to_numeric(s).to_numpy() % 256 == 0).all():
            raise ReleaseError(path, "every id is a multiple of 256: the ids were rounded through a float",
                               column=name, row=0, value=s.iloc[0], advice=FLOAT_ID_ADVICE)
    if name == "id":
        _refuse_ids_cut_by_a_spreadsheet(s, name, path)
    return s.astype("str")


#: A tweet id is a signed 64-bit integer written in 1 to 19 digits, never with a leading zero (the X API
#: accepts ``^[0-9]{1,19}$``, and a leading zero makes another string for the same tweet).
_MAX_ID_TEXT = str(MAX_TWEET_ID)


def _refuse_out_of_range_ids(s: pd.Series, name: str, path: Path) -> None:
    lengths = s.str.len()
    zero = s.str.startswith("0")
    if zero.any():
        pos, value = _first(zero, s)
        raise ReleaseError(path, "an id starts with a zero: tweet ids are 1 to 19 digits and never start with 0",
                           column=name, row=pos, value=value,
                           advice="the ids were padded to a fixed width or edited; download the release again "
                                  "(make data) rather than strip the zeros, unless you padded them yourself.")
    long = (lengths > 19) | ((lengths == 19) & (s > _MAX_ID_TEXT))
    if long.any():
        pos, value = _first(long, s)
        raise ReleaseError(path, f"an id is beyond the largest tweet id {_MAX_ID_TEXT} (19 digits, a signed 64-bit "
                                 "integer); the X API refuses such ids", column=name, row=pos, value=value,
                           advice="the column was edited or two ids ran together; use the release file as published "
                                  "(make data).")


#: A column cut to 15 significant digits (what spreadsheets keep of a long number) ends its 19-digit ids in
#: four zeros. A real tweet id does so rarely (about 1 in 10,000, or 1 in 625 when the 12 sequence bits of
#: its snowflake are zero), so when at least 3 ids and half of those of 16 digits or more end in 0000, the column was cut.
CUT_ID_ZEROS, CUT_ID_MIN, CUT_ID_SHARE = "0000", 3, 0.5


def ids_look_cut(n_zero_ending: int, n_long: int) -> bool:
    """Whether ``n_zero_ending`` of ``n_long`` ids of 16 digits or more ending in 0000 mean a cut column."""
    return n_zero_ending >= CUT_ID_MIN and n_zero_ending >= CUT_ID_SHARE * n_long


def _refuse_ids_cut_by_a_spreadsheet(s: pd.Series, name: str, path: Path) -> None:
    long = s[s.str.len() >= 16]
    zeros = long.str.endswith(CUT_ID_ZEROS)
    if not ids_look_cut(int(zeros.sum()), len(long)):
        return
    pos, value = _first(zeros, long)
    raise ReleaseError(
        path, f"{int(zeros.sum()):,} of {len(long):,} ids end in four or more zeros ({long[zeros].nunique():,} "
              "distinct values): the ids were cut to 15 significant digits, as a spreadsheet does with long numbers, "
              "so different tweets share one id and every tweet link would be wrong",
        column=name, row=pos, value=value,
        advice="download the release again (make data) and do not save it from a spreadsheet; to open it in one, "
               "import the id column as Text.")


def parse_image_name(col: pd.Series, name: str, path: Path) -> pd.Series:
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


def parse_datetime(col: pd.Series, name: str, path: Path) -> pd.Series:
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
            refuse_other_date_format(s, bad, name, path)
            pos, value = _first(bad, s)
            raise ReleaseError(path, "cannot read this as a date and time", column=name, row=pos, value=value,
                               advice="dates must be ISO-8601, such as 2022-11-03T14:22:10Z or "
                                      "'2022-11-03 14:22:10+00:00'; fix or remove the row.")
    if out.isna().any():
        pos, _ = _first(out.isna(), out)
        raise ReleaseError(path, "the creation time is missing", column=name, row=pos,
                           advice="every tweet has a creation time; use the release file as published.")
    out = out.astype("datetime64[us, UTC]")
    check_date_range(out, name, path)
    return out


def parse_number(col: pd.Series, name: str, path: Path, advice: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("float64")
    s = _text(col).str.strip()
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    bad = out.isna() & s.notna() & ~s.str.lower().isin(["nan", "na", "null", "none"])
    if bad.any():
        pos, value = _first(bad, s)
        raise ReleaseError(path, "not a number", column=name, row=pos, value=value, advice=advice)
    return out


def parse_count(col: pd.Series, name: str, path: Path) -> pd.Series:
    x = parse_number(col, name, path, "engagement counts are whole numbers, or empty when unknown.")
    vals = x.to_numpy()
    bad = ~np.isnan(vals) & ((vals < 0) | (vals != np.round(vals)))
    if bad.any():
        pos, value = _first(bad, col)
        raise ReleaseError(path, "a count must be a whole number >= 0", column=name, row=pos, value=value,
                           advice="engagement counts are whole numbers, or empty when the tweet was deleted.")
    return x.astype("Int64")


def parse_cluster(col: pd.Series, name: str, path: Path) -> pd.Series:
    x = parse_number(col, name, path, "clusters are the integers 1 to 10.")
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


def parse_unit_score(col: pd.Series, name: str, path: Path) -> pd.Series:
    x = parse_number(col, name, path, "the NSFW score is a number in [0, 1], or empty.")
    vals = x.to_numpy()
    bad = ~np.isnan(vals) & ((vals < 0) | (vals > 1))
    if bad.any():
        pos, value = _first(bad, col)
        raise ReleaseError(path, "NSFW score out of range [0, 1]", column=name, row=pos, value=value,
                           advice="the detector's score is a probability; if the column holds percentages, "
                                  "divide it by 100.")
    return x.astype("float32")


def parse_float(col: pd.Series, name: str, path: Path) -> pd.Series:
    x = parse_number(col, name, path, "UMAP coordinates are numbers.")
    if x.isna().any():
        pos, value = _first(x.isna(), col)
        raise ReleaseError(path, "a UMAP coordinate is missing", column=name, row=pos, value=value,
                           advice="every image has UMAP coordinates in the release; use the file as published.")
    return x.astype("float32")


TRUE_WORDS = {"true", "1", "1.0", "yes", "t"}
FALSE_WORDS = {"false", "0", "0.0", "no", "f"}


def parse_bool(col: pd.Series, name: str, path: Path) -> pd.Series:
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("boolean")
    s = _text(col.astype(str) if not pd.api.types.is_string_dtype(col.dtype) else col).str.strip().str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[s.isin(TRUE_WORDS).fillna(False).to_numpy()] = True
    out[s.isin(FALSE_WORDS).fillna(False).to_numpy()] = False
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


def parse_captions(col: pd.Series, name: str, path: Path) -> pd.Series:
    s = _text(col).str.strip()
    is_list = (s.str.startswith("[") & s.str.endswith("]")).fillna(False).to_numpy()
    if is_list.any():
        s = s.copy()
        s[is_list] = [_join_list_literal(t) for t in s[is_list]]  # type: ignore[call-overload]  # pandas-stubs: no list under a mask
    return s.fillna("").astype("str")


PARSERS = {
    "id": parse_id, "image_name": parse_image_name, "created_at": parse_datetime,
    "like_count": parse_count, "quote_count": parse_count, "reply_count": parse_count,
    "all_captions": parse_captions, "label_10_cluster": parse_cluster,
    "possibly_sensitive": parse_bool, "nsfw_score": parse_unit_score,
    "UMAP_dim_1": parse_float, "UMAP_dim_2": parse_float,
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
    typed = {name: PARSERS[name](raw[name], name, path) for name in REQUIRED}
    extra = {c: raw[c] for c in raw.columns if c not in COLUMNS}
    df = pd.DataFrame({**typed, **extra}).reset_index(drop=True)
    note_image_name_form(df, path)
    return df


