"""Importing image embeddings made by clip-retrieval (``twigma import-clip-retrieval``).

clip-retrieval (github.com/rom1504/clip-retrieval) is the tool people run to embed millions
of images with CLIP, on one GPU or many. Its ``clip_inference`` writes, per output
partition N (``clip_retrieval/clip_inference/writer.py``, ``OutputSink``)::

    DIR/img_emb/img_emb_N.npy          float16, shape (rows, d), rows L2-normalised by its mapper
    DIR/metadata/metadata_N.parquet    one row per embedding, same order; column image_path
                                       (the image's path for a folder input, the sample key for
                                       a webdataset input), caption when text was enabled

N is zero-padded to the number of digits of the partition count (``img_emb_07.npy``) in
recent versions and unpadded in older ones, so partitions are ordered by the number, never
by the file name (``img_emb_10`` comes after ``img_emb_9``).

:func:`import_clip_retrieval` reads the partitions in that order, takes each image's id from
its ``image_path`` (the file name without its image extension: the same id ``twigma embed``
gives the file), checks everything it can (pairs complete, row counts equal, one dimension,
finite values, ids present and unique), and writes the source through
:func:`twigma.embeddings.store.write`, which renormalises the rows. clip-retrieval does not record which
model it ran, so the model is what the user states (``--model``, ``--pretrained`` or
``--weights``), with its activation decided as ``twigma embed`` decides it (clip-retrieval's
``--clip_model ViT-L/14`` is OpenAI's weights: ``--model ViT-L-14 --pretrained openai``, QuickGELU;
its ``open_clip:ViT-L-14/<tag>`` is ``--model ViT-L-14 --pretrained <tag>``); a sidecar ``<source>.clip-retrieval.json`` in the store lists the partitions
read.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from twigma import paths
from twigma.embeddings import store
from twigma.embeddings.store import StoreError
from twigma.files import IMAGE_SUFFIXES, atomic_write

NPY = re.compile(r"^img_emb_(\d+)\.npy$")
PARQUET = re.compile(r"^metadata_(\d+)\.parquet$")


class ClipImportError(StoreError):
    """A clip-retrieval output folder that cannot be imported as it is."""


def image_id(image_path: str) -> str:
    """The store id of a clip-retrieval ``image_path``: the file name without an image
    extension (``/data/imgs/1612.jpg`` -> ``1612``; a webdataset key ``00012/000123`` -> ``000123``)."""
    name = PurePosixPath(str(image_path).replace("\\", "/")).name
    stem, suffix = os.path.splitext(name)
    return stem if suffix.lower() in IMAGE_SUFFIXES else name


def _partitions(folder: Path, sub: str, pattern: re.Pattern) -> dict[int, Path]:
    d = folder / sub
    if not d.is_dir():
        raise ClipImportError(f"{d}: no such folder. Give the output folder of clip-retrieval's inference "
                           "(`clip-retrieval inference --output_folder DIR`), which holds img_emb/ and metadata/.")
    found: dict[int, Path] = {}
    for p in sorted(d.iterdir()):
        m = pattern.match(p.name)
        if not m:
            continue
        k = int(m.group(1))
        if k in found:
            raise ClipImportError(f"{found[k]} and {p} are both partition {k}: keep one of them (the other is "
                               "probably left from an earlier run with another partition count).")
        found[k] = p
    return found


def partitions(folder: str | os.PathLike) -> list[tuple[int, Path, Path]]:
    """``(N, img_emb_N.npy, metadata_N.parquet)`` in numeric order; every .npy must have its
    parquet and the reverse."""
    folder = Path(folder)
    npys, metas = _partitions(folder, "img_emb", NPY), _partitions(folder, "metadata", PARQUET)
    if not npys:
        raise ClipImportError(f"{folder / 'img_emb'}: no img_emb_N.npy files. Was clip-retrieval run with "
                           "--enable_image True?")
    for k in sorted(set(npys) ^ set(metas)):
        have, lack = (npys[k], folder / "metadata" / f"metadata_{k}.parquet") if k in npys else \
            (metas[k], folder / "img_emb" / f"img_emb_{k}.npy")
        raise ClipImportError(f"{have} has no partner {lack.name} in {lack.parent}: an embedding file and its "
                           "metadata go together. Copy the missing file, or remove both of partition "
                           f"{k} (its images are then not imported).")
    return [(k, npys[k], metas[k]) for k in sorted(npys)]


def read_partition(npy: Path, parquet: Path) -> tuple[list[str], np.ndarray]:
    """Ids and vectors (memory-mapped) of one partition, checked."""
    try:
        vectors = np.load(npy, mmap_mode="r")
    except (ValueError, OSError) as exc:
        raise ClipImportError(f"{npy}: not a readable .npy array ({exc})") from None
    if vectors.ndim != 2:
        raise ClipImportError(f"{npy}: expected a 2-D array (images, dimensions), found shape {vectors.shape}")
    try:
        meta = pd.read_parquet(parquet)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise ClipImportError(f"{parquet}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    if "image_path" not in meta.columns:
        raise ClipImportError(f"{parquet}: no column 'image_path' (found {list(meta.columns)}); clip-retrieval writes it "
                           "when image embedding is enabled.")
    if len(meta) != len(vectors):
        raise ClipImportError(f"{npy} has {len(vectors):,} embeddings but {parquet} has {len(meta):,} rows: the two "
                           "files of a partition must have one row per image in the same order. Rerun "
                           "clip-retrieval for this partition, or remove both files.")
    paths_ = meta["image_path"]
    bad = paths_.isna() | (paths_.astype(str).str.strip() == "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ClipImportError(f"{parquet}, column image_path, row {row}: empty; {int(bad.sum())} row(s) have no image "
                           "path, so their embeddings cannot be matched to images.")
    ids = [image_id(p) for p in paths_.astype(str)]
    for start in range(0, len(vectors), 65536):  # finite values, in blocks (memory-mapped)
        block = np.asarray(vectors[start:start + 65536])
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = start + int(np.flatnonzero(~finite)[0])
            raise ClipImportError(f"{npy}, row {row} ({ids[row]}): the embedding has NaN or infinite values; rerun "
                               "clip-retrieval for this partition.")
    return ids, vectors


def model_record(model: str, pretrained: str | None, weights: str | None, activation: str = "auto") -> dict:
    """What the store records of the stated model: name, tag or weights file (with its SHA-256
    when the file is here) and activation, decided as :func:`twigma.embeddings.models.resolve` decides it
    (no weights are loaded; an unknown model name or an activation that contradicts the
    weights is an error)."""
    from twigma.embeddings.models import ModelSpec, resolve
    from twigma.files import sha256

    spec = ModelSpec(model=model, pretrained=None if weights else (pretrained or None), weights=weights or None,
                     activation=activation)
    try:
        plan = resolve(spec)
    except Exception as exc:  # EmbedError, or open_clip missing
        raise ClipImportError(f"the model given (--model {model}"
                              + (f" --pretrained {pretrained}" if pretrained else "")
                              + (f" --weights {weights}" if weights else "") + f"): {exc}") from None
    rec = {k: plan.get(k) for k in ("model", "pretrained", "weights", "weights_format", "activation")}
    rec["weights_sha256"] = sha256(weights) if weights else None
    rec["precision"] = None  # clip-retrieval does not record it (its stored vectors are float16)
    return rec


def import_clip_retrieval(folder: str | os.PathLike, source: str, embeddings: str | os.PathLike | None = None, *,
                          model: str, pretrained: str | None = None, weights: str | None = None,
                          activation: str = "auto", dtype: str = "float16") -> dict:
    """Write the embeddings of a clip-retrieval output folder as ``source`` of a store.

    Parameters
    ----------
    folder : the clip-retrieval output folder (holds ``img_emb/`` and ``metadata/``).
    source : the store's source name (``twigma``, ``natural`` or ``art``).
    embeddings : the store folder (default ``data/embeddings/``, from the repository root).
    model, pretrained, weights : the CLIP model clip-retrieval ran, as the user states it.
    activation : "auto" (what the weights were trained with, decided as ``twigma embed`` decides
        it, without loading them), "QuickGELU" or "GELU"; recorded so that the store's check
        that all sources come from one model compares like with like.
    dtype : dtype stored (float16 or float32).

    Returns a summary: ``n_partitions``, ``n_embedded``, ``dim``, ``store``.
    """
    if source not in store.SOURCES:
        raise ClipImportError(f"--source {source!r}: expected one of {', '.join(store.SOURCES)}")
    if not model or not str(model).strip():
        raise ClipImportError("--model is required: clip-retrieval does not record which CLIP model it ran. Give the "
                           "open_clip name of the model you ran it with (e.g. --model ViT-L-14 --pretrained openai "
                           "for clip-retrieval's --clip_model ViT-L/14).")
    record_model = model_record(model, pretrained, weights, activation)
    folder = Path(folder).resolve()
    parts = partitions(folder)
    seen: dict[str, tuple[Path, int]]  # id -> (metadata file, row) where it was first seen
    ids, blocks, seen, listing, dim = [], [], {}, [], None
    for k, npy, parquet in parts:
        part_ids, vectors = read_partition(npy, parquet)
        if dim is None:
            dim = vectors.shape[1]
        elif vectors.shape[1] != dim:
            raise ClipImportError(f"{npy} has {vectors.shape[1]} dimensions but {parts[0][1]} has {dim}: the partitions "
                               "come from different models; import one model's output at a time.")
        for row, i in enumerate(part_ids):
            if i in seen:
                first, first_row = seen[i]
                raise ClipImportError(f"duplicate id {i!r}: {first.name} row {first_row} and {parquet.name} row {row} "
                                   f"(in {folder / 'metadata'}) name images with the same file name, so the store "
                                   "could not tell their embeddings apart. Rename one of the images and rerun "
                                   "clip-retrieval, or remove one partition if it was embedded twice.")
            seen[i] = (parquet, row)
        ids += part_ids
        blocks.append(vectors)
        listing.append({"partition": k, "npy": str(npy.relative_to(folder)), "parquet": str(parquet.relative_to(folder)),
                        "rows": len(part_ids), "dtype": str(vectors.dtype)})
    assert dim is not None  # partitions() refuses a folder with none
    vectors = np.concatenate([np.asarray(b) for b in blocks]) if len(blocks) > 1 else np.asarray(blocks[0])
    root = paths.resolve(embeddings, default=paths.ROOT / "data" / "embeddings")
    store.write(root, source, ids, vectors, dtype=dtype, meta={
        **record_model,
        "preprocess": "clip-retrieval's (the model's own transform; clip-retrieval does not record it)",
        "images": str(folder), "synthetic": False})
    record = {"tool": "clip-retrieval", "folder": str(folder), **record_model,
              "n_embedded": len(ids), "dim": int(dim), "partitions": listing,
              "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    atomic_write(root / f"{source}.clip-retrieval.json",
                 lambda tmp: tmp.write_text(json.dumps(record, indent=2) + "\n"))
    return {"n_partitions": len(parts), "n_embedded": len(ids), "dim": int(dim), "store": str(root)}
