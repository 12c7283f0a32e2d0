"""Formula injection: text from the release (captions, image names) written to a results table or a download's
failure list never starts a formula in a spreadsheet (OWASP, "CSV Injection": a cell starting with =, +, -, @, a
tab or a carriage return gets a leading single quote), while numbers stay numbers."""
from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from servers import LocalServer, Reply

from twigma.files import FORMULA_STARTS, from_spreadsheet_safe, spreadsheet_cell
from twigma.present.outputs import Outputs

HOSTILE = ["@SUM(1+1)*cmd|' /C calc'!A0 a painting", "=HYPERLINK(\"http://x\",\"click\")", "+1+cmd|' /C calc'!A0",
           "-2+3 a cat", "\t=1+1", "\r=1+1", "a plain caption", "-0.5", "+3", "1e-3"]


def cells(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def evaluable(cell: str) -> bool:
    """Whether a spreadsheet would read the cell as a formula: it starts with a formula character and is not
    a plain number."""
    try:
        float(cell)
        return False
    except ValueError:
        return cell[:1] in FORMULA_STARTS


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


def test_claims_observed_text_is_neutralised(tmp_path):
    out = Outputs(tmp_path, synthetic=False, notebook="10_explore")
    path = out.claims([{"claim": "X1", "statement": "-", "observed": "=1+1 images", "holds": "yes"}])
    header, rows = cells(path)
    assert not [c for row in rows for c in row if evaluable(c)]
    assert rows[0][header.index("observed")] == "'=1+1 images" and rows[0][header.index("statement")] == "'-"


def test_the_cell_rule_against_owasps_list():
    for start in "=+-@\t":
        assert spreadsheet_cell(start + "x") == "'" + start + "x"
    assert spreadsheet_cell("\rx") == "'\nx" and spreadsheet_cell("a\r\nb\rc") == "a\nb\nc"
    for keep in ["-0.5", "+3", ".5", "-1e-3", "x=1", " =1", "", None, -0.5, 3]:
        assert spreadsheet_cell(keep) == keep


def test_failure_lists_of_downloads_are_neutralised_and_read_back(tmp_path):
    from twigma.fetch import images
    server = LocalServer()
    try:
        media = pd.DataFrame({"image_name": ["-Fr0001aWcAE1a", "=cmd", "@x"],
                              "url": [f"{server.url}/missing{i}.jpg" for i in range(3)]})
        images.download_images(media, tmp_path / "d", retries=0, progress=False)
        header, rows = cells(tmp_path / "d" / images.FAILURES)
        assert sorted(r[0] for r in rows) == ["'-Fr0001aWcAE1a", "'=cmd", "'@x"]
        assert not [c for row in rows for c in row if evaluable(c)]
        import io

        from PIL import Image
        buf = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buf, "PNG")
        server.route("/missing0.jpg", Reply(200, buf.getvalue()))
        images.download_images(media, tmp_path / "d", retries=0, progress=False)  # the rerun reads the list back
        header, rows = cells(tmp_path / "d" / images.FAILURES)
        assert sorted(r[0] for r in rows) == ["'=cmd", "'@x"] and (tmp_path / "d" / "-Fr0001aWcAE1a.png").exists()
    finally:
        server.close()
