"""Tests of twigma.analysis.claims: the paper's claims (spec section 4), checked against the analysis tables."""
from __future__ import annotations

import json
from dataclasses import fields, replace

import pandas as pd
import pytest

from twigma import paths
from twigma.analysis import (
    claims,
    distinctness,
    inspiration,
    overview,
)
from twigma.cli import main
from twigma.files import sha256
from twigma.present import narrative
from twigma.run import ledger
from twigma.run.ledger import combine


def _summary(n: int, last: str = "2023-03-30T00:00:00+00:00") -> pd.DataFrame:
    return pd.DataFrame({"metric": ["n_images", "first_created_at", "last_created_at"],
                         "value": [n, "2021-01-02T00:00:00+00:00", last]})


def _claims_file(out, notebook, rows, synthetic):
    target = out / "results" / "claims" / f"{notebook}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    claims.notebook_rows(rows, notebook, synthetic).to_csv(target, index=False)
    return target


def test_claim_checks_follow_the_numbers():
    summary = pd.DataFrame({"metric": ["n_images", "first_created_at", "last_created_at"],
                            "value": [812_000, "2021-01-02T00:00:00+00:00", "2023-03-30T00:00:00+00:00"]})
    assert claims.check_c1(summary).holds == "yes"
    summary.loc[0, "value"] = 24_000
    assert claims.check_c1(summary).holds == "no"
    trends = pd.DataFrame({"cluster": [1, 3, 4, 8, 9], "slope": [-1, -1, 0.1, 1, 1],
                           "p_value": [0.001, 0.001, 0.5, 0.001, 0.001],
                           "direction": ["down", "down", "flat", "up", "up"]})
    assert claims.check_trends(trends, "C4", [1, 3, 4], "down").holds == "no"
    assert claims.check_trends(trends, "C5", [8, 9], "up").holds == "yes"
    top = pd.DataFrame({"rank": [1, 2, 3], "word": ["painting", "woman", "hair"]})
    c3 = claims.check_c3(top)
    assert c3.holds == "no" and "man not in top 3" in c3.observed


def test_combine_marks_unchecked_claims_untestable(tmp_path):
    pd.DataFrame([claims.claim("C2", "tau 0.9", True)]).to_csv(tmp_path / "01_growth.csv", index=False)
    table = ledger.combine(tmp_path)
    assert table["claim"].tolist() == list(claims.CLAIMS) == [f"C{i}" for i in range(1, 12)]
    assert table.set_index("claim").loc["C2", "holds"] == "yes"
    assert (table.set_index("claim").loc[["C1", "C7", "C10", "C11"], "holds"] == "untestable").all()
    assert table.set_index("claim").loc["C11", "observed"].startswith("needs the release table")
    assert table.set_index("claim").loc["C9", "observed"].startswith("needs CLIP image embeddings")


def test_a_copied_notebooks_claims_never_replace_the_papers(tmp_path):
    """A copy of 03 run with other parameters adds its own rows after C1..C11; 03's rows stay."""
    pd.DataFrame([claims.claim("C4", "three declines", True)]).to_csv(tmp_path / "03_theme_shift.csv", index=False)
    pd.DataFrame([claims.claim("C4", "one decline", False)]).to_csv(tmp_path / "10_portrait_rise.csv", index=False)
    table = ledger.combine(tmp_path)
    n = len(claims.CLAIMS)
    assert table["claim"].tolist()[:n] == [f"C{i}" for i in range(1, n + 1)]
    paper = table.iloc[:n].set_index("claim")
    assert paper.loc["C4", "holds"] == "yes" and paper.loc["C4", "notebook"] == "03_theme_shift"
    extra = table.iloc[n:]
    assert extra[["claim", "holds", "notebook"]].values.tolist() == [["C4", "no", "10_portrait_rise"]]


def test_c1_on_a_synthetic_sample_reports_the_span_not_the_count():
    summary = pd.DataFrame({"metric": ["n_images", "first_created_at", "last_created_at"],
                            "value": [24_000, "2021-01-02T00:00:00+00:00", "2023-03-30T00:00:00+00:00"]})
    c1 = claims.check_c1(summary, synthetic=True)
    assert c1.holds == "partly testable" and "not applicable" in c1.observed
    assert "span 2021-01-02" in c1.observed
    summary.loc[2, "value"] = "2022-12-30T00:00:00+00:00"
    assert claims.check_c1(summary, synthetic=True).holds == "no"  # a wrong span still fails
    assert "not over 800,000" in claims.check_c1(summary).observed


def test_ledger_has_the_papers_wording_and_units(tmp_path):
    trends = pd.DataFrame({"cluster": [1], "slope": [-0.9], "p_value": [0.0], "direction": ["down"]})
    c4 = claims.check_trends(trends, "C4", [1], "down")
    assert "p < 1e-16" in c4.observed and "log-odds/yr" in c4.observed and "x0.41/yr" in c4.observed
    pd.DataFrame([c4]).to_csv(tmp_path / "03_theme_shift.csv", index=False)
    table = ledger.combine(tmp_path)
    assert list(table.columns) == ["claim", "statement", "observed", "holds", "notebook", "paper_says", "data"]
    assert table.set_index("claim").loc["C4", "paper_says"] == claims.PAPER_SAYS["C4"]
    assert table["paper_says"].ne("").all()


def test_c9_says_how_many_images_and_tweets_its_numbers_rest_on():
    """The slope is fitted over images (each weighing 1/images of its tweet), Spearman's rho over tweets:
    the sentence names both counts, not the images alone beside a rank correlation over tweets."""
    from twigma.analysis.claims import check_c9

    row = {"estimate": -0.27, "p_value": 1e-16, "ci_low": -0.29, "ci_high": -0.25, "spearman_rho": -0.18,
           "n": 22999, "n_tweets": 12105}
    got = check_c9(row)
    assert got.holds == "yes" and "(22,999 images in 12,105 tweets)" in got.observed
    del row["n_tweets"]  # a table written before tweets were counted
    assert "(22,999 images)" in check_c9(row).observed


def test_c7_is_decided_on_the_lower_bound_of_the_auc_interval():
    row = {"comparison": "twigma_vs_natural", "auc": 0.93, "ci_low": 0.88, "ci_high": 0.96, "ci_level": 0.99,
           "auc_sd": 0.01, "auc_min": 0.92, "auc_max": 0.94, "folds": 5, "n_per_class": 500, "n_tweets": 300,
           "grouping": "tweet"}
    table = pd.DataFrame([row, {**row, "comparison": "twigma_vs_art", "auc": 0.99, "ci_low": 0.97, "ci_high": 1.0}])
    c7 = claims.check_c7(table, min_auc=0.9)
    assert c7.holds == "no" and "99% CI 0.880 to 0.960" in c7.observed  # the estimate passes, the bound not
    assert claims.check_c7(table.assign(ci_low=[0.91, 0.97]), min_auc=0.9).holds == "yes"
    assert claims.check_c7(table.drop(columns=["ci_low", "ci_high", "ci_level"])).holds == "untestable"
    r = distinctness.probe_reading(table, 0.9, near_perfect=0.99, partial=0.7)
    assert [x.grade for x in r.readings] == ["partial", "strong"] and not r.all_distinct and r.any_distinct
    assert r.level_text == "99%" and r.readings[0].interval.low == 0.88
    with pytest.raises(ValueError, match="must rise"):
        distinctness.probe_reading(table, 0.9, near_perfect=0.8)
    ci = distinctness.probe_reading(table.assign(auc=0.99999, ci_low=0.99996, ci_high=1.0), 0.9).readings[0].ci_text
    assert ci == "0.99999 (99% CI 0.99996 to 1.00000)"  # never "1.000 (99% CI 1.000 to 1.000)"


def test_c10_with_every_one_of_25_pairs_found_does_not_hold_and_is_untestable_without_pairs():
    """25 of 25 found: the one-sided 99% bound is 0.01 ** (1/25) = 0.83, below 0.9 (and 0.887 at 95%)."""
    known = pd.DataFrame({"image_name": [f"i{j}" for j in range(25)], "art_id": [f"a{j}" for j in range(25)]})
    found = known.assign(rank=1, cosine=0.95)
    assert claims.check_c10(found, known, k=5).holds == "no"
    assert inspiration.recall_bound(known, found, 0.01, 0.9).lower == pytest.approx(0.01 ** (1 / 25))
    c10 = claims.check_c10(found, None, k=5)
    assert c10.holds == "untestable" and "no list of known" in c10.observed and "review" in c10.observed


def test_c9_is_untestable_on_the_art_set_and_says_why():
    row = {"estimate": -0.2, "ci_low": -0.3, "ci_high": -0.1, "p_value": 1e-5, "spearman_rho": -0.1, "n": 100}
    assert claims.check_c9(row, alpha=0.01).holds == "yes"
    art = claims.check_c9(row, alpha=0.01, reference="art")
    assert art.claim == "C9" and art.holds == "untestable"
    assert "artworks" in art.observed and "REFERENCE=natural" in art.observed
    v = claims.likes_verdict(row, alpha=0.01)  # the same test, under the art question's own name
    assert v.holds == "yes" and v.observed == claims.check_c9(row, alpha=0.01).observed
    assert claims.likes_verdict({**row, "p_value": 0.02}, alpha=0.01).holds == "no"


@pytest.mark.parametrize("n, holds", [(799_999, "no"), (800_000, "no"), (800_001, "yes"), (950_000, "yes"),
                                      (2_000_000, "yes")])
def test_c1_holds_only_over_the_target_with_no_band(n, holds):
    c1 = claims.check_c1(_summary(n))
    assert c1.holds == holds  # "over 800,000": one-sided, a count, no tolerance band
    assert ("not over 800,000" in c1.observed) == (holds == "no")
    assert claims.check_c1(_summary(n, "2022-12-30T00:00:00+00:00")).holds == "no"  # the span fails
    assert claims.check_c1(_summary(n), synthetic=True).holds == "partly testable"
    assert claims.CLAIMS["C1"].startswith("over 800,000")


@pytest.mark.parametrize("synthetic", [True, False])
def test_the_console_summary_is_marked_when_the_ledger_says_synthetic(tmp_path, capsys, synthetic):
    _claims_file(tmp_path, "01_growth", [claims.claim("C2", "tau 0.9", True)], synthetic)
    assert main(["claims", "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    ledger = pd.read_csv(tmp_path / "results" / "claims.csv").set_index("claim")
    assert (ledger.loc["C2", "data"] == "synthetic sample") == synthetic
    c2 = next(line for line in said.splitlines() if line.strip().startswith("C2"))
    assert ("[synthetic sample]" in c2) == synthetic and ("[synthetic sample]" in said.splitlines()[0]) == synthetic
    c1 = next(line for line in said.splitlines() if line.strip().startswith("C1"))
    assert "[synthetic sample]" not in c1  # untested here: no data behind it


def test_a_removed_notebooks_verdicts_leave_the_ledger_and_the_manifest(tmp_path, capsys):
    """A copy 13_copy ran (its record names its notebook file) and was then deleted; a claims file of a
    notebook that never had a record and is not in notebooks/ goes too; 03's stays."""
    out = tmp_path
    mine = _claims_file(out, "03_theme_shift", [claims.claim("C4", "three declines", True)], False)
    gone = _claims_file(out, "13_copy", [claims.claim("C4", "one decline", False)], False)
    orphan = _claims_file(out, "14_never_recorded", [claims.claim("C5", "two rises", True)], False)
    records = out / "build" / ".provenance"
    records.mkdir(parents=True)
    for nb, f in (("03_theme_shift", mine), ("13_copy", gone)):
        nb_file = paths.NOTEBOOKS / f"{nb}.ipynb"
        rec = {"notebook": nb, "notebook_file": f"notebooks/{nb}.ipynb", "files": {str(f.relative_to(out)): sha256(f)},
               "notebook_sha256": sha256(nb_file) if nb_file.exists() else ""}
        (records / f"{nb}.json").write_text(json.dumps(rec))
    assert not (paths.NOTEBOOKS / "13_copy.ipynb").exists() and (paths.NOTEBOOKS / "03_theme_shift.ipynb").exists()

    assert main(["claims", "--out", str(out)]) == 0 and main(["provenance", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    ledger = pd.read_csv(out / "results" / "claims.csv")
    assert set(ledger["notebook"].dropna()) == {"03_theme_shift"}, ledger
    assert not gone.exists() and not orphan.exists() and mine.exists()
    assert "13_copy: its notebook is gone" in said and "14_never_recorded: its notebook is gone" in said
    manifest = json.loads((out / "results" / "provenance.json").read_text())
    assert set(manifest["notebooks"]) == {"03_theme_shift"}
    assert not any("13_copy" in rel or "14_never" in rel for rel in manifest["files"])
    assert main(["verify", "--out", str(out)]) == 0
    assert "not made by the recorded run" not in capsys.readouterr().out


def test_a_non_significant_trend_is_not_called_flat():
    assert claims.direction_words("flat", 0.01) == "not significant at alpha 0.01"
    assert claims.direction_words("down", 0.01) == "down"
    trends = pd.DataFrame({"cluster": [1], "slope": [0.2], "p_value": [0.014], "direction": ["flat"]})
    trends.attrs["alpha"] = 0.01
    c4 = claims.check_trends(trends, "C4", [1], "down")
    assert "not significant at alpha 0.01" in c4.observed and "flat" not in c4.observed


def test_c2_gives_one_growth_factor_only_when_one_rate_fits():
    given = {"kendall_tau": 0.96, "p_value": 1.5e-4, "p_value_naive": 2.7e-12, "n_months": 27,
             "first_month": "2021-01", "last_month": "2023-03", "growth_per_year": 7.2, "loglinear_p_value": 1e-9,
             "growth_first_half": 3.0, "growth_second_half": 22.8, "one_growth_rate": False}
    nan = dict.fromkeys((f.name for f in fields(overview.GrowthTrend)), float("nan"))  # no intervals: none printed
    base = overview.GrowthTrend(**{**nan, **given})
    c2 = claims.check_c2(base)
    assert "x7.20" not in c2.observed and "x3.00 per year in the first half" in c2.observed
    assert "Hamed & Rao" in c2.observed and "uncorrected p = 2.7e-12" in c2.observed and c2.holds == "yes"
    assert "x7.20 per year" in claims.check_c2(replace(base, one_growth_rate=True)).observed
    assert claims.check_c2(replace(base, p_value=0.02)).holds == "no"  # the corrected p decides


def test_the_ledger_says_what_data_each_verdict_rests_on(tmp_path, monkeypatch):
    from twigma.present.outputs import Outputs

    monkeypatch.setenv("TWIGMA_NOTEBOOK", "00_data")
    for synthetic, sub in ((True, "s"), (False, "r")):
        out = Outputs(tmp_path / sub, synthetic=synthetic)
        out.notebook = "00_data"
        out.claims([claims.claim("C1", "span ok", "partly testable" if synthetic else True)])
        ledger = combine(out.results / "claims")
        assert list(ledger.columns) == claims.LEDGER_COLUMNS and ledger.columns[-1] == "data"
        row = ledger.set_index("claim")
        assert row.loc["C1", "data"] == ("synthetic sample" if synthetic else "release")
        assert row.loc["C2", "data"] == "" and row.loc["C2", "holds"] == "untestable"  # no notebook checked it
    assert claims.data_label(True) == "synthetic sample" and claims.data_label(False) == "release"
    with pytest.raises(ValueError, match="partly testable"):
        claims.claim("C1", "x", "maybe")


def test_c1_on_the_sample_is_partly_testable_not_yes():
    summary = pd.DataFrame({"metric": ["n_images", "first_created_at", "last_created_at"],
                            "value": [24_000, "2021-01-01T04:00:00+00:00", "2023-03-31T23:00:00+00:00"]})
    assert claims.check_c1(summary, synthetic=True).holds == "partly testable"
    assert "partly testable" in narrative.verdict("partly testable", synthetic=True)
    summary.loc[0, "value"] = 805_000
    assert claims.check_c1(summary).holds == "yes"  # on a release both halves are tested
