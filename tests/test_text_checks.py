"""Checks that would have caught the text of notebooks 00-05 contradicting its own numbers
(issue 16, point 2) and the claims ledger's data column (point 3): the narrative helpers, then
the executed notebooks on a small release."""
from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from twigma import paths
from twigma.analysis import claims
from twigma.present import narrative
from twigma.run.ledger import combine
from twigma.run.runner import run_notebook

RELEASE_ONLY = ["00_data", "01_growth", "02_themes_map", "03_theme_shift", "04_nsfw", "05_engagement"]


# ---------------------------------------------------------------- helpers -----------------

@pytest.mark.parametrize("value,threshold", [(1.465, 1.5), (1.5, 1.5), (1.4999, 1.5), (1.55, 1.5), (0.96, 1.0),
                                             (2.0004, 2.0), (1.45, 1.5)])
def test_compared_renders_a_number_on_the_side_of_the_threshold_it_is(value, threshold):
    text, below = narrative.compared(value, threshold)
    assert below == (value < threshold)
    assert (float(text) < threshold) == below, text  # "1.5 (under 1.5)" cannot be rendered


def test_compared_keeps_the_digits_asked_for_when_they_suffice():
    assert narrative.compared(1.2345, 1.5) == ("1.2", True)
    assert narrative.compared(1.465, 1.5) == ("1.47", True)
    assert narrative.compared(1.465, 1.5, digits=2) == ("1.47", True)


def test_plural_and_count_never_write_a_parenthesised_s():
    assert narrative.count(1, "cluster") == "1 cluster" and narrative.count(2, "cluster") == "2 clusters"
    assert narrative.count(1204, "image") == "1,204 images" and narrative.count(0, "reply", "replies") == "0 replies"
    assert narrative.plural(1, "moves", "move") == "moves" and narrative.plural(3, "moves", "move") == "move"
    one = pd.DataFrame({"cluster": [5, 7], "mostly_nsfw": [True, False], "share_nsfw_gt_0_5": [0.9, 0.1]})
    assert "(s)" not in claims.check_c6(one)["observed"] and "1 cluster with" in claims.check_c6(one)["observed"]


def test_p_values_below_floating_point_read_as_a_bound():
    for p in (0.0, 1e-300, 1e-17):
        assert narrative.p_text(p) == "p < 1e-16"
    assert narrative.p_text(1.3e-13) == "p = 1.3e-13"


def test_a_non_significant_trend_is_not_called_flat():
    assert claims.direction_words("flat", 0.01) == "not significant at alpha 0.01"
    assert claims.direction_words("down", 0.01) == "down"
    trends = pd.DataFrame({"cluster": [1], "slope": [0.2], "p_value": [0.014], "direction": ["flat"]})
    trends.attrs["alpha"] = 0.01
    c4 = claims.check_trends(trends, "C4", [1], "down")
    assert "not significant at alpha 0.01" in c4["observed"] and "flat" not in c4["observed"]


def test_c2_gives_one_growth_factor_only_when_one_rate_fits():
    base = {"kendall_tau": 0.96, "p_value": 1.5e-4, "p_value_naive": 2.7e-12, "n_months": 27,
            "first_month": "2021-01", "last_month": "2023-03", "growth_per_year": 7.2, "loglinear_p_value": 1e-9,
            "growth_first_half": 3.0, "growth_second_half": 22.8, "one_growth_rate": False}
    c2 = claims.check_c2(base)
    assert "x7.20" not in c2["observed"] and "x3.00 per year in the first half" in c2["observed"]
    assert "Hamed & Rao" in c2["observed"] and "uncorrected p = 2.7e-12" in c2["observed"] and c2["holds"] == "yes"
    assert "x7.20 per year" in claims.check_c2({**base, "one_growth_rate": True})["observed"]
    assert claims.check_c2({**base, "p_value": 0.02})["holds"] == "no"  # the corrected p decides


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
    assert claims.check_c1(summary, synthetic=True)["holds"] == "partly testable"
    assert "partly testable" in narrative.verdict("partly testable", synthetic=True)
    summary.loc[0, "value"] = 805_000
    assert claims.check_c1(summary)["holds"] == "yes"  # on a release both halves are tested


# ---------------------------------------------------------------- executed notebooks ------

@pytest.fixture(scope="module")
def release_run(tmp_path_factory, small_release_file):
    """Notebooks 00-05 run on the 3,000-image release into a fresh OUT folder, ledger gathered."""
    out = tmp_path_factory.mktemp("out")
    for stem in RELEASE_ONLY:
        run_notebook(paths.NOTEBOOKS / f"{stem}.ipynb", release=small_release_file, out=out)
    from twigma.cli import main
    assert main(["claims", "--out", str(out)]) == 0
    return out


def _shown(out, stem) -> list[str]:
    """Every text output of an executed notebook (Markdown, plain text, streams)."""
    nb = nbformat.read(out / "build" / f"{stem}.ipynb", as_version=4)
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            texts += [str(data[k]) for k in ("text/markdown", "text/plain") if k in data]
            if "text" in o:
                texts.append(str(o["text"]))
    return texts


def _markdown(out, stem) -> str:
    nb = nbformat.read(out / "build" / f"{stem}.ipynb", as_version=4)
    return "\n".join(str(o["data"]["text/markdown"]) for c in nb.cells for o in c.get("outputs", [])
                     if "text/markdown" in o.get("data", {}))


@pytest.mark.parametrize("stem", RELEASE_ONLY)
def test_no_unfilled_templates_and_no_staging_path(release_run, stem):
    """No "(s)" in what the run wrote as text (its Markdown and its claims), and no path of the
    run's folders anywhere in its outputs."""
    shown = "\n".join(_shown(release_run, stem))
    assert "(s)" not in _markdown(release_run, stem)
    ledger = release_run / "results" / "claims" / f"{stem}.csv"
    if ledger.exists():
        assert not pd.read_csv(ledger)["observed"].str.contains("(s)", regex=False).any()
    assert ".staging" not in shown and str(release_run) not in shown, "a path of the run folder is printed"
    assert "PosixPath" not in shown


def test_no_p_value_written_as_zero(release_run):
    written = [p for p in (release_run / "results").rglob("*.csv")]
    assert written
    for p in written:
        df = pd.read_csv(p)
        for col in [c for c in df.columns if "p_value" in c or c.endswith("_p") or c == "p"]:
            assert not (pd.to_numeric(df[col], errors="coerce") == 0).any(), f"{p.name}: {col} has 0.0"


def test_03_quotes_the_tables_shares(release_run):
    text = _markdown(release_run, "03_theme_shift")
    trends = pd.read_csv(release_run / "results" / "theme_trends.csv").set_index("cluster")
    quoted = re.findall(r"largest (?:gain in share is|loss) (\d+) · [^(]*\(([\d.]+%) to ([\d.]+%)\)", text)
    assert len(quoted) == 2, text
    for k, first, last in quoted:
        row = trends.loc[int(k)]
        assert first == narrative.pct(row["share_first_year"], 1) and last == narrative.pct(row["share_last_year"], 1)
    assert "Flat:" not in text and "Not significant at level" in text


def test_05_ratio_is_judged_from_its_interval(release_run):
    text = _markdown(release_run, "05_engagement")
    by = pd.read_csv(release_run / "results" / "engagement_by_cluster.csv")
    ratio = float(np.exp(by["mean_log1p_likes"].max() - by["mean_log1p_likes"].min()))
    m = re.search(r"a ratio of ([\d.]+) \(99% CI ([\d.]+) to ([\d.]+), tweet bootstrap\), (wholly below 1\.5|"
                  r"wholly at or above 1\.5|on both sides of 1\.5)", text)
    assert m, text
    est, low, high, words = float(m.group(1)), float(m.group(2)), float(m.group(3)), m.group(4)
    assert est == pytest.approx(ratio, abs=0.006) and low < est < high
    expect = "wholly below 1.5" if high < 1.5 else "wholly at or above 1.5" if low >= 1.5 else "on both sides of 1.5"
    assert words == expect
    assert "log10(1 + likes)" not in text and "log(1 + likes)" not in text.replace("ln(1 + likes)", "")
    assert "Tables are per image" not in text


def test_04_kappa_words_follow_landis_and_koch(release_run):
    from twigma.analysis.nsfw import landis_koch

    text = _markdown(release_run, "04_nsfw")
    row = pd.read_csv(release_run / "results" / "nsfw_agreement.csv").iloc[0]
    kappa = row["kappa"]
    assert (f"kappa = {kappa:.2f} (99% CI {row['ci_low']:.2f} to {row['ci_high']:.2f}), from a tweet bootstrap: "
            f"{landis_koch(kappa)} agreement") in text
    assert row["ci_level"] == 0.99 and row["ci_low"] < kappa < row["ci_high"]
    assert "no better than chance" not in text and "each group sums to 1" not in text
    by = pd.read_csv(release_run / "results" / "nsfw_by_cluster.csv")
    assert f"Kappa is reported for {int(by['kappa_reported'].sum())} " in text  # only where both ratings vary
    assert "95%" not in text


def test_02_calls_a_word_distinctive_only_at_its_z(release_run):
    text = _markdown(release_run, "02_themes_map")
    words = pd.read_csv(release_run / "results" / "cluster_words.csv")
    assert (words["score"] >= 3.0).all()  # 02's MIN_Z: never a negative z
    for word, k, rank, z in re.findall(r'"(\w+)" is distinctive of cluster (\d+) · [^(]*\(rank (\d+), z = '
                                       r"(-?[\d.]+)", text):
        row = words[(words["word"] == word) & (words["cluster"] == int(k))]
        assert len(row) == 1 and int(row["rank"].iloc[0]) == int(rank)
        assert float(z) == pytest.approx(row["score"].iloc[0], abs=0.05) and float(z) >= 3.0
    assert "fitted on the 768-d" not in text and "our inference" in text


@pytest.mark.parametrize("stem", RELEASE_ONLY)
def test_the_banner_shows_once(release_run, stem):
    plain = [t for t in _shown(release_run, stem) if "SYNTHETIC sample data" in t]
    assert len(plain) == 1, plain  # the Markdown box, never a second copy as a quoted string


def test_03_to_05_label_their_clusters_with_02s_names(release_run):
    """02 ran first into the same OUT: its table is read, the names are not computed again."""
    names = pd.read_csv(release_run / "results" / "cluster_names.csv")["name"]
    for stem in ("03_theme_shift", "04_nsfw", "05_engagement"):
        shown = "\n".join(_shown(release_run, stem))
        assert "computed here with notebook 02" not in shown, stem
    assert any(name in "\n".join(_shown(release_run, "04_nsfw")) for name in names)


def test_00_states_the_policy_and_the_units(release_run):
    text = _markdown(release_run, "00_data")
    assert "**One level per claim family.**" in text and "Holm" in text and "Benjamini-Hochberg" in text
    assert "(Berger 1982)" in text and "99% at the default" in text
    assert "by tweet in 04 and 08" not in text and "04's intervals resample tweets" in text


def test_01_says_what_steady_is_tested_as(release_run):
    text = _markdown(release_run, "01_growth")
    assert 'We test "steady"' in text and "Hamed & Rao" in text and "uncorrected" in text
    ledger = pd.read_csv(release_run / "results" / "claims.csv", keep_default_na=False).set_index("claim")
    assert "corrected for autocorrelation" in ledger.loc["C2", "observed"]


def test_00_shows_the_ledgers_data_column(release_run):
    ledger = pd.read_csv(release_run / "results" / "claims.csv", keep_default_na=False).set_index("claim")
    assert ledger.loc["C1", "data"] == "synthetic sample" and ledger.loc["C1", "holds"] == "partly testable"
    assert set(ledger.loc[["C2", "C3", "C4", "C5", "C6"], "data"]) == {"synthetic sample"}
    assert "**synthetic sample** (`data` column)" in _markdown(release_run, "00_data")
    dictionary = pd.read_csv(release_run / "results" / "data_dictionary.csv").set_index("column")
    assert not re.search(r"\d\.\d{5,}", dictionary.loc["nsfw_score", "range_or_example"])
