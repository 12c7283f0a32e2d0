"""The TWIGMA release table from Zenodo (record 8031785, newest version).

``twigma data`` (``make data``) asks the Zenodo records API for the record, follows it to the
newest version (May 2024 or later, where the tweet ids are exact), picks the release table
among the record's files, downloads it with a progress bar into ``data/raw/``, checks the MD5
checksum the API reports, and validates the file with :func:`twigma.release.load_release`
(which also builds its typed cache). The API base is configurable (``--api`` or
``TWIGMA_ZENODO_API``).

How Zenodo answers, and what this module relies on:

* ``/api/records/<id>/versions/latest`` answers with a redirect to the newest version's
  record (InvenioRDM's ``read_latest`` raises a redirect to the record's ``links.self``);
  requests follows it.
* A file's checksum is ``md5:<hex>`` in the records API and bare hex (an MD5) in the
  deposit API; both are read (:func:`twigma.fetch.http.parse_checksum`).
* A file's content link is ``links.content`` (InvenioRDM file entries), ``links.self`` where
  that is the content (``.../files/<key>/content`` or a legacy ``/api/files/<bucket>/<key>``),
  else ``links.download`` (the deposit API, whose ``self`` is the file's metadata).
* The bytes are saved as stored (no ``Content-Encoding`` decoding), so a ``.csv.gz`` keeps
  its length and MD5.
* Over its rate limits (per minute and per hour) Zenodo answers HTTP 429 with ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` and ``Retry-After`` (Invenio's rate limiter); the
  wait is honoured up to :data:`twigma.fetch.http.MAX_RETRY_AFTER`, and a longer one says to try later.
* A file's ``key`` names the saved file; a key that is not a plain file name (a path separator, ``..``,
  an absolute path) is refused, so nothing is written outside ``--dest``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

from twigma import paths
from twigma.fetch.http import FetchError, TooLongWait, download, get, inside, matches, session
from twigma.release import ZENODO_RECORD

ZENODO_API = "https://zenodo.org/api"
TABLE_PATTERN = r"\.(csv|csv\.gz|parquet)$"

MANUAL = (f"To place the file by hand: download the release table from https://zenodo.org/records/{ZENODO_RECORD} "
          "(its newest version), put it in data/raw/, and run `make validate RELEASE=data/raw/<file>`.")


def api_base(api: str | None = None) -> str:
    return (api or os.environ.get("TWIGMA_ZENODO_API") or ZENODO_API).rstrip("/")


def api_session():
    """A session for the records API: few, short retries (its answers are small); a rate limit's
    ``Retry-After`` is honoured (Zenodo's API runs on Invenio, whose rate limiter sends it with a 429:
    ``RATELIMIT_HEADERS_ENABLED = True`` in inveniosoftware/invenio-app's config)."""
    return session(retries=2, backoff=0.5)


def _get_json(sess, url: str, what: str) -> dict:
    try:
        r = get(sess, url, timeout=(5, 30), what=what)
    except TooLongWait as exc:
        raise FetchError(f"the Zenodo API is rate limiting this computer: {exc}\n  {MANUAL}") from None
    except FetchError as exc:
        raise FetchError(f"cannot reach the Zenodo API ({exc}).\n  {MANUAL}") from None
    if r.status_code == 404:
        raise FetchError(f"Zenodo answered 404 (not found) for {url}. {MANUAL}")
    if r.status_code != 200:
        raise FetchError(f"the Zenodo API answered HTTP {r.status_code} for {url}. {MANUAL}")
    try:
        return r.json()
    except ValueError:
        raise FetchError(f"the Zenodo API did not answer {url} with JSON. {MANUAL}") from None


def is_content_link(url: str | None) -> bool:
    """Whether a file's ``links.self`` serves the file's bytes rather than its metadata:
    ``.../files/<key>/content`` (InvenioRDM) or ``/api/files/<bucket>/<key>`` (legacy buckets).
    The deposit API's ``/api/deposit/depositions/<id>/files/<file id>`` and InvenioRDM's
    ``/api/records/<id>/files/<key>`` are metadata."""
    if not url:
        return False
    path = urlparse(url).path.rstrip("/")
    if path.endswith("/content") or "/api/files/" in path:
        return True
    if "/api/deposit/" in path or re.search(r"/api/records/[^/]+/(draft/)?files/[^/]+$", path):
        return False
    return True  # an unknown layout: a plain file URL


def content_url(links: dict) -> str | None:
    """The link that serves a file's bytes: ``content``, else ``self`` when it is a content
    link, else ``download``."""
    links = links or {}
    if links.get("content"):
        return links["content"]
    if is_content_link(links.get("self")):
        return links["self"]
    return links.get("download")


def files_of(record: dict) -> list[dict]:
    """The record's files as a list of {key, size, checksum, url}, from Zenodo's JSON forms: a
    list with ``links.self`` (records API), InvenioRDM's ``{"entries": {...}}`` with
    ``links.content``, or the deposit API's ``filename``/``filesize``/``links.download``."""
    files = record.get("files")
    if isinstance(files, dict):
        files = list((files.get("entries") or {}).values())
    out = []
    for f in files or []:
        out.append({"key": f.get("key") or f.get("filename"), "size": f.get("size") or f.get("filesize") or 0,
                    "checksum": f.get("checksum"), "url": content_url(f.get("links", {}))})
    return out


def latest_record(record: str = ZENODO_RECORD, api: str | None = None, sess=None) -> dict:
    """The JSON of the newest version of a record: ``/records/<id>``, then its ``links.latest``."""
    base = api_base(api)
    sess = sess or api_session()
    data = _get_json(sess, f"{base}/records/{record}", "Zenodo API request")
    latest = data.get("links", {}).get("latest")
    if latest and str(data.get("id")) != str(latest).rstrip("/").split("/")[-1]:
        data = _get_json(sess, latest, "Zenodo API request (latest version)")
    if not files_of(data):
        raise FetchError(f"the Zenodo record {record} lists no files. {MANUAL}")
    return data


def pick_table(files: list[dict], pattern: str = TABLE_PATTERN) -> dict:
    """The release table among a record's files: the largest one whose name matches ``pattern``."""
    tables = [f for f in files if re.search(pattern, f.get("key") or "", flags=re.I)]
    if not tables:
        names = ", ".join(f.get("key", "?") for f in files)
        raise FetchError(f"no file of the record looks like the release table (CSV, CSV.gz or Parquet): {names}")
    return max(tables, key=lambda f: f.get("size", 0))


def fetch_release(dest_dir: str | os.PathLike | None = None, *, record: str = ZENODO_RECORD, api: str | None = None,
                  pattern: str = TABLE_PATTERN, validate: bool = True, progress: bool = True) -> Path:
    """Download (if needed) and validate the newest release table; returns its path."""
    rec = latest_record(record, api, api_session())
    f = pick_table(files_of(rec), pattern)
    folder = paths.resolve(dest_dir, default=paths.RAW)
    try:  # the key is the server's word: it must name a file in the folder, never a path out of it
        dest = inside(folder, f["key"])
    except ValueError as exc:
        raise FetchError(f"the Zenodo record {rec.get('id', record)} names its release file {f['key']!r}, which "
                         f"cannot be saved in {folder}: {exc}. Nothing was downloaded. {MANUAL}") from None
    checksum = f.get("checksum")
    url = f.get("url")
    if not url:
        raise FetchError(f"the record does not give a download link for {f['key']}. {MANUAL}")
    if dest.exists() and checksum and matches(dest, checksum):
        print(f"{dest} is already here and matches the checksum")
    else:
        download(url, dest, checksum=checksum, progress=progress,
                 desc=f"{f['key']} (record {rec.get('id', record)}, version {rec.get('metadata', {}).get('version', '?')})")
    if validate:
        from twigma.release import load_release
        df = load_release(dest)
        print(f"{dest}: valid release table, {len(df):,} images")
    return dest
