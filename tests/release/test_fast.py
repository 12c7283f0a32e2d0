"""Tests of twigma.release.fast: the fast path for CSV and CSV.gz: pyarrow parses, vectorised checks certify."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from twigma.release import (
    ReleaseError,
    load_release,
    validate,
)


def test_a_csv_gz_reads_the_same_with_isal_and_with_zlib(raw, write_csv, monkeypatch):
    """The fast path decompresses gzip with ISA-L (isal) when installed, else with pyarrow's zlib: the same table;
    a truncated file still gets the reference path's message either way."""
    import builtins

    from twigma.release import fast
    from twigma.release.fast import read_csv_fast
    path = Path(write_csv(raw, "release.csv.gz", compression="gzip"))
    stream = fast._gunzipped(path)
    assert type(stream).__name__ == "PythonFile"  # isal's reader, handed to pyarrow
    stream.close()
    with_isal = read_csv_fast(path)
    real_import = builtins.__import__

    def no_isal(name, *args, **kw):
        if name == "isal" or name.startswith("isal."):
            raise ImportError("isal is not installed")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_isal)
    pd.testing.assert_frame_equal(read_csv_fast(path), with_isal, check_exact=True)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(with_isal, validate(raw, path), check_exact=True)
    cut = path.with_name("cut.csv.gz")
    cut.write_bytes(path.read_bytes()[:-40])
    assert read_csv_fast(cut) is None  # the reference path reads it and says what is wrong
    with pytest.raises(ReleaseError, match="gzip stream is truncated or damaged"):
        load_release(cut, cache=False)
