"""What a specification reads and the row it gives for each claim.

:class:`Data` is the source of the release and the embeddings (loaded once per process by
:class:`twigma.run.grid_runs.Inputs`); :func:`in_window` and :func:`shared` give a window's rows and
the small tables that specifications differing only in later choices share; :func:`claim_row` is
one claim's row of ``results/robustness.csv``: the claim check's words and verdict, and the
estimate the verdict is decided on with its decision threshold.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from twigma.analysis.robustness.choices import window_start

if TYPE_CHECKING:
    from twigma.analysis.claims import ClaimCheck

#: How a claim's estimate is compared with its threshold: the claim needs it above, below, equal.
HOLDS_WHEN = ("above", "below", "equal", "at least")


class Data(Protocol):
    """What a specification reads (:class:`twigma.run.grid_runs.Inputs` loads it from files, once per
    process): ``release``, the typed release; ``twigma()``, the rows of the release that have an
    embedding (a boolean mask over ``release``) and their embeddings in the same order;
    ``reference(source)``, the embeddings of a reference set (``"natural"``, ``"art"``)."""

    @property
    def release(self) -> pd.DataFrame: ...

    def twigma(self) -> tuple[np.ndarray, np.ndarray]: ...

    def reference(self, source: str) -> np.ndarray: ...


def in_window(df: pd.DataFrame, window: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``df`` posted in ``window`` (``all``, or ``from-YYYY[-MM]``: from then on); only ``columns``
    (with ``created_at``) when given, so that a window's copy holds only what its computation reads."""
    df = df if columns is None else df[columns]
    return df if window == "all" else df[df["created_at"] >= window_start(window)].reset_index(drop=True)


def effective_window(created_at: pd.Series, window: str) -> str:
    """``window``, or ``"all"`` where it leaves no row out (a release that starts after its start):
    two such windows compute the same thing."""
    if window == "all" or not len(created_at) or bool((created_at >= window_start(window)).all()):
        return "all"
    return window


def no_rows(what: str, window: str) -> ValueError:
    return ValueError(f"no {what} in window {window!r}: the release ends before it. Remove that value of "
                      "'window' from the grid file (robustness.yml).")


def shared(data: Data, key: tuple, window: str, make: Callable, columns: list[str] | None = None):
    """``make(rows of window, only columns)``, a small table, once per ``data`` and ``key``: shared by the specifications
    that differ only in later choices; returned as a copy. An empty window raises."""
    memo = vars(data).setdefault("_shared_tables", {}) if hasattr(data, "__dict__") else {}
    if key not in memo:
        n = len(data.release) if window == "all" else int((data.release["created_at"] >= window_start(window)).sum())
        memo[key] = make(in_window(data.release, window, columns)) if n else None
    if memo[key] is None:
        raise no_rows("images", window)
    return memo[key].copy()


def claim_row(check: ClaimCheck, estimate: float, estimate_is: str, threshold: float, holds_when: str,
              p_value: float = float("nan")) -> dict:
    """One claim's row: the check's ``claim``, ``observed`` and ``holds``; the ``estimate`` the verdict
    is decided on (``estimate_is`` says what it is, in its units), the ``decision_threshold`` it is compared
    with and how (``holds_when``: the claim needs the estimate ``above``, ``below``, ``equal`` to or
    ``at least`` the threshold; a p-value may decide as well), and the deciding ``p_value``."""
    if holds_when not in HOLDS_WHEN:
        raise ValueError(f"holds_when is one of {', '.join(HOLDS_WHEN)}, not {holds_when!r}")
    return {"claim": check.claim, "observed": check.observed, "holds": check.holds,
            "estimate": float(estimate), "estimate_is": estimate_is, "decision_threshold": float(threshold),
            "holds_when": holds_when, "p_value": float(p_value)}


def untestable_row(cid: str, column: str, estimate_is: str, threshold: float, holds_when: str) -> dict:
    """A claim's row when the column it needs has no value in any row of the release: ``untestable``,
    saying which column, never a "no" (:func:`claim_row`'s keys, no estimate)."""
    from twigma.analysis.claims import claim

    check = claim(cid, f"untestable here: the column {column} has no value in any row of the release", "untestable")
    return claim_row(check, float("nan"), estimate_is, threshold, holds_when)


def empty_column(df, column: str) -> bool:
    """Whether ``column`` of ``df`` has no value in any row."""
    return len(df) > 0 and not df[column].notna().any()


def subsample_rows(n_rows: int, n, seed: int = 0) -> np.ndarray:
    """Sorted positions of a random ``n`` of ``n_rows`` rows (all of them for ``"all"`` or n >= n_rows)."""
    if n == "all" or n >= n_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, int(n), replace=False))


def subsample(X: np.ndarray, n, seed: int = 0) -> np.ndarray:
    return X if n == "all" or n >= len(X) else np.asarray(X[subsample_rows(len(X), n, seed)])


def effective_n(n, available: int) -> int:
    """How many rows a sample of ``n`` (or ``"all"``) of ``available`` rows takes."""
    return int(available) if n == "all" else int(min(int(n), int(available)))
