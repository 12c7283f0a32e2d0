"""The reference image sets: natural photographs and human artwork (``make refs``).

* **natural**: MS-COCO 2017 validation, 5,000 photographs with five captions each
  (``val2017.zip`` and ``annotations_trainval2017.zip``, MD5 checksums as published).
* **art**: a seeded sample of WikiArt (the ArtGAN collection, ``wikiart.zip``: one folder per
  style, files named ``<artist>_<title>.jpg``), with artist, style and title from the file name.

Each fetcher downloads its archives once into ``data/raw/downloads/`` (with a progress bar,
verified by checksum), samples with a seed, extracts only the sampled members, safely (no
absolute paths, no ``..``, no links), and writes an image folder plus a metadata table
``_meta.csv`` inside it: ``make embeddings`` embeds the folder and copies the table into the
store as ``<source>.meta.csv`` (notebook 09 shows titles and artists from it).

WikiArt publishes no checksum. The first download's SHA-256 is recorded in
``data/raw/downloads/SHA256SUMS`` and later runs verify against it (pass ``--checksum`` to
pin a known value instead).

Licences: COCO images carry their Flickr licences and the annotations CC BY 4.0; WikiArt
images are for non-commercial research use under WikiArt's terms. Neither set is
redistributed by this repository.
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from .. import paths
from ..files import atomic_write
from .http import FetchError, download, file_checksum

COCO_BASE = "http://images.cocodataset.org"
WIKIART_URL = "http://web.fsktm.um.edu.my/~cschan/source/ICIP2017/wikiart.zip"
META = "_meta.csv"


@dataclass(frozen=True)
class Archive:
    name: str
    url: str
    checksum: str | None  # "md5:..." or "sha256:..."; None when the publisher gives none


def coco_archives(base: str | None = None) -> list[Archive]:
    base = (base or os.environ.get("TWIGMA_COCO_BASE") or COCO_BASE).rstrip("/")
    return [Archive("val2017.zip", f"{base}/zips/val2017.zip", "md5:442b8da7639aecaf257c1dceb8ba8c80"),
            Archive("annotations_trainval2017.zip", f"{base}/annotations/annotations_trainval2017.zip",
                    "md5:f4bbac642086de4f52a3fdda2de5fa2c")]


def downloads_dir() -> Path:
    return paths.RAW / "downloads"


def fetch_archive(a: Archive, folder: Path | None = None, progress: bool = True) -> Path:
    """Download ``a`` once, verified; a file already there is checked, not downloaded again."""
    folder = folder or downloads_dir()
    dest = folder / a.name
    checksum = a.checksum or _recorded_sha256(folder, a.name)
    if dest.exists():
        if checksum is None or file_checksum(dest, checksum.split(":")[0]) == checksum.split(":")[1]:
            return dest
        raise FetchError(f"{dest} does not match its checksum {checksum}: delete it and run the command again.")
    download(a.url, dest, checksum=checksum, progress=progress)
    if checksum is None:
        _record_sha256(folder, a.name, file_checksum(dest, "sha256"))
    return dest


def _recorded_sha256(folder: Path, name: str) -> str | None:
    sums = folder / "SHA256SUMS"
    if sums.exists():
        for line in sums.read_text().splitlines():
            digest, _, fname = line.partition("  ")
            if fname == name:
                return f"sha256:{digest}"
    return None


def _record_sha256(folder: Path, name: str, digest: str) -> None:
    sums = folder / "SHA256SUMS"
    lines = [line for line in (sums.read_text().splitlines() if sums.exists() else []) if not line.endswith(f"  {name}")]
    sums.write_text("\n".join([*lines, f"{digest}  {name}"]) + "\n")
    print(f"{name}: no published checksum; recorded its SHA-256 in {sums} for later runs")


def safe_member(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path if it is a plain relative file path; FetchError otherwise."""
    name = info.filename
    p = PurePosixPath(name)
    is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
    if p.is_absolute() or ".." in p.parts or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or is_link:
        raise FetchError(f"unsafe member {name!r} in the archive (absolute path, '..' or a link): refusing to extract it")
    return p


def extract_members(archive: Path, members: dict[str, str], dest: Path) -> None:
    """Extract ``members`` (archive name -> file name in ``dest``) safely, each atomically."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        for name, target in members.items():
            info = zf.getinfo(name)
            safe_member(info)
            out = dest / target
            if out.exists() and out.stat().st_size == info.file_size:
                continue
            atomic_write(out, lambda tmp: tmp.write_bytes(zf.read(info)))


def _write_meta(folder: Path, meta: pd.DataFrame) -> Path:
    return atomic_write(folder / META, lambda tmp: meta.to_csv(tmp, index=False))


def fetch_coco(dest: str | os.PathLike | None = None, n: int = 5000, seed: int = 0, base: str | None = None,
               progress: bool = True) -> Path:
    """MS-COCO 2017 validation photographs (a seeded sample of ``n``; all 5,000 by default) with captions."""
    images_zip, ann_zip = (fetch_archive(a, progress=progress) for a in coco_archives(base))
    with zipfile.ZipFile(ann_zip) as zf:
        for info in zf.infolist():
            safe_member(info)
        caps = json.loads(zf.read("annotations/captions_val2017.json"))
    imgs = pd.DataFrame(caps["images"])[["id", "file_name", "width", "height"]]
    captions = pd.DataFrame(caps["annotations"]).groupby("image_id")["caption"].apply(
        lambda c: " | ".join(s.strip() for s in c))
    imgs["captions"] = imgs["id"].map(captions).fillna("")
    imgs = imgs.sort_values("file_name").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    pick = imgs.iloc[np.sort(rng.choice(len(imgs), min(n, len(imgs)), replace=False))]
    out = paths.resolve(dest, default=paths.RAW / "refs") / "natural"
    with zipfile.ZipFile(images_zip) as zf:
        names = {PurePosixPath(i.filename).name: i.filename for i in zf.infolist() if not i.is_dir()}
    missing = [f for f in pick["file_name"] if f not in names]
    if missing:
        raise FetchError(f"{images_zip.name} lacks {len(missing)} image(s) named in the captions, e.g. {missing[:3]}")
    extract_members(images_zip, {names[f]: f for f in pick["file_name"]}, out)
    meta = pd.DataFrame({"id": pick["file_name"].str.rsplit(".", n=1).str[0], "file": pick["file_name"],
                         "coco_id": pick["id"], "width": pick["width"], "height": pick["height"],
                         "captions": pick["captions"], "source": "MS-COCO 2017 val"})
    _write_meta(out, meta)
    return out


def parse_wikiart_name(path: str) -> dict:
    """``Impressionism/claude-monet_water-lilies-1916.jpg`` -> style, artist, title."""
    p = PurePosixPath(path)
    style = p.parent.name.replace("_", " ")
    artist, _, title = p.stem.partition("_")
    return {"style": style, "artist": artist.replace("-", " ").strip(), "title": title.replace("-", " ").strip()}


def fetch_wikiart(dest: str | os.PathLike | None = None, n: int = 5000, seed: int = 0, url: str | None = None,
                  checksum: str | None = None, progress: bool = True) -> Path:
    """A seeded sample of ``n`` WikiArt paintings with artist, style and title."""
    url = url or os.environ.get("TWIGMA_WIKIART_URL") or WIKIART_URL
    a = Archive(PurePosixPath(urlparse(url).path).name or "wikiart.zip", url, checksum)
    archive = fetch_archive(a, progress=progress)
    with zipfile.ZipFile(archive) as zf:
        members = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith((".jpg", ".jpeg", ".png"))]
        for info in members:
            safe_member(info)
    names = sorted(i.filename for i in members)
    if not names:
        raise FetchError(f"{archive} holds no images")
    rng = np.random.default_rng(seed)
    pick = [names[i] for i in np.sort(rng.choice(len(names), min(n, len(names)), replace=False))]
    rows = []
    for name in pick:
        info = parse_wikiart_name(name)
        ident = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{info['style']}__{PurePosixPath(name).stem}")[:150]
        rows.append({"id": ident, "file": ident + PurePosixPath(name).suffix.lower(), "member": name, **info,
                     "genre": "", "source": "WikiArt (ArtGAN collection)"})
    meta = pd.DataFrame(rows)
    out = paths.resolve(dest, default=paths.RAW / "refs") / "art"
    extract_members(archive, dict(zip(meta["member"], meta["file"])), out)
    _write_meta(out, meta.drop(columns="member"))
    return out
