"""Tests of twigma.embeddings.store: the embedding store: a folder of L2-normalised image embeddings, one set per source."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twigma.analysis import inspiration
from twigma.embeddings import store
from twigma.synthetic.embeddings import N_INSPIRED, make_sample_embeddings


def test_store_round_trip_and_contract(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 8)) * 3
    store.write(tmp_path, "art", [f"a{i}" for i in range(50)], X, meta={"model": "m"})
    e = store.read(tmp_path, "art")
    assert isinstance(e.vectors, np.memmap) and e.vectors.dtype == np.float16 and e.vectors.shape == (50, 8)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(e.vectors, float), axis=1), 1, atol=1e-3)
    assert pd.read_csv(tmp_path / "art.ids.csv").columns.tolist() == ["id"]
    meta = store.read_meta(tmp_path)
    assert meta["sources"]["art"]["count"] == 50 and meta["sources"]["art"]["dim"] == 8 and meta["model"] == "m"
    assert e.subset(["a7", "a2"]).ids.tolist() == ["a7", "a2"]
    with pytest.raises(KeyError, match="not in the art embeddings"):
        e.subset(["zz"])


def test_store_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(store.StoreError, match="make embeddings"):
        store.read(tmp_path, "natural")
    store.write(tmp_path, "natural", ["a", "b"], np.eye(2))
    pd.DataFrame({"id": ["a"]}).to_csv(tmp_path / "natural.ids.csv", index=False)
    with pytest.raises(store.StoreError, match="incomplete"):
        store.read(tmp_path, "natural")
    with pytest.raises(store.StoreError, match="without EMBEDDINGS"):
        store.folder_for("some/release.csv", "")
    with pytest.raises(ValueError, match="duplicate ids"):
        store.write(tmp_path, "art", ["a", "a"], np.eye(2))


def test_align_follows_release_order_and_drops_missing(small_release, tmp_path):
    rel = small_release.iloc[:40]
    store.write(tmp_path, "twigma", rel["image_name"].iloc[::-1].iloc[:30], np.eye(40)[:30, :])
    mask, X = store.align(rel, store.read(tmp_path, "twigma"))
    assert mask.sum() == 30 and not mask[:10].any()
    e = store.read(tmp_path, "twigma")
    np.testing.assert_array_equal(X, np.asarray(e.subset(rel["image_name"][mask]).vectors))


def test_planted_inspirations_are_found(small_release, tmp_path):
    root = make_sample_embeddings(small_release, tmp_path, n_natural=300, n_art=400, dim=64)
    meta = store.read_meta(root)
    planted = pd.DataFrame(meta["planted_inspirations"])
    tw, art = store.read(root, "twigma"), store.read(root, "art")
    q = tw.subset(planted["image_name"])
    found = inspiration.nearest_artworks(q.vectors, q.ids, art.vectors, art.ids, k=3)
    assert list(found.columns) == ["image_name", "rank", "art_id", "cosine"]
    top1 = found[found["rank"] == 1].set_index("image_name")["art_id"]
    copies = planted[planted["kind"] == "near-copy"]  # near-copies: always the closest artwork
    assert (top1.loc[copies["image_name"]].to_numpy() == copies["art_id"].to_numpy()).all()
    best = inspiration.most_art_like(tw.vectors, tw.ids, art.vectors, n=10)
    assert set(best.index) <= set(copies["image_name"])
    # the search code finds the planted pairs: C10's bound on them passes (a check of the code, not of C10)
    b = inspiration.recall_bound(planted, found, alpha=0.01, min_recall=0.9)
    assert b.n == N_INSPIRED and b.found >= 98 and b.holds


def test_store_records_each_source_s_model_and_refuses_mixed_models(tmp_path):
    X = np.random.default_rng(9).normal(size=(6, 4))
    paper = {"model": "ViT-L-14", "pretrained": "openai", "activation": "QuickGELU", "open_clip": "3.3.0",
             "torch": "2.14.1", "precision": "fp16", "preprocess": "Resize(224)"}
    for src in ("twigma", "natural"):
        store.write(tmp_path, src, [f"{src}{i}" for i in range(6)], X, meta=paper)
    rec = store.read_meta(tmp_path)["sources"]["natural"]
    assert {k: rec[k] for k in paper} == paper and rec["date"] and rec["count"] == 6
    assert store.folder_for(None, tmp_path) == tmp_path  # one model: fine
    # the same weights under open_clip's other name for the architecture: still one model
    store.write(tmp_path, "art", [f"a{i}" for i in range(6)], X, meta={**paper, "model": "ViT-L-14-quickgelu"})
    store.check_one_model(tmp_path)
    store.write(tmp_path, "art", [f"a{i}" for i in range(6)], X, meta={**paper, "activation": "GELU"})
    with pytest.raises(store.StoreError) as info:
        store.folder_for(None, tmp_path)
    msg = str(info.value)
    assert "different models" in msg and "art: ViT-L-14, weights tag openai, GELU" in msg
    assert "twigma: ViT-L-14, weights tag openai, QuickGELU" in msg and "make embeddings" in msg
    # what `make embeddings` warns about before re-embedding twigma with the paper's model
    told = store.other_models(tmp_path, "twigma", paper)
    assert "art was made with ViT-L-14, weights tag openai, GELU" in told and "natural" not in told
    store.write(tmp_path, "art", [f"a{i}" for i in range(6)], X, meta={**paper, "pretrained": None,
                                                                        "weights": "/w/x.pt", "weights_sha256": "ab" * 32})
    with pytest.raises(store.StoreError, match="art: ViT-L-14, weights sha256 abababababab"):
        store.check_one_model(tmp_path)
    # same model, another precision: comparable up to rounding, so a warning only
    store.write(tmp_path, "art", [f"a{i}" for i in range(6)], X, meta={**paper, "precision": "fp32"})
    with pytest.warns(UserWarning, match="differ in precision"):
        store.check_one_model(tmp_path)


def test_the_synthetic_store_passes_the_one_model_check(small_release, tmp_path):
    root = make_sample_embeddings(small_release, tmp_path, n_natural=50, n_art=50, dim=16)
    records = store.check_one_model(root)
    assert set(records) == set(store.SOURCES) and {r["model"] for r in records.values()} == {"synthetic (no model)"}
    assert store.folder_for(None, root) == root
