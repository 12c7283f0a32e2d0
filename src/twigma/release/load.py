"""The public loader: :func:`load_release`, its typed Parquet cache, and the data dictionary.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from twigma import paths
from twigma.files import atomic_write
from twigma.memory import free_arrow_memory
from twigma.release import marks
from twigma.release.fast import read_csv_fast
from twigma.release.forms import note_image_name_form
from twigma.release.parse import is_parquet, read_raw, validate
from twigma.release.schema import COLUMNS, COUNT_COLUMNS, SCHEMA_VERSION, ReleaseError

# --------------------------------------------------------------------------------------
# the public loader and its cache
# --------------------------------------------------------------------------------------

def cache_path(path: Path, cache_dir: Path) -> Path:
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
    """What a release file says about itself: its side file (``<file>.meta.json``), else the
    description carried inside the file (:func:`twigma.release.marks.embedded_meta`), else {}.

    The sample generator writes both, with ``"synthetic": true``; the real release has neither.
    """
    side = Path(str(path) + ".meta.json")
    if side.exists():
        return json.loads(side.read_text())
    return marks.embedded_meta(path)


def is_synthetic(path: str | os.PathLike) -> bool:
    """True when the file was made by the sample generator (so figures must say so)."""
    return bool(provenance(path).get("synthetic", False))


def _columns(columns) -> list[str] | None:
    """The requested columns in the release's order, checked; None for all."""
    if columns is None:
        return None
    wanted = [columns] if isinstance(columns, str) else list(columns)
    unknown = [c for c in wanted if c not in COLUMNS]
    if unknown:
        raise ValueError(f"load_release(columns=...): unknown column(s) {', '.join(map(repr, unknown))}; the "
                         f"release's columns are {', '.join(COLUMNS)}.")
    return [c for c in COLUMNS if c in set(wanted)]


def load_release(path: str | os.PathLike | None = None, *, cache: bool = True,
                 cache_dir: str | os.PathLike | None = None, columns=None) -> pd.DataFrame:
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
    columns : list of str, optional
        Only these release columns (returned in the release's order): read from the typed cache
        alone when it exists, so a notebook that needs three columns of 14 million rows holds
        three. The whole file is still parsed, validated and cached on the first load. The
        values equal those of the full table's columns.

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
    _check_file(p)
    wanted = _columns(columns)
    cpath = cache_path(p, paths.resolve(cache_dir) if cache_dir else paths.cache_root()) if cache else None
    df = _read_cache(cpath, p, wanted) if cpath is not None and cpath.exists() else None
    if df is None:
        df = _parse_and_cache(p, cpath)
        if wanted is not None:
            attrs, df = df.attrs, df[wanted]
            df.attrs = attrs
    df.attrs = {"source": str(p), "synthetic": is_synthetic(p), "cache": str(cpath) if cpath else None,
                "image_name_form": df.attrs["image_name_form"], "image_name_forms": df.attrs["image_name_forms"]}
    return df


def _check_file(p: Path) -> None:
    """Raise :class:`ReleaseError` unless ``p`` is a file, saying what to do."""
    if not p.exists():
        if p == paths.SAMPLE_RELEASE:
            raise ReleaseError(p, "the embedded synthetic sample has not been made yet", advice=paths.MAKE_SAMPLE_ADVICE)
        raise ReleaseError(p, "no such file",
                           advice="download the release (see docs/real-data.md) or give the right path.")
    if p.is_dir():
        raise ReleaseError(p, "this is a folder, not a release file",
                           advice="give the path of the CSV, CSV.gz or Parquet file inside it.")


def _read_cache(cpath: Path, p: Path, wanted: list[str] | None) -> pd.DataFrame | None:
    """The typed copy ``cpath`` of release file ``p`` (only the ``wanted`` columns), with the form of its
    image_name in ``attrs``; None when it cannot be read (a damaged cache is rebuilt, never trusted)."""
    try:
        df = pd.read_parquet(cpath, columns=wanted)
    except Exception:
        return None
    free_arrow_memory()
    forms = df.attrs.get("image_name_forms")  # recorded in the cache's metadata when it was written
    df.attrs = {}
    if isinstance(forms, dict) and forms and not forms.get("float"):
        df.attrs.update(image_name_form=next(iter(forms)) if len(forms) == 1 else "mixed", image_name_forms=forms)
    else:  # computed again, and its warning given at every load, not only the first
        names = df if "image_name" in df.columns else pd.read_parquet(cpath, columns=["image_name"])
        note_image_name_form(names, p)
        df.attrs.update(names.attrs)
    return df


def _parse_and_cache(p: Path, cpath: Path | None) -> pd.DataFrame:
    """Parse and validate release file ``p`` (the fast path first); keep its typed copy at ``cpath``."""
    df = read_csv_fast(p) if not is_parquet(p) and p.stat().st_size else None
    if df is None:
        df = validate(read_raw(p), p)
    if cpath is not None:
        atomic_write(cpath, lambda tmp: _write_cache(df, tmp))  # parallel notebooks never see half a cache
        for old in cpath.parent.glob(cpath.name.rsplit("-", 1)[0] + "-*.parquet"):
            if old != cpath:  # copies of earlier versions of the same file
                old.unlink(missing_ok=True)
    free_arrow_memory()
    return df


def _rounded(x) -> str:
    """A range end as a reader reads it: integers as they are, other numbers to 4 significant digits."""
    if pd.isna(x):
        return "n/a"
    return str(int(x)) if float(x).is_integer() else f"{float(x):.4g}"


def data_dictionary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per release column: dtype, non-missing count and share, range (numbers rounded to 4
    significant digits) or example, meaning."""
    rows = []
    for name, (_, meaning) in COLUMNS.items():
        col = df[name]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            rng = f"from {_rounded(col.min())} to {_rounded(col.max())}"  # not "-12.5 .. 13", a formula to a spreadsheet
        elif isinstance(col.dtype, pd.DatetimeTZDtype):
            rng = f"from {col.min():%Y-%m-%d %H:%M} to {col.max():%Y-%m-%d %H:%M} UTC"
        elif pd.api.types.is_bool_dtype(col.dtype):
            rng = f"True: {int((col == True).sum())}, False: {int((col == False).sum())}, missing: {int(col.isna().sum())}"  # noqa: E712
        else:
            example = col.dropna().iloc[0] if col.notna().any() else ""
            rng = f"e.g. {str(example)[:60]!r}"
        rows.append({"column": name, "dtype": str(col.dtype), "non_missing": int(col.notna().sum()),
                     "share_missing": float(col.isna().mean()), "range_or_example": rng, "meaning": meaning})
    return pd.DataFrame(rows)
