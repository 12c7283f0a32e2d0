"""Tests of ``python -m twigma`` (twigma/__main__.py): a command process does without rfc3987_syntax's
grammar, which jsonschema would build at import (1.3 s of each notebook a run starts), and still reads and
validates notebooks; a library import of the package leaves jsonschema as it is."""
from __future__ import annotations

import subprocess
import sys

from twigma import paths

AFTER = """
import nbformat, sys
nb = nbformat.read(NB, as_version=4)
nbformat.validate(nb)
print(sys.modules.get("rfc3987_syntax") is not None, len(nb.cells))
"""


def _run(code: str) -> tuple[str, str]:
    nb = str(paths.NOTEBOOKS / "00_data.ipynb")
    r = subprocess.run([sys.executable, "-c", code, nb], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()[-2], r.stdout.split()[-1]


def test_a_command_reads_and_validates_notebooks_without_the_iri_grammar():
    as_command = ("import runpy, sys\nNB = sys.argv[1]\nsys.argv = ['twigma', '--version']\n"
                  "try:\n    runpy.run_module('twigma', run_name='__main__')\nexcept SystemExit:\n    pass\n")
    loaded, n_cells = _run(as_command + AFTER)
    assert loaded == "False" and int(n_cells) > 5


def test_a_library_import_leaves_jsonschema_as_it_is():
    loaded, _ = _run("import sys, twigma\nNB = sys.argv[1]\n" + AFTER)
    assert loaded == "True"  # rfc3987_syntax is installed with the lab layer (jupyter-events)
