"""Tests of twigma.release.sniff: what a release file is before it is parsed: its encoding, whether it is a web page, its header."""
from __future__ import annotations

import gzip
import subprocess

import pytest
from support.release_files import refused


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


def test_a_parquet_error_names_a_table_row_not_a_csv_line(raw, tmp_path, validate):
    raw["nsfw_score"] = raw["nsfw_score"].astype(float)
    raw.loc[9, "nsfw_score"] = 73.0
    p = tmp_path / "release.parquet"
    raw.to_parquet(p, index=False)
    err = refused(validate, p, "column 'nsfw_score'", "data row 9", "Parquet table")
    assert "line" not in err.split("What to do")[0]
