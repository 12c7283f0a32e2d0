"""The TWIGMA release table from Zenodo (record 8031785, newest version).

``twigma data`` (``make data``) asks the Zenodo records API for the record, follows it to the
newest version (May 2024 or later, where the tweet ids are exact), picks the release table
among the record's files, downloads it with a progress bar into ``data/raw/``, checks the MD5
checksum the API reports, and validates the file with :func:`twigma.release.load_release`
(which also builds its typed cache). The API base is configurable (``--api`` or
``TWIGMA_ZENODO_API``).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .. import paths
from ..release import ZENODO_RECORD
from .http import FetchError, download, get, session

ZENODO_API = "https://zenodo.org/api"
TABLE_PATTERN = r"\.(csv|csv\.gz|parquet)$"

MANUAL = (f"To place the file by hand: download the release table from https://zenodo.org/records/{ZENODO_RECORD} "
          "(its newest version), put it in data/raw/, and run `make validate RELEASE=data/raw/<file>`.")


def api_base(api: str | None = None) -> str:
    return (api or os.environ.get("TWIGMA_ZENODO_API") or ZENODO_API).rstrip("/")


def _get_json(sess, url: str, what: str) -> dict:
    try:
        r = get(sess, url, retries=2, backoff=0.5, timeout=(5, 30), what=what)
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


def files_of(record: dict) -> list[dict]:
    """The record's files as a list of {key, size, checksum, url}, from either of Zenodo's JSON
    forms (a list with ``links.self``, or InvenioRDM's ``{"entries": {...}}`` with ``links.content``)."""
    files = record.get("files")
    if isinstance(files, dict):
        files = list((files.get("entries") or {}).values())
    out = []
    for f in files or []:
        links = f.get("links", {})
        out.append({"key": f.get("key") or f.get("filename"), "size": f.get("size") or f.get("filesize") or 0,
                    "checksum": f.get("checksum"),
                    "url": links.get("content") or links.get("self") or links.get("download")})
    return out


def latest_record(record: str = ZENODO_RECORD, api: str | None = None, sess=None) -> dict:
    """The JSON of the newest version of a record: ``/records/<id>``, then its ``links.latest``."""
    base = api_base(api)
    sess = sess or session()
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
    sess = session()
    rec = latest_record(record, api, sess)
    f = pick_table(files_of(rec), pattern)
    dest = paths.resolve(dest_dir, default=paths.RAW) / f["key"]
    checksum = f.get("checksum")
    url = f.get("url")
    if not url:
        raise FetchError(f"the record does not give a download link for {f['key']}. {MANUAL}")
    from .http import file_checksum
    if dest.exists() and checksum and file_checksum(dest, checksum.split(":")[0]) == checksum.split(":")[1]:
        print(f"{dest} is already here and matches the checksum")
    else:
        download(url, dest, checksum=checksum, sess=sess, progress=progress,
                 desc=f"{f['key']} (record {rec.get('id', record)}, version {rec.get('metadata', {}).get('version', '?')})")
    if validate:
        from ..release import load_release
        df = load_release(dest)
        print(f"{dest}: valid release table, {len(df):,} images")
    return dest
