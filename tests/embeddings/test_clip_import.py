"""Tests of twigma.embeddings.clip_import: importing image embeddings made by clip-retrieval (``twigma import-clip-retrieval``)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from twigma.cli import main
from twigma.embeddings import store
from twigma.embeddings.clip_import import ClipImportError, image_id, import_clip_retrieval, partitions

pytestmark = pytest.mark.embedding_layer

MODEL = {"model": "ViT-B-32", "pretrained": "openai"}


def write_clip_retrieval(folder, partitions_ids, *, dim=16, count=None, pad=True, seed=0):
    """Write clip-retrieval's output: one partition per list of image names."""
    rng = np.random.default_rng(seed)
    count = count or len(partitions_ids)
    digits = int(math.log10(count)) + 1
    (folder / "img_emb").mkdir(parents=True, exist_ok=True)
    (folder / "metadata").mkdir(parents=True, exist_ok=True)
    vectors = {}
    for k, names in enumerate(partitions_ids):
        n = str(k).zfill(digits) if pad else str(k)
        x = rng.normal(size=(len(names), dim)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        np.save(folder / "img_emb" / f"img_emb_{n}.npy", x.astype(np.float16))
        pd.DataFrame({"image_path": [f"/data/twigma_images/{name}" for name in names],
                      "caption": [f"caption of {name}" for name in names]}).to_parquet(
            folder / "metadata" / f"metadata_{n}.parquet")
        for name, v in zip(names, x.astype(np.float16)):
            vectors[image_id(name)] = v
    return vectors


@pytest.mark.parametrize("pad", [True, False])
def test_partitions_are_read_in_numeric_order_ids_are_stems_and_rows_renormalised(tmp_path, pad):
    parts = [[f"{1600 + 10 * k + i}.jpg" for i in range(3)] for k in range(12)]  # img_emb_2 before img_emb_10
    vectors = write_clip_retrieval(tmp_path / "clip", parts, pad=pad)
    found = partitions(tmp_path / "clip")
    assert [k for k, _, _ in found] == list(range(12))
    summary = import_clip_retrieval(tmp_path / "clip", "twigma", tmp_path / "store", **MODEL)
    assert summary["n_partitions"] == 12 and summary["n_embedded"] == 36 and summary["dim"] == 16
    emb = store.read(tmp_path / "store", "twigma")
    expected_ids = [name.removesuffix(".jpg") for part in parts for name in part]
    assert emb.ids.tolist() == expected_ids  # partition order, then row order
    x = np.asarray(emb.vectors, dtype=np.float32)
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=2e-3)
    want = np.stack([vectors[i].astype(np.float32) for i in expected_ids])
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.abs(x - want).max() < 2e-3
    source = store.read_meta(tmp_path / "store")["sources"]["twigma"]
    assert source["model"] == "ViT-B-32" and source["pretrained"] == "openai"
    assert source["activation"] == "QuickGELU"  # OpenAI's weights, as twigma embed decides it
    sidecar = json.loads((tmp_path / "store" / "twigma.clip-retrieval.json").read_text())
    assert [p["partition"] for p in sidecar["partitions"]] == list(range(12))
    assert sidecar["partitions"][0]["dtype"] == "float16"


def test_the_command_line_and_make_style_arguments(tmp_path, capsys):
    write_clip_retrieval(tmp_path / "clip", [["a.jpg", "b.png"], ["c.webp"]])
    assert main(["import-clip-retrieval", str(tmp_path / "clip"), "--source", "art", "--embeddings",
                 str(tmp_path / "store"), "--model", "ViT-B-32", "--pretrained", "openai"]) == 0
    assert "3 embeddings (16 dimensions) from 2 clip-retrieval partition(s)" in capsys.readouterr().out
    assert store.read(tmp_path / "store", "art").ids.tolist() == ["a", "b", "c"]
    with pytest.raises(SystemExit):  # --model is required: clip-retrieval does not record it
        main(["import-clip-retrieval", str(tmp_path / "clip"), "--source", "art"])


def test_duplicate_ids_are_refused_naming_both_files(tmp_path):
    write_clip_retrieval(tmp_path / "clip", [["1.jpg", "2.jpg"], ["3.jpg", "2.png"]])
    with pytest.raises(ClipImportError, match=r"duplicate id '2': metadata_0\.parquet row 1 and metadata_1\.parquet "
                                              r"row 1"):
        import_clip_retrieval(tmp_path / "clip", "twigma", tmp_path / "store", **MODEL)
    assert not (tmp_path / "store" / "twigma.npy").exists()


def test_a_count_mismatch_names_both_files(tmp_path):
    write_clip_retrieval(tmp_path / "clip", [["1.jpg", "2.jpg"], ["3.jpg", "4.jpg"]])
    np.save(tmp_path / "clip" / "img_emb" / "img_emb_1.npy", np.ones((3, 16), np.float16))
    with pytest.raises(ClipImportError, match=r"img_emb_1\.npy has 3 embeddings but .*metadata_1\.parquet has 2 rows"):
        import_clip_retrieval(tmp_path / "clip", "twigma", tmp_path / "store", **MODEL)


def test_incomplete_or_odd_folders_get_clear_errors(tmp_path):
    with pytest.raises(ClipImportError, match="img_emb: no such folder"):
        import_clip_retrieval(tmp_path / "nothing", "twigma", tmp_path / "store", **MODEL)
    write_clip_retrieval(tmp_path / "clip", [["1.jpg"], ["2.jpg"], ["3.jpg"]])
    (tmp_path / "clip" / "metadata" / "metadata_2.parquet").unlink()
    with pytest.raises(ClipImportError, match=r"img_emb_2\.npy has no partner metadata_2\.parquet"):
        import_clip_retrieval(tmp_path / "clip", "twigma", tmp_path / "store", **MODEL)

    write_clip_retrieval(tmp_path / "c2", [["1.jpg", "2.jpg"]])
    pd.DataFrame({"image_path": ["/x/1.jpg", None]}).to_parquet(tmp_path / "c2" / "metadata" / "metadata_0.parquet")
    with pytest.raises(ClipImportError, match=r"metadata_0\.parquet, column image_path, row 1: empty"):
        import_clip_retrieval(tmp_path / "c2", "twigma", tmp_path / "store", **MODEL)
    pd.DataFrame({"caption": ["a", "b"]}).to_parquet(tmp_path / "c2" / "metadata" / "metadata_0.parquet")
    with pytest.raises(ClipImportError, match="no column 'image_path'"):
        import_clip_retrieval(tmp_path / "c2", "twigma", tmp_path / "store", **MODEL)

    write_clip_retrieval(tmp_path / "c3", [["1.jpg"], ["2.jpg"]], count=2)
    write_clip_retrieval(tmp_path / "c3", [["1.jpg"]] * 11, count=11)  # a rerun with another partition count
    with pytest.raises(ClipImportError, match=r"img_emb_0\.npy and .*img_emb_00\.npy are both partition 0"):
        import_clip_retrieval(tmp_path / "c3", "twigma", tmp_path / "store", **MODEL)

    write_clip_retrieval(tmp_path / "c4", [["1.jpg", "2.jpg"]])
    bad = np.ones((2, 16), np.float16)
    bad[1, 3] = np.nan
    np.save(tmp_path / "c4" / "img_emb" / "img_emb_0.npy", bad)
    with pytest.raises(ClipImportError, match=r"img_emb_0\.npy, row 1 \(2\): the embedding has NaN"):
        import_clip_retrieval(tmp_path / "c4", "twigma", tmp_path / "store", **MODEL)


def test_the_model_must_be_stated_and_known(tmp_path):
    write_clip_retrieval(tmp_path / "clip", [["1.jpg"]])
    with pytest.raises(ClipImportError, match="--model is required"):
        import_clip_retrieval(tmp_path / "clip", "twigma", tmp_path / "store", model="")
    with pytest.raises(ClipImportError, match="unknown open_clip model"):
        import_clip_retrieval(tmp_path / "clip", "twigma", tmp_path / "store", model="ViT-Nope")
    with pytest.raises(ClipImportError, match="QuickGELU/GELU mismatch"):
        import_clip_retrieval(tmp_path / "clip", "twigma", tmp_path / "store", activation="GELU", **MODEL)


def test_image_ids_from_paths_and_webdataset_keys():
    assert image_id("/data/imgs/1612345678901234567.jpg") == "1612345678901234567"
    assert image_id("C:\\imgs\\sub\\a_b.JPEG") == "a_b"
    assert image_id("00012/000123") == "000123"  # a webdataset sample key has no extension
    assert image_id("art/monet_water-lilies-1916.png") == "monet_water-lilies-1916"
