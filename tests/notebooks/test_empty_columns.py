"""A release with a column that has no value in any row (every like_count, possibly_sensitive or nsfw_score empty): the notebooks that need it say so in one line naming the column, their claims are untestable (C6 is not "no" when no image has a score), the others run, and no notebook fails with a traceback."""
from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from twigma import paths
from twigma.run.ledger import combine
from twigma.run.runner import needed_values, run_notebook

AFFECTED = ["00_data", "04_nsfw", "05_engagement", "11_rising_subjects"]


@pytest.mark.parametrize("column,skipped", [
    ("like_count", {"05_engagement", "11_rising_subjects"}),
    ("nsfw_score", {"04_nsfw"}),
    ("possibly_sensitive", {"04_nsfw"}),
])
def test_a_column_without_values_is_said_and_its_claims_are_untestable(column, skipped, tmp_path, raw_small):
    release = tmp_path / f"no_{column}.csv.gz"
    raw_small.assign(**{column: None}).to_csv(release, index=False)
    out = tmp_path / "out"
    for name in AFFECTED:
        run_notebook(paths.NOTEBOOKS / f"{name}.ipynb", release=release, out=out)  # none raises
    for name in AFFECTED:
        first = nbformat.read(out / "build" / f"{name}.ipynb", as_version=4).cells[0].source
        if name in skipped:
            assert first.startswith("**Skipped by `make figures`:**") and f"column {column} has no value" in first
        else:
            assert "Skipped" not in first
    ledger = combine(out / "results" / "claims").set_index("claim")
    c6 = ledger.loc["C6"]
    if "04_nsfw" in skipped:
        assert c6["holds"] == "untestable" and column in c6["observed"] and c6["notebook"] == "04_nsfw"
    else:
        assert c6["holds"] in ("yes", "no")
    data = nbformat.read(out / "build" / "00_data.ipynb", as_version=4)
    text = "\n".join(o.get("data", {}).get("text/markdown", "") for c in data.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert f"`{column}`" in text and "no value in any row" in text


def test_the_claims_a_notebook_declares_are_the_claims_it_checks(executed):
    """The metadata that names a skipped notebook's claims agrees with what a run of it writes."""
    for nb in sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        needs, declared = needed_values(nb)
        if not needs:
            continue
        written = executed / "results" / "claims" / f"{nb.stem}.csv"
        checked = sorted(pd.read_csv(written)["claim"]) if written.exists() else []
        assert sorted(declared) == checked, nb.stem


def test_the_robustness_grid_counts_no_specification_that_lacks_its_column(tmp_path, raw_small):
    release = tmp_path / "no_scores.csv.gz"
    raw_small.assign(nsfw_score=None).to_csv(release, index=False)
    run_notebook(paths.NOTEBOOKS / "12_robustness.ipynb", release=release, out=tmp_path / "out")
    summary = pd.read_csv(next((tmp_path / "out" / "results").rglob("robustness_summary.csv"))).set_index("claim")
    c6 = summary.loc["C6"]
    assert "nsfw_score has no value in any row" in c6["in_words"]
    assert c6["n_specifications"] < 5  # the detector's specifications are not votes
