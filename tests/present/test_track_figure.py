"""Tests of twigma.present.track_figure: what ``twigma track`` and notebook 10 show of a tracked theme."""
from __future__ import annotations

import pandas as pd

from twigma.analysis import track
from twigma.present.track_figure import stored_cluster_names


def test_cluster_names_are_given_not_read(small_release, tmp_path):
    names = pd.Series({k: f"name {k}" for k in range(1, 11)})
    res = track.track(small_release, "portrait", names=names)
    assert res.clusters.set_index("cluster")["name"].to_dict() == names.to_dict()
    assert "name" not in track.track(small_release, "portrait").clusters  # nothing is read from disk
    # the reader the CLI uses: notebook 02's file only when it was made from this release
    sizes = small_release["label_10_cluster"].value_counts().sort_index()
    table = pd.DataFrame({"cluster": sizes.index, "name": [f"n{k}" for k in sizes.index], "n_images": sizes.values})
    table.to_csv(tmp_path / "cluster_names.csv", index=False)
    assert stored_cluster_names(tmp_path, small_release).tolist() == table["name"].tolist()
    table.assign(n_images=table["n_images"] + 1).to_csv(tmp_path / "cluster_names.csv", index=False)
    assert stored_cluster_names(tmp_path, small_release) is None  # another release's names
    assert stored_cluster_names(tmp_path / "nothing", small_release) is None
