"""Hostile release files met the way a user meets them, `twigma validate FILE`: each is refused with a message
naming the file, the column or row and what to do, writes nothing (no typed cache), or validates and says
what it saw. The files are made from the synthetic sample's format, as a user's edits or a server would make them."""
from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from twigma.cli import main
from twigma.release import load_release, study_period
from twigma.release.parse import ids_look_cut


@pytest.fixture
def validate(tmp_path, monkeypatch, capsys):
    """``validate(path) -> (exit status, stdout, stderr)`` of `twigma validate path`; checks that a refused
    file leaves the cache folder empty."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(cache))

    def run(path):
        rc = main(["validate", str(path)])
        out = capsys.readouterr()
        if rc:
            assert not cache.exists() or not any(cache.iterdir()), "a refused file left a typed cache"
        return rc, out.out, out.err
    return run


def refused(validate, path, *words):
    rc, out, err = validate(path)
    assert rc == 1 and "OK" not in out, out
    assert err.startswith("error: ") and str(path) in err and "What to do:" in err, err
    assert "Traceback" not in err
    for w in words:
        assert w.lower() in err.lower(), (w, err)
    return err


# ------------------------------------------------------------- encodings and what the file is -----

@pytest.mark.parametrize("encoding,bom,iconv", [
    ("utf-16", True, "UTF-16"),  # Python writes a BOM, little-endian here
    ("utf-16-le", False, "UTF-16LE"),  # no BOM: NUL in every second byte
    ("utf-16-be", False, "UTF-16BE"),
    ("utf-32", True, "UTF-32"),
])
def test_a_utf16_or_utf32_file_is_named_with_its_encoding_and_the_right_iconv(raw, tmp_path, validate, encoding,
                                                                              bom, iconv):
    p = tmp_path / "release.csv"
    raw.head(200).to_csv(p, index=False, encoding=encoding)
    err = refused(validate, p, f"iconv -f {iconv} -t UTF-8", "release.utf8.csv", "not UTF-8")
    assert "latin" not in err.lower()
    assert ("starts with the" in err) == bom and ("without a byte-order mark" in err) == (not bom)
    # the advice works: the command it gives makes a file that validates
    command = err.split("`")[1]
    subprocess.run(command, shell=True, check=True, cwd=tmp_path)
    assert validate(tmp_path / "release.utf8.csv")[0] == 0


def test_a_utf16_gzip_gets_a_gunzip_pipe(raw, tmp_path, validate):
    p = tmp_path / "release.csv.gz"
    raw.head(50).to_csv(p, index=False, encoding="utf-16", compression="gzip")
    refused(validate, p, f"gunzip -c {p} | iconv -f UTF-16 -t UTF-8 > {tmp_path / 'release.utf8.csv'}")


def test_latin1_bytes_still_point_at_the_row_and_a_single_byte_encoding(raw, tmp_path, validate):
    raw = raw.head(100).copy()
    raw.loc[7, "all_captions"] = "un caf\u00e9"
    p = tmp_path / "release.csv"
    raw.to_csv(p, index=False, encoding="latin-1")
    refused(validate, p, "not UTF-8", "data row 7", "Windows-1252")


@pytest.mark.parametrize("compress", [gzip.compress, bytes], ids=["gzipped", "as served"])
def test_a_504_error_page_saved_as_the_release_is_named_an_html_page(tmp_path, validate, compress):
    page = (b"<!DOCTYPE html>\n<html><head><title>504 Gateway Time-out</title></head>\n"
            b"<body><center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>\n")
    p = tmp_path / "twigma.csv.gz"
    p.write_bytes(compress(page))
    err = refused(validate, p, "HTML page", "504 Gateway Time-out", "error page", "download the release again")
    assert "missing column" not in err and "rename it back" not in err


def test_a_json_error_answer_saved_as_the_release_is_named_so(tmp_path, validate):
    p = tmp_path / "release.csv"
    p.write_text('{"status": 429, "message": "Too many requests"}\n')
    refused(validate, p, "JSON document", "Too many requests", "download")


def test_a_duplicated_column_name_is_refused_naming_it(raw, tmp_path, validate):
    p = tmp_path / "release.csv"
    raw.head(100).assign(extra=raw["like_count"].head(100)).rename(columns={"extra": "like_count"}) \
        .to_csv(p, index=False)
    assert open(p).readline().count("like_count") == 2
    refused(validate, p, "column 'like_count'", "twice", "like_count.1")


def test_a_parquet_error_names_a_table_row_not_a_csv_line(raw, tmp_path, validate):
    raw["nsfw_score"] = raw["nsfw_score"].astype(float)
    raw.loc[9, "nsfw_score"] = 73.0
    p = tmp_path / "release.parquet"
    raw.to_parquet(p, index=False)
    err = refused(validate, p, "column 'nsfw_score'", "data row 9", "Parquet table")
    assert "line" not in err.split("What to do")[0]


# ------------------------------------------------------------- tweet ids -----------------------

def write(raw, tmp_path, name="release.csv"):
    p = tmp_path / name
    raw.to_csv(p, index=False)
    return p


def test_ids_with_leading_zeros_are_refused_with_the_row(raw, tmp_path, validate):
    raw["id"] = raw["id"].astype(object)
    raw.loc[12, "id"] = "00" + raw.loc[12, "id"]
    refused(validate, write(raw, tmp_path), "column 'id'", "data row 12", "starts with a zero", "make data")


def test_a_20_digit_id_is_refused_as_beyond_the_64_bit_range(raw, tmp_path, validate):
    raw["id"] = raw["id"].astype(object)
    raw.loc[4, "id"] = raw.loc[4, "id"] + "7"
    refused(validate, write(raw, tmp_path), "column 'id'", "data row 4", "9223372036854775807", "X API refuses")


def test_a_19_digit_id_above_the_signed_64_bit_range_is_refused(raw, tmp_path, validate):
    raw["id"] = raw["id"].astype(object)
    raw.loc[2, "id"] = str(2 ** 63)  # 19 digits, one past the largest
    refused(validate, write(raw, tmp_path), "column 'id'", "data row 2", "beyond the largest tweet id")


def test_the_largest_and_short_ids_are_tweet_ids(raw, tmp_path, validate):
    raw["id"] = raw["id"].astype(object)
    raw.loc[0, "id"], raw.loc[1, "id"] = str(2 ** 63 - 1), "20"  # jack's first tweet has id 20
    raw.loc[1, "created_at"] = "2006-03-21 20:50:14+00:00"
    assert validate(write(raw, tmp_path))[0] == 0


def test_ids_cut_to_15_significant_digits_by_a_spreadsheet_are_refused(raw, tmp_path, validate):
    def cut(i):
        return str(round(int(i), 15 - len(i)))  # what a spreadsheet keeps of a long number: 15 significant digits
    raw["id"] = [cut(i) for i in raw["id"]]
    assert raw["id"].str.endswith("0000").all()
    n_before = raw["id"].nunique()
    err = refused(validate, write(raw, tmp_path), "column 'id'", "data row 0", "15 significant digits",
                  "spreadsheet", "import the id column as text")
    assert f"{len(raw):,} of {len(raw):,} ids end in four or more zeros ({n_before:,} distinct" in err


def test_the_cut_id_rule_does_not_fire_on_real_snowflake_ids():
    """Snowflake ids (time << 22 | worker << 12 | sequence) end in 0000 rarely; one in ten thousand
    tweets of a 2022 stream, all with sequence 0 (the worst case: one in 625), stay far from the rule."""
    rng = np.random.default_rng(1)
    ms = rng.integers(1609459200000, 1680307200000, 100_000) - 1288834974657
    ids = (ms << 22) | (rng.integers(0, 1024, ms.size) << 12)  # sequence 0
    text = pd.Series(ids.astype(str))
    zeros = int(text.str.endswith("0000").sum())
    assert 0 < zeros < 0.01 * len(text)  # about 1 in 625
    assert not ids_look_cut(zeros, len(text))
    assert ids_look_cut(3, 4) and not ids_look_cut(2, 2)


# ------------------------------------------------------------- dates ---------------------------

def test_a_day_month_year_column_is_named_with_its_format(raw, tmp_path, validate):
    t = pd.to_datetime(raw["created_at"], utc=True)
    raw["created_at"] = t.dt.strftime("%d/%m/%Y %H:%M")
    err = refused(validate, write(raw, tmp_path), "column 'created_at'", "day/month/year throughout",
                  "%d/%m/%Y %H:%M", "format='%d/%m/%Y %H:%M'")
    assert "fix or remove the row" not in err


def test_a_month_day_year_column_with_am_pm_is_named_so(raw, tmp_path, validate):
    t = pd.to_datetime(raw["created_at"], utc=True)
    raw["created_at"] = t.dt.strftime("%m/%d/%Y %I:%M %p")
    refused(validate, write(raw, tmp_path), "month/day/year throughout", "%m/%d/%Y %I:%M %p")


def test_unix_seconds_are_named_so(raw, tmp_path, validate):
    raw["created_at"] = pd.to_datetime(raw["created_at"], utc=True).dt.as_unit("s").astype("int64").astype(str)
    refused(validate, write(raw, tmp_path), "Unix time in seconds", "unit='s'")


@pytest.mark.parametrize("when,words", [
    ("1970-01-01 00:00:00+00:00", ["before 21 March 2006", "1970-01-01 is what an empty"]),
    ("2006-03-20 23:59:59+00:00", ["before 21 March 2006"]),
    ("2031-05-02 10:00:00+00:00", ["after the week of 29 May 2023", "2031 for 2021"]),
    ("2023-06-05 00:00:00+00:00", ["after the week of 29 May 2023"]),
])
@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_dates_no_tweet_of_the_release_can_have_are_refused_naming_the_row(raw, tmp_path, validate, when, words,
                                                                           fmt):
    raw["created_at"] = raw["created_at"].astype(object)
    raw.loc[[30, 31, 40], "created_at"] = when
    p = tmp_path / f"release.{fmt}"
    if fmt == "parquet":
        raw.assign(created_at=pd.to_datetime(raw["created_at"], utc=True)).to_parquet(p, index=False)
    else:
        raw.to_csv(p, index=False)
    refused(validate, p, "column 'created_at'", "data row 30", "(3 rows)", *words)


def test_dates_outside_the_papers_period_are_reported_in_the_validation_line(raw, tmp_path, validate):
    raw["created_at"] = raw["created_at"].astype(object)
    raw.loc[range(0, 60), "created_at"] = "2019-07-14 12:00:00+00:00"
    raw.loc[range(60, 90), "created_at"] = "2023-05-30 08:00:00+00:00"
    p = write(raw, tmp_path)
    rc, out, _ = validate(p)
    assert rc == 0
    assert (f"created_at: 90 of {len(raw):,} images (3.0%) outside the paper's period January 2021 to March 2023 "
            "(60 before, 30 after), dated 2019-07-14 to 2023-05-30") in out
    # the package result the notebooks read agrees with a count by hand
    t = pd.to_datetime(raw["created_at"], utc=True)
    res = study_period(load_release(p)["created_at"])
    assert res.n_before == int((t < "2021-01-01").sum()) and res.n_after == int((t >= "2023-04-01").sum())
    assert res.outside_first == t.min() and res.outside_last == t.max() and res.label == "January 2021 to March 2023"
    assert validate(p)[1] == out  # and the same from the typed cache


def test_the_sample_is_within_the_period_and_says_so(validate):
    rc, out, _ = validate("")
    assert rc == 0 and "created_at: all 24,000 within the paper's period, January 2021 to March 2023" in out


# ------------------------------------------------------------- still handled well ----------------

def test_what_was_handled_well_still_validates(raw, tmp_path, validate):
    """A UTF-8 BOM, CRLF, extra columns, timezone offsets, a few NUL bytes and HTML in a caption."""
    raw = raw.head(300).copy()
    raw["created_at"] = pd.to_datetime(raw["created_at"], utc=True).dt.tz_convert("Asia/Tokyo").astype(str)
    raw["note"] = "x"
    raw.loc[3, "all_captions"] = "a cat\x00 on a mat"
    raw.loc[0, "all_captions"] = "<html><body><script>alert(1)</script> a page about a cat"
    p = tmp_path / "release.csv"
    raw.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    rc, out, err = validate(p)
    assert rc == 0 and "OK, 300 images" in out, err


def test_validate_through_a_subprocess_shows_one_line_not_a_traceback(tmp_path):
    p = tmp_path / "release.csv"
    p.write_bytes("id,image_name\n1,2\n".encode("utf-16"))
    r = subprocess.run([sys.executable, "-m", "twigma", "validate", "--no-cache", str(p)], capture_output=True,
                       text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr and "UTF-16 little-endian" in r.stderr


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


def test_a_refused_file_leaves_an_earlier_typed_cache_byte_identical(raw, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(tmp_path / "cache"))
    good = write(raw, tmp_path, "good.csv")
    assert main(["validate", str(good)]) == 0
    before = {p: p.read_bytes() for p in (tmp_path / "cache").iterdir()}
    assert before
    bad = raw.copy()
    bad.loc[3, "created_at"] = "1970-01-01 00:00:00+00:00"
    for name, table in [("good.csv", bad), ("other.csv", bad)]:  # the same file edited, and another file
        write(table, tmp_path, name)
        assert main(["validate", str(tmp_path / name)]) == 1
    assert "data row 3" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (tmp_path / "cache").iterdir()} == before
