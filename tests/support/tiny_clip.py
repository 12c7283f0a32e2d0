"""A tiny open_clip model with CLIP's tokenizer and random weights saved to a file, and a store embedded with it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.photos import real_photos

from twigma.cli import main as cli
from twigma.synthetic.release import generate_release, write_release

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
    torch = pytest.importorskip("torch")
    open_clip = pytest.importorskip("open_clip")
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


def _error(args, capsys) -> str:
    assert cli(["search", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err
