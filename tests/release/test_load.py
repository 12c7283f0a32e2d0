"""Tests of twigma.release.load: the public loader: :func:`load_release`, its typed Parquet cache, and the data dictionary."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.quirky_releases import _releases
from support.release_files import write

from twigma import paths
from twigma.cli import main
from twigma.release import (
    COLUMNS,
    ReleaseError,
    fast as release_fast,
    forms as release_forms,
    load_release,
    parse as release_parse,
    validate,
)


def load(path, tmp_path=None, **kw):
    kw.setdefault("cache", False)
    return load_release(path, **kw)


def error_of(path) -> ReleaseError:
    with pytest.raises(ReleaseError) as info:
        load(path)
    return info.value


def assert_clear(err: ReleaseError, path, column=None, row=None, *words):
    msg = str(err)
    assert str(path) in msg
    assert "What to do:" in msg
    if column is not None:
        assert err.column == column and f"column '{column}'" in msg
    if row is not None:
        assert err.row == row and f"data row {row}" in msg
    for w in words:
        assert w.lower() in msg.lower(), (w, msg)


def fast_and_reference(path):
    """(fast table or None, reference table) of one file; the warnings each gives are recorded."""
    import warnings
    with warnings.catch_warnings(record=True) as fast_warnings:
        warnings.simplefilter("always")
        fast = release_fast.read_csv_fast(Path(path))
    with warnings.catch_warnings(record=True) as ref_warnings:
        warnings.simplefilter("always")
        ref = validate(release_parse.read_raw(Path(path)), path)
    assert [str(w.message) for w in fast_warnings] == [str(w.message) for w in ref_warnings]
    return fast, ref


def assert_same_table(path):
    fast, ref = fast_and_reference(path)
    assert fast is not None, "the fast path gave up on a file it should read"
    pd.testing.assert_frame_equal(fast, ref, check_exact=True)
    return fast


def _mixed(raw, column, values):
    raw[column] = raw[column].astype(object)
    for i, v in enumerate(values):
        raw.loc[i, column] = v
    return raw


QUIRKS = {
    "list-literal captions": lambda raw: _mixed(raw, "all_captions", [
        "['a painting of a cat', 'a cat on a table']", "  [\"x\", 'y']  ", "[not a literal", "[1, 2]",
        "  padded caption\t", "caf\u00e9 au lait", "a caption, with \"quotes\" and commas", "\u00a0nbsp\u00a0"]),
    "Twitter v1.1 dates": lambda raw: _mixed(raw, "created_at", ["Wed Oct 10 20:19:24 +0000 2018"] * 3),
    "ISO dates with offsets and fractions": lambda raw: _mixed(raw, "created_at", [
        "2022-11-03T16:22:10+02:00", "2022-11-03T14:22:10Z", "2022-11-03 14:22:10.123456-05:30",
        "2022-11-03T14:22:10.5Z"]),
    "naive ISO dates": lambda raw: raw.assign(created_at=raw["created_at"].str.slice(0, 19)),
    "empty counts": lambda raw: _mixed(raw, "like_count", [None, None, "", "12.0", "007"]),
    "counts spelled nan": lambda raw: _mixed(raw, "reply_count", ["nan", "NULL", "None", "3"]),
    "booleans 1/0/True/false": lambda raw: raw.assign(possibly_sensitive=np.resize(
        ["1", "0", "True", "false", "TRUE", "f", "yes", "no", "1.0", "", "nan", "None"], len(raw))),
    "numbers with spaces": lambda raw: _mixed(raw, "nsfw_score", [" 0.5", "0.25 ", "1e-3", "NaN"]),
    "UMAP in scientific notation": lambda raw: _mixed(raw, "UMAP_dim_1", ["1e-3", "-2.5E+01", "+3.5", ".5"]),
    "clusters written as floats": lambda raw: raw.assign(label_10_cluster=raw["label_10_cluster"].astype(float)),
    "extra columns and a written index": lambda raw: raw.assign(note="x", score2=1.5).reset_index().rename(
        columns={"index": "Unnamed: 0"}),
    "exact duplicates": lambda raw: pd.concat([raw, raw.iloc[[5, 6, 5]], raw.iloc[:2]], ignore_index=True),
    "near duplicates": lambda raw: pd.concat([raw, raw.iloc[[5]].assign(like_count="12.0" if pd.isna(
        raw.loc[5, "like_count"]) else f"{float(raw.loc[5, 'like_count'])}")], ignore_index=True),
    "ids with leading zeros": lambda raw: _mixed(raw, "image_name", ["0001", "00001"]),
    "image names as file codes": lambda raw: raw.assign(image_name=file_codes(raw)),
    "image names as file names": lambda raw: raw.assign(image_name=raw["image_name"] + ".jpg"),
    "image names padded or of mixed forms": lambda raw: _mixed(raw, "image_name", [
        " 1612345678901234567 ", "\tFrXy7_aWcAE1a2b", "FrXy7.JPG ", "a b", "-_x", "1.6e+18"]),
    "image names as floats": lambda raw: raw.assign(image_name=[f"{float(v):.15e}" for v in raw["image_name"]]),
    "image names as floats with a point": lambda raw: raw.assign(image_name=[f"{float(v):.1f}" for v in raw["image_name"]]),
}


def file_codes(raw) -> list[str]:
    """Photo file codes as X writes them (15 base64url characters), one per row."""
    return [f"F{'rXy7_-'[i % 6]}{int(v) % 10**9:09d}aW{'cE'[i % 2]}"[:15] for i, v in enumerate(raw["image_name"])]


FORMS = {
    "media_id": lambda raw: raw["image_name"],
    "file_code": file_codes,
    "file_name": lambda raw: [f"{c}.jpg" if i % 2 else f"{c}.PNG" for i, c in enumerate(file_codes(raw))],
}


FLOAT_FORMS = {
    "scientific": lambda raw: [f"{float(v):.1e}" for v in raw["image_name"]],  # 1.6e+18
    "with a point": lambda raw: [f"{float(v):.1f}" for v in raw["image_name"]],  # 1609459200000000000.0
    "rounded through a float": lambda raw: [str(int(float(v))) for v in raw["image_name"]],  # multiples of 256
}


@pytest.mark.parametrize("edit", [
    lambda raw: raw.assign(id=["0" + i if k == 5 else i for k, i in enumerate(raw["id"])]),
    lambda raw: raw.assign(id=[i + "1" if k == 5 else i for k, i in enumerate(raw["id"])]),
    lambda raw: raw.assign(id=[str(round(int(i), -4)) for i in raw["id"]]),
    lambda raw: raw.assign(created_at=["1970-01-01T00:00:00Z" if k == 5 else t for k, t in enumerate(raw["created_at"])]),
    lambda raw: raw.assign(created_at=["2031-01-01T00:00:00Z" if k == 5 else t for k, t in enumerate(raw["created_at"])]),
], ids=["leading zero", "20 digits", "cut ids", "1970", "2031"])
def test_the_fast_path_certifies_none_of_them(raw, tmp_path, edit):
    from twigma.release.fast import read_csv_fast
    assert read_csv_fast(write(edit(raw), tmp_path)) is None  # the reference path reads it and explains


def test_types_and_values_round_trip(raw, write_csv):
    df = load(write_csv(raw))
    assert list(df.columns) == list(COLUMNS)
    for col, (dtype, _) in COLUMNS.items():
        assert str(df[col].dtype) == dtype, col
    assert df["id"].tolist() == raw["id"].tolist()  # 19-digit ids kept exactly
    assert df["id"].str.len().eq(19).all()
    assert df["like_count"].isna().sum() == raw["like_count"].isna().sum()
    assert df["like_count"].dropna().astype(int).tolist() == raw["like_count"].dropna().astype(int).tolist()
    assert (df["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S+00:00") == raw["created_at"]).all()
    assert df["label_10_cluster"].between(1, 10).all()
    np.testing.assert_allclose(df["nsfw_score"], raw["nsfw_score"], atol=1e-6)


def test_csv_gzip_and_parquet_give_the_same_table(raw, write_csv, tmp_path):
    plain = load(write_csv(raw))
    gz = load(write_csv(raw, "r.csv.gz", compression="gzip"))
    pq_path = tmp_path / "r.parquet"
    raw.to_parquet(pq_path, index=False)
    pq = load(pq_path)
    pd.testing.assert_frame_equal(plain, gz)
    pd.testing.assert_frame_equal(plain, pq)


@pytest.mark.parametrize("text", [
    "2022-11-03T14:22:10Z", "2022-11-03 14:22:10+00:00", "2022-11-03T14:22:10.123Z",
    "2022-11-03 14:22:10.123456+00:00", "2022-11-03T14:22:10+00:00", "2022-11-03 14:22:10",
    "Thu Nov 03 14:22:10 +0000 2022",
])
def test_accepts_iso8601_variants_and_twitter_format(raw, write_csv, text):
    raw["created_at"] = text
    df = load(write_csv(raw))
    assert df["created_at"].dt.floor("s").eq(pd.Timestamp("2022-11-03 14:22:10", tz="UTC")).all()


def test_non_utc_offsets_are_converted_to_utc(raw, write_csv):
    raw["created_at"] = "2022-11-03T16:22:10+02:00"
    assert load(write_csv(raw))["created_at"].iloc[0] == pd.Timestamp("2022-11-03 14:22:10", tz="UTC")


def test_accepts_list_literal_captions_and_boolean_spellings(raw, write_csv):
    raw.loc[0, "all_captions"] = "['a painting of a cat', 'a cat on a table']"
    raw["possibly_sensitive"] = np.where(np.arange(len(raw)) % 3 == 0, "true", np.where(np.arange(len(raw)) % 3 == 1, "0", "False"))
    df = load(write_csv(raw))
    assert df.loc[0, "all_captions"] == "a painting of a cat | a cat on a table"
    assert df["possibly_sensitive"].tolist()[:3] == [True, False, False]


def test_counts_written_as_floats_are_read_as_integers(raw, write_csv):
    raw["like_count"] = ["" if pd.isna(v) else f"{float(v)}" for v in raw["like_count"]]  # "12.0"
    df = load(write_csv(raw))
    assert str(df["like_count"].dtype) == "Int64"
    assert df["like_count"].isna().sum() == (raw["like_count"] == "").sum()


def test_exact_duplicate_rows_are_dropped_with_a_count(raw, write_csv):
    doubled = pd.concat([raw, raw.iloc[:7]], ignore_index=True)
    with pytest.warns(UserWarning, match=r"dropped 7 exact duplicate row"):
        df = load(write_csv(doubled))
    assert len(df) == len(raw)


def test_empty_path_loads_the_embedded_sample():
    df = load_release("")
    assert df.attrs["synthetic"] is True
    assert df.attrs["source"] == str(paths.SAMPLE_RELEASE)
    assert len(df) >= 20_000


def test_missing_column(raw, write_csv):
    p = write_csv(raw.drop(columns=["nsfw_score"]))
    assert_clear(error_of(p), p, "nsfw_score", None, "missing column")


@pytest.mark.parametrize("bad", ["1.6123456789012344e+18", "1612345678901234567.0", "1.612345678901234E18"])
def test_ids_written_as_floats_explain_the_may_2024_fix(raw, write_csv, bad):
    raw.loc[5, "id"] = bad
    p = write_csv(raw)
    assert_clear(error_of(p), p, "id", 5, "scientific notation", "May 2024", "8031785")


def test_ids_stored_as_a_float_column_in_parquet(raw, tmp_path):
    raw["id"] = raw["id"].astype(float)
    p = tmp_path / "r.parquet"
    raw.to_parquet(p, index=False)
    assert_clear(error_of(p), p, "id", None, "floating-point", "May 2024")


def test_ids_rounded_through_a_float_are_caught(raw, write_csv):
    raw["id"] = [str(int(float(i))) for i in raw["id"]]  # digits kept, precision lost
    p = write_csv(raw)
    assert_clear(error_of(p), p, "id", 0, "rounded", "May 2024")


def test_unparseable_date(raw, write_csv):
    raw.loc[11, "created_at"] = "yesterday at noon"
    p = write_csv(raw)
    assert_clear(error_of(p), p, "created_at", 11, "date", "ISO-8601")


@pytest.mark.parametrize("bad", ["0", "11", "3.5", "x"])
def test_cluster_out_of_range(raw, write_csv, bad):
    raw["label_10_cluster"] = raw["label_10_cluster"].astype(str)
    raw.loc[4, "label_10_cluster"] = bad
    p = write_csv(raw)
    err = error_of(p)
    assert_clear(err, p, "label_10_cluster", 4)


def test_zero_based_clusters_get_a_hint(raw, write_csv):
    raw["label_10_cluster"] = raw["label_10_cluster"] - 1
    p = write_csv(raw)
    assert "add 1" in str(error_of(p))


@pytest.mark.parametrize("bad", ["1.5", "-0.1", "73"])
def test_nsfw_score_out_of_range(raw, write_csv, bad):
    raw["nsfw_score"] = raw["nsfw_score"].astype(str)
    raw.loc[9, "nsfw_score"] = bad
    p = write_csv(raw)
    assert_clear(error_of(p), p, "nsfw_score", 9, "out of range")


def test_negative_or_fractional_counts(raw, write_csv):
    raw["like_count"] = raw["like_count"].astype("string")
    raw.loc[3, "like_count"] = "-2"
    p = write_csv(raw)
    assert_clear(error_of(p), p, "like_count", 3, "whole number")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    assert_clear(error_of(p), p, None, None, "empty")


def test_header_without_rows(raw, write_csv):
    p = write_csv(raw.iloc[:0])
    assert_clear(error_of(p), p, None, None, "no rows")


def test_truncated_gzip(raw, write_csv, tmp_path):
    full = open(write_csv(raw, "full.csv.gz", compression="gzip"), "rb").read()
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(full[: len(full) // 2])
    assert_clear(error_of(p), p, None, None, "truncated", "download")


def test_non_utf8_bytes(raw, write_csv):
    p = write_csv(raw)
    lines = open(p, "rb").read().split(b"\n")
    lines[21] = lines[21].replace(b"painting", b"p\xe9inting", 1) if b"painting" in lines[21] else lines[21] + b"\xe9"
    open(p, "wb").write(b"\n".join(lines))
    err = error_of(p)
    assert_clear(err, p, None, 20, "UTF-8", "iconv")


@pytest.mark.parametrize("sep,name", [(";", "semicolons"), ("\t", "tabs")])
def test_wrong_delimiter(raw, write_csv, sep, name):
    p = write_csv(raw, sep=sep)
    assert_clear(error_of(p), p, None, None, name, "comma")


def test_missing_file_and_folder(tmp_path):
    assert "no such file" in str(error_of(tmp_path / "nope.csv"))
    assert "folder" in str(error_of(tmp_path))


def test_validate_takes_a_dataframe_directly(raw):
    df = validate(raw)
    assert len(df) == len(raw)


def test_typed_cache_is_reused_and_refreshed_when_the_file_changes(raw, write_csv, tmp_path):
    p = write_csv(raw)
    cache = tmp_path / "cache"
    first = load_release(p, cache_dir=cache)
    assert first.attrs["cache"] and os.path.exists(first.attrs["cache"])
    mtime = os.path.getmtime(first.attrs["cache"])
    second = load_release(p, cache_dir=cache)
    assert second.attrs["cache"] == first.attrs["cache"]
    assert os.path.getmtime(second.attrs["cache"]) == mtime  # read, not rewritten
    pd.testing.assert_frame_equal(first, second)

    time.sleep(0.01)
    raw.loc[0, "like_count"] = 424242
    raw.to_csv(p, index=False)  # a new version of the file
    third = load_release(p, cache_dir=cache)
    assert third.attrs["cache"] != first.attrs["cache"]
    assert third.loc[0, "like_count"] == 424242


def test_a_damaged_cache_is_rebuilt(raw, write_csv, tmp_path):
    p = write_csv(raw)
    first = load_release(p, cache_dir=tmp_path)
    open(first.attrs["cache"], "wb").write(b"not parquet")
    again = load_release(p, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, again)


def test_missing_sensitive_flags_are_allowed_and_described(raw):
    from twigma.release import data_dictionary

    raw["possibly_sensitive"] = raw["possibly_sensitive"].astype(object)
    raw.loc[[3, 8], "possibly_sensitive"] = None
    df = validate(raw)
    assert df["possibly_sensitive"].isna().sum() == 2
    row = data_dictionary(df).set_index("column").loc["possibly_sensitive"]
    assert "missing: 2" in row["range_or_example"]


def test_error_rows_count_dropped_duplicates(raw, write_csv):
    doubled = pd.concat([raw.iloc[:2], raw], ignore_index=True)  # two duplicates at the top
    doubled["nsfw_score"] = doubled["nsfw_score"].astype(str)
    doubled.loc[10, "nsfw_score"] = "7"
    p = write_csv(doubled)
    with pytest.warns(UserWarning):
        err = error_of(p)
    assert err.row == 10 and "line 12" in str(err)


@pytest.mark.parametrize("quirk", list(QUIRKS))
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_fast_and_reference_paths_give_the_same_table(raw, write_csv, quirk, compression):
    name = "r.csv.gz" if compression else "r.csv"
    assert_same_table(write_csv(QUIRKS[quirk](raw), name, compression=compression))


def test_fast_path_reads_a_bom_header_like_the_reference(raw, write_csv):
    p = write_csv(raw, encoding="utf-8-sig")
    assert open(p, "rb").read(3) == b"\xef\xbb\xbf"
    assert list(assert_same_table(p).columns) == list(COLUMNS)


def test_duplicates_dropped_by_the_fast_path_warn_once(raw, write_csv):
    p = write_csv(pd.concat([raw, raw.iloc[:3]], ignore_index=True))
    with pytest.warns(UserWarning, match=r"dropped 3 exact duplicate row") as record:
        load(p)
    assert len([w for w in record if "duplicate" in str(w.message)]) == 1


@pytest.mark.parametrize("header", [
    " id,image_name,created_at,like_count,quote_count,reply_count,all_captions,label_10_cluster,"
    "possibly_sensitive,nsfw_score,UMAP_dim_1,UMAP_dim_2",  # a name that needs stripping
    ",id,image_name,created_at,like_count,quote_count,reply_count,all_captions,label_10_cluster,"
    "possibly_sensitive,nsfw_score,UMAP_dim_1,UMAP_dim_2",  # an unnamed index column
])
def test_headers_the_fast_path_leaves_to_the_reference(raw, tmp_path, header):
    body = raw.to_csv(index=False).split("\n", 1)[1]
    if header.startswith(","):
        body = "\n".join(f"{i},{line}" for i, line in enumerate(body.rstrip("\n").split("\n"))) + "\n"
    p = tmp_path / "h.csv"
    p.write_text(header + "\n" + body)
    fast, ref = fast_and_reference(p)
    assert fast is None
    pd.testing.assert_frame_equal(load(p), ref, check_exact=True)


def test_the_embedded_sample_takes_the_fast_path_in_every_column(monkeypatch):
    sample = paths.SAMPLE_RELEASE
    if not sample.exists():
        pytest.skip("the embedded sample is made by `make sample`")
    ref = validate(release_parse.read_raw(sample), sample)

    def refuse(col, name, path):
        raise AssertionError(f"column {name} left the fast path")

    monkeypatch.setattr(release_fast, "PARSERS", {name: refuse for name in COLUMNS})
    fast = release_fast.read_csv_fast(sample)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, ref, check_exact=True)


def test_every_bad_csv_leaves_the_fast_path(raw, write_csv):
    raw["nsfw_score"] = raw["nsfw_score"].astype(str)
    raw.loc[9, "nsfw_score"] = "73"
    assert release_fast.read_csv_fast(Path(write_csv(raw))) is None


def test_parquet_is_read_by_the_reference_path_unchanged(raw, tmp_path):
    p = tmp_path / "r.parquet"
    raw.to_parquet(p, index=False)
    pd.testing.assert_frame_equal(load(p), validate(pd.read_parquet(p), p), check_exact=True)


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_each_form_of_image_name_loads_without_a_warning(raw, tmp_path, form, fmt):
    import warnings
    raw["image_name"] = list(FORMS[form](raw))
    p = tmp_path / f"r.{fmt}"
    raw.to_csv(p, index=False) if fmt == "csv" else raw.to_parquet(p, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = load(p)
    assert df.attrs["image_name_form"] == form and df.attrs["image_name_forms"] == {form: len(raw)}
    assert df["image_name"].tolist() == [str(v) for v in raw["image_name"]]


def test_image_names_are_stripped_and_mixed_forms_counted(raw, write_csv):
    _mixed(raw, "image_name", [" 1612345678901234567 ", "\tFrXy7_aWcAE1a2b", "FrXy7.JPG ", "a b"])
    df = load(write_csv(raw))
    assert df["image_name"].tolist()[:4] == ["1612345678901234567", "FrXy7_aWcAE1a2b", "FrXy7.JPG", "a b"]
    assert df.attrs["image_name_form"] == "mixed"
    assert df.attrs["image_name_forms"] == {"file_code": 1, "file_name": 1, "media_id": len(raw) - 3, "other": 1}


@pytest.mark.parametrize("empty", ["", "   "])
def test_a_missing_image_name_is_an_error_naming_file_column_and_row(raw, write_csv, empty):
    raw.loc[17, "image_name"] = empty
    p = write_csv(raw)
    assert_clear(error_of(p), p, "image_name", 17, "image name is missing")


def test_a_missing_image_name_in_a_parquet_float_column_is_an_error(raw, tmp_path):
    raw["image_name"] = raw["image_name"].astype(float)
    raw.loc[4, "image_name"] = np.nan
    p = tmp_path / "r.parquet"
    raw.to_parquet(p, index=False)
    assert_clear(error_of(p), p, "image_name", 4, "missing")


@pytest.mark.parametrize("kind", list(FLOAT_FORMS))
def test_a_float_image_name_warns_at_the_callers_line_and_still_loads(raw, write_csv, kind, tmp_path):
    raw["image_name"] = FLOAT_FORMS[kind](raw)
    p = write_csv(raw)
    with pytest.warns(UserWarning, match="matching images to rows is not possible") as record:
        df = load_release(p, cache_dir=tmp_path / "cache")
    warning = next(w for w in record if "image_name" in str(w.message))
    assert warning.filename == __file__  # stacklevel: the caller's line, not the loader's
    msg = str(warning.message)
    assert str(p) in msg and "What to do:" in msg and "8031785" in msg and "00 to 05" in msg
    assert df.attrs["image_name_form"] == "float" and len(df) == len(raw)
    assert df["id"].tolist() == raw["id"].tolist()  # the tweet ids are untouched
    # the typed cache keeps the table, and every load warns again
    with pytest.warns(UserWarning, match="matching images to rows is not possible"):
        again = load_release(p, cache_dir=tmp_path / "cache")
    assert again.attrs["image_name_form"] == "float"
    pd.testing.assert_frame_equal(again, df)


def test_a_parquet_float_image_name_column_warns_and_loads(raw, tmp_path):
    raw["image_name"] = raw["image_name"].astype(float)
    p = tmp_path / "r.parquet"
    raw.to_parquet(p, index=False)
    with pytest.warns(UserWarning, match="floating-point") as record:
        df = load(p)
    assert next(w for w in record if "image_name" in str(w.message)).filename == __file__
    assert df.attrs["image_name_form"] == "float" and df["image_name"].iloc[0] == repr(float(raw["image_name"].iloc[0]))


def test_some_float_image_names_are_counted_in_the_warning(raw, write_csv):
    _mixed(raw, "image_name", ["1.6e+18", "1609459200000000000.0"])
    with pytest.warns(UserWarning, match=f"2 of {len(raw):,} image_name values are written as a floating-point") as rec:
        df = load(write_csv(raw))
    assert "data row 0" in str(next(w for w in rec if "image_name" in str(w.message)).message)
    assert df.attrs["image_name_forms"] == {"float": 2, "media_id": len(raw) - 2}


def test_ids_stay_strict_while_image_names_are_lenient(raw, write_csv):
    raw["image_name"] = file_codes(raw)
    raw.loc[3, "id"] = "FrXy7_aWcAE1a2b"
    p = write_csv(raw)
    assert_clear(error_of(p), p, "id", 3, "not a string of digits")


def test_validate_records_the_form_and_warns_at_the_callers_line(raw):
    raw["image_name"] = [f"{float(v):.1e}" for v in raw["image_name"]]
    with pytest.warns(UserWarning, match="image_name") as record:
        df = validate(raw, "mine.csv")
    assert df.attrs["image_name_form"] == "float"
    assert next(w for w in record if "image_name" in str(w.message)).filename == __file__


def test_the_typed_cache_keeps_the_form_of_image_name(raw, write_csv, tmp_path, monkeypatch):
    raw["image_name"] = file_codes(raw)
    p = write_csv(raw)
    first = load_release(p, cache_dir=tmp_path / "cache")

    def refuse(names):
        raise AssertionError("the form was computed again on a cache hit")

    monkeypatch.setattr(release_forms, "image_name_form", refuse)
    again = load_release(p, cache_dir=tmp_path / "cache")
    assert again.attrs["cache"] == first.attrs["cache"]
    assert again.attrs["image_name_form"] == "file_code" and again.attrs["image_name_forms"] == {"file_code": len(raw)}


def test_make_validate_reports_the_form_of_image_name(raw, write_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(tmp_path / "cache"))
    raw["image_name"] = file_codes(raw)
    raw.loc[0, "image_name"] = "1.6e+18"
    with pytest.warns(UserWarning, match="matching images to rows is not possible"):
        assert main(["validate", write_csv(raw)]) == 0
    said = capsys.readouterr().out
    assert f"image_name: mixed ({len(raw) - 1:,} file_code, 1 float); images cannot be matched" in said


def test_validate_makes_the_cache_once_then_reads_only_what_it_prints(raw, write_csv, tmp_path, capsys, monkeypatch):
    """`twigma validate` is make's step before the notebooks start: the first run parses, validates and caches
    the whole file; a run on the cached file reads only the three columns it reports on, and says the same."""
    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(tmp_path / "cache"))
    path = write_csv(raw)
    assert main(["validate", path]) == 0
    first = capsys.readouterr().out
    full = load_release(path)
    assert full.shape[1] >= len(COLUMNS)  # the cache holds every column
    assert f"OK, {len(raw):,} images, {full['id'].nunique():,} tweets" in first
    read = []
    real = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet",
                        lambda p, columns=None, **kw: read.append(columns) or real(p, columns=columns, **kw))
    assert main(["validate", path]) == 0
    assert capsys.readouterr().out == first
    assert read == [[c for c in COLUMNS if c in {"id", "created_at", "image_name"}]]


def test_dictionary_says_the_caption_join_is_our_reading(small_release):
    from twigma.release import data_dictionary

    meaning = data_dictionary(small_release).set_index("column").loc["all_captions", "meaning"]
    assert "our reading" in meaning and "our choice" in meaning and "' | '" in meaning


def test_columns_equal_the_full_table(quirky):
    for path, cache in _releases(quirky):
        full = load_release(path, cache_dir=cache)
        for cols in (["like_count"], ["created_at", "id"], ["all_captions", "label_10_cluster", "possibly_sensitive"],
                     list(COLUMNS)):
            part = load_release(path, cache_dir=cache, columns=cols)
            assert list(part.columns) == [c for c in COLUMNS if c in cols]  # the release's order
            pd.testing.assert_frame_equal(part, full[list(part.columns)], check_exact=True)
            assert part.attrs == full.attrs
    path, cache, _ = quirky
    missing = pd.read_csv(path, usecols=["like_count", "possibly_sensitive"]).isna().sum()
    assert missing.min() > 0  # the quirks are there, and kept as NA
    assert load_release(path, cache_dir=cache, columns=["like_count"])["like_count"].isna().sum() == missing["like_count"]
    assert load_release(path, cache_dir=cache, columns=["possibly_sensitive"]).isna().sum().item() == \
        missing["possibly_sensitive"]


def test_columns_on_the_first_load(quirky, tmp_path):
    """Before any cache exists the whole file is validated and cached, then only the columns returned."""
    path, _, _ = quirky
    part = load_release(path, cache_dir=tmp_path / "fresh", columns=["nsfw_score", "id"])
    assert list(part.columns) == ["id", "nsfw_score"]
    pd.testing.assert_frame_equal(part, load_release(path, cache=False)[["id", "nsfw_score"]], check_exact=True)
    assert list(load_release(path, cache_dir=tmp_path / "fresh").columns) == list(COLUMNS)  # the cache is whole


def test_unknown_column_is_named():
    with pytest.raises(ValueError, match="'likes'.*release's columns are id, image_name"):
        load_release("", columns=["likes"])
