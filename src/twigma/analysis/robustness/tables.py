"""The specifications' records as ``results/robustness.csv`` and its summary, one row per claim.

A specification is **counted** in a claim's vote unless a notebook rejects it (``rejected``: run and
tabled, not counted; the image-level logit of C4/C5) or it is identical in effect to an earlier one
(``merged``: the same effective values on this data, :func:`twigma.analysis.robustness.grid.effective_values`;
counted once, under the first, whose id is its ``same_as``; ``why_not_counted`` says which value acts as which).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from twigma.analysis.robustness.choices import Spec, value_text
from twigma.analysis.robustness.grid import GROUPS, rejected_why
from twigma.analysis.robustness.text import effect_words, kinds_words, not_counted_words, vote_words

#: Columns of results/robustness.csv before the parameter columns, and after them.
LEAD_COLUMNS = ["claim", "group", "spec_id", "specification", "default"]
TAIL_COLUMNS = ["estimate", "estimate_is", "decision_threshold", "holds_when", "p_value", "observed", "holds", "status",
                "counted", "same_as", "why_not_counted", "notebook", "release"]
SUMMARY_COLUMNS = ["claim", "statement", "n_specifications", "n_holds", "share_holds", "holds_by_default",
                   "estimate_is", "estimate_default", "estimate_min", "estimate_max", "decision_threshold", "holds_when",
                   "n_merged", "n_rejected", "not_counted", "in_words", "verdict", "depends_on", "detail"]
VERDICT_YES, VERDICT_NO, VERDICT_DEPENDS = "robust: yes", "robust: no", "depends on the specification"
VERDICT_NONE = "no specification counted"
ROW_KEYS = ("estimate", "estimate_is", "decision_threshold", "holds_when", "p_value", "observed", "holds")


def statuses(specs: list[Spec], records: list[dict]) -> list[tuple[str, str, str]]:
    """(status, same_as, why not counted) of each specification: ``rejected``, ``merged`` or ``counted``."""
    first: dict[str, Spec] = {}
    out = []
    for s, rec in zip(specs, records):
        why = rejected_why(s.group, s.values)
        if why:
            out.append(("rejected", "", why))
            continue
        effective = rec.get("effective", rec["params"])
        key = json.dumps([s.group, sorted(effective.items())], default=str)
        if key in first:
            twin = first[key]
            acts = ", ".join(f"{c} {value_text(v)} acts as {value_text(twin.values[c])}"
                             for c, v in s.values.items() if value_text(v) != value_text(twin.values[c]))
            out.append(("merged", twin.id, f"{acts or 'the same values'} on this data"))
            continue
        first[key] = s
        out.append(("counted", "", ""))
    return out


def tabulate(specs: list[Spec], records: list[dict], not_run: dict | None = None,
             one_at_a_time: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The specifications' records (:func:`twigma.run.grid_runs.record`) as ``results/robustness.csv``
    (one row per claim and specification, with its ``status``) and its :func:`summarise`."""
    choice_cols = list(dict.fromkeys(c for s in specs for c, _ in s.params))
    rows = []
    for s, rec, (status, same_as, why) in zip(specs, records, statuses(specs, records)):
        for r in rec["rows"]:
            rows.append({"claim": r["claim"], "group": s.group, "spec_id": s.id, "specification": s.text,
                         "default": s.default, **{c: None for c in choice_cols}, **rec["params"],
                         **{k: r.get(k, np.nan) for k in ROW_KEYS}, "status": status,
                         "counted": status == "counted", "same_as": same_as, "why_not_counted": why,
                         "notebook": rec["notebook"], "release": rec["release"]})
    table = pd.DataFrame(rows, columns=[*LEAD_COLUMNS, *choice_cols, *TAIL_COLUMNS]).astype({c: object for c in choice_cols})
    table = table.sort_values("claim", key=lambda c: c.str[1:].astype(int), kind="stable").reset_index(drop=True)
    return table, summarise(table, not_run=not_run, one_at_a_time=one_at_a_time)


def _estimates(part: pd.DataFrame) -> tuple[list[tuple], pd.Series]:
    """Per kind of estimate (the default's first): (what, lo, hi, default, n); and the default's kind mask."""
    est = pd.to_numeric(part["estimate"], errors="coerce")
    is_default = part["default"].astype(bool)
    kinds = list(dict.fromkeys([*part.loc[is_default, "estimate_is"], *part["estimate_is"]]))
    out = []
    for what in kinds:
        mine = part["estimate_is"].eq(what)
        finite = est[mine & np.isfinite(est)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (np.nan, np.nan)
        d = est[mine & is_default]
        out.append((what, lo, hi, float(d.iloc[0]) if len(d) else np.nan, int(mine.sum())))
    return out, part["estimate_is"].eq(kinds[0]) if kinds else part["estimate_is"].notna()


def _claim_summary(cid: str, rows: pd.DataFrame, one_at_a_time: bool) -> dict:
    from twigma.analysis.claims import CLAIMS

    status = rows["status"] if "status" in rows else pd.Series("counted", index=rows.index)
    untestable = rows["holds"].eq("untestable")  # the data lack what the claim needs: not a vote
    part = rows[status.eq("counted") & ~untestable]
    holds = part["holds"].eq("yes")
    n, k = len(part), int(holds.sum())
    default = part.loc[part["default"].astype(bool), "holds"]
    kinds, first = _estimates(part)
    what, lo, hi, d, _ = kinds[0] if kinds else ("", np.nan, np.nan, np.nan, 0)
    words = effect_words(n, k, lo, hi, d, one_at_a_time) if len(kinds) < 2 else \
        f"{vote_words(n, k, one_at_a_time)}; {kinds_words(kinds)}"
    why = rows["why_not_counted"] if "why_not_counted" in rows else pd.Series("", index=rows.index)
    merged, rejected = status.eq("merged"), status.eq("rejected")
    n_merged, n_rejected = rows.loc[merged, "spec_id"].nunique(), rows.loc[rejected, "spec_id"].nunique()
    not_counted = not_counted_words(n_merged, list(why[merged]), n_rejected, list(why[rejected]))
    row = {"claim": cid, "statement": CLAIMS.get(cid, ""), "n_specifications": n, "n_holds": k,
           "share_holds": round(k / n, 4) if n else float("nan"),
           "holds_by_default": default.iloc[0] if len(default) else "", "estimate_is": what,
           "estimate_default": d, "estimate_min": lo, "estimate_max": hi,
           "decision_threshold": float(part.loc[first, "decision_threshold"].iloc[0]) if first.any() else np.nan,
           "holds_when": part.loc[first, "holds_when"].iloc[0] if first.any() else "",
           "n_merged": n_merged, "n_rejected": n_rejected,
           "not_counted": not_counted, "in_words": words + (f"; {not_counted}" if not_counted else ""),
           "verdict": (VERDICT_NONE if n == 0 else VERDICT_YES if k == n else VERDICT_NO if k == 0
                       else VERDICT_DEPENDS),
           "depends_on": "", "detail": ""}
    if n == 0 and untestable.any():
        row["verdict"] = row["in_words"] = rows.loc[untestable, "observed"].iloc[0]
    elif untestable.any():
        n_out = rows.loc[untestable, "spec_id"].nunique()
        row["in_words"] += f"; {n_out} not counted, {rows.loc[untestable, 'observed'].iloc[0]}"
    if row["verdict"] == VERDICT_DEPENDS:
        row["depends_on"], row["detail"] = decisive_choice(part, holds)
    return row


def summarise(table: pd.DataFrame, not_run: dict[str, str] | None = None, one_at_a_time: bool = False) -> pd.DataFrame:
    """One row per claim: how many specifications are counted, how often the claim holds among them,
    whether it holds under the notebooks' defaults, how far its estimate moves, and the verdict.

    ``estimate_default``, ``estimate_min`` and ``estimate_max`` are the claim's estimate (what
    ``estimate_is`` says, the default's statistic; ``decision_threshold`` and ``holds_when`` say what the claim
    needs of it) under the defaults and its range over the counted specifications; ``in_words``
    says both (:func:`~twigma.analysis.robustness.text.effect_words`; each statistic's range where the
    specifications decide on different ones), and what was not counted (``n_merged``, ``n_rejected``,
    ``not_counted``). ``robust: yes`` when the claim holds under every counted specification,
    ``robust: no`` when under none, otherwise ``depends on the specification``; then ``depends_on``
    names the choice whose values split the verdicts most (the largest difference in the share that
    holds between its values; ties are all named) and ``detail`` gives the share that holds at each
    of its values. ``one_at_a_time``: the table is the small grid (each choice varied alone).
    """
    from twigma.analysis.claims import CLAIMS

    out = [_claim_summary(str(cid), part, one_at_a_time) for cid, part in table.groupby("claim", sort=False)]
    for cid, why in (not_run or {}).items():
        out.append({"claim": cid, "statement": CLAIMS.get(cid, ""), "n_specifications": 0, "n_holds": 0,
                    "share_holds": float("nan"), "holds_by_default": "", "estimate_is": "",
                    "estimate_default": np.nan, "estimate_min": np.nan, "estimate_max": np.nan, "decision_threshold": np.nan,
                    "holds_when": "", "n_merged": 0, "n_rejected": 0, "not_counted": "", "in_words": why,
                    "verdict": why, "depends_on": "", "detail": ""})
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def decisive_choice(part: pd.DataFrame, holds: pd.Series) -> tuple[str, str]:
    """The choice whose values split the verdicts most (ties: all), and the share that holds at each value."""
    group = GROUPS[part["group"].iloc[0]]
    spreads = {}
    for c in group.choices:
        values = part[c].map(value_text)
        if values.nunique() < 2:
            continue
        share = holds.groupby(values, sort=False).mean()
        spreads[c] = (share.max() - share.min(), share)
    if not spreads:
        return "", ""
    top = max(s for s, _ in spreads.values())
    named = [c for c, (s, _) in spreads.items() if np.isclose(s, top)]
    detail = []
    for c in named:
        share = spreads[c][1]
        if share.isin([0.0, 1.0]).all():
            yes = ", ".join(str(v) for v, s in share.items() if s == 1)
            no = ", ".join(str(v) for v, s in share.items() if s == 0)
            detail.append(f"{c}: holds with {yes}, fails with {no} (whatever the other choices)")
        else:
            detail.append(f"{c}: holds in " + ", ".join(f"{s:.0%} with {v}" for v, s in share.items()))
    return ", ".join(named), "; ".join(detail)
