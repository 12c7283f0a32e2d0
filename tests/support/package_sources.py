"""The package's source files, read by the layout tests."""
from pathlib import Path

import twigma

SRC = Path(twigma.__file__).parent


def _sources():
    for p in sorted(SRC.rglob("*.py")):
        yield p.relative_to(SRC).as_posix(), p.read_text()
