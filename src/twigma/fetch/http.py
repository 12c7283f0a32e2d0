"""HTTP downloads for the fetchers: retries with backoff, timeouts, size caps, checksums,
progress bars, and atomic writes (a partial file never has the final name)."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import requests

USER_AGENT = "twigma-compendium/0.1 (+https://zenodo.org/records/8031785)"
RETRY_STATUS = {429, 500, 502, 503, 504}


class FetchError(RuntimeError):
    """A download or API call that failed for good, with what to do."""


def session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s


def get(sess: requests.Session, url: str, *, retries: int = 4, backoff: float = 1.0, timeout=(5, 60),
        what: str = "request", **kw) -> requests.Response:
    """GET with retries on connection errors and 5xx/429 answers (exponential backoff)."""
    last = None
    for attempt in range(retries + 1):
        try:
            r = sess.get(url, timeout=timeout, **kw)
        except requests.RequestException as exc:
            last = exc
        else:
            if r.status_code not in RETRY_STATUS:
                return r
            last = f"HTTP {r.status_code}"
            r.close()
        if attempt < retries:
            time.sleep(backoff * 2 ** attempt)
    raise FetchError(f"{what} failed after {retries + 1} tries: {url}: {last}")


def file_checksum(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _blocks(r: requests.Response, url: str):
    """The body in blocks; a connection broken mid-body becomes a FetchError (the part file stays)."""
    try:
        yield from r.iter_content(1 << 16)
    except (requests.RequestException, OSError) as exc:
        raise FetchError(f"{url}: the connection broke during the download ({type(exc).__name__}); "
                         "run the command again to fetch the rest.") from None


def download(url: str, dest: str | os.PathLike, *, checksum: str | None = None, max_bytes: int | None = None,
             sess: requests.Session | None = None, retries: int = 4, backoff: float = 1.0, timeout=(5, 60),
             progress: bool = True, desc: str | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``checksum`` ("md5:<hex>" or "sha256:<hex>").

    The body goes to ``dest.part`` and is renamed only when complete and verified. An
    interrupted download keeps its part file, and the next call asks the server for the rest
    (an HTTP Range request; servers that ignore it send the whole file again). A bad checksum
    or a body larger than ``max_bytes`` removes the part file and raises :class:`FetchError`.
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    sess = sess or session()
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    r = get(sess, url, retries=retries, backoff=backoff, timeout=timeout, stream=True, headers=headers,
            what=f"download of {dest.name}")
    if r.status_code == 416 and have:  # the part file is already whole
        r.close()
        r = None
    elif r.status_code == 206 and have:
        pass
    elif r.status_code == 200:
        have = 0  # the server sent everything again
    else:
        r.close()
        raise FetchError(f"download of {dest.name} failed: {url} answered HTTP {r.status_code}")
    total = (int(r.headers.get("Content-Length") or 0) + have) if r is not None else have
    total = total or None
    if max_bytes and total and total > max_bytes:
        r.close()
        raise FetchError(f"{url}: {total:,} bytes is over the {max_bytes:,}-byte limit")
    n = have
    try:
        if r is not None:
            with open(part, "ab" if have else "wb") as fh, \
                    tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=desc or dest.name,
                         disable=not progress) as bar:
                for block in _blocks(r, url):
                    n += len(block)
                    if max_bytes and n > max_bytes:
                        part.unlink(missing_ok=True)
                        raise FetchError(f"{url}: body is over the {max_bytes:,}-byte limit")
                    fh.write(block)
                    bar.update(len(block))
            if total and n != total:
                raise FetchError(f"{url}: the connection ended after {n:,} of {total:,} bytes; "
                                 "run the command again to fetch the rest.")
        if checksum:
            algo, _, expected = checksum.partition(":")
            got = file_checksum(part, algo)
            if got != expected:
                part.unlink(missing_ok=True)
                raise FetchError(f"{dest.name}: {algo} checksum {got} does not match the expected {expected}; "
                                 "the download is corrupt and was removed. Run the command again.")
        os.replace(part, dest)
    finally:
        if r is not None:
            r.close()
    return dest
