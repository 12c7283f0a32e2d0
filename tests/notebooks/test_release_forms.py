"""The release loader: typed output, accepted variants, and a clear error for every bad input."""
from __future__ import annotations

import pandas as pd

from twigma import paths
from twigma.analysis.claims import DATA_VALUES


def test_a_release_only_notebook_runs_on_a_float_image_name_release(raw_small, tmp_path):
    import json

    from twigma.run.runner import run_notebook
    raw = raw_small.head(1500).copy()
    raw["image_name"] = [f"{float(v):.15e}" for v in raw["image_name"]]
    rel = tmp_path / "float_image_name.csv"
    raw.to_csv(rel, index=False)
    out = tmp_path / "out"
    run_notebook(paths.NOTEBOOKS / "00_data.ipynb", release=rel, out=out)
    executed = json.loads((out / "build" / "00_data.ipynb").read_text())
    said = json.dumps([c.get("outputs", []) for c in executed["cells"]])
    assert "matching images to rows is not possible" in said  # the warning shows in the notebook
    assert (out / "results" / "data_dictionary.csv").exists()
    # a user's own release, written without the sample's mark: its verdicts are not marked synthetic
    verdicts = pd.read_csv(out / "results" / "claims" / "00_data.csv", dtype=str, keep_default_na=False)
    assert set(verdicts["data"]) == {DATA_VALUES[False]} and "synthetic sample" not in said
