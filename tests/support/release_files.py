"""Release files written for the loader's tests, and the check that validation refuses one naming the fault."""
from __future__ import annotations

import pytest

from twigma.cli import main


@pytest.fixture
def validate(tmp_path, monkeypatch, capsys):
    """``validate(path) -> (exit status, stdout, stderr)`` of `twigma validate path`; checks that a refused
    file leaves the cache folder empty."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(cache))

    def run(path):
        rc = main(["validate", str(path)])
        out = capsys.readouterr()
        if rc:
            assert not cache.exists() or not any(cache.iterdir()), "a refused file left a typed cache"
        return rc, out.out, out.err
    return run


def refused(validate, path, *words):
    rc, out, err = validate(path)
    assert rc == 1 and "OK" not in out, out
    assert err.startswith("error: ") and str(path) in err and "What to do:" in err, err
    assert "Traceback" not in err
    for w in words:
        assert w.lower() in err.lower(), (w, err)
    return err


def write(raw, tmp_path, name="release.csv"):
    p = tmp_path / name
    raw.to_csv(p, index=False)
    return p
