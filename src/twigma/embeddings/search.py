"""Text-to-image and image-to-image search over an embedding store, exactly, by cosine.

``twigma search "a lighthouse at dusk" --embeddings STORE`` encodes the text with the open_clip
text encoder of the model the store was made with, and returns the ``k`` images whose
embeddings are closest by cosine (:func:`twigma.embeddings.neighbors.topk_cosine`, exact). ``--image NAME``
searches with the embedding of one of the store's images instead (no model needed). With a
release, each result carries its caption, cluster, date, likes and the tweet's link.

Which model
-----------
CLIP's text and image embeddings are comparable only when one model made both. The model is
read from the store's ``meta.json`` (the record of the searched source: ``model``, its
``pretrained`` tag or ``weights`` file with SHA-256, ``model_config``, ``activation``; see
:mod:`twigma.embeddings.store`) and built as ``twigma embed`` built it (:func:`twigma.embeddings.models.load_model`).
A model given by hand (``model=``, ``pretrained=`` or ``weights=``) must be the store's (same
architecture, weights and activation; a weights file counts by its SHA-256, so a moved file is
fine); it is needed only when the store does not record its model or the recorded weights file
has moved. The search stops with :class:`SearchError` for a store made without a model (the
synthetic sample's, "synthetic (no model)") or with random weights, for a model other than the
store's, and for a model whose embedding width differs from the store's.

In a notebook::

    from twigma.embeddings.search import Searcher
    s = Searcher(EMBEDDINGS, release=release)      # release: load_release(RELEASE), optional
    s.text("a lighthouse at dusk", k=20)          # DataFrame: rank, image_name, score, caption, ...
    s.image("1624427235875720116", k=20)           # the image itself first, score 1
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twigma import paths
from twigma.embeddings import models, store
from twigma.errors import UserError
from twigma.files import slug

TWEET_URL = "https://twitter.com/i/web/status/{}"
#: What the synthetic generator records as the model of its stores.
NO_MODEL = "synthetic (no model)"


class SearchError(UserError, ValueError):
    """A search that cannot be made as asked, with what to do about it."""


def tweet_url(tweet_id) -> str:
    """The link that opens a tweet by its id (works without the author's handle)."""
    return TWEET_URL.format(tweet_id)


def _record(root: Path, source: str) -> dict:
    meta = store.read_meta(root)
    rec = dict(meta.get("sources", {}).get(source, {}))
    for key in store.SOURCE_KEYS:  # stores written before per-source records: the store-level keys
        if key not in rec and key in meta and source in meta.get("sources", {}):
            rec[key] = meta[key]
    if meta.get("synthetic"):
        rec.setdefault("model", NO_MODEL)
    return rec


def _describe(record: dict) -> str:
    model, weights, act = store.model_identity(record)
    return f"{model} (weights {weights}, {act or 'activation not recorded'})"


def model_for_store(root, source: str = "twigma", *, model: str | None = None, pretrained: str | None = None,
                    weights: str | None = None, model_config: str | None = None) -> models.ModelSpec:
    """The open_clip model that made ``source`` of the store ``root``, as a :class:`~twigma.embeddings.models.ModelSpec`.

    Without ``model``/``pretrained``/``weights`` it is read from the store's record; with them, they
    must describe the store's model (see the module docstring). Nothing is loaded here except,
    for a given weights file, its bytes (its SHA-256 is compared with the record's).

    Raises
    ------
    SearchError
        No model (synthetic store), random weights, a missing weights file, a model other than
        the store's, or an embedding width other than the store's.
    """
    root = Path(root)
    rec = _record(root, source)
    dim = rec.get("dim")
    recorded = rec.get("model")
    if recorded == NO_MODEL or (recorded is None and store.is_synthetic(root)):
        raise SearchError(
            f"EMBEDDINGS={root}: its '{source}' embeddings were made by the synthetic generator, not by a model, so "
            "there is no text encoder to put a text into their space. Text search needs a store made with "
            "`make embeddings` (twigma embed, see docs/embeddings.md); image-to-image search (--image NAME) works "
            "on any store.")
    given = bool(model or pretrained or weights)
    if not given:
        if not recorded:
            raise SearchError(f"EMBEDDINGS={root}: meta.json does not say which model made the '{source}' embeddings; "
                              "give the model with --model and --pretrained or --weights (the one that made them).")
        if rec.get("weights_format") == "none (random weights)" or not (rec.get("pretrained") or rec.get("weights")):
            raise SearchError(f"EMBEDDINGS={root}: the '{source}' embeddings were made by {recorded} with random "
                              "weights, which cannot be built again; text search needs the model that made them. "
                              "Embed with a pretrained tag or a weights file.")
        w = rec.get("weights")
        if w and not Path(w).exists():
            raise SearchError(f"EMBEDDINGS={root}: the weights file that made the '{source}' embeddings, {w}, is not "
                              "there any more; pass it with --weights <file> (its SHA-256 is checked against the "
                              f"store's record{', ' + rec['weights_sha256'][:12] + '...' if rec.get('weights_sha256') else ''}).")
        cfg = rec.get("model_config")
        if cfg and not Path(cfg).exists():
            raise SearchError(f"EMBEDDINGS={root}: the model configuration {cfg} recorded for {recorded} is not there "
                              "any more; give it with --model-config <file.json>.")
        spec = models.ModelSpec(model=recorded, pretrained=None if w else rec.get("pretrained"), weights=w or None,
                               model_config=cfg or None, activation=rec.get("activation") or "auto")
    else:
        spec = models.ModelSpec(model=model or recorded or "ViT-L-14",
                               pretrained=None if weights else (pretrained or None), weights=weights or None,
                               model_config=model_config or (rec.get("model_config") if (model or recorded) == recorded else None),
                               activation=(rec.get("activation") or "auto") if recorded else "auto")
        if spec.weights is None and spec.pretrained is None:
            raise SearchError("give --pretrained <tag> or --weights <file> with --model: random weights are not the "
                              "model that made the store.")
        if recorded:
            mine = models.run_record(spec, "cpu", "fp32")
            if store.model_identity(mine) != store.model_identity(rec):
                raise SearchError(f"EMBEDDINGS={root}: the '{source}' embeddings were made by {_describe(rec)}, but "
                                  f"the search was asked to use {_describe(mine)}. Text and image embeddings are "
                                  "comparable only when one model made both: leave out --model/--pretrained/--weights "
                                  "to use the store's model, or search a store made with this one.")
    cfg = models.register(spec)  # the same registration twigma embed does
    width = cfg.get("embed_dim")
    if dim is not None and width is not None and int(width) != int(dim):
        raise SearchError(f"EMBEDDINGS={root}: the '{source}' embeddings have {dim} dimensions, but {spec.model} "
                          f"embeds into {width}: this model did not make them. Give the model that did.")
    return spec


class Searcher:
    """Exact top-k search over one source of an embedding store.

    Parameters
    ----------
    embeddings : path of the store (relative paths from the repository root)
    release : DataFrame, optional
        The typed release (:func:`twigma.load_release`); results of the ``twigma`` source then carry
        ``caption``, ``cluster``, ``date``, ``likes`` and ``tweet_url``.
    source : str, which set to search ("twigma", "natural" or "art")
    model, pretrained, weights, model_config : str, optional
        The store's model given by hand (see :func:`model_for_store`); by default the recorded one.
    device : str, "auto" (CUDA when available), "cpu", "cuda"...
    """

    def __init__(self, embeddings, release: pd.DataFrame | None = None, *, source: str = "twigma",
                 model: str | None = None, pretrained: str | None = None, weights: str | None = None,
                 model_config: str | None = None, device: str = "auto"):
        # none given: the sample's store, for the sample (or no release) only, as for the image notebooks
        source_file = release.attrs.get("source") if release is not None else None
        root = paths.embeddings_folder(source_file, embeddings)
        if root is None:
            raise SearchError("no EMBEDDINGS given for this release, and the sample's synthetic store goes with the "
                              "sample only: give EMBEDDINGS, the store made from this release's images by "
                              "`make embeddings` (docs/embeddings.md)")
        if not (root / store.META).exists():
            raise SearchError(f"EMBEDDINGS={root}: no embedding store there (no {store.META}); give the folder written "
                              "by `make embeddings`.")
        self.root, self.source = root, source
        self.emb = store.read(root, source)
        self.release = release
        self._given = {"model": model, "pretrained": pretrained, "weights": weights, "model_config": model_config}
        # picked when the text model loads: image-to-image search needs no torch (the base environment has none)
        self._device = device
        self.device: str | None = None if device == "auto" else device
        self._model = self._tokenizer = None
        self.spec: models.ModelSpec | None = None
        self._info = None

    # -- the model, loaded on first text search
    def _load(self):
        if self._model is None:
            try:
                import open_clip
            except ImportError as exc:
                raise SearchError("text search needs the embedding layer (torch, open_clip), which is not installed "
                                  "in this environment: `make env-embed` adds it (`make search` does on first use)"
                                  ) from exc
            self.device = models.pick_device(self._device)
            self.spec = model_for_store(self.root, self.source, **self._given)
            model, _ = models.load_model(self.spec, device=self.device)
            if not hasattr(model, "encode_text"):
                raise SearchError(f"{self.spec.model} has no text tower (no encode_text): it cannot embed a text.")
            self._model, self._tokenizer = model, open_clip.get_tokenizer(self.spec.model)
        return self._model, self._tokenizer

    def encode_text(self, texts) -> np.ndarray:
        """Unit-length text embeddings, shape (n_texts, d) float32, from the store's model."""
        model, tokenizer = self._load()  # first: it says what to install when torch and open_clip are missing
        import torch

        texts = [texts] if isinstance(texts, str) else list(texts)
        with torch.inference_mode():
            feats = model.encode_text(tokenizer(texts).to(self.device))
        out = torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy()
        if out.shape[1] != self.emb.dim:
            assert self.spec is not None  # _load set it
            raise SearchError(f"{self.spec.model} gave {out.shape[1]}-dimensional text embeddings but the store's "
                              f"are {self.emb.dim}-dimensional: this model did not make them.")
        return out

    def _search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        from twigma.embeddings.neighbors import topk_cosine

        k = max(1, min(int(k), len(self.emb)))
        nb = topk_cosine(np.asarray(query, dtype=np.float32)[None, :], self.emb.vectors, k=k,
                         device=self.device)
        return nb.indices[0], nb.scores[0]

    def text(self, query: str, k: int = 20) -> pd.DataFrame:
        """The ``k`` images closest to a text (best first); see :meth:`results` for the columns."""
        if not str(query or "").strip():
            raise SearchError("the text to search for is empty: give a description, e.g. \"a lighthouse at dusk\".")
        idx, scores = self._search(self.encode_text(query)[0], k)
        return self.results(idx, scores)

    def image(self, image_name: str, k: int = 20) -> pd.DataFrame:
        """The ``k`` images closest to the store's image ``image_name``; the image itself comes first (score 1)."""
        pos = self.emb.ids.get_indexer(pd.Index([str(image_name)]))[0]
        if pos < 0:
            raise SearchError(f"image {image_name!r} is not among the {len(self.emb):,} '{self.source}' embeddings of "
                              f"{self.root} (ids are image_name values, e.g. {', '.join(self.emb.ids[:3])}).")
        idx, scores = self._search(self.emb.vectors[pos], k)
        # an identical image (a repost) may tie with the query: the query itself goes first
        if pos in idx and idx[0] != pos:
            where = int(np.flatnonzero(idx == pos)[0])
            if scores[where] >= scores[0] - 1e-6:
                order = [where, *[i for i in range(len(idx)) if i != where]]
                idx, scores = idx[order], scores[order]
        return self.results(idx, scores)

    def in_release(self) -> int:
        """How many of the store's images (ids, repeats counted) are images of the release (0 without a
        release): the release's names are looked up among the store's ids, the store's few are not hashed
        against the release's millions."""
        if self.release is None:
            return 0
        names = self.release["image_name"].astype(str)
        return int(self.emb.ids.isin(names[names.isin(self.emb.ids)]).sum())

    def results(self, indices: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        """A result table: ``rank``, ``image_name``, ``score`` (cosine) and, with a release for the
        ``twigma`` source, ``caption``, ``cluster``, ``date`` (UTC), ``likes``, ``tweet_id`` and
        ``tweet_url``; images of the store that are not in the release have those empty."""
        out = pd.DataFrame({"rank": np.arange(1, len(indices) + 1), "image_name": self.emb.ids[indices].astype(str),
                            "score": np.asarray(scores, dtype=float)})
        if self.release is not None and self.source == "twigma":
            rel = self.release[self.release["image_name"].isin(out["image_name"])]  # the k rows, not a copy of all
            rel = rel.drop_duplicates("image_name").set_index("image_name")
            found = rel.reindex(out["image_name"])
            out["caption"] = found["all_captions"].to_numpy()
            out["cluster"] = found["label_10_cluster"].astype("Int64").to_numpy()
            out["date"] = found["created_at"].to_numpy()
            out["likes"] = found["like_count"].astype("Int64").to_numpy()
            out["tweet_id"] = found["id"].to_numpy()
            out["tweet_url"] = [tweet_url(t) if isinstance(t, str) and t else None for t in out["tweet_id"]]
        return out


def search(embeddings, text: str | None = None, *, image: str | None = None, k: int = 20,
           release: pd.DataFrame | None = None, source: str = "twigma", **model) -> pd.DataFrame:
    """One search (see :class:`Searcher`): by ``text`` or by the store's image ``image``."""
    if (text is None) == (image is None):
        raise SearchError("give a text to search for, or --image NAME, not both")
    s = Searcher(embeddings, release, source=source, **model)
    return s.text(text, k) if text is not None else s.image(str(image), k)  # image is given when text is not


def file_slug(text: str | None, image: str | None) -> str:
    """The file-name form of a search: its text's :func:`twigma.files.slug`, or ``image_<slug of the name>``."""
    return slug(text) if text is not None else f"image_{slug(str(image))}"

