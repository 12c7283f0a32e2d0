"""The release's creation times as tweets have them: a format named when it is not ISO-8601, dates that
no tweet of the release can have refused, and dates outside the paper's period counted.

* Refused (:func:`check_date_range`): a time before 21 March 2006, when the first tweet was sent
  (1970-01-01 is what an empty or zero timestamp becomes), or after the week of 29 May 2023 in which the
  release's engagement was re-collected (a tweet younger than its own collection; this bound is the
  spec's collection week, not the file's modification time, which a copy or a download resets).
* Counted (:func:`study_period`): times outside the paper's January 2021 to March 2023, which
  ``twigma validate`` reports and notebooks can state; they are kept, since the release may hold them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twigma.release.schema import COLLECTED_BY, STUDY_END, STUDY_START, TWITTER_FIRST_TWEET, ReleaseError

_FIRST = pd.Timestamp(TWITTER_FIRST_TWEET, tz="UTC")
_COLLECTED = pd.Timestamp(COLLECTED_BY, tz="UTC")


def _first_row(mask: np.ndarray, col: pd.Series) -> tuple[int, object]:
    pos = int(np.flatnonzero(mask)[0])
    return int(col.index[pos]), col.iloc[pos]


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def check_date_range(out: pd.Series, name: str, path: Path) -> None:
    """Raise :class:`ReleaseError` naming the first row dated before Twitter's first tweet or after the
    release's collection."""
    old = (out < _FIRST).to_numpy()
    if old.any():
        pos, value = _first_row(old, out)
        raise ReleaseError(path, f"a creation time before {_FIRST:%d %B %Y}, when the first tweet was sent "
                                 f"({_rows(int(old.sum()))})", column=name, row=pos, value=str(value),
                           advice="1970-01-01 is what an empty or zero timestamp becomes; fix the rows from the "
                                  "release as published (make data), or remove them.")
    new = (out >= _COLLECTED).to_numpy()
    if new.any():
        pos, value = _first_row(new, out)
        raise ReleaseError(path, "a creation time after the week of 29 May 2023 in which the release's engagement "
                                 f"was collected, so no tweet of it can be younger ({_rows(int(new.sum()))})",
                           column=name, row=pos, value=str(value),
                           advice="check the year (e.g. 2031 for 2021) and the order of day and month; use the "
                                  "release as published (make data), or remove the rows.")


#: Date forms met in exported tables: (pattern, what it is, strftime of its date part).
_FORMS = (
    (r"(\d{1,2})/(\d{1,2})/(\d{4})", "/", "%Y"), (r"(\d{1,2})\.(\d{1,2})\.(\d{4})", ".", "%Y"),
    (r"(\d{1,2})-(\d{1,2})-(\d{4})", "-", "%Y"), (r"(\d{1,2})/(\d{1,2})/(\d{2})", "/", "%y"),
)
_TIME = r"(?:[ T,]+(\d{1,2}):(\d{2})(:\d{2})?(?:\.\d+)?\s*([AaPp][Mm])?)?$"


def _describe(values: pd.Series) -> tuple[str, str, float] | None:
    """(what the form is, its strftime, share of values in it) of the commonest non-ISO form, else None."""
    v = values.dropna().astype(str).str.strip()
    if not len(v):
        return None
    if v.str.fullmatch(r"\d{10}(\.\d+)?").mean() >= 0.5:
        return "Unix time in seconds", "unit='s'", float(v.str.fullmatch(r"\d{10}(\.\d+)?").mean())
    if v.str.fullmatch(r"\d{13}").mean() >= 0.5:
        return "Unix time in milliseconds", "unit='ms'", float(v.str.fullmatch(r"\d{13}").mean())
    for pattern, sep, year in _FORMS:
        parts = v.str.extract(f"^{pattern}{_TIME}")
        seen = parts[0].notna()
        if seen.mean() < 0.5:
            continue
        a, b = parts.loc[seen, 0].astype(int), parts.loc[seen, 1].astype(int)
        if (a > 12).any():
            what, fmt = "day/month/year", f"%d{sep}%m{sep}{year}"
        elif (b > 12).any():
            what, fmt = "month/day/year", f"%m{sep}%d{sep}{year}"
        else:
            what, fmt = "day/month/year or month/day/year (no day above 12 tells which)", f"%d{sep}%m{sep}{year}"
        if parts.loc[seen, 3].notna().any():
            clock = "%I:%M" if parts.loc[seen, 6].notna().any() else "%H:%M"
            seconds = ":%S" if parts.loc[seen, 5].notna().any() else ""
            fmt += f" {clock}{seconds}" + (" %p" if clock == "%I:%M" else "")
        return what, fmt, float(seen.mean())
    return None


def refuse_other_date_format(s: pd.Series, bad: pd.Series, name: str, path: Path) -> None:
    """Raise naming the form when the unreadable dates are in a known non-ISO form; return otherwise."""
    found = _describe(s[bad])
    if found is None:
        return
    what, fmt, _ = found
    n_bad, n = int(bad.sum()), int(s.notna().sum())
    pos, value = _first_row(np.asarray(bad), s)
    throughout = n_bad >= 0.9 * n
    convert = (f"pd.to_datetime(df['{name}'], {fmt}, utc=True)" if fmt.startswith("unit=")
               else f"pd.to_datetime(df['{name}'], format='{fmt}', utc=True)")
    raise ReleaseError(
        path, (f"the dates are written as {what} throughout" if throughout else
               f"{n_bad:,} of {n:,} dates are written as {what}, the others as ISO-8601")
        + f" (format {fmt}), not ISO-8601 such as 2022-11-03T14:22:10Z", column=name, row=pos, value=value,
        advice=f"a spreadsheet or an export rewrote them: download the release again (make data), or convert the column "
               f"(pandas: {convert}) and save the table again.")


@dataclass(frozen=True)
class StudyPeriod:
    """Creation times against the paper's period (January 2021 to March 2023)."""

    start: pd.Timestamp  #: first instant of the period (UTC)
    end: pd.Timestamp  #: first instant after it (UTC)
    label: str  #: the period in words, "January 2021 to March 2023"
    n_images: int  #: rows counted
    n_before: int  #: rows dated before the period
    n_after: int  #: rows dated after it
    outside_first: pd.Timestamp | None  #: earliest date outside the period, None when there is none
    outside_last: pd.Timestamp | None  #: latest date outside the period, None when there is none

    @property
    def n_outside(self) -> int:
        return self.n_before + self.n_after

    @property
    def share_outside(self) -> float:
        return self.n_outside / self.n_images if self.n_images else 0.0


def study_period(created_at: pd.Series) -> StudyPeriod:
    """How many creation times fall outside the paper's period, and their range."""
    start, end = pd.Timestamp(STUDY_START, tz="UTC"), pd.Timestamp(STUDY_END, tz="UTC")
    t = pd.Series(created_at).dropna()
    before, after = t < start, t >= end
    outside = t[before | after]
    last_month = end - pd.Timedelta(days=1)
    return StudyPeriod(start=start, end=end, label=f"{start:%B %Y} to {last_month:%B %Y}", n_images=len(t),
                       n_before=int(before.sum()), n_after=int(after.sum()),
                       outside_first=outside.min() if len(outside) else None,
                       outside_last=outside.max() if len(outside) else None)


def study_period_line(p: StudyPeriod) -> str:
    """One line for ``twigma validate``: the count and range of dates outside the paper's period."""
    if not p.n_outside:
        return f"created_at: all {p.n_images:,} within the paper's period, {p.label}"
    return (f"created_at: {p.n_outside:,} of {p.n_images:,} images ({p.share_outside:.1%}) outside the paper's "
            f"period {p.label} ({p.n_before:,} before, {p.n_after:,} after), dated {p.outside_first:%Y-%m-%d} to "
            f"{p.outside_last:%Y-%m-%d}; they are kept in the table")


__all__ = ["StudyPeriod", "check_date_range", "refuse_other_date_format", "study_period", "study_period_line"]
