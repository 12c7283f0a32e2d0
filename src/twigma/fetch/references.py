"""The reference image sets: natural photographs and human artwork (``make refs``).

* **natural**: MS-COCO 2017 validation, 5,000 photographs with five captions each
  (``val2017.zip`` and ``annotations_trainval2017.zip``, MD5 checksums as published).
* **art**: a seeded sample of WikiArt (the ArtGAN collection, ``wikiart.zip``: one folder per
  style, files named ``<artist>_<title>.jpg``), with artist, style and title from the file name.

Where the archives come from is data, not code: ``sources.json`` next to this module lists
each archive's URL, format (zip or tar.gz), expected checksum or none, and the evidence for
each choice. WikiArt has several alternatives, tried in order until one gives a usable
archive (the ArtGAN link is reported unreachable, its Google Drive copy has damaged
members, the Internet Archive copy is a larger tar.gz).

Each fetcher downloads its archives once into ``data/raw/downloads/`` (with a progress bar),
checks the first bytes are those of the announced format (an HTML page saved in place of an
archive is refused, and its checksum never recorded), verifies the checksum, samples with a
seed, extracts only the sampled members, safely (no absolute paths, no ``..``, no links), and
writes an image folder plus a metadata table ``_meta.csv`` inside it: ``make embeddings``
embeds the folder and copies the table into the store as ``<source>.meta.csv`` (notebook 09
shows titles and artists from it). A damaged member (bad CRC, broken compressed data) is
skipped and listed in ``_damaged.csv`` in the folder, not fatal.

WikiArt publishes no checksum. The first download's SHA-256, once the file has passed the
format check, is recorded in ``data/raw/downloads/SHA256SUMS`` and later runs verify against it
(pass ``--wikiart-checksum`` to pin a known value instead). An archive placed by hand in
``data/raw/downloads/`` under the manifest's file name is used as it is.

Licences: COCO images carry their Flickr licences and the annotations CC BY 4.0; WikiArt
images are for non-commercial research use under WikiArt's terms. Neither set is
redistributed by this repository.
"""
from __future__ import annotations

import json
import os
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from twigma import paths
from twigma.fetch.http import MAGIC, FetchError, check_magic, download, file_checksum, matches, parse_checksum
from twigma.files import atomic_write, is_image_name

MANIFEST = Path(__file__).with_name("sources.json")
META = "_meta.csv"
DAMAGED = "_damaged.csv"


@dataclass(frozen=True)
class Archive:
    name: str  # file name in data/raw/downloads/
    url: str
    checksum: str | None  # "md5:..." or "sha256:..."; None when the publisher gives none
    format: str = "zip"  # "zip" or "tar.gz": the first bytes are checked before anything is trusted
    source: str = ""  # who publishes it, for messages


@lru_cache(maxsize=None)
def _manifest_text(path: str) -> str:
    return Path(path).read_text()


def manifest(path: str | os.PathLike | None = None) -> dict:
    """The download manifest (``sources.json``), checked: every archive has a URL, a known
    format and a readable checksum or none."""
    path = Path(path or MANIFEST)
    try:
        data = json.loads(_manifest_text(str(path)))
    except (OSError, ValueError) as exc:
        raise FetchError(f"{path}: cannot read the download manifest ({exc})") from None
    entries = [("coco", a) for a in data.get("coco", {}).get("archives", [])] + \
              [("wikiart", a) for a in data.get("wikiart", {}).get("sources", [])]
    for i, (section, a) in enumerate(entries):
        where = f"{path}: {section} entry {a.get('file') or i}"
        if not (a.get("url") or a.get("path")) or not a.get("file"):
            raise FetchError(f"{where}: needs 'file' and 'url' (or 'path' under the section's base)")
        if a.get("format") not in MAGIC:
            raise FetchError(f"{where}: format {a.get('format')!r} is not one of {sorted(MAGIC)}")
        parse_checksum(a.get("checksum"), what=where)
    return data


def coco_archives(base: str | None = None) -> list[Archive]:
    section = manifest()["coco"]
    base = (base or os.environ.get("TWIGMA_COCO_BASE") or section["base"]).rstrip("/")
    return [Archive(a["file"], f"{base}/{a['path']}", a.get("checksum"), a["format"], "MS-COCO")
            for a in section["archives"]]


def wikiart_sources(url: str | None = None, checksum: str | None = None) -> list[Archive]:
    """The WikiArt archives to try, in order: ``url`` (or ``$TWIGMA_WIKIART_URL``) first when
    given, then the manifest's alternatives."""
    out = []
    url = url or os.environ.get("TWIGMA_WIKIART_URL")
    if url:
        name = PurePosixPath(urlparse(url).path).name or "wikiart.zip"
        fmt = "tar.gz" if name.endswith((".tar.gz", ".tgz")) else "zip"
        out.append(Archive(name, url, checksum, fmt, "given URL"))
    for a in manifest()["wikiart"]["sources"]:
        if a["url"] != url:
            out.append(Archive(a["file"], a["url"], a.get("checksum"), a["format"], a.get("name", "")))
    return out


def downloads_dir() -> Path:
    return paths.RAW / "downloads"


def fetch_archive(a: Archive, folder: Path | None = None, progress: bool = True, *, retries: int = 4,
                  backoff: float = 1.0) -> Path:
    """Download ``a`` once, format-checked and verified; a file already there is checked, not
    downloaded again. Without a published checksum, the SHA-256 of the first download that
    passes the format check is recorded and later runs verify against it."""
    folder = folder or downloads_dir()
    dest = folder / a.name
    checksum = a.checksum or _recorded_sha256(folder, a.name)
    if dest.exists():
        try:
            check_magic(dest, a.format)
        except FetchError as exc:
            raise FetchError(f"{dest}: {exc} Delete it and run the command again.") from None
        if matches(dest, checksum):
            if checksum is None:
                _record_sha256(folder, a.name, file_checksum(dest, "sha256"))
            return dest
        raise FetchError(f"{dest} does not match its checksum {checksum}: delete it and run the command again.")
    download(a.url, dest, checksum=checksum, progress=progress, retries=retries, backoff=backoff,
             check=lambda part: check_magic(part, a.format, source=a.url))
    if checksum is None:
        _record_sha256(folder, a.name, file_checksum(dest, "sha256"))
    return dest


def fetch_first(archives: list[Archive], folder: Path | None = None, progress: bool = True, *, retries: int = 4,
                backoff: float = 1.0) -> tuple[Path, Archive]:
    """The first of ``archives`` that can be fetched and passes its checks; FetchError listing
    every attempt and what to do when none can."""
    tried = []
    for a in archives:
        try:
            return fetch_archive(a, folder, progress, retries=retries, backoff=backoff), a
        except FetchError as exc:
            tried.append(f"{a.url} ({a.source or a.format}): {exc}")
            if len(tried) < len(archives):
                print(f"{a.name}: {a.url} cannot be used; trying the next source", flush=True)
    folder = folder or downloads_dir()
    raise FetchError("no source of the archive could be used:\n  " + "\n  ".join(tried) + "\n  Download one of "
                     f"them by hand into {folder}/ under the file name the manifest gives "
                     f"({', '.join(dict.fromkeys(a.name for a in archives))}), or give another copy with "
                     "--wikiart-url URL [--wikiart-checksum sha256:<hex>], and run the command again.")


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
    atomic_write(sums, lambda tmp: tmp.write_text("\n".join([*lines, f"{digest}  {name}"]) + "\n"))
    print(f"{name}: no published checksum; recorded its SHA-256 in {sums} for later runs")


def safe_member(info: zipfile.ZipInfo | tarfile.TarInfo) -> PurePosixPath:
    """The member's path if it is a plain relative file path; FetchError otherwise."""
    if isinstance(info, tarfile.TarInfo):
        name, is_link = info.name, info.issym() or info.islnk() or info.isdev()
    else:
        name, is_link = info.filename, (info.external_attr >> 16) & 0o170000 == 0o120000
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or is_link:
        raise FetchError(f"unsafe member {name!r} in the archive (absolute path, '..' or a link): refusing to extract it")
    return p


DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, tarfile.TarError, OSError)


def _open_zip(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{archive}: the zip archive's directory cannot be read ({exc}); the file is damaged or "
                         "incomplete. Delete it and run the command again (the next source is tried if this "
                         "one fails again).") from None


def list_members(archive: Path, fmt: str = "zip") -> list[str]:
    """File members of a zip or tar.gz archive (every name checked with :func:`safe_member`)."""
    if fmt == "zip":
        with _open_zip(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            for info in infos:
                safe_member(info)
            return [i.filename for i in infos]
    names = []
    try:
        with tarfile.open(archive, "r:gz") as tf:
            for m in tf:
                p = safe_member(m)
                if m.isfile():
                    names.append(p.as_posix())
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        if not names:
            raise FetchError(f"{archive}: not a readable tar.gz archive ({type(exc).__name__}: {exc}); delete it and "
                             "run the command again.") from None
        print(f"{archive}: the archive is damaged after {len(names):,} members ({type(exc).__name__}); "
              "the members before the damage are used", flush=True)
    return names


def extract_members(archive: Path, members: dict[str, str], dest: Path, fmt: str = "zip") -> list[dict]:
    """Extract ``members`` (archive name -> file name in ``dest``) safely, each atomically.

    A member that cannot be read (bad CRC, broken compressed data, a tar.gz cut short) is
    skipped; returns the skipped ones as ``[{"member", "reason"}]``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    damaged = []
    if fmt == "zip":
        with _open_zip(archive) as zf:
            for name, target in members.items():
                info = zf.getinfo(name)
                safe_member(info)
                out = dest / target
                if out.exists() and out.stat().st_size == info.file_size:
                    continue
                try:
                    data = zf.read(info)  # checks the CRC-32
                except DAMAGE as exc:
                    damaged.append({"member": name, "reason": f"{type(exc).__name__}: {str(exc)[:160]}"})
                    continue
                atomic_write(out, lambda tmp, data=data: tmp.write_bytes(data))  # type: ignore[misc]  # mypy infers no lambda with defaults
        return damaged
    todo = dict(members)
    try:
        with tarfile.open(archive, "r|gz") as tf:  # one pass, in archive order
            for m in tf:
                name = safe_member(m).as_posix()  # "./a/b.jpg" -> "a/b.jpg", as list_members names it
                if not m.isfile() or name not in todo:
                    continue
                target = todo.pop(name)
                out = dest / target
                if out.exists() and out.stat().st_size == m.size:
                    continue
                fh = tf.extractfile(m)
                data = fh.read() if fh is not None else b""
                if len(data) != m.size:
                    damaged.append({"member": name, "reason": f"{len(data)} of {m.size} bytes"})
                    continue
                atomic_write(out, lambda tmp, data=data: tmp.write_bytes(data))  # type: ignore[misc]  # mypy infers no lambda with defaults
                if not todo:
                    break
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        reason = f"the archive is damaged before this member ({type(exc).__name__}: {str(exc)[:120]})"
        damaged += [{"member": name, "reason": reason} for name in todo]
        todo = {}
    damaged += [{"member": name, "reason": "not in the archive"} for name in todo]
    return damaged


def _record_damaged(folder: Path, archive: Path, damaged: list[dict]) -> None:
    path = folder / DAMAGED
    if not damaged:
        path.unlink(missing_ok=True)
        return
    table = pd.DataFrame(damaged, columns=["member", "reason"]).assign(archive=archive.name)
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))
    print(f"{archive.name}: {len(damaged)} damaged member(s) skipped, listed in {path}", flush=True)


def _write_meta(folder: Path, meta: pd.DataFrame) -> Path:
    return atomic_write(folder / META, lambda tmp: meta.to_csv(tmp, index=False))


def fetch_coco(dest: str | os.PathLike | None = None, n: int = 5000, seed: int = 0, base: str | None = None,
               progress: bool = True) -> Path:
    """MS-COCO 2017 validation photographs (a seeded sample of ``n``; all 5,000 by default) with captions."""
    images_zip, ann_zip = (fetch_archive(a, progress=progress) for a in coco_archives(base))
    with _open_zip(ann_zip) as zf:
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
    names = {PurePosixPath(n).name: n for n in list_members(images_zip)}
    missing = [f for f in pick["file_name"] if f not in names]
    if missing:
        raise FetchError(f"{images_zip.name} lacks {len(missing)} image(s) named in the captions, e.g. {missing[:3]}")
    damaged = extract_members(images_zip, {names[f]: f for f in pick["file_name"]}, out)
    _record_damaged(out, images_zip, damaged)
    pick = pick[~pick["file_name"].map(names).isin({d["member"] for d in damaged})]
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
                  checksum: str | None = None, progress: bool = True, *, sources: list[Archive] | None = None,
                  retries: int = 4, backoff: float = 1.0) -> Path:
    """A seeded sample of ``n`` WikiArt paintings with artist, style and title.

    The archive comes from the first usable of ``sources`` (default: ``url`` if given, then the
    manifest's alternatives). Damaged members of the sample are skipped and listed in
    ``_damaged.csv``; the sample then has fewer than ``n`` images.
    """
    archives = sources if sources is not None else wikiart_sources(url, checksum)
    archive, used = fetch_first(archives, progress=progress, retries=retries, backoff=backoff)
    names = sorted(m for m in list_members(archive, used.format) if is_image_name(m))
    if not names:
        raise FetchError(f"{archive} holds no images")
    rng = np.random.default_rng(seed)
    pick = [names[i] for i in np.sort(rng.choice(len(names), min(n, len(names)), replace=False))]
    rows = []
    for name in pick:
        info = parse_wikiart_name(name)
        ident = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{info['style']}__{PurePosixPath(name).stem}")[:150]
        rows.append({"id": ident, "file": ident + PurePosixPath(name).suffix.lower(), "member": name, **info,
                     "genre": "", "source": f"WikiArt (ArtGAN collection; {used.name} from {used.source or used.url})"})
    meta = pd.DataFrame(rows)
    out = paths.resolve(dest, default=paths.RAW / "refs") / "art"
    damaged = extract_members(archive, dict(zip(meta["member"], meta["file"])), out, used.format)
    _record_damaged(out, archive, damaged)
    meta = meta[~meta["member"].isin({d["member"] for d in damaged})]
    _write_meta(out, meta.drop(columns="member"))
    return out
