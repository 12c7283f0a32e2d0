"""Text-to-image and image-to-image search on a store that ``twigma embed`` made from real photographs
(shipped inside skimage, sklearn and matplotlib) with a tiny random-weight open_clip model."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

from test_embed import real_photos  # noqa: E402

from twigma.cli import main as cli  # noqa: E402
from twigma.embeddings import search, store  # noqa: E402
from twigma.synthetic.release import generate_release, write_release  # noqa: E402

# CLIP's own tokenizer (vocabulary 49,408) with tiny towers: a text can be encoded
TINY_TEXT = {"embed_dim": 32,
             "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
NAME = "twigma-tiny-text"


def _config(folder: Path, name: str, cfg: dict) -> str:
    path = folder / f"{name}.json"  # open_clip names a registered model after its file
    path.write_text(json.dumps(cfg))
    return str(path)


def _weights(folder: Path, config: str, name: str, seed: int) -> str:
    open_clip.add_model_config(config)
    torch.manual_seed(seed)
    path = folder / f"{name}-{seed}.pt"
    torch.save(open_clip.create_model(name).state_dict(), path)
    return str(path)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A small release, its first images as real photographs named by image_name, and a store of them
    made with ``twigma embed`` (tiny model, random weights saved as a checkpoint file)."""
    tmp = tmp_path_factory.mktemp("search")
    raw = generate_release(60, seed=3)
    release = write_release(raw, tmp / "release.csv.gz")
    photos = real_photos()
    names = raw["image_name"].astype(str).tolist()[: len(photos)]
    folder = tmp / "images"
    folder.mkdir()
    for name, f in zip(names, photos):
        shutil.copy(f, folder / f"{name}{Path(f).suffix}")
    config = _config(tmp, NAME, TINY_TEXT)
    weights = _weights(tmp, config, NAME, seed=0)
    st = tmp / "store"
    assert cli(["embed", str(folder), "--source", "twigma", "--embeddings", str(st), "--model", NAME,
                "--model-config", config, "--weights", weights, "--workers", "0", "--quiet", "--device", "cpu"]) == 0
    return {"tmp": tmp, "release": str(release), "store": st, "config": config, "weights": weights, "names": names}


def _unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_text_search_equals_a_brute_force_numpy_ranking(setup):
    from twigma import load_release

    s = search.Searcher(setup["store"], load_release(setup["release"]), device="cpu")
    text = "a photo of a cat on a sofa"
    res = s.text(text, k=8)
    # the text embedding is the open_clip text encoder of the store's model, loaded independently
    model, _, _ = open_clip.create_model_and_transforms(NAME, pretrained=setup["weights"])
    model.eval()
    with torch.no_grad():
        ref = model.encode_text(open_clip.get_tokenizer(NAME)([text])).numpy()[0]
    q = s.encode_text(text)[0]
    np.testing.assert_allclose(q, _unit(ref), atol=1e-5)
    # brute force: cosine of the text embedding with every stored row, sorted
    emb = store.read(setup["store"], "twigma")
    scores = _unit(np.asarray(emb.vectors, np.float64)) @ _unit(q)
    order = np.argsort(-scores, kind="stable")[:8]
    assert res["image_name"].tolist() == emb.ids[order].tolist()
    np.testing.assert_allclose(res["score"], scores[order], atol=1e-5)
    assert res["rank"].tolist() == list(range(1, 9))
    # the release's columns, and the tweet link
    rel = load_release(setup["release"]).set_index("image_name")
    first = res.iloc[0]
    assert first["caption"] == rel.loc[first["image_name"], "all_captions"]
    assert first["cluster"] == rel.loc[first["image_name"], "label_10_cluster"]
    assert first["date"] == rel.loc[first["image_name"], "created_at"]
    assert first["tweet_url"] == f"https://twitter.com/i/web/status/{rel.loc[first['image_name'], 'id']}"


def test_image_search_returns_the_image_itself_first_with_score_one(setup):
    s = search.Searcher(setup["store"], device="cpu")
    for name in setup["names"][:3]:
        res = s.image(name, k=5)
        assert res["image_name"].iloc[0] == name
        assert res["score"].iloc[0] == pytest.approx(1.0, abs=1e-6)
        assert (np.diff(res["score"]) <= 1e-7).all() and len(res) == 5
    assert s.spec is None  # no model was loaded for it


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


def _error(args, capsys) -> str:
    assert cli(["search", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def test_a_store_without_a_model_is_refused_for_text_but_searched_by_image(tmp_path, capsys):
    rng = np.random.default_rng(0)
    st = tmp_path / "synthetic"
    store.write(st, "twigma", [f"{i}" for i in range(20)], rng.normal(size=(20, 16)),
                meta={"model": search.NO_MODEL, "pretrained": None, "weights": None, "synthetic": True})
    err = _error(["a cat", "--embeddings", str(st)], capsys)
    assert "synthetic generator, not by a model" in err and "--image" in err
    assert cli(["search", "--image", "7", "--embeddings", str(st), "--k", "2", "--device", "cpu"]) == 0


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


@pytest.mark.browser
def test_hostile_captions_in_search_results_stay_text(setup, tmp_path):
    """Search results as a notebook shows them (the DataFrame's HTML, which JupyterLab and the report put
    in the page) with captions that carry HTML and script: in headless Chromium nothing runs, no planted
    element or link appears, and the caption reads literally."""
    from browser import chromium

    from twigma import load_release

    payload = ('<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> '
               '<a href="javascript:window.__pwned=3">open</a>')
    rel = load_release(setup["release"])
    rel["all_captions"] = rel["all_captions"].astype(str) + " " + payload
    res = search.Searcher(setup["store"], rel, device="cpu").image(setup["names"][0], k=5)
    assert res["caption"].str.contains("<script>", regex=False).all()
    page = tmp_path / "results.html"
    with pd.option_context("display.max_colwidth", None):  # the whole caption (by default pandas cuts it at 50)
        shown = res._repr_html_()
    page.write_text(f"<!doctype html><html lang=en><title>search</title><body>{shown}</body></html>")
    driver = chromium()
    try:
        driver.get(page.as_uri())
        assert driver.execute_script("return window.__pwned") is None
        assert not driver.execute_script(
            "return document.querySelectorAll('img, script:not([src]), a[href^=javascript]').length")
        assert driver.find_element("tag name", "body").text.count('<img src=x onerror="window.__pwned=1">') == 5
    finally:
        driver.quit()
