"""Tests of twigma.embeddings.search: text-to-image and image-to-image search over an embedding store, exactly, by cosine."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from support.tiny_clip import NAME, _error

from twigma import paths
from twigma.cli import main as cli
from twigma.embeddings import search, store

pytestmark = pytest.mark.embedding_layer

# torch and open_clip: imported when a test of this file runs, not when the file is collected (make test-fast collects
# it only to deselect it); find_spec looks for them without importing them
if importlib.util.find_spec("torch") is None or importlib.util.find_spec("open_clip") is None:
    pytest.skip("needs torch and open_clip (env/requirements-embed.txt)", allow_module_level=True)
torch = open_clip = None  # the modules, once _embedding_layer has run


@pytest.fixture(autouse=True, scope="module")
def _embedding_layer():
    global torch, open_clip
    torch = pytest.importorskip("torch")
    open_clip = pytest.importorskip("open_clip")


def _unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_search_cell_counts_the_store_in_the_release_and_reads_only_the_hits(small_release, small_embeddings):
    from twigma.embeddings.search import Searcher

    part = small_release.iloc[::3].reset_index(drop=True)
    for rel in (small_release, part, part.iloc[:0]):
        s = Searcher(small_embeddings, release=rel)
        assert s.in_release() == int(s.emb.ids.isin(rel["image_name"].astype(str)).sum())
    assert 0 < Searcher(small_embeddings, release=part).in_release() < len(s.emb)
    assert Searcher(small_embeddings).in_release() == 0
    s = Searcher(small_embeddings, release=part)
    hits = s.image(str(part["image_name"].iloc[4]), k=6)
    found = part.drop_duplicates("image_name").set_index("image_name").reindex(hits["image_name"])  # the old way
    assert hits["caption"].tolist() == found["all_captions"].tolist()
    assert hits["tweet_id"].tolist() == found["id"].tolist() and hits["caption"].notna().sum() >= 1


def test_search_without_embeddings_uses_the_sample_store_only_for_the_sample(small_release):
    """EMBEDDINGS empty: the sample's synthetic store goes with the sample (or no release), as for the image
    notebooks; with another release the search says to give EMBEDDINGS (notebook 10 shows it) instead of
    searching the sample's store for images that are not in it."""
    from twigma.embeddings.search import Searcher, SearchError
    from twigma.release import load_release

    if not (paths.SAMPLE_EMBEDDINGS / "meta.json").exists():
        pytest.skip("the sample's store is made by make sample")
    assert Searcher("", release=load_release(paths.SAMPLE_RELEASE)).root == paths.SAMPLE_EMBEDDINGS
    assert Searcher("").root == paths.SAMPLE_EMBEDDINGS
    with pytest.raises(SearchError, match="no EMBEDDINGS given for this release"):
        Searcher("", release=small_release)


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


def test_a_store_without_a_model_is_refused_for_text_but_searched_by_image(tmp_path, capsys):
    rng = np.random.default_rng(0)
    st = tmp_path / "synthetic"
    store.write(st, "twigma", [f"{i}" for i in range(20)], rng.normal(size=(20, 16)),
                meta={"model": search.NO_MODEL, "pretrained": None, "weights": None, "synthetic": True})
    err = _error(["a cat", "--embeddings", str(st)], capsys)
    assert "synthetic generator, not by a model" in err and "--image" in err
    assert cli(["search", "--image", "7", "--embeddings", str(st), "--k", "2", "--device", "cpu"]) == 0
