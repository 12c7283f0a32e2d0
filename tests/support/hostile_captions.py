"""Captions with planted HTML and script (the shared run's release carries them), and that run with its report."""
from __future__ import annotations

import pandas as pd
import pytest

#: Planted in captions: each would run a script if a page put the caption into HTML unescaped.
PAYLOAD = ('<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> '
           '<a href="javascript:window.__pwned=3">open</a> [open](javascript:window.__pwned=4)')



def hostile(raw: pd.DataFrame, every: int = 4) -> pd.DataFrame:
    """Every fourth caption (every ``every``-th) with the payload after its words (the words still count for
    the analyses)."""
    raw = raw.copy()
    rows = raw.index[::every]
    raw.loc[rows, "all_captions"] = raw.loc[rows, "all_captions"].astype(str) + " " + PAYLOAD
    return raw


@pytest.fixture(scope="module")
def site_run(reported, run_release_file):
    """The shared run (its release carries the payload in every fourth caption) with its report: the run's
    folder, the report's front page, the release."""
    return reported, reported / "report" / "index.html", run_release_file
