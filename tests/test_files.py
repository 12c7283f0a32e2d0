"""Tests of twigma.files: file helpers: atomic writes, the SHA-256 of a file, and what counts as an image file."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.package_sources import _sources
from support.spreadsheet_cells import cells, evaluable

from twigma.files import from_spreadsheet_safe, spreadsheet_cell
from twigma.present.outputs import Outputs

HOSTILE = ["@SUM(1+1)*cmd|' /C calc'!A0 a painting", "=HYPERLINK(\"http://x\",\"click\")", "+1+cmd|' /C calc'!A0",
           "-2+3 a cat", "\t=1+1", "\r=1+1", "a plain caption", "-0.5", "+3", "1e-3"]


@pytest.mark.parametrize("notebook,name,where", [
    ("10_explore", "search_image", "results/10_explore/search_image.csv"),
    ("09_inspiration", "inspiration", "results/inspiration.csv"),
])
def test_results_tables_neutralise_formulas_and_keep_numbers(tmp_path, notebook, name, where):
    n = len(HOSTILE)
    table = pd.DataFrame({"rank": np.arange(1, n + 1), "score": np.linspace(-0.5, 0.5, n),
                          "image_name": ["-Fr0001aWcAE1a", "=cmd", *[str(1600000000000000000 + i) for i in range(n - 2)]],
                          "caption": HOSTILE})
    path = Outputs(tmp_path, synthetic=False, notebook=notebook).table(table, name)
    assert path == tmp_path / where
    header, rows = cells(path)
    assert not [c for row in rows for c in row if evaluable(c)]
    got = dict(zip(HOSTILE, [r[header.index("caption")] for r in rows]))
    assert got["@SUM(1+1)*cmd|' /C calc'!A0 a painting"] == "'@SUM(1+1)*cmd|' /C calc'!A0 a painting"
    assert got["\t=1+1"] == "'\t=1+1" and got["\r=1+1"] == "'\n=1+1" and got["a plain caption"] == "a plain caption"
    assert got["-0.5"] == "-0.5" and got["+3"] == "+3"  # text that is a number is read as that number
    assert [r[header.index("image_name")] for r in rows][:2] == ["'-Fr0001aWcAE1a", "'=cmd"]
    back = pd.read_csv(path)
    assert back["score"].dtype == float and back["score"].iloc[0] == -0.5  # numbers stay numbers
    assert back["rank"].tolist() == list(range(1, n + 1))
    assert len(back) == n  # a carriage return in a caption starts no row of its own
    assert back["caption"].map(from_spreadsheet_safe).tolist() == [h.replace("\r", "\n") for h in HOSTILE]
    assert table["caption"].tolist() == HOSTILE  # the caller's table is not changed


def test_the_cell_rule_against_owasps_list():
    for start in "=+-@\t":
        assert spreadsheet_cell(start + "x") == "'" + start + "x"
    assert spreadsheet_cell("\rx") == "'\nx" and spreadsheet_cell("a\r\nb\rc") == "a\nb\nc"
    for keep in ["-0.5", "+3", ".5", "-1e-3", "x=1", " =1", "", None, -0.5, 3]:
        assert spreadsheet_cell(keep) == keep


def test_one_list_of_image_extensions():
    from twigma.fetch.images import EXT
    from twigma.files import IMAGE_SUFFIXES, is_image_name

    assert all(f".{ext}" in IMAGE_SUFFIXES for ext in EXT.values())
    assert is_image_name("a/FrXy7.JPEG") and not is_image_name("notes.txt")
    spelled = [rel for rel, text in _sources() if '".jpeg"' in text.lower() or "jpe?g" in text]
    assert spelled == ["files.py"], f"image extensions listed outside twigma.files: {spelled}"


def test_data_dictionary_ranges_are_rounded(small_release):
    from twigma.release import data_dictionary

    d = data_dictionary(small_release).set_index("column")["range_or_example"]
    lo, hi = d["nsfw_score"].removeprefix("from ").split(" to ")
    assert len(hi.replace("0.", "").lstrip("0")) <= 4 and float(hi) == pytest.approx(
        small_release["nsfw_score"].max(), rel=1e-3)
    assert d["like_count"] == f"from {int(small_release['like_count'].min())} to {int(small_release['like_count'].max())}"
    from twigma.files import spreadsheet_safe  # ranges stay readable in the written table: "from -12.5 to 13"

    assert not spreadsheet_safe(data_dictionary(small_release))["range_or_example"].str.startswith("'").any()
