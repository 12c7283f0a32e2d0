"""The grid's summary in words: votes always beside the range of the estimate, and what was not counted."""
from __future__ import annotations

import numpy as np


def number(x: float) -> str:
    """A number for the summary's words: three significant digits, "n/a" when not finite."""
    return f"{x:.3g}" if np.isfinite(x) else "n/a"


def vote_words(n: int, k: int, one_at_a_time: bool = False) -> str:
    """``"holds in 3 of 8 specifications"`` and its special cases."""
    votes = (f"holds in all {n} specifications" if k == n and n > 1 else "holds in the one specification" if k == n
             else f"holds in none of the {n} specifications" if k == 0 else f"holds in {k} of {n} specifications")
    return votes + (" (each choice varied alone)" if one_at_a_time else "")


def range_words(lo: float, hi: float, default: float) -> str:
    """``"estimate 7.2 to 20.1 (default 7.2)"``, ``"estimate 2 in every specification"`` or ``"no estimate"``."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no estimate"
    if number(lo) == number(hi):
        return f"estimate {number(lo)} in every specification"
    return f"estimate {number(lo)} to {number(hi)}" + (f" (default {number(default)})" if np.isfinite(default) else "")


def effect_words(n: int, k: int, lo: float, hi: float, default: float, one_at_a_time: bool = False) -> str:
    """How often a claim holds and how far its estimate moves, in words: ``"holds in all 6
    specifications; estimate 7.2 to 20.1 (default 7.2)"``; a vote is never given without the
    effect's range beside it."""
    return f"{vote_words(n, k, one_at_a_time)}; {range_words(lo, hi, default)}"


def kinds_words(kinds: list[tuple[str, float, float, float, int]]) -> str:
    """The range of each kind of estimate, where a claim's specifications decide on different statistics
    (C2: Kendall's tau, or the log-linear slope): ``kinds`` is (what, lo, hi, default, n specifications)."""
    return "; ".join(f"{range_words(lo, hi, d)} over the {n} specification{'s' if n != 1 else ''} deciding on {what}"
                     for what, lo, hi, d, n in kinds)


def not_counted_words(n_merged: int, merged: list[str], n_rejected: int, rejected: list[str]) -> str:
    """What the vote leaves out: ``"2 specifications identical in effect to another were counted once
    (max_per_class 5000 acts as 20000); 4 run but not counted: rejected by notebook 03: ..."``; "" when nothing."""
    parts = []
    if n_merged:
        what = "specification identical in effect to another was" if n_merged == 1 else \
            "specifications identical in effect to others were"
        parts.append(f"{n_merged} {what} counted once ({'; '.join(dict.fromkeys(merged))})")
    if n_rejected:
        parts.append(f"{n_rejected} run but not counted: {'; '.join(dict.fromkeys(rejected))}")
    return "; ".join(parts)
