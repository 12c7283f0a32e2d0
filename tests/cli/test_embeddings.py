"""Tests of twigma.cli.embeddings: commands on embedding stores: ``embed`` (CLIP embeddings of a folder of images), ``import-clip-retrieval`` (a clip-retrieval output folder), ``search`` (the images closest to a text or an image)."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from support.tiny_clip import NAME, _error, _weights

from twigma.cli import main as cli
from twigma.embeddings import store

pytestmark = pytest.mark.embedding_layer


def test_cli_search_by_text_and_by_image(setup, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(["search", "a lighthouse at dusk", "--embeddings", str(setup["store"]), "--release", setup["release"],
                "--k", "4", "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"model {NAME}" in printed and "twitter.com/i/web/status/" in printed
    table = pd.read_csv(out / "results" / "search_a_lighthouse_at_dusk.csv", dtype={"image_name": str})
    assert {"rank", "image_name", "score", "caption", "cluster", "date", "tweet_url"} <= set(table.columns)
    assert len(table) == 4
    name = setup["names"][1]
    assert cli(["search", "--image", name, "--embeddings", str(setup["store"]), "--k", "3", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[:3] == ["1", "1.0000", name]


def test_another_model_or_other_weights_are_refused(setup, capsys):
    other = _weights(setup["tmp"], setup["config"], NAME, seed=1)
    err = _error(["a cat", "--embeddings", str(setup["store"]), "--weights", other, "--device", "cpu"], capsys)
    assert "were made by" in err and "comparable only when one model made both" in err
    # the same weights, moved, are the store's model (compared by SHA-256)
    moved = setup["tmp"] / "moved.pt"
    shutil.copy(setup["weights"], moved)
    assert cli(["search", "a cat", "--embeddings", str(setup["store"]), "--weights", str(moved), "--k", "2",
                "--device", "cpu"]) == 0


def test_a_model_of_another_width_is_refused(setup, tmp_path, capsys):
    rng = np.random.default_rng(1)
    st = tmp_path / "unrecorded"
    store.write(st, "twigma", [f"{i}" for i in range(10)], rng.normal(size=(10, 24)))  # no model recorded
    err = _error(["a cat", "--embeddings", str(st), "--device", "cpu"], capsys)
    assert "does not say which model" in err
    err = _error(["a cat", "--embeddings", str(st), "--model", NAME, "--model-config", setup["config"],
                  "--weights", setup["weights"], "--device", "cpu"], capsys)
    assert "24 dimensions" in err and "embeds into 32" in err


def test_random_weights_cannot_be_rebuilt(setup, tmp_path, capsys):
    st = tmp_path / "random"
    folder = setup["tmp"] / "images"
    assert cli(["embed", str(folder), "--source", "twigma", "--embeddings", str(st), "--model", NAME,
                "--model-config", setup["config"], "--pretrained", "", "--workers", "0", "--quiet",
                "--device", "cpu"]) == 0
    err = _error(["a cat", "--embeddings", str(st), "--device", "cpu"], capsys)
    assert "random weights" in err


def test_unknown_image_and_empty_text(setup, capsys):
    assert "is not among" in _error(["--image", "nope", "--embeddings", str(setup["store"])], capsys)
    assert "empty" in _error(["  ", "--embeddings", str(setup["store"]), "--device", "cpu"], capsys)
    assert "not both" in _error(["a cat", "--image", "x", "--embeddings", str(setup["store"])], capsys)
