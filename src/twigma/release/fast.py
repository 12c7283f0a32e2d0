"""The fast path for CSV and CSV.gz: pyarrow parses, vectorised checks certify.

A column is converted here only when a check certifies that the reference parser
(:mod:`twigma.release.parse`) would accept every value and give the same result; anything else
falls back to the reference.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from twigma.release.forms import note_image_name_form
from twigma.release.parse import (
    CUT_ID_ZEROS,
    FALSE_WORDS,
    PARSERS,
    TRUE_WORDS,
    ids_look_cut,
    is_gzip,
    open_text_head,
    parse_captions,
)
from twigma.release.schema import COLLECTED_BY, COLUMNS, MAX_TWEET_ID, REQUIRED, TWITTER_FIRST_TWEET, ReleaseError

# --------------------------------------------------------------------------------------
# the fast path for CSV and CSV.gz: pyarrow parses, vectorised checks certify
# --------------------------------------------------------------------------------------
#
# ``validate(read_raw(path))`` is the reference: it reads every cell as text with pandas and
# parses each column with the ``_parse_*`` functions above. The fast path reads the same text
# with pyarrow's multithreaded CSV reader and converts a column itself only when a vectorised
# check certifies that the reference would accept every value and give the same result (plain
# digits for ids, ISO-8601 with an offset for dates, decimal numbers in range, ...). A column
# it does not certify goes through its ``_parse_*`` function on the same text; anything else it
# does not certify (a header that needs cleaning, a row of the wrong width, a damaged or
# non-UTF-8 file, an invalid value) makes it give up, and the reference path reads the file
# again, so every error message is the reference's.

_FAST_ID_MAX_DIGITS = 19  # a tweet id has 1 to 19 digits (a signed 64-bit integer)
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
    """The CSV as a pyarrow table of text, cells exactly as ``read_raw`` reads them, or raise."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    head = open_text_head(path)
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
    source = _gunzipped(path) if is_gzip(path) else pa.OSFile(str(path))
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


def _gunzipped(path: Path):
    """The decompressed stream of a gzip file for pyarrow's reader: Intel's ISA-L (the ``isal`` package)
    where it is installed, about twice as fast as zlib here; else pyarrow's own (zlib)."""
    import pyarrow as pa

    try:
        from isal import igzip
    except ImportError:
        return pa.CompressedInputStream(pa.OSFile(str(path)), "gzip")
    return pa.PythonFile(igzip.open(path, "rb"), mode="r")


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
    lengths = pc.utf8_length(col)
    if pc.max(lengths).as_py() > _FAST_ID_MAX_DIGITS or pc.any(pc.starts_with(col, "0")).as_py():
        return None  # beyond 19 digits or a leading zero: the reference raises its error
    longest = pc.filter(col, pc.equal(lengths, _FAST_ID_MAX_DIGITS))
    if len(longest) and pc.max(longest).as_py() > str(MAX_TWEET_ID):  # same length: text order is number order
        return None
    if name == "id":
        long = pc.filter(col, pc.greater_equal(lengths, 16))
        if ids_look_cut(int(pc.sum(pc.ends_with(long, CUT_ID_ZEROS)).as_py() or 0), len(long)):
            return None
    if name == "id" and len(col) >= 20:
        if pc.min(lengths).as_py() >= 18:  # the reference's rounded-through-a-float test applies
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
    out = pd.Series(out.to_pandas(), copy=False).astype("datetime64[us, UTC]")
    if out.min() < pd.Timestamp(TWITTER_FIRST_TWEET, tz="UTC") or out.max() >= pd.Timestamp(COLLECTED_BY, tz="UTC"):
        return None  # a date no tweet of the release can have: the reference raises its error
    return out


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
    true = pc.is_in(low, value_set=pa.array(sorted(TRUE_WORDS))).to_numpy(zero_copy_only=False)
    false = pc.is_in(low, value_set=pa.array(sorted(FALSE_WORDS))).to_numpy(zero_copy_only=False)
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
        s[~plain] = parse_captions(s[~plain], name, Path()).to_numpy()
    return s.fillna("").astype("str")


_FAST_PARSERS = {
    "id": _fast_id, "image_name": _fast_image_name, "created_at": _fast_datetime,
    "like_count": _fast_count, "quote_count": _fast_count, "reply_count": _fast_count,
    "all_captions": _fast_captions, "label_10_cluster": _fast_cluster,
    "possibly_sensitive": _fast_bool, "nsfw_score": _fast_unit_score,
    "UMAP_dim_1": _fast_float, "UMAP_dim_2": _fast_float,
}


def read_csv_fast(path: Path) -> pd.DataFrame | None:
    """The typed table of a CSV or CSV.gz release, or None where the reference path must read it.

    Returns what ``validate(read_raw(path), path)`` returns, with the same warnings.
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
                out = PARSERS[name](pd.Series(col.to_pandas().array, index=rows), name, path)
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
    note_image_name_form(df, path)
    return df


