"""Releases written for the Croissant tests and read back through mlcroissant."""
from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from twigma.release import croissant, load_release

mlc = pytest.importorskip("mlcroissant", reason="mlcroissant is in env/requirements-test.txt (make test installs it)")


def write(release, tmp_path, **kw):
    return croissant.write_croissant(release, tmp_path / "meta" / "croissant.json", **kw)


def dataset(target):
    return mlc.Dataset(jsonld=str(target))


def loaded(path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_release(path, cache=False)


def _run_tables(release: pd.DataFrame, root, synthetic: bool):
    """A run's results as notebooks 00 and 04 write them (the same package calls, default parameters)."""
    from twigma.analysis import nsfw, overview

    results = root / "results"
    results.mkdir(parents=True)
    overview.data_summary(release).to_csv(results / "data_summary.csv", index=False)
    overall = nsfw.agreement(release["possibly_sensitive"], release["nsfw_score"], threshold=0.5)
    pd.DataFrame([{"scope": "all", "threshold": 0.5, **overall.row()}]).to_csv(results / "nsfw_agreement.csv", index=False)
    nsfw.nsfw_by_cluster(release, threshold=0.5, mostly=0.5).to_csv(results / "nsfw_by_cluster.csv", index=False)
    manifest = {"notebooks": {"00_data": {"release": {"path": release.attrs.get("source"), "synthetic": synthetic}}}}
    (results / "provenance.json").write_text(json.dumps(manifest))
    return root
