"""A release with a column that has no value in any row (every like_count, possibly_sensitive or nsfw_score empty): the notebooks that need it say so in one line naming the column, their claims are untestable (C6 is not "no" when no image has a score), the others run, and no notebook fails with a traceback."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from twigma import paths
from twigma.run.ledger import combine
from twigma.run.runner import needed_values, run_notebook

#: each column emptied, and the notebooks that need it (their metadata's needs_values)
NEEDED_BY = {"like_count": {"05_engagement", "11_rising_subjects"},
             "nsfw_score": {"04_nsfw"},
             "possibly_sensitive": {"04_nsfw"}}
AFFECTED = {"00_data", "04_nsfw", "05_engagement", "11_rising_subjects"}
ALL = tuple(NEEDED_BY)

#: the releases the notebooks run on (by the columns left empty in them) and the notebooks run on each. A
#: notebook that needs an empty column is skipped before its kernel starts, so it meets each column alone;
#: the others run in full once each where every column they do not need is empty: 00 (it reads every column)
#: without all three, 04 without like_count, 05 and 11 without both of 04's columns.
RUNS = {
    ALL: ["00_data"],
    ("like_count",): ["04_nsfw", "05_engagement", "11_rising_subjects"],
    ("nsfw_score",): ["04_nsfw"],
    ("possibly_sensitive",): ["04_nsfw"],
    ("nsfw_score", "possibly_sensitive"): ["05_engagement", "11_rising_subjects"],
}


@pytest.fixture(scope="module")
def emptied(tmp_path_factory, raw_small) -> dict[tuple[str, ...], Path]:
    """{the columns left empty: the folder of that release (release.csv.gz) and its run (out/)}: the
    notebooks of RUNS run once for the module on the 3,000-image release with those columns emptied; none raises."""
    folders = {}
    for columns, notebooks in RUNS.items():
        folder = tmp_path_factory.mktemp("no_" + "_".join(columns))
        raw_small.assign(**dict.fromkeys(columns, None)).to_csv(folder / "release.csv.gz", index=False)
        for name in notebooks:
            run_notebook(paths.NOTEBOOKS / f"{name}.ipynb", release=folder / "release.csv.gz", out=folder / "out")
        folders[columns] = folder
    return folders


def _first_cell(out: Path, name: str) -> str:
    return nbformat.read(out / "build" / f"{name}.ipynb", as_version=4).cells[0].source


@pytest.mark.parametrize("column", list(NEEDED_BY))
def test_a_column_without_values_is_said_and_its_claims_are_untestable(column, emptied):
    skipped = NEEDED_BY[column]
    alone = emptied[(column,)] / "out"  # the release that lacks this column only
    for name in skipped:
        first = _first_cell(alone, name)
        assert first.startswith("**Skipped by `make figures`:**") and f"column {column} has no value" in first
    ran = set()  # every other notebook ran where this column is empty
    for columns, notebooks in RUNS.items():
        for name in notebooks if column in columns else []:
            first = _first_cell(emptied[columns] / "out", name)
            if any(name in NEEDED_BY[c] for c in columns):
                assert first.startswith("**Skipped by `make figures`:**"), (columns, name)
            else:
                assert "Skipped" not in first, (columns, name)
                ran.add(name)
    assert ran == AFFECTED - skipped
    c6 = combine(alone / "results" / "claims").set_index("claim").loc["C6"]
    if "04_nsfw" in skipped:
        assert c6["holds"] == "untestable" and column in c6["observed"] and c6["notebook"] == "04_nsfw"
    else:
        assert c6["holds"] in ("yes", "no")
    data = nbformat.read(emptied[ALL] / "out" / "build" / "00_data.ipynb", as_version=4)
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


def test_the_robustness_grid_counts_no_specification_that_lacks_its_column(tmp_path, emptied):
    """Notebook 12's small grid, on the release without nsfw_score, over C6's choices of robustness.yml (the
    other groups' claims read no nsfw_score)."""
    grid = tmp_path / "nsfw.yml"
    grid.write_text(yaml.safe_dump({"nsfw": yaml.safe_load((paths.ROOT / "robustness.yml").read_text())["nsfw"]},
                                  sort_keys=False))
    run_notebook(paths.NOTEBOOKS / "12_robustness.ipynb", release=emptied[("nsfw_score",)] / "release.csv.gz",
                 out=tmp_path / "out", parameters={"GRID": str(grid)})
    summary = pd.read_csv(next((tmp_path / "out" / "results").rglob("robustness_summary.csv"))).set_index("claim")
    c6 = summary.loc["C6"]
    assert "nsfw_score has no value in any row" in c6["in_words"]
    assert c6["n_specifications"] < 5  # the detector's specifications are not votes
