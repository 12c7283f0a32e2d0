"""What notebook 12 says of the grid's summary: typed readings of each claim and of the whole grid."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from twigma.analysis.robustness.tables import VERDICT_DEPENDS, VERDICT_NO, VERDICT_YES


@dataclass(frozen=True)
class ClaimReading:
    """One claim's row of the summary, as 12 says it."""

    claim: str
    statement: str
    in_words: str  #: votes, the estimate's range and what was not counted
    estimate_is: str
    verdict: str
    holds_by_default: bool
    depends: bool  #: the verdict depends on the specification
    depends_on: str
    detail: str
    n_specifications: int
    ledger: str  #: the ledger's value: yes (robust), no (never holds), descriptive (depends), untestable (not run)


def _text(v) -> str:
    return v if isinstance(v, str) else ""


def claim_reading(row) -> ClaimReading:
    """A summary row (:func:`twigma.analysis.robustness.tables.summarise`) as a :class:`ClaimReading`."""
    n = int(row["n_specifications"])
    ledger = "untestable" if n == 0 else {VERDICT_YES: "yes", VERDICT_NO: "no"}.get(row["verdict"], "descriptive")
    return ClaimReading(claim=row["claim"], statement=_text(row["statement"]), in_words=_text(row["in_words"]),
                        estimate_is=_text(row["estimate_is"]), verdict=_text(row["verdict"]),
                        holds_by_default=row["holds_by_default"] == "yes", depends=row["verdict"] == VERDICT_DEPENDS,
                        depends_on=_text(row["depends_on"]), detail=_text(row["detail"]), n_specifications=n,
                        ledger=ledger)


@dataclass(frozen=True)
class GridReading:
    """The whole summary as 12 says it: the claims robust, never holding, depending (with the choice)."""

    robust: tuple[str, ...]
    fails: tuple[str, ...]
    depends: tuple[tuple[str, str], ...]
    n_merged: int  #: specifications counted once because identical in effect to another (all claims)
    n_rejected: int  #: specifications run but not counted because a notebook rejects them

    @property
    def robust_text(self) -> str:
        return ", ".join(self.robust) or "none"

    @property
    def fails_text(self) -> str:
        return ", ".join(self.fails) or "none"

    @property
    def depends_text(self) -> str:
        return "; ".join(f"{c} on {choice}" for c, choice in self.depends) or "none"


def grid_reading(summary: pd.DataFrame, table: pd.DataFrame) -> GridReading:
    """The :class:`GridReading` of a summary and its table (claims that were not run are in none of the
    lists; a specification that checks two claims, as the themes group's C4 and C5, counts once)."""
    tested = summary[summary["n_specifications"] > 0]
    dep = tested[tested["verdict"] == VERDICT_DEPENDS]
    return GridReading(robust=tuple(tested.loc[tested["verdict"] == VERDICT_YES, "claim"]),
                       fails=tuple(tested.loc[tested["verdict"] == VERDICT_NO, "claim"]),
                       depends=tuple(zip(dep["claim"], dep["depends_on"])),
                       n_merged=int(table.loc[table["status"] == "merged", "spec_id"].nunique()),
                       n_rejected=int(table.loc[table["status"] == "rejected", "spec_id"].nunique()))
