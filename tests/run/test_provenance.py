"""Tests of twigma.run.provenance: provenance of a run: which data, parameters and code made each figure and table."""
from __future__ import annotations

from twigma.cli import main


def test_verify_without_a_run_says_what_to_do(tmp_path, capsys):
    assert main(["verify", "--out", str(tmp_path)]) == 1
    assert "make figures" in capsys.readouterr().err


def test_report_without_a_run_says_what_to_do(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path)]) == 1
    assert "make figures" in capsys.readouterr().err
