"""Image files of an embedding run: which files, and how each is decoded to 8-bit RGB.

An image's id is its file name without extension (for TWIGMA: the release's ``image_name``); the
extensions counted as images are :data:`twigma.files.IMAGE_SUFFIXES`. A file that cannot be
decoded is not an error: :class:`ImageFiles` gives its reason, and the run lists it as skipped. No
decode holds more than :data:`MAX_PIXELS` pixels (:func:`open_bounded`).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from twigma.embeddings.models import EmbedError
from twigma.files import IMAGE_SUFFIXES


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursively), sorted by path; ids (stems) must be unique."""
    root = Path(folder)
    if not root.is_dir():
        raise EmbedError(f"IMAGES={root}: no such folder. Give the folder that holds the images.")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise EmbedError(f"{root}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) found.")
    stems = pd.Series([p.stem for p in files])
    dup = stems[stems.duplicated(keep=False)]
    if len(dup):
        example = [str(files[i]) for i in dup.index[:2]]
        raise EmbedError(f"{root}: {dup.nunique()} image id(s) occur twice, e.g. {example}; an image's id is its "
                         "file name without extension, so names must be unique.")
    return files


def files_digest(files: list[Path]) -> str:
    """A digest of the files' names and sizes: an unfinished run is resumed only on the same files."""
    h = hashlib.sha1()
    for p in files:
        h.update(f"{p.name}\0{p.stat().st_size}\n".encode())
    return h.hexdigest()



#: Pillow's modes of 16-bit greyscale (PNG, TIFF); ``convert("RGB")`` clips them to white.
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def to_rgb(im):
    """8-bit RGB of a decoded image.

    16-bit greyscale (modes ``I;16``, ``I;16B``...) is scaled to 8 bits by value / 257 (so
    0..65535 maps onto 0..255), and so is mode ``I`` (32-bit integers: older Pillow opens
    16-bit PNGs so) when its values lie in 0..65535. Pillow's own conversion clips these to 255,
    which would embed them as white. Integer images outside 0..65535 and 32-bit float images
    (mode ``F``) have no known scale: they raise ``ValueError``, and the image is listed as skipped.
    """
    from PIL import Image

    if im.mode in SIXTEEN_BIT_MODES or im.mode == "I":
        a = np.asarray(im).astype(np.int64)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"{im.mode} image with values {a.min()}..{a.max()}, outside 0..65535: its scale is "
                             "unknown; convert it to an 8-bit image to embed it")
        return Image.fromarray(np.round(a / 257).astype(np.uint8), "L").convert("RGB")
    if im.mode == "F":
        raise ValueError("32-bit floating-point image (mode F): its scale is unknown; convert it to an 8-bit image "
                         "to embed it")
    return im.convert("RGB")


#: The most pixels an image is decoded with: 40 million pixels x 4 bytes = 160 MB per decode, whatever the
#: file holds (Pillow alone decodes up to 179 million pixels, only warning from 89 million). A larger JPEG is
#: decoded reduced (1/2, 1/4 or 1/8 of its width, Pillow's ``draft``) to at most this many, which is still far
#: more than the model's input (224 pixels a side); a larger image of another format is skipped, with its size.
MAX_PIXELS = 40_000_000


def open_bounded(path):
    """The image at ``path``, opened and loaded within :data:`MAX_PIXELS` (see there); ValueError when it
    cannot be."""
    from PIL import Image

    im = Image.open(path)
    try:
        w, h = im.size
        if w * h > MAX_PIXELS and im.format == "JPEG":
            scale = (MAX_PIXELS / 4 / (w * h)) ** 0.5  # draft keeps at least the asked size, at most twice it
            im.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
        if im.size[0] * im.size[1] > MAX_PIXELS:
            raise ValueError(f"{w:,} x {h:,} pixels ({w * h / 1e6:.0f} million) is over the {MAX_PIXELS / 1e6:.0f} "
                             f"million decoded at most, and a {im.format} image cannot be decoded reduced; "
                             "make a smaller copy to embed it")
        im.load()
    except BaseException:
        im.close()
        raise
    return im


class ImageFiles:
    """A torch Dataset of image files: item i is (i, tensor or None, error text)."""

    def __init__(self, files: list[Path], preprocess):
        self.files = files
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        try:
            with open_bounded(self.files[i]) as im:
                return i, self.preprocess(to_rgb(im)), ""
        except Exception as exc:  # any unreadable file is recorded and skipped
            return i, None, f"{type(exc).__name__}: {exc}"


def collate(batch):
    """A DataLoader batch of :class:`ImageFiles` items: (positions, stacked tensors or None, [(position, reason)])."""
    import torch

    ok = [(i, t) for i, t, err in batch if t is not None]
    bad = [(i, err) for i, t, err in batch if t is None]
    tensors = torch.stack([t for _, t in ok]) if ok else None
    return [i for i, _ in ok], tensors, bad
