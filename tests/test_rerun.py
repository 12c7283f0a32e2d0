"""The smaller points of running again, as a user meets them through the command line: the console ledger
marked synthetic, a removed notebook's verdicts leaving the ledger and the manifest, make verify naming the
command that fixes what it finds, make track's outputs recorded and its no-match message."""
from __future__ import annotations

import json
import os
import shlex
import subprocess

import pandas as pd
import pytest

from twigma import paths
from twigma.analysis import claims
from twigma.cli import main
from twigma.files import sha256


def _claims_file(out, notebook, rows, synthetic):
    target = out / "results" / "claims" / f"{notebook}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    claims.notebook_rows(rows, notebook, synthetic).to_csv(target, index=False)
    return target


@pytest.mark.parametrize("synthetic", [True, False])
def test_the_console_summary_is_marked_when_the_ledger_says_synthetic(tmp_path, capsys, synthetic):
    _claims_file(tmp_path, "01_growth", [claims.claim("C2", "tau 0.9", True)], synthetic)
    assert main(["claims", "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    ledger = pd.read_csv(tmp_path / "results" / "claims.csv").set_index("claim")
    assert (ledger.loc["C2", "data"] == "synthetic sample") == synthetic
    c2 = next(line for line in said.splitlines() if line.strip().startswith("C2"))
    assert ("[synthetic sample]" in c2) == synthetic and ("[synthetic sample]" in said.splitlines()[0]) == synthetic
    c1 = next(line for line in said.splitlines() if line.strip().startswith("C1"))
    assert "[synthetic sample]" not in c1  # untested here: no data behind it


def test_a_removed_notebooks_verdicts_leave_the_ledger_and_the_manifest(tmp_path, capsys):
    """A copy 13_copy ran (its record names its notebook file) and was then deleted; a claims file of a
    notebook that never had a record and is not in notebooks/ goes too; 03's stays."""
    out = tmp_path
    mine = _claims_file(out, "03_theme_shift", [claims.claim("C4", "three declines", True)], False)
    gone = _claims_file(out, "13_copy", [claims.claim("C4", "one decline", False)], False)
    orphan = _claims_file(out, "14_never_recorded", [claims.claim("C5", "two rises", True)], False)
    records = out / "build" / ".provenance"
    records.mkdir(parents=True)
    for nb, f in (("03_theme_shift", mine), ("13_copy", gone)):
        nb_file = paths.NOTEBOOKS / f"{nb}.ipynb"
        rec = {"notebook": nb, "notebook_file": f"notebooks/{nb}.ipynb", "files": {str(f.relative_to(out)): sha256(f)},
               "notebook_sha256": sha256(nb_file) if nb_file.exists() else ""}
        (records / f"{nb}.json").write_text(json.dumps(rec))
    assert not (paths.NOTEBOOKS / "13_copy.ipynb").exists() and (paths.NOTEBOOKS / "03_theme_shift.ipynb").exists()

    assert main(["claims", "--out", str(out)]) == 0 and main(["provenance", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    ledger = pd.read_csv(out / "results" / "claims.csv")
    assert set(ledger["notebook"].dropna()) == {"03_theme_shift"}, ledger
    assert not gone.exists() and not orphan.exists() and mine.exists()
    assert "13_copy: its notebook is gone" in said and "14_never_recorded: its notebook is gone" in said
    manifest = json.loads((out / "results" / "provenance.json").read_text())
    assert set(manifest["notebooks"]) == {"03_theme_shift"}
    assert not any("13_copy" in rel or "14_never" in rel for rel in manifest["files"])
    assert main(["verify", "--out", str(out)]) == 0
    assert "not made by the recorded run" not in capsys.readouterr().out


def test_verify_names_the_command_that_fixes_each_problem(tmp_path, capsys, small_release_file):
    from twigma.run.runner import run_notebook

    out = tmp_path / "my run"
    run_notebook(paths.NOTEBOOKS / "04_nsfw.ipynb", release=small_release_file, out=out)
    assert main(["claims", "--out", str(out)]) == 0 and main(["provenance", "--out", str(out)]) == 0
    (out / "results" / "nsfw_by_cluster.csv").unlink()
    with open(out / "results" / "claims.csv", "a") as fh:
        fh.write("edited by hand\n")
    capsys.readouterr()
    assert main(["verify", "--out", str(out)]) == 1
    said = capsys.readouterr().out
    args = f"RELEASE={shlex.quote(str(small_release_file))} OUT={shlex.quote(str(out))}"
    executed = shlex.quote(str(out / "build" / "04_nsfw.ipynb"))
    assert f"to fix the missing file(s): rm -f {executed} && make figures {args} (reruns 04_nsfw)" in said
    assert f"to fix the edited file(s): rm -f {shlex.quote(str(out / 'results' / 'claims.csv'))}, then run" in said


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
