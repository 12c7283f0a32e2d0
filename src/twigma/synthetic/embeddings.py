"""Seeded synthetic image embeddings that go with the synthetic release sample.

Real CLIP embeddings of TWIGMA and of the reference sets cannot ship with the compendium
(images are not redistributable, and computing them needs the images). For ``make figures``
to run the image analyses out of the box, this module writes an embedding store
(:mod:`twigma.embeddings.store`) for the three sources, built so that the analyses have something to
find, and marked synthetic:

* ``twigma``: one vector per image of the sample release (ids = its ``image_name``), drawn
  around a centre per cluster, so TWIGMA is **less dispersed** than the references;
* ``natural`` and ``art``: widely dispersed sets around their own centres;
* each TWIGMA vector carries a "natural-photo" component whose weight falls with the image's
  likes (by :data:`LIKES_EFFECT`), so similarity to natural images is **inversely related to
  likes**, modestly (the size of the effect is the generator's choice, not a finding);
* :data:`N_INSPIRED` TWIGMA images are copies of specific artworks plus noise ("inspired by"),
  listed in ``meta.json`` under ``planted_inspirations`` with their ``kind``: most are near-copies
  (noise :data:`COPY_NOISE`), a share :data:`LOOSE_SHARE` are loose imitations (noise
  :data:`LOOSE_NOISE`) that a search does not always rank first;
* ``art.meta.csv`` gives each artwork a made-up title, artist and style.

None of these numbers is a finding: they were put in by this generator.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twigma import paths
from twigma.embeddings import store
from twigma.files import atomic_write
from twigma.release import load_release

EMBED_VERSION = 3  # 3: 100 planted inspirations, a tenth of them loose; 2: a modest planted likes effect
EMBED_SEED = 20231210
DIM = 128
N_NATURAL = 3000
N_ART = 3000
#: Planted (image, artwork) inspiration pairs: enough that C10's one-sided 99% lower bound of the
#: recall can reach 0.9 (with every pair found the bound is alpha ** (1 / n): 0.955 for 100 pairs;
#: 25 pairs, version 2, could never pass: 0.83).
N_INSPIRED = 100
#: The share of planted pairs that are loose imitations rather than near-copies.
LOOSE_SHARE = 0.1
#: Noise (norm, relative to a unit artwork) of a near-copy: cosine to its artwork about 0.97, always ranked first.
COPY_NOISE = 0.25
#: Noise of a loose imitation: cosine to its artwork about 0.45, so its artwork is not always the closest
#: (on the sample 7 of 10 are ranked first) but nearly always within the 5 closest (all 10 on the sample).
LOOSE_NOISE = 2.0
#: How much less "natural" an image is per SD of its log(1 + likes): the planted C9 effect. 0.025 gives
#: a modest association on the sample (Spearman rho about -0.15 to -0.2 over tweets; bin means of
#: log(1 + likes) from about 1.6 to 1.0 across tenths of similarity), so a reader sees what a modest
#: effect and its uncertainty look like; 0.12 (version 1) gave rho -0.66.
LIKES_EFFECT = 0.025

_STYLES = ["Impressionism", "Baroque", "Romanticism", "Ukiyo-e", "Cubism", "Realism", "Expressionism",
           "Art Nouveau", "Surrealism", "Renaissance"]
_GENRES = ["landscape", "portrait", "still life", "genre painting", "mythological", "cityscape", "animal painting"]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def generate_embeddings(release: pd.DataFrame, n_natural: int = N_NATURAL, n_art: int = N_ART,
                        dim: int = DIM, seed: int = EMBED_SEED, n_inspired: int = N_INSPIRED,
                        likes_effect: float = LIKES_EFFECT, loose_share: float = LOOSE_SHARE) -> dict:
    """Synthetic embeddings for a typed release table.

    Returns
    -------
    dict with keys ``twigma``, ``natural``, ``art`` -> (ids, vectors of shape (n, dim)),
    ``art_meta`` (DataFrame) and ``planted`` (DataFrame of image_name, art_id, kind: ``near-copy``
    or ``loose imitation``).
    """
    rng = np.random.default_rng(seed)
    centre_nat = _unit(rng.normal(size=dim))
    centre_art = _unit(rng.normal(size=dim))
    centre_ai = _unit(0.5 * centre_art + 0.2 * centre_nat + 0.8 * _unit(rng.normal(size=dim)))

    def spread(centre, n, weight, noise):
        return _unit(weight * centre[None, :] + noise * rng.normal(size=(n, dim)) / np.sqrt(dim))

    natural = spread(centre_nat, n_natural, 1.0, 1.6)
    # artworks come in styles: a few sub-centres around the art centre
    style_of = rng.integers(0, len(_STYLES), size=n_art)
    style_centres = _unit(centre_art[None, :] + 0.9 * rng.normal(size=(len(_STYLES), dim)) / np.sqrt(dim) * 4)
    art = _unit(style_centres[style_of] + 1.3 * rng.normal(size=(n_art, dim)) / np.sqrt(dim))

    n = len(release)
    clusters = release["label_10_cluster"].to_numpy().astype(int)
    cluster_dirs = _unit(rng.normal(size=(11, dim)))
    likes = release["like_count"].to_numpy(dtype=float, na_value=np.nan)
    z = np.log1p(likes)
    z = (z - np.nanmean(z)) / np.nanstd(z)
    z = np.where(np.isnan(z), rng.normal(size=n), z)
    naturalness = np.clip(0.35 - likes_effect * z + 0.08 * rng.normal(size=n), 0.0, None)
    twigma = _unit(1.0 * centre_ai[None, :] + 0.55 * cluster_dirs[clusters]
                   + naturalness[:, None] * centre_nat[None, :]
                   + 0.75 * rng.normal(size=(n, dim)) / np.sqrt(dim))

    chosen = rng.choice(n, size=min(n_inspired, n), replace=False)
    sources = rng.choice(n_art, size=len(chosen), replace=False)
    loose = np.arange(len(chosen)) < round(loose_share * len(chosen))  # chosen is in random order already
    noise = np.where(loose, LOOSE_NOISE, COPY_NOISE)[:, None]
    twigma[chosen] = _unit(art[sources] + noise * rng.normal(size=(len(chosen), dim)) / np.sqrt(dim))

    art_ids = np.array([f"art_{i:05d}" for i in range(n_art)])
    art_meta = pd.DataFrame({
        "id": art_ids,
        "title": [f"Untitled {_GENRES[i % len(_GENRES)]} no. {i}" for i in range(n_art)],
        "artist": [f"Synthetic Artist {i % 97:02d}" for i in range(n_art)],
        "style": [_STYLES[s] for s in style_of],
        "genre": [_GENRES[i % len(_GENRES)] for i in range(n_art)],
    })
    planted = pd.DataFrame({"image_name": release["image_name"].to_numpy()[chosen], "art_id": art_ids[sources],
                            "kind": np.where(loose, "loose imitation", "near-copy")})
    return {
        "twigma": (release["image_name"].to_numpy(), twigma),
        "natural": (np.array([f"nat_{i:05d}" for i in range(n_natural)]), natural),
        "art": (art_ids, art),
        "art_meta": art_meta,
        "planted": planted,
    }


def _digest(path) -> str | None:
    import hashlib

    try:
        with open(path, "rb") as fh:
            return hashlib.sha1(fh.read()).hexdigest()
    except (OSError, TypeError):
        return None


def make_sample_embeddings(release: pd.DataFrame, root=None, seed: int = EMBED_SEED, **kw):
    """Write the synthetic store for ``release`` into ``root`` (default: the sample's folder)."""
    root = paths.resolve(root, default=paths.SAMPLE_EMBEDDINGS)
    data = generate_embeddings(release, seed=seed, **kw)
    meta = {"synthetic": True, "generator": "twigma.synthetic.embeddings.generate_embeddings",
            "generator_version": EMBED_VERSION, "seed": seed, "model": "synthetic (no model)",
            "pretrained": None, "weights": None, "preprocess": None,
            "release": release.attrs.get("source"), "release_sha1": _digest(release.attrs.get("source")),
            "planted_inspirations": data["planted"].to_dict(orient="records"),
            "note": "Synthetic embeddings made for the synthetic sample; not CLIP, not the paper's result."}
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(root / "art.meta.csv", lambda tmp: data["art_meta"].to_csv(tmp, index=False))
    for src in store.SOURCES:
        ids, vectors = data[src]
        store.write(root, src, ids, vectors, dtype="float16", meta=meta)
    return root


def make_sample_store() -> Path:
    """Write the store that goes with the embedded sample release (``make sample`` calls this
    through ``twigma sample-embeddings``, after ``twigma sample`` wrote the release)."""
    return make_sample_embeddings(load_release(paths.SAMPLE_RELEASE), paths.SAMPLE_EMBEDDINGS)
