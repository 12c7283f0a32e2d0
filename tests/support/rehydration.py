"""Rehydration against a hostile local server: a URL-encoded token, a release, and a short-timeout run."""
from __future__ import annotations

import pytest

from twigma.cli import main
from twigma.fetch import images, x_api
from twigma.synthetic.release import generate_release

ENCODED_TOKEN = "AAAA-test%2Bsecret%3Dtoken-0987654321"  # URL-encoded as real bearer tokens are


@pytest.fixture
def release(tmp_path):
    p = tmp_path / "release.csv"
    generate_release(40, seed=5).to_csv(p, index=False)  # no sidecar: taken for a real release
    return p


@pytest.fixture
def quick(monkeypatch):
    """The CLI's retries without their waits (backoff sleeps), so a test of five tries takes no time."""
    monkeypatch.setitem(x_api.rehydrate.__kwdefaults__, "sleep", lambda s: None)
    monkeypatch.setattr(images.time, "sleep", lambda s: None)
    monkeypatch.setenv(x_api.TOKEN_ENV, ENCODED_TOKEN)


def files_under(root, skip=()):
    """{path: bytes} of every file under ``root`` except under the ``skip`` folders."""
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and not any(s in p.parents for s in skip)}


def rehydrate(tmp_path, server, release, store="t.sqlite"):
    return main(["rehydrate", "--release", str(release), "--store", str(tmp_path / store), "--api",
                 f"{server.url}/2", "--quiet"])
