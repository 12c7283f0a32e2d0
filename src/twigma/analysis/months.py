"""Calendar months (UTC) of the release's creation times, coded once for every table by month.

:class:`Months` gives each image its month as an integer code (0 for the first month present, in
time order) and writes the ``YYYY-MM`` text of each distinct month once. Counts per month are then
``np.bincount`` of the codes, and a text per image, where a table needs one, is the month's text
spread by code: formatting every row (``strftime``) costs far more on millions of rows than the
few distinct months. The growth counts, the clusters' shares, likes by month, the caption tracker,
the subjects, the theme shift and the explorer's month filter all use it.

Time as the trend tests' regressor is :func:`years_since_origin`, years since 2021-01-01 UTC.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

ORIGIN = pd.Timestamp("2021-01-01", tz="UTC")
SECONDS_PER_YEAR = 365.25 * 86_400


def years_since_origin(created_at: pd.Series) -> pd.Series:
    """Time in years since 2021-01-01 UTC."""
    return (created_at - ORIGIN).dt.total_seconds() / SECONDS_PER_YEAR


@dataclass
class Months:
    """The months of a column of times: ``code`` (each row's month, 0..k-1 in time order) and
    ``labels`` (the k months present as ``YYYY-MM`` text, UTC, sorted). Made once by :meth:`of` and
    shared by the tables of many selections of the same rows (the tracker's queries, the subjects)."""

    code: np.ndarray
    labels: pd.api.extensions.ExtensionArray
    created_at: pd.Series = field(repr=False)

    @classmethod
    def of(cls, created_at: pd.Series) -> Months:
        """The months of ``created_at`` (timezone-aware times).

        Raises
        ------
        ValueError
            If a time is missing (never in a validated release); callers that accept missing times
            check ``created_at.isna().any()`` first and take the months as text.
        """
        utc = created_at.dt.tz_convert("UTC")
        if utc.isna().any():
            raise ValueError("Months.of: a time is missing; its month cannot be coded")
        ym = utc.dt.tz_localize(None).to_numpy().astype("datetime64[M]").astype(np.int64) + 1970 * 12  # year * 12 + month - 1
        first = ym.min() if len(ym) else 0
        rel = ym - first  # months since the first: a lookup, no sort of the rows
        present = np.flatnonzero(np.bincount(rel))
        lookup = np.zeros(len(present) and present[-1] + 1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        labels = pd.array([f"{u // 12:04d}-{u % 12 + 1:02d}" for u in present + first], dtype="str")
        return cls(lookup[rel], labels, created_at)

    def __len__(self) -> int:
        """The number of distinct months."""
        return len(self.labels)

    def texts(self) -> pd.Series:
        """Each row's month as ``YYYY-MM`` text, with the index and name of ``created_at``."""
        return pd.Series(self.labels.take(self.code), index=self.created_at.index, name=self.created_at.name)

    def categorical(self, ordered: bool = False) -> pd.Categorical:
        """Each row's month as a categorical of the ``labels`` (one code per row, no text per row)."""
        return pd.Categorical.from_codes(self.code, categories=pd.Index(self.labels), ordered=ordered)

    @cached_property
    def t_years(self) -> np.ndarray:
        """Each row's time in years since 2021-01-01 (:func:`years_since_origin`), made on first use."""
        return years_since_origin(self.created_at).to_numpy(dtype=float)

    def table(self, mask: np.ndarray, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Images and images in ``mask`` per month over ``rows`` (a boolean selection of images; all by
        default), months with images only: ``month`` (YYYY-MM), ``n_images``, ``n_matching``, ``share``
        (n_matching / n_images) and ``t_years`` (mean time of the month's images in years since
        2021-01-01, the regressor of the trend test, as in notebook 03)."""
        code, t, mask = self.code, self.t_years, np.asarray(mask, dtype=bool)
        if rows is not None:
            code, t, mask = code[rows], t[rows], mask[rows]
        m = len(self)
        n = np.bincount(code, minlength=m)
        k = np.bincount(code[mask], minlength=m)
        mean_t = np.bincount(code, weights=t, minlength=m) / np.maximum(n, 1)
        out = pd.DataFrame({"month": self.labels, "n_images": n.astype(np.int64), "n_matching": k.astype(np.int64),
                            "share": k / np.maximum(n, 1), "t_years": mean_t})
        return out[out["n_images"] > 0].reset_index(drop=True)
