"""One significance policy, checked on what a run writes: every results table that holds an interval says its level, a default run's intervals are (1 - ALPHA) intervals (or wider, for BH-selected findings), and wherever a table holds both a verdict (a trend direction, a significance flag) and an interval, the interval excludes the null exactly when the verdict says significant."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twigma.analysis.inference import DEFAULT_ALPHA

#: a table's verdict columns and how each value reads: the side of the null the interval must lie on
#: ("above", "below") or "contains" for a verdict of no significant effect
VERDICTS = {
    "direction": {"up": "above", "down": "below", "flat": "contains"},
    "significant": {True: "excludes", False: "contains", "True": "excludes", "False": "contains"},
}


def interval_disagreements(table: pd.DataFrame, null: float = 0.0) -> list[str]:
    """Rows of ``table`` whose verdict and interval (``ci_low``, ``ci_high``) disagree."""
    if not {"ci_low", "ci_high"} <= set(table.columns):
        return []
    bad = []
    nulls = table["null_value"] if "null_value" in table.columns else pd.Series(null, index=table.index)
    for column, reading in VERDICTS.items():
        if column not in table.columns:
            continue
        for i, r in table.iterrows():
            lo, hi, v, n0 = r["ci_low"], r["ci_high"], r[column], nulls[i]
            if pd.isna(lo) or pd.isna(hi) or v not in reading:
                continue
            side = reading[v]
            ok = {"above": lo > n0, "below": hi < n0, "excludes": lo > n0 or hi < n0,
                  "contains": lo <= n0 <= hi}[side]
            if not ok:
                bad.append(f"row {i}: {column} = {v!r} but the interval is [{lo:.4g}, {hi:.4g}] around {n0:g}")
    return bad


def _tables(run) -> list:
    return sorted((run / "results").rglob("*.csv"))


def test_the_checker_catches_the_reviews_case():
    # 03 before: "not significant at 0.01" (p = 0.0138) beside a 95% interval [0.060, 0.481]
    seen = pd.DataFrame({"cluster": [10, 8, 1], "direction": ["flat", "up", "down"],
                         "ci_low": [0.060, 0.2, -0.9], "ci_high": [0.481, 0.5, -0.1]})
    assert interval_disagreements(seen) == ["row 0: direction = 'flat' but the interval is [0.06, 0.481] around 0"]
    flags = pd.DataFrame({"significant": [True, False], "ci_low": [0.9, 1.1], "ci_high": [1.2, 1.3],
                          "null_value": [1.0, 1.0]})
    assert len(interval_disagreements(flags)) == 2


def test_a_run_writes_tables_with_intervals(executed):
    with_ci = [p for p in _tables(executed) if {"ci_low", "ci_high"} <= set(pd.read_csv(p, nrows=0).columns)]
    assert len(with_ci) >= 4, [p.name for p in with_ci]


def test_every_verdict_agrees_with_its_interval(executed):
    bad = {}
    for p in _tables(executed):
        found = interval_disagreements(pd.read_csv(p))
        if found:
            bad[str(p.relative_to(executed))] = found
    assert bad == {}


def test_every_interval_says_its_level_and_a_default_run_uses_one_minus_alpha(executed):
    unlabelled, narrow = [], {}
    for p in _tables(executed):
        table = pd.read_csv(p)
        if not any(c.startswith("ci_low") for c in table.columns):
            continue
        name = str(p.relative_to(executed))
        if "ci_level" not in table.columns:
            unlabelled.append(name)
            continue
        levels = table["ci_level"].dropna().to_numpy(dtype=float)
        if (levels < 1 - DEFAULT_ALPHA - 1e-12).any():
            narrow[name] = sorted(set(np.round(levels, 6)))
    assert unlabelled == [] and narrow == {}


def test_the_ledger_quotes_no_interval_at_another_level(executed):
    ledger = pd.read_csv(executed / "results" / "claims.csv", dtype=str, keep_default_na=False)
    other = ledger[ledger["observed"].str.contains(r"\b95% (?:CI|interval)", regex=True)]
    assert other.empty, other[["claim", "observed"]].to_dict("records")


@pytest.mark.parametrize("holds", ["yes", "no"])
def test_the_checker_reads_string_flags_as_written_by_pandas(holds, tmp_path):
    t = pd.DataFrame({"significant": [holds == "yes"], "ci_low": [0.1], "ci_high": [0.2]})
    t.to_csv(tmp_path / "t.csv", index=False)
    back = pd.read_csv(tmp_path / "t.csv")
    assert len(interval_disagreements(back)) == (0 if holds == "yes" else 1)
