"""HTTP downloads for the fetchers: retries that honour a server's Retry-After, timeouts, size caps,
checksums, progress bars, and atomic writes (a partial file never has the final name).

Retries are urllib3's :class:`~urllib3.util.Retry`, mounted on the requests session
(:func:`session`): refused connections, timeouts and the answers of :data:`RETRY_STATUS` are tried
again with exponential backoff, and a 429 or 503 that carries ``Retry-After`` (RFC 9110 section
10.2.3: seconds, or an HTTP date) waits as long as the server asks, up to :data:`MAX_RETRY_AFTER`;
a longer wait fails at once with :class:`TooLongWait` ("try again later") instead of sleeping.
urllib3 does not retry a body cut off midway: a download keeps its part file and resumes on the
next run (:func:`download`), and a small answer read whole is tried again here (:func:`get`).

Downloads keep the bytes exactly as the server stored them: they ask for
``Accept-Encoding: identity`` and never decode a ``Content-Encoding`` (a ``.csv.gz`` that a
server labels ``Content-Encoding: gzip`` stays gzip on disk, so its length and checksum match
what the publisher lists).
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Collection
from pathlib import Path

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

from twigma.errors import UserError
from twigma.release.schema import ZENODO_RECORD
from twigma.version import VERSION

USER_AGENT = f"twigma-compendium/{VERSION} (+https://zenodo.org/records/{ZENODO_RECORD})"
#: Answers tried again: too many requests, and the server errors a retry can mend.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: The longest wait a server's ``Retry-After`` may ask for, in seconds. Zenodo limits requests a minute
#: and an hour (60 and 1,000 for guests: ``RATELIMIT_GUEST_USER`` in inveniosoftware/invenio-app's config):
#: a minute's wait is honoured; an hour's (or an outage's) is better met by running the command again
#: later than by a silent sleep.
MAX_RETRY_AFTER = 300


class FetchError(UserError, RuntimeError):
    """A download or API call that failed for good, with what to do."""


class TooLongWait(FetchError):
    """A server asked (``Retry-After``) for a longer wait than this command allows."""

    def __init__(self, wait: float, cap: float, status: int | None = None, url: str = ""):
        self.wait, self.cap, self.status, self.url = wait, cap, status, url
        said = f"answered HTTP {status} and " if status else ""
        super().__init__(f"{url or 'the server'} {said}asks to wait {wait:,.0f} s before trying again (Retry-After), "
                         f"longer than the {cap:,.0f} s this command waits: nothing was retried. Try again later "
                         "(after that wait); what was already downloaded is kept.")


class Retries(Retry):
    """urllib3's Retry, with three changes to how it meets ``Retry-After``.

    A wait longer than ``retry_after_max`` raises :class:`TooLongWait` at once (urllib3 would wait the
    maximum and ask again before the server said it would answer); an unreadable value falls back to the
    backoff (urllib3 raises ``InvalidHeader``); a wait is announced on stderr. ``retry_after_statuses``
    replaces :attr:`Retry.RETRY_AFTER_STATUS_CODES` (413, 429, 503), the answers whose ``Retry-After``
    is a reason to try again even outside ``status_forcelist``.
    """

    def __init__(self, *args, retry_after_statuses: Collection[int] = Retry.RETRY_AFTER_STATUS_CODES, **kw):
        super().__init__(*args, **kw)
        self.RETRY_AFTER_STATUS_CODES = frozenset(retry_after_statuses)

    def new(self, **kw):
        kw.setdefault("retry_after_statuses", self.RETRY_AFTER_STATUS_CODES)
        return super().new(**kw)

    def get_retry_after(self, response) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        try:  # the wait as asked, before urllib3 caps it at retry_after_max
            asked = Retry.parse_retry_after(self.new(retry_after_max=sys.maxsize), value)
        except InvalidHeader:
            return None
        if asked > self.retry_after_max:
            raise TooLongWait(asked, self.retry_after_max, response.status)
        if asked > 0:
            print(f"the server answered HTTP {response.status} and asks to wait {asked:,.0f} s (Retry-After): "
                  "waiting", file=sys.stderr, flush=True)
        return asked


#: Errors no retry can mend: a URL (or a redirect's target) of a scheme requests does not fetch, such as
#: ``file://``, a malformed URL, a redirect loop.
PERMANENT = (requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
             requests.exceptions.TooManyRedirects)


def permanent_problem(exc: BaseException) -> str:
    """What a permanent request error means, in words."""
    return f"{type(exc).__name__}: {str(exc)[:160]} (a URL or a redirect no retry can follow: not retried)"


def unsafe_name(name) -> str | None:
    """Why ``name``, taken from a server's answer, cannot be a file name in the destination folder, or None.

    A name holding a path separator (``/`` or ``\\``), a NUL or another control character, or starting with
    a dot (``..``, ``.hidden``) could write outside the folder or out of sight; it is refused, never followed."""
    text = str(name) if name is not None else ""
    if not text.strip():
        return "an empty name"
    if "/" in text or "\\" in text or (os.altsep and os.altsep in text):
        return "a name holding a path separator"
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return "a name holding a control character"
    if text.startswith("."):
        return "a name starting with a dot ('..' or a hidden file)"
    if len(text.encode()) > 200:
        return "a name longer than 200 bytes"
    return None


def inside(folder: Path, name: str) -> Path:
    """``folder / name`` when it names a file directly in ``folder``; ValueError otherwise."""
    why = unsafe_name(name)
    target = Path(folder) / str(name)
    if why is None and target.resolve().parent != Path(folder).resolve():
        why = "a name that leaves the folder"
    if why:
        raise ValueError(f"unsafe file name {str(name)[:80]!r} from the server's answer ({why}): not written")
    return target


def session(*, retries: int = 4, backoff: float = 1.0, max_wait: int = MAX_RETRY_AFTER,
            statuses: Collection[int] = RETRY_STATUS, retry_after_statuses: Collection[int] = (413, 429, 503),
            pool: int = 10) -> requests.Session:
    """A requests session whose GETs urllib3 tries up to ``retries`` more times.

    Retried: refused connections, timeouts, and the answers of ``statuses``, with exponential backoff
    (``backoff`` x 2^(n - 1) seconds before the n-th retry, the first at once, at most 60 s); an answer of
    ``retry_after_statuses`` with ``Retry-After`` waits as the server asks, up to ``max_wait`` seconds
    (:class:`Retries`). Only GET and HEAD are retried (the fetchers send nothing else). When the retries
    are spent the last answer is returned (its status tells what went wrong; :func:`get` turns it into a
    :class:`FetchError`). ``pool``: connections kept per host (one per download thread).
    """
    policy = Retries(total=retries, connect=retries, read=retries, status=retries, other=retries,
                     allowed_methods=frozenset({"GET", "HEAD"}), status_forcelist=frozenset(statuses),
                     backoff_factor=backoff, backoff_max=60, respect_retry_after_header=True,
                     retry_after_max=max_wait, retry_after_statuses=retry_after_statuses, raise_on_status=False)
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=policy, pool_connections=pool, pool_maxsize=pool)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def policy_of(sess: requests.Session, url: str) -> Retry:
    """The Retry that ``sess`` mounts for ``url`` (none for a plain session: requests' default, no retry)."""
    policy = getattr(sess.get_adapter(url), "max_retries", None)
    return policy if isinstance(policy, Retry) else Retry(0, read=False)


def tries(policy: Retry) -> int:
    """The number of tries ``policy`` allows (a first one and its retries)."""
    return (policy.total if isinstance(policy.total, int) and policy.total > 0 else 0) + 1


def again(policy: Retry, url: str, error: Exception) -> Retry | None:
    """After ``error``, a body cut off midway (which urllib3 leaves to its caller): ``policy`` counting one more
    try, once its backoff has passed; None when its tries are spent."""
    try:
        policy = policy.increment(method="GET", url=url, error=error)
    except MaxRetryError:
        return None
    policy.sleep()
    return policy


def cut_off(exc: requests.RequestException) -> bool:
    """Whether ``exc`` broke a body being read (after the answer's headers), rather than the request."""
    return isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)) \
        or (isinstance(exc, requests.ConnectionError) and bool(exc.args)
            and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError))


def describe(exc: BaseException) -> str:
    """What went wrong, in a line: for retries urllib3 gave up on, the last error (``MaxRetryError``'s reason)."""
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    if isinstance(cause, MaxRetryError) and cause.reason is not None:
        cause = cause.reason
    return f"{type(cause).__name__}: {str(cause)[:160]}"


def get(sess: requests.Session, url: str, *, timeout=(5, 60), what: str = "request", **kw) -> requests.Response:
    """GET through the session's retries (:func:`session`); a :class:`FetchError` naming ``url`` when they
    are spent, when the server asks for a wait longer than the session allows (:class:`TooLongWait`), or at
    once for a URL or redirect no retry can follow (:data:`PERMANENT`, e.g. to ``file://``). An answer read
    whole (not ``stream``) whose body is cut off midway is asked for again under the same policy."""
    body_policy: Retry | None = None  # counts the tries of a body cut off midway
    while True:
        try:
            r = sess.get(url, timeout=timeout, **kw)
        except PERMANENT as exc:
            raise FetchError(f"{what} failed: {url}: {permanent_problem(exc)}") from None
        except TooLongWait as exc:
            raise TooLongWait(exc.wait, exc.cap, exc.status, url) from None
        except requests.RequestException as exc:
            if cut_off(exc):
                body_policy = again(body_policy or policy_of(sess, url), url, exc)
                if body_policy is not None:
                    continue
            raise FetchError(f"{what} failed after {tries(policy_of(sess, url))} tries: {url}: {describe(exc)}") \
                from None
        policy = policy_of(sess, url)
        if r.status_code in (policy.status_forcelist or RETRY_STATUS):  # urllib3's retries are spent
            r.close()
            raise FetchError(f"{what} failed after {tries(policy)} tries: {url}: HTTP {r.status_code}")
        return r


ALGORITHMS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}  # name -> hex digits


def parse_checksum(checksum: str | None, *, what: str = "the file") -> tuple[str, str] | None:
    """``(algorithm, hex digest)`` of a published checksum, or None when there is none.

    Accepted: ``md5:<hex>``, ``sha1:<hex>``, ``sha256:<hex>``, ``sha512:<hex>``, and a bare
    32-digit hex string, which is an MD5 (Zenodo's deposit API lists file checksums so).
    Anything else raises :class:`FetchError` naming the value.
    """
    if checksum is None or not str(checksum).strip():
        return None
    text = str(checksum).strip()
    algo, sep, digest = text.partition(":")
    if not sep:
        algo, digest = "md5", text
    algo, digest = algo.strip().lower(), digest.strip().lower()
    if algo in ALGORITHMS and re.fullmatch(f"[0-9a-f]{{{ALGORITHMS[algo]}}}", digest):
        return algo, digest
    raise FetchError(f"{what}: cannot read the checksum {text!r}: expected md5:<32 hex digits>, sha256:<64 hex digits> "
                     "(or sha1:, sha512:), or 32 bare hex digits (an MD5). Give the checksum in one of these forms, "
                     "or leave it out.")


def matches(path: Path, checksum: str | None) -> bool:
    """Whether ``path`` has the published ``checksum`` (True when there is none)."""
    parsed = parse_checksum(checksum, what=Path(path).name)
    return parsed is None or file_checksum(path, parsed[0]) == parsed[1]


def file_checksum(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _blocks(r: requests.Response, url: str):
    """The body in blocks, as sent (no Content-Encoding decoding); a connection broken mid-body
    becomes a FetchError (the part file stays)."""
    try:
        yield from r.raw.stream(1 << 16, decode_content=False)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise FetchError(f"{url}: the connection broke during the download ({type(exc).__name__}); "
                         "run the command again to fetch the rest.") from None


def download(url: str, dest: str | os.PathLike, *, checksum: str | None = None, max_bytes: int | None = None,
             sess: requests.Session | None = None, retries: int = 4, backoff: float = 1.0, timeout=(5, 60),
             progress: bool = True, desc: str | None = None, check=None) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``checksum`` (see :func:`parse_checksum`).

    The body goes to ``dest.part`` and is renamed only when complete and verified. An
    interrupted download keeps its part file, and the next call asks the server for the rest
    (an HTTP Range request; servers that ignore it send the whole file again). A bad checksum
    or a body larger than ``max_bytes`` removes the part file and raises :class:`FetchError`.
    ``check(part_path)``, if given, runs on the complete file before the checksum (a format
    check such as :func:`check_magic`); it raises :class:`FetchError` to refuse the file, which
    is then removed. The bytes are saved as sent (``Accept-Encoding: identity``, no decoding).
    Without ``sess``, the download has its own :func:`session` with ``retries`` and ``backoff``;
    a given session keeps its own.
    """
    from tqdm.auto import tqdm

    parsed = parse_checksum(checksum, what=Path(dest).name)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    sess = sess or session(retries=retries, backoff=backoff)
    have = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
    r: requests.Response | None
    r = get(sess, url, timeout=timeout, stream=True, headers=headers, what=f"download of {dest.name}")
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
    total: int | None = (int(r.headers.get("Content-Length") or 0) + have) if r is not None else have
    total = total or None
    if max_bytes and total and total > max_bytes:
        if r is not None:  # None: the part file is already whole (HTTP 416), and over the limit
            r.close()
        raise FetchError(f"{url}: {total:,} bytes is over the {max_bytes:,}-byte limit")
    n = have
    try:
        if r is not None:
            # Not through atomic_write, by design: the part file is this download's own temporary
            # file, appended to so that an interrupted download resumes (a Range request); it gets
            # the final name only once complete and verified (os.replace below).
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
        if check is not None:
            try:
                check(part)
            except FetchError:
                part.unlink(missing_ok=True)
                raise
        if parsed:
            algo, expected = parsed
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


MAGIC = {"zip": (b"PK\x03\x04",), "tar.gz": (b"\x1f\x8b",), "gzip": (b"\x1f\x8b",)}


def check_magic(path: str | os.PathLike, fmt: str, *, source: str = "") -> None:
    """Refuse a file whose first bytes are not those of ``fmt`` (zip: ``PK\\x03\\x04``;
    tar.gz: gzip's ``\\x1f\\x8b``); an HTML page saved in place of an archive is named as such."""
    path = Path(path)
    if fmt not in MAGIC:
        raise ValueError(f"unknown archive format {fmt!r}; known: {sorted(MAGIC)}")
    with open(path, "rb") as fh:
        head = fh.read(512)
    if any(head.startswith(m) for m in MAGIC[fmt]):
        return
    name = path.name.removesuffix(".part")
    where = f" from {source}" if source else ""
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")) or b"<html" in text[:200]:
        raise FetchError(f"{name}{where} is an HTML page, not a {fmt} archive (a login, quota, moved or error page "
                         "was served in its place); it was not kept and its checksum was not recorded.")
    raise FetchError(f"{name}{where} does not start like a {fmt} archive (first bytes {head[:8]!r}, expected "
                     f"{MAGIC[fmt][0]!r}); it was not kept and its checksum was not recorded.")
