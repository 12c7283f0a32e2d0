"""The embedding store: a folder of L2-normalised image embeddings, one set per source.

Layout (a contract other tools can read without this package)::

    EMBEDDINGS/
      meta.json          {"dtype": ..., "sources": {"twigma": {"count": n, "dim": d, "date": ...,
                          "model": ..., "activation": ..., ...}, ...}, plus the last writer's keys}
      twigma.npy         float16 or float32, shape (n, d), every row of unit length
      twigma.ids.csv     one column ``id``, n rows in the same order (for twigma: the release's image_name)
      natural.npy, natural.ids.csv, art.npy, art.ids.csv
      .shards/<source>/  work in progress of ``twigma embed`` (removed when a source is complete)

Each source's entry in ``meta.json`` records how it was made (:data:`SOURCE_KEYS`): ``model``,
``pretrained`` (tag) or ``weights`` (file) with ``weights_sha256``, ``weights_format``,
``activation`` (QuickGELU or GELU), ``open_clip`` and ``torch`` versions, ``precision``,
``preprocess``, ``images`` and ``date``. Similarities across sources mean something only when
one model made them all: :func:`check_one_model` (called by :func:`folder_for`, which every
image notebook uses) refuses a store whose sources differ in model, weights or activation.

Readers memory-map the arrays (:func:`read`), so a 800,000 x 768 float16 set costs no
memory until rows are used.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twigma import paths
from twigma.errors import UserError
from twigma.files import atomic_write

SOURCES = ("twigma", "natural", "art")
META = "meta.json"
#: What ``meta.json`` records per source of how it was made (from the ``meta`` given to :func:`write`).
SOURCE_KEYS = ("model", "pretrained", "weights", "weights_sha256", "weights_format", "weights_known_as",
               "activation", "model_config", "open_clip", "torch", "precision", "preprocess", "images")
#: Recorded facts that change embeddings slightly (rounding) but not the model: a difference warns.
SOFT_KEYS = ("precision", "open_clip", "torch", "preprocess")


class StoreError(UserError, ValueError):
    """An embedding store folder that cannot be used as it is."""


@dataclass
class Embeddings:
    """One source of a store: ``ids`` (n,) as text and ``vectors`` (n, d), memory-mapped."""

    source: str
    ids: pd.Index
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def subset(self, ids) -> "Embeddings":
        """Rows for the given ids, in that order (ids missing from the store raise KeyError)."""
        pos = self.ids.get_indexer(pd.Index(ids).astype(str))
        if (pos < 0).any():
            missing = pd.Index(ids)[pos < 0][:5].tolist()
            raise KeyError(f"{int((pos < 0).sum())} id(s) not in the {self.source} embeddings, e.g. {missing}")
        return Embeddings(self.source, self.ids[pos], np.asarray(self.vectors[pos]))


def folder(path: str | os.PathLike | None = None) -> Path:
    """The store folder: ``path`` (relative paths from the repository root) or, none given, the sample's
    (:func:`twigma.paths.embeddings_folder` decides)."""
    found = paths.embeddings_folder(None, path)
    assert found is not None  # with no release it is the sample's store, never None
    return found


def read_meta(root: str | os.PathLike) -> dict:
    p = Path(root) / META
    return json.loads(p.read_text()) if p.exists() else {}


def has_source(root: str | os.PathLike, source: str) -> bool:
    root = Path(root)
    return (root / f"{source}.npy").exists() and (root / f"{source}.ids.csv").exists()


def read(root: str | os.PathLike, source: str, mmap: bool = True) -> Embeddings:
    """Read one source of a store (memory-mapped unless ``mmap=False``).

    Raises :class:`StoreError` naming the file and what to do when a file is missing or the
    two files disagree.
    """
    root = Path(root)
    npy, ids_csv = root / f"{source}.npy", root / f"{source}.ids.csv"
    if not npy.exists() or not ids_csv.exists():
        raise StoreError(f"{root}: no '{source}' embeddings ({npy.name} and {ids_csv.name} are needed). "
                         f"Make them with `make embeddings IMAGES=<folder of {source} images> SOURCE={source} "
                         f"EMBEDDINGS={root}`, or point EMBEDDINGS at a store that has them.")
    vectors = np.load(npy, mmap_mode="r" if mmap else None)
    if vectors.ndim != 2:
        raise StoreError(f"{npy}: expected a 2-D array (n, d), found shape {vectors.shape}")
    ids = pd.read_csv(ids_csv, dtype=str, keep_default_na=False)
    if list(ids.columns) != ["id"]:
        raise StoreError(f"{ids_csv}: expected one column named 'id', found {list(ids.columns)}")
    if len(ids) != len(vectors):
        raise StoreError(f"{root}: {ids_csv.name} has {len(ids)} rows but {npy.name} has {len(vectors)}; "
                         "the store is incomplete: rerun the embedding command to finish it.")
    return Embeddings(source, pd.Index(ids["id"], name="id"), vectors)


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32); zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1)


def write(root: str | os.PathLike, source: str, ids, vectors: np.ndarray, *, dtype: str = "float16",
          meta: dict | None = None) -> Path:
    """Write (or replace) one source: normalises the rows, saves ``source.npy`` and
    ``source.ids.csv`` atomically, and records the source in ``meta.json``.

    ``meta`` holds store-level facts (model, pretrained, weights, preprocess, synthetic...).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ids = pd.Index(ids).astype(str)
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
    if ids.has_duplicates:
        raise ValueError(f"duplicate ids in {source}: {ids[ids.duplicated()][:5].tolist()}")
    x = normalise(vectors).astype(dtype)
    atomic_write(root / f"{source}.ids.csv", lambda tmp: pd.DataFrame({"id": ids}).to_csv(tmp, index=False))
    atomic_write(root / f"{source}.npy", lambda tmp: np.save(tmp, x))
    update_meta(root, source, count=len(ids), dim=int(x.shape[1]), dtype=dtype, extra=meta)
    return root / f"{source}.npy"


def update_meta(root: Path, source: str, *, count: int, dim: int, dtype: str, extra: dict | None) -> None:
    m = read_meta(root)
    m.update(extra or {})
    m["dtype"] = dtype
    m.setdefault("sources", {})[source] = {
        "count": int(count), "dim": int(dim),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{k: v for k, v in (extra or {}).items() if k in SOURCE_KEYS},
    }
    atomic_write(root / META, lambda tmp: tmp.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n"))


def model_identity(entry: dict) -> tuple:
    """(architecture, weights, activation) of a source's record: what must be equal across sources.

    ``ViT-L-14-quickgelu`` is ``ViT-L-14`` with QuickGELU; OpenAI's TorchScript file whose SHA-256
    is the one open_clip's ``openai`` tag names counts as that tag."""
    model, act = entry.get("model"), entry.get("activation")
    if isinstance(model, str) and model.endswith("-quickgelu"):
        model, act = model[: -len("-quickgelu")], act or "QuickGELU"
    if entry.get("weights_known_as"):
        weights = f"tag {entry['weights_known_as']}"
    elif entry.get("weights_sha256"):
        weights = f"sha256 {entry['weights_sha256'][:12]}"
    elif entry.get("weights"):
        weights = f"file {entry['weights']}"
    else:
        weights = f"tag {entry.get('pretrained')}"
    return (model, weights, act)


def _describe(entry: dict) -> str:
    model, weights, act = model_identity(entry)
    if model is None:
        return "no model recorded"
    act = act or "activation not recorded (made before twigma recorded it)"
    return f"{model}, weights {weights}, {act}" + (f" ({entry['date']})" if entry.get("date") else "")


def other_models(root: str | os.PathLike, source: str, record: dict) -> str:
    """A sentence naming the store's other sources made with a model other than ``record``'s ('' if none)."""
    recorded = read_meta(root).get("sources", {}) if Path(root).exists() else {}
    mine = model_identity(record)
    odd = {s: e for s, e in recorded.items() if s != source and has_source(root, s) and model_identity(e) != mine}
    if not odd:
        return ""
    return (f"this run embeds {source} with {_describe(record)}, but "
            + "; ".join(f"{s} was made with {_describe(e)}" for s, e in odd.items()))


def check_one_model(root: str | os.PathLike, sources=SOURCES) -> dict:
    """Check that the store's sources were embedded with one model; returns their records.

    Raises :class:`StoreError` naming each source and its model when they differ in model,
    weights or activation (or a source's model is not recorded). Differences in precision,
    library versions or the preprocessing's description only warn.
    """
    root = Path(root)
    recorded = read_meta(root).get("sources", {})
    present = {s: recorded.get(s, {}) for s in sources if has_source(root, s)}
    if len({model_identity(e) for e in present.values()}) > 1:
        lines = "\n".join(f"  {s}: {_describe(e)}" for s, e in present.items())
        raise StoreError(f"EMBEDDINGS={root}: its sources were embedded with different models, so their "
                         f"similarities cannot be compared:\n{lines}\nEmbed every source with the same model "
                         "(rerun `make embeddings` for the odd ones with the same MODEL and PRETRAINED or WEIGHTS; "
                         "see docs/embeddings.md).")
    for key in SOFT_KEYS:
        values = {s: e.get(key) for s, e in present.items()}
        if len(set(map(str, values.values()))) > 1:
            warnings.warn(f"EMBEDDINGS={root}: the sources differ in {key} ("
                          + ", ".join(f"{s}: {v}" for s, v in values.items())
                          + "); same model, so similarities are comparable up to rounding.", stacklevel=2)
    return present


def is_synthetic(root: str | os.PathLike) -> bool:
    return bool(read_meta(root).get("synthetic", False))


def folder_for(release: str | os.PathLike | None, embeddings: str | os.PathLike | None) -> Path:
    """The store that goes with a notebook's ``RELEASE`` and ``EMBEDDINGS`` parameters
    (see :func:`twigma.paths.embeddings_folder`); it must exist, nothing is generated here.

    Raises :class:`StoreError` when there is no such folder, when a real ``RELEASE`` is
    given without ``EMBEDDINGS``, or when the store's sources differ in model (:func:`check_one_model`).
    """
    root = paths.embeddings_folder(release, embeddings)
    if root is None:
        raise StoreError(f"RELEASE={release} was given without EMBEDDINGS: the image analyses need CLIP embeddings "
                         "of the release's images and of the natural and art reference sets. Make them with "
                         "`make embeddings` (see docs/embeddings.md) and pass EMBEDDINGS=<folder>.")
    if not (root / META).exists():
        if root == paths.SAMPLE_EMBEDDINGS:
            raise StoreError(f"{root}: the synthetic sample's embeddings have not been made yet: "
                             + paths.MAKE_SAMPLE_ADVICE)
        raise StoreError(f"EMBEDDINGS={root}: no embedding store there (no {META}). Give the folder written by "
                         "`make embeddings`.")
    check_one_model(root)
    return root


def align(release: pd.DataFrame, emb: Embeddings) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``release`` that have a TWIGMA embedding, and those embeddings in release order.

    Rows are matched by their ``image_name`` without an image extension
    (:func:`twigma.release.image_keys`: a media id, a file code, or a file name's stem), the
    file stems ``make embeddings`` takes as ids. Returns (mask of shape (n_release,), vectors
    of shape (mask.sum(), d)). Images without an embedding (say, deleted before download) are
    left out; the caller reports how many.

    Raises :class:`StoreError` when no row matches, saying why where it can: a float-formatted
    ``image_name`` (digits lost), or names of another form than the store's ids.
    """
    from twigma.release import image_keys, image_name_form

    pos = emb.ids.get_indexer(pd.Index(image_keys(release["image_name"])))
    mask = pos >= 0
    if not mask.any():
        form = image_name_form(release["image_name"])
        ids = pd.Series(emb.ids[:1000].astype(str))
        id_form = image_name_form(ids).form if len(ids) else "none"
        if form.n_float:
            why = ("the release's image_name is written as floating-point numbers "
                   f"(e.g. {form.first_float_value!r}), which lost digits, so no image can be matched to a row. "
                   "Download the newest version of the release (Zenodo record 8031785, `make data`; see "
                   "docs/real-data.md) and give it as RELEASE.")
        else:
            why = (f"the release's image_name is of form {form.form} (e.g. {str(release['image_name'].iloc[0])!r}) and "
                   f"the store's ids of form {id_form} (e.g. {str(emb.ids[0]) if len(emb) else ''!r}). "
                   "Are EMBEDDINGS and RELEASE from the same data? Photos must be named as the release's image_name "
                   "(`make images RELEASE=<file>` detects whether that is the media id or the file code).")
        raise StoreError(f"none of the release's {len(release):,} image_name values is among the {len(emb):,} "
                         f"'{emb.source}' ids: {why}")
    return mask, np.asarray(emb.vectors[np.sort(pos[mask])])[np.argsort(np.argsort(pos[mask]))]
