"""The few number formats that the claims ledger and the notebooks' text share.

They live here, below both, so that :mod:`twigma.analysis.claims` (which writes the ledger's
``observed`` text) need not import from ``present/``; :mod:`twigma.present.narrative` re-exports
them for the notebooks.

- :func:`fmt_p`: a p-value, never printed as 0: below :data:`P_FLOOR` (1e-16, about double
  precision's epsilon, under which test statistics, not p-values, carry the evidence; R's
  ``format.pval`` does the same) it reads "< 1e-16";
- :func:`p_text`: the same with its relation sign, ``"p = 0.034"`` or ``"p < 1e-16"``;
- :func:`p_text_floored`, :func:`fmt_p_floored`: the same for a p-value read from a table that
  writes p-values below the floor as the floor itself (an upper bound): at the floor, "p < 1e-16";
- :func:`odds_ratio`: the odds ratio per unit of time that a logistic slope implies.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Below this a p-value is shown as "< 1e-16".
P_FLOOR = 1e-16


def fmt_p(p: float | None) -> str:
    """A p-value as text: ``"< 1e-16"`` for 0 or anything below it, two significant digits
    otherwise (``"0.034"``, ``"3.2e-12"``), ``"n/a"`` when missing."""
    if p is None or (isinstance(p, float) and math.isnan(p)) or pd.isna(p):
        return "n/a"
    p = float(p)
    if p < 0 or p > 1:
        raise ValueError(f"a p-value lies in [0, 1], not {p}")
    if p < P_FLOOR:
        return f"< {P_FLOOR:.0e}"
    if p < 1e-3:
        return f"{p:.1e}"
    return f"{p:.2g}"


def p_text(p: float) -> str:
    """``"p = 0.034"`` or ``"p < 1e-16"``: the p-value with its relation sign."""
    s = fmt_p(p)
    return f"p {s}" if s.startswith("<") else f"p = {s}"


def odds_ratio(slope: float) -> float:
    """The odds ratio per unit of time that a logistic slope (log-odds per unit) implies."""
    return float(np.exp(slope))


def p_text_floored(p: float) -> str:
    """:func:`p_text` for a p-value read from a table that writes p-values below :data:`P_FLOOR` as
    ``P_FLOOR`` itself (an upper bound, never 0; e.g. ``twigma.analysis.likes.floor_p``): a value at
    the floor reads ``"p < 1e-16"``, like one below it."""
    if p is not None and not pd.isna(p) and float(p) <= P_FLOOR:
        return f"p < {P_FLOOR:.0e}"
    return p_text(p)


def fmt_p_floored(p: float) -> str:
    """:func:`fmt_p` for such a table (``"< 1e-16"`` at the floor), for a displayed column."""
    return p_text_floored(p)[2:].replace("= ", "")
