"""The smaller points of running again, as a user meets them through the command line: the console ledger marked synthetic, a removed notebook's verdicts leaving the ledger and the manifest, make verify naming the command that fixes what it finds, make track's outputs recorded and its no-match message."""
from __future__ import annotations

import shlex

from twigma import paths
from twigma.cli import main


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
