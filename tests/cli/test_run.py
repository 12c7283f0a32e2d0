"""Tests of twigma.cli.run: commands of a run of the compendium: ``run-notebook``, ``claims``, ``robustness``, ``provenance``, ``report``, ``verify``, ``new-notebook``, ``track`` (a caption query, written into the run) and ``deps``."""
from __future__ import annotations

import json
import os
import subprocess

import pandas as pd
import pytest

from twigma import paths
from twigma.cli import main, main as cli


def test_the_command_line_turns_any_user_error_into_one_line(tmp_path, capsys):
    from twigma.cli import main

    grid = tmp_path / "grid.yml"
    grid.write_text("choices:\n  nope: [1]\n")
    assert main(["robustness", "collect", "--grid", str(grid), "--out", str(tmp_path)]) == 1  # a GridError
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {grid}: unknown group 'choices'") and "\n" not in err
    assert main(["new-notebook", "not a name"]) == 1  # a NotebookNameError
    assert capsys.readouterr().err.startswith("error: NAME='not a name' is not of the form NN_topic")


def test_make_track_records_its_files_and_a_miss_says_how_to_ask_through_make(tmp_path, capsys, monkeypatch,
                                                                                small_release_file):
    out = tmp_path / "out"
    assert main(["track", "portrait", "--release", str(small_release_file), "--out", str(out)]) == 0
    assert main(["provenance", "--out", str(out)]) == 0
    manifest = json.loads((out / "results" / "provenance.json").read_text())
    written = {str(p.relative_to(out)) for sub in ("results", "figures") for p in (out / sub).glob("track_*")}
    assert len(written) == 6 and written <= set(manifest["files"])
    capsys.readouterr()
    assert main(["verify", "--out", str(out)]) == 0
    assert "not made by the recorded run" not in capsys.readouterr().out

    monkeypatch.setenv("TWIGMA_MAKE_TRACK", "1")  # what make track sets
    assert main(["track", "cyberpunk", "--release", str(small_release_file), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "try TRACK_ARGS=--substring" in err and "results/caption_top_words.csv" in err
    monkeypatch.delenv("TWIGMA_MAKE_TRACK")
    assert main(["track", "cyberpunk", "--release", str(small_release_file), "--out", str(out)]) == 1
    assert "try --substring" in capsys.readouterr().err


def test_make_track_sets_the_make_spelling_and_records_its_files(tmp_path):
    dry = subprocess.run(["make", "--no-print-directory", "-n", "-C", str(paths.ROOT), "track", f"OUT={tmp_path}"],
                         capture_output=True, text=True, env={**os.environ, "QUERY": "x"})
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    track = next(i for i, x in enumerate(lines) if "twigma track" in x)
    assert lines[track].startswith("TWIGMA_MAKE_TRACK=1 ") and "twigma provenance" in lines[track + 1]


def test_cli_writes_the_tables_and_a_marked_figure(small_release_file, tmp_path, capsys, monkeypatch):
    import twigma.present.plots

    marked = []
    real_mark = twigma.present.plots.mark_synthetic
    monkeypatch.setattr(twigma.present.plots, "mark_synthetic", lambda fig, *a: (marked.append(fig), real_mark(fig, *a)))
    out = tmp_path / "run"
    sizes = pd.read_csv(small_release_file)["label_10_cluster"].value_counts().sort_index()
    (out / "results").mkdir(parents=True)
    pd.DataFrame({"cluster": sizes.index, "name": [f"theme {k}" for k in sizes.index], "n_images": sizes.values}).to_csv(
        out / "results" / "cluster_names.csv", index=False)  # notebook 02's names of this release
    assert cli(["track", "Mountain Landscape", "--release", str(small_release_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "phrase 'Mountain Landscape'" in printed and "trend of the monthly share" in printed
    s = "mountain_landscape"
    monthly = pd.read_csv(out / "results" / f"track_{s}.csv")
    assert list(monthly.columns) == ["month", "n_images", "n_matching", "share"]
    assert monthly["n_images"].sum() == 3000
    trend = pd.read_csv(out / "results" / f"track_{s}_trend.csv")
    assert len(trend) == 1 and list(trend.columns[:4]) == ["query", "slope", "p_value", "direction"]
    assert trend["query"].iloc[0] == "Mountain Landscape" and trend["direction"].iloc[0] in ("up", "down", "flat")
    by_cluster = pd.read_csv(out / "results" / f"track_{s}_by_cluster.csv")
    assert len(by_cluster) == 10 and by_cluster["name"].tolist() == [f"theme {k}" for k in sizes.index]
    assert pd.read_csv(out / "results" / f"track_{s}_engagement.csv")["group"].tolist() == ["matching", "other"]
    for ext in ("png", "pdf"):
        assert (out / "figures" / f"track_{s}.{ext}").stat().st_size > 1000
    assert len(marked) == 1  # the synthetic sample's figure says so


@pytest.mark.parametrize("args,needle", [(["", ], "the query is empty"),
                                         (["(ab", "--regex"], "not a valid regular expression"),
                                         (["zyzzyva"], "no caption matches")])
def test_cli_refuses_bad_queries_without_a_traceback_or_output(small_release_file, tmp_path, capsys, args, needle):
    out = tmp_path / "run"
    assert cli(["track", *args, "--release", str(small_release_file), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err
    assert not out.exists()
