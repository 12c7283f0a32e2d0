"""What the executed notebooks say agrees with their own numbers: no unfilled template, no p-value written as zero,
shares, ratios and kappa words as their tables give them, the banner once, the claims ledger's data column."""
from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from twigma.present import narrative

RELEASE_ONLY = ["00_data", "01_growth", "02_themes_map", "03_theme_shift", "04_nsfw", "05_engagement"]


@pytest.fixture(scope="module")
def release_run(executed):
    """The shared run of every notebook (tests/conftest.py): notebooks 00-05 and the claims ledger are read."""
    return executed


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
