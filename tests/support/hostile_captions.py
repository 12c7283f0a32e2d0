"""A release whose captions carry planted HTML and script, and every notebook run on it."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from twigma import paths
from twigma.cli import main
from twigma.run.runner import run_notebook

#: Planted in captions: each would run a script if a page put the caption into HTML unescaped.
PAYLOAD = ('<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> '
           '<a href="javascript:window.__pwned=3">open</a> [open](javascript:window.__pwned=4)')


SMALL_PARAMETERS = {"07_variability": {"N_BOOT": 20}}


def hostile(raw: pd.DataFrame, every: int = 4) -> pd.DataFrame:
    """Every fourth caption (every ``every``-th) with the payload after its words (the words still count for
    the analyses)."""
    raw = raw.copy()
    rows = raw.index[::every]
    raw.loc[rows, "all_captions"] = raw.loc[rows, "all_captions"].astype(str) + " " + PAYLOAD
    return raw


@pytest.fixture(scope="module")
def site_run(tmp_path_factory, raw_small):
    """Every notebook of notebooks/ run on the hostile release with small embeddings, then the report."""
    from twigma.release import load_release
    from twigma.run.report import build_report
    from twigma.synthetic.embeddings import make_sample_embeddings
    from twigma.synthetic.release import sample_meta, write_release

    keep = os.environ.get("TWIGMA_TEST_SITE_RUN")  # a folder to keep the run in, and reuse, while working on the site
    if keep and (Path(keep) / "run" / "results" / "provenance.json").exists():
        out = Path(keep) / "run"
        return out, build_report(out), Path(keep) / "hostile" / "hostile.csv.gz"
    base = Path(keep) if keep else None

    def folder(name):
        return (base / name) if base else tmp_path_factory.mktemp(name)

    release = write_release(hostile(raw_small), folder("hostile") / "hostile.csv.gz",
                            meta=sample_meta(len(raw_small), 7))
    typed = load_release(release, cache_dir=tmp_path_factory.mktemp("cache"))
    emb = make_sample_embeddings(typed, folder("emb"), n_natural=300, n_art=300, dim=32)
    out = folder("run")
    for nb in sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        run_notebook(nb, release=release, out=out, embeddings=emb, parameters=SMALL_PARAMETERS.get(nb.stem))
    assert main(["claims", "--out", str(out)]) == 0 and main(["provenance", "--out", str(out)]) == 0
    return out, build_report(out), release
