"""Tests of twigma.release.dates: the release's creation times as tweets have them: a format named when it is not ISO-8601, dates that no tweet of the release can have refused, and dates outside the paper's period counted."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from support.release_files import refused, write

from twigma.release import load_release, study_period


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
