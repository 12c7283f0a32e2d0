"""Downloading the images behind rehydrated media URLs, named by the release's image_name.

``twigma images`` (``make images``) reads the photos of the rehydration store and downloads
them concurrently into a folder (default ``data/raw/twigma_images/``) as
``<image_name>.<ext>``, the names ``make embeddings`` uses as ids.

The release documents ``image_name`` only as "Twitter media id"; the store records both names a
photo may go by, its media id and its file code (see :mod:`twigma.fetch.x_api`). Files are named
by the one the release uses: ``--name-by auto`` (the default) compares the release's names
(without an image extension, :func:`twigma.release.image_keys`) with both and takes the one that
matches more rows (:func:`choose_name_by`); ``--name-by media_id|file_code`` forces it. At the end
the match rate is reported: the rows of the release that have a downloaded photo (:func:`match_rate`). Each download has
timeouts, retries on transient errors (a host's ``Retry-After`` is honoured), a size cap, and a check that the body is an image
(Pillow must be able to read it). Files are written atomically (``.part`` first), so a
partial file never has a finished name. Failures go to ``_failures.csv`` in the folder with
the reason; a rerun skips the images already there and tries the failed ones again. A name from the
server's answer that is not a plain file name (a path separator, ``..``, an absolute path) is never
written: it goes to ``_failures.csv`` as unsafe. A photo over :data:`MAX_PIXELS` is refused before it
is decoded, and a redirect no retry can follow (``file://``) is not retried.

Why not img2dataset: it is the field's standard for URL lists at scale, but it names files by
its own shard and row numbers (``00000/000000012.jpg``), resizes by default and writes its own
shard layout, while the embedding store needs each image under its ``image_name``. With ~1M
images at Twitter's rate, a thread pool with the checks above is enough; users who prefer
img2dataset can point it at ``media_table()`` and rename by its ``key`` column.
"""
from __future__ import annotations

import io
import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
import requests

from twigma import paths
from twigma.fetch.http import (
    PERMANENT,
    RETRY_STATUS,
    TooLongWait,
    again,
    describe,
    inside,
    permanent_problem,
    policy_of,
    session,
    tries,
)
from twigma.files import atomic_write, from_spreadsheet_safe, spreadsheet_safe

DEFAULT_DIR = "data/raw/twigma_images"
FAILURES = "_failures.csv"
#: The extension a downloaded photo is written with, by the format Pillow reads in its bytes
#: (each one of :data:`twigma.files.IMAGE_SUFFIXES`, so that the image analyses find the photo).
EXT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}
#: The most pixels a downloaded photo may have: X serves photos of at most 4096 x 4096 (16.8 million
#: pixels). A larger image is refused before it is decoded, so each decode holds at most 40 million pixels
#: x 4 bytes = 160 MB (2.6 GB on 16 threads), where Pillow alone decodes up to 179 million pixels (only
#: warning from 89 million).
MAX_PIXELS = 40_000_000


def choose_name_by(release: pd.DataFrame, media: pd.DataFrame) -> tuple[str, dict]:
    """Which name of the photos (``media_id`` or ``file_code``) the release's ``image_name`` uses.

    ``media`` is :func:`twigma.fetch.x_api.media_table`'s table (columns ``media_id`` and
    ``file_code``). Returns (choice, rows of the release matched by each). When neither matches
    a row, the release's form decides (``file_code`` for file codes, else ``media_id``, the
    documented form).
    """
    from twigma.release import image_keys

    keys = image_keys(release["image_name"])
    hits = {by: int(keys.isin(set(media[by].dropna().astype(str))).sum()) for by in ("media_id", "file_code")}
    if hits["media_id"] or hits["file_code"]:
        return ("file_code" if hits["file_code"] > hits["media_id"] else "media_id"), hits
    form = release.attrs.get("image_name_form")
    if form == "file_name":  # the stems decide: digits are media ids
        form = "media_id" if keys.str.fullmatch(r"[0-9]+").mean() >= 0.5 else "file_code"
    return ("file_code" if form == "file_code" else "media_id"), hits


def match_rate(release: pd.DataFrame, folder: str | os.PathLike) -> dict:
    """Rows of ``release`` that have a downloaded photo in ``folder`` (by file stem, compared with
    the release's ``image_name`` without an image extension): ``rows``, ``matched``, ``share``."""
    from twigma.release import image_keys

    have = existing(Path(folder)) if Path(folder).is_dir() else set()
    matched = int(image_keys(release["image_name"]).isin(have).sum())
    return {"rows": len(release), "matched": matched, "share": matched / len(release) if len(release) else 0.0}


def existing(folder: Path) -> set[str]:
    """Stems of the images in ``folder``: not dot files (writes in progress) nor the failure list; a
    file code may start with ``_`` or ``-`` (base64url), so such names are images."""
    return {p.stem for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != FAILURES}


def fetch_one(sess: requests.Session, url: str, dest_stem: Path, *, max_bytes: int, timeout: tuple) -> str:
    """Download one image; returns the file name written. Raises ValueError with the reason.

    ``sess`` retries refused connections, timeouts and busy answers (:func:`twigma.fetch.http.session`);
    a body cut off midway, which urllib3 does not retry, is asked for again here under the same policy."""
    body_policy = None  # counts the tries of a body cut off midway
    while True:
        problem: Exception | None = None
        try:
            with sess.get(url, timeout=timeout, stream=True) as r:
                if r.status_code in RETRY_STATUS:  # the session's retries are spent
                    raise ValueError(f"failed after {tries(policy_of(sess, url))} tries: HTTP {r.status_code}")
                if r.status_code != 200:
                    raise ValueError(f"HTTP {r.status_code}")
                size = int(r.headers.get("Content-Length") or 0)
                if size > max_bytes:
                    raise ValueError(f"too large ({size:,} bytes > {max_bytes:,})")
                buf = io.BytesIO()
                try:
                    for block in r.iter_content(1 << 16):
                        buf.write(block)
                        if buf.tell() > max_bytes:
                            raise ValueError(f"too large (over {max_bytes:,} bytes)")
                except (requests.RequestException, OSError) as exc:  # cut off mid-body
                    problem = exc
                if problem is None and size and buf.tell() != size:
                    problem = ValueError(f"truncated body ({buf.tell():,} of {size:,} bytes)")
        except PERMANENT as exc:  # a redirect to file:// or another scheme: no retry mends it
            raise ValueError(permanent_problem(exc)) from None
        except TooLongWait as exc:  # the host asks for a longer wait than a run allows: a rerun tries again
            raise ValueError(str(TooLongWait(exc.wait, exc.cap, exc.status, url))) from None
        except (requests.RequestException, OSError) as exc:  # refused, timed out: the session's retries are spent
            raise ValueError(f"failed after {tries(policy_of(sess, url))} tries: {describe(exc)}") from None
        if problem is not None:
            body_policy = again(body_policy or policy_of(sess, url), url, problem)
            if body_policy is None:
                name = type(problem).__name__ if isinstance(problem, requests.RequestException) else str(problem)
                raise ValueError(f"failed after {tries(policy_of(sess, url))} tries: {name}")
            continue
        data = buf.getvalue()
        fmt = _check_image(data)
        target = dest_stem.with_name(f"{dest_stem.name}.{EXT.get(fmt, 'img')}")
        atomic_write(target, lambda tmp, data=data: tmp.write_bytes(data))  # type: ignore[misc]  # mypy infers no lambda with defaults
        return target.name


def _check_image(data: bytes) -> str:
    """The format of an image body that Pillow decodes whole within :data:`MAX_PIXELS`; ValueError otherwise."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, (w, h) = im.format or "", im.size
            if w * h > MAX_PIXELS:  # read from the header: nothing is decoded yet
                raise ValueError(f"too many pixels ({w:,} x {h:,} = {w * h / 1e6:.0f} million > "
                                 f"{MAX_PIXELS / 1e6:.0f} million): not decoded")
            im.load()  # decodes the whole image: a truncated file fails here
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"not a readable image ({type(exc).__name__}: {str(exc)[:80]})") from None
    return fmt


def download_images(media: pd.DataFrame, folder: str | os.PathLike | None = None, *, threads: int = 16,
                    max_bytes: int = 20_000_000, timeout: tuple = (5, 20), retries: int = 2, backoff: float = 1.0,
                    limit: int | None = None, progress: bool = True) -> dict:
    """Download ``media`` (columns ``image_name``, ``url``) into ``folder``; returns counts."""
    from tqdm.auto import tqdm

    out = paths.resolve(folder, default=paths.ROOT / DEFAULT_DIR)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp*"):  # left by a run that was killed mid-write
        stale.unlink(missing_ok=True)
    have = existing(out)
    todo = media[media["image_name"].notna() & (media["image_name"].astype(str) != "")]
    todo = todo.drop_duplicates("image_name")
    todo = todo[~todo["image_name"].astype(str).isin(have)]
    if limit is not None:
        todo = todo.head(limit)
    failures, unsafe = [], []
    for row in todo.itertuples(index=False):  # a name from the server's answer must stay in the folder
        try:
            inside(out, str(row.image_name))
        except ValueError as exc:
            unsafe.append(row.image_name)
            failures.append(_failure(row, str(exc)))
    todo = todo[~todo["image_name"].isin(unsafe)]
    sess = session(retries=retries, backoff=backoff, pool=threads)
    ok = 0
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool, \
                tqdm(total=len(todo), unit="img", desc="downloading images", disable=not progress) as bar:
            futures = {pool.submit(fetch_one, sess, row.url, out / str(row.image_name), max_bytes=max_bytes,  # type: ignore[arg-type]  # pandas-stubs: a row field is any scalar
                                   timeout=timeout): row
                       for row in todo.itertuples(index=False)}
            for fut in as_completed(futures):
                row = futures[fut]
                try:
                    fut.result()
                    ok += 1
                except Exception as exc:  # recorded, never fatal: the other downloads go on
                    failures.append(_failure(row, str(exc) if isinstance(exc, ValueError)
                                             else f"{type(exc).__name__}: {exc}"))
                bar.update(1)
    finally:
        _record_failures(out, failures)  # also when interrupted
    return {"asked": len(todo) + len(unsafe), "downloaded": ok, "failed": len(failures), "already_there": len(have),
            "folder": str(out)}


def _failure(row, reason: str) -> dict:
    return {"image_name": row.image_name, "url": row.url, "reason": reason,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _record_failures(out: Path, failures: list[dict]) -> None:
    """Keep one row per image that is still missing (a later success removes its row). Names and URLs come
    from the server: a cell that a spreadsheet would read as a formula is written with a leading quote."""
    path = out / FAILURES
    columns = ["image_name", "url", "reason", "time"]
    old = pd.read_csv(path, dtype=str, keep_default_na=False).map(from_spreadsheet_safe) if path.exists() \
        else pd.DataFrame(columns=columns)
    new = pd.DataFrame(failures, columns=columns).astype(str)
    table = pd.concat([old, new]).drop_duplicates("image_name", keep="last")
    table = spreadsheet_safe(table[~table["image_name"].isin(existing(out))])
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))
