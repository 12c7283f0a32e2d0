"""Tests of twigma.embeddings.images: image files of an embedding run: which files, and how each is decoded to 8-bit RGB."""
from __future__ import annotations

import pytest


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_embedding_decodes_within_the_pixel_bound(tmp_path):
    from PIL import Image

    from twigma.embeddings.images import MAX_PIXELS, ImageFiles
    w, h = 10_000, 9_000
    Image.new("L", (w, h), 128).save(tmp_path / "big.jpg", quality=30)
    Image.new("1", (w, h)).save(tmp_path / "big.png")
    Image.new("RGB", (300, 200)).save(tmp_path / "small.png")
    files = ImageFiles([tmp_path / "big.jpg", tmp_path / "big.png", tmp_path / "small.png"], lambda im: im.size)
    (_, size, err), (_, none, why), (_, small, _) = files[0], files[1], files[2]
    assert err == "" and size[0] * size[1] <= MAX_PIXELS and size[0] >= 224  # decoded reduced (draft)
    assert none is None and "over the 40 million decoded at most" in why and "PNG" in why
    assert small == (300, 200)
