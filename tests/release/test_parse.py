"""Tests of twigma.release.parse: the reference parser of a release file: raw text read as pandas reads it, one checked parser per column."""
from __future__ import annotations

import numpy as np
import pandas as pd
from support.release_files import refused, write

from twigma.cli import main
from twigma.release.parse import ids_look_cut


def test_a_duplicated_column_name_is_refused_naming_it(raw, tmp_path, validate):
    p = tmp_path / "release.csv"
    raw.head(100).assign(extra=raw["like_count"].head(100)).rename(columns={"extra": "like_count"}) \
        .to_csv(p, index=False)
    assert open(p).readline().count("like_count") == 2
    refused(validate, p, "column 'like_count'", "twice", "like_count.1")


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
