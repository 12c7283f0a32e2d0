"""The claims ledger of a run from its notebooks' claim checks on disk.

Each notebook writes its checks to ``results/claims/<notebook>.csv``; :func:`combine` reads them and
:func:`twigma.analysis.claims.combine` (which reads no files) makes the ledger, ``results/claims.csv``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from twigma.analysis import claims


def read_checks(claims_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """``{notebook: its claim checks}`` from ``claims_dir/<notebook>.csv`` (the file's name is the notebook)."""
    return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(Path(claims_dir).glob("*.csv"))}


def combine(claims_dir: str | os.PathLike) -> pd.DataFrame:
    """The claims ledger of the checks in ``claims_dir`` (:func:`twigma.analysis.claims.combine`)."""
    return claims.combine(read_checks(claims_dir))
