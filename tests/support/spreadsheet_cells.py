"""The cells of a written table as a spreadsheet reads them, and which would be evaluated as formulas."""
from __future__ import annotations

import csv

from twigma.files import FORMULA_STARTS


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
