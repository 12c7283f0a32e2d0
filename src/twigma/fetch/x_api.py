"""Rehydration: tweets and their photos' URLs by tweet id, from the X (Twitter) API v2.

``twigma rehydrate`` (``make rehydrate``) reads the release's tweet ids and asks the API's
tweet lookup (``GET /2/tweets``) for them in batches of 100, with the media expansion (media
key, type, URL) and the fields the notebooks can use (text, created_at, public metrics,
possibly_sensitive). The bearer token comes only from the environment variable
``X_BEARER_TOKEN``; it is sent in the Authorization header and never printed, logged or
stored: what a server (or a proxy) echoes of it, or of any Authorization header, is redacted
(:func:`redact`). The lookup never follows a redirect (the endpoint does not redirect; one to
another host would drop the token, one to ``file://`` cannot be fetched): it stops and says where
it was sent.

Results go to a SQLite store (default ``data/raw/rehydrated.sqlite``), one transaction per
batch: a rerun continues where the last one stopped, never asks for an id twice, and an
interruption loses at most the batch in flight. Tweets the API reports as missing (deleted)
or not authorised (withheld, protected, suspended) are recorded as such. Rate limits (HTTP
429) are honoured by waiting until the ``x-rate-limit-reset`` time with a visible countdown (X's
docs, "Rate limits": a 429 Too Many Requests, with ``x-rate-limit-limit``, ``x-rate-limit-remaining``
and ``x-rate-limit-reset``, the Unix time the window resets); transient errors are retried with
backoff, then reported: server errors (5xx, honouring a 503's ``Retry-After``) and broken connections
by urllib3's Retry on the session (:func:`twigma.fetch.http.session`), bodies cut off midway or
malformed (not JSON, or tweets without an ``id``, see :func:`malformed`) here.

A 429 can also mean that the project's **monthly usage cap** is spent: its body is then the
problem-details object ``{"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly
product cap", "type": ".../2/problems/usage-capped", "period": "Monthly", ...}`` (reported in
xdevplatform/xdk#25), while the rate-limit headers may show requests to spare. Waiting for
``x-rate-limit-reset`` would not help for weeks, so the run stops at once with
:class:`UsageCapError`; what was stored stays, and the same command continues after the cap
resets.

Media: ``type`` is ``photo``, ``video`` or ``animated_gif``; only photos have a ``url`` to the
image itself (videos and GIFs have a ``preview_image_url``, a still thumbnail). Every media
item is recorded with its type, but only photos go into the list of images to download
(:func:`media_table`). Each photo is recorded with both names the release's ``image_name`` may
use: its **media id**, the digits after the underscore of its media key (``3_<media id>``; the
store's ``image_name`` column, the form the release documents), and its **file code**, the last
part of its URL without the extension (``https://pbs.twimg.com/media/<file code>.jpg``; the
``file_code`` column). ``make images`` names the downloaded files by whichever the release uses
(see :mod:`twigma.fetch.images`). Stores written before the file code was recorded are upgraded
when opened: the code is derived from the stored URLs.

Twitter's content (tweet text, image URLs) stays on your disk: it is never committed or
redistributed (X Developer Agreement).
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import closing

import pandas as pd
import requests

from twigma import paths
from twigma.fetch.http import (
    PERMANENT,
    FetchError,
    TooLongWait,
    cut_off,
    describe,
    permanent_problem,
    policy_of,
    session,
    tries,
)

X_API = "https://api.x.com/2"
TOKEN_ENV = "X_BEARER_TOKEN"
BATCH = 100
TWEET_FIELDS = "created_at,public_metrics,possibly_sensitive,attachments,text"
MEDIA_FIELDS = "media_key,type,url,preview_image_url,width,height"
DEFAULT_STORE = "data/raw/rehydrated.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tweets (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,            -- ok, not_found, not_authorized, error
    text TEXT, created_at TEXT,
    like_count INTEGER, quote_count INTEGER, reply_count INTEGER, retweet_count INTEGER,
    possibly_sensitive INTEGER,
    error_title TEXT, error_detail TEXT,
    fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS media (
    media_key TEXT PRIMARY KEY,
    tweet_id TEXT NOT NULL,
    image_name TEXT NOT NULL,
    type TEXT, url TEXT, width INTEGER, height INTEGER,
    preview_image_url TEXT,          -- videos and animated GIFs: a still thumbnail, not the media
    file_code TEXT                   -- photos: <file code> of https://pbs.twimg.com/media/<file code>.jpg
);
CREATE INDEX IF NOT EXISTS media_image_name ON media(image_name);
"""
# image_name: the media id (the digits of the media key), the form the release documents
MEDIA_COLUMNS = ("media_key", "tweet_id", "image_name", "type", "url", "width", "height", "preview_image_url",
                 "file_code")
#: What ``make images`` can name a photo by: the media id or the file code.
NAME_BY = ("media_id", "file_code")


class AuthError(FetchError):
    """The API refused the token (HTTP 401/403)."""


class UsageCapError(FetchError):
    """The project's monthly usage cap is reached: nothing more can be read until it resets."""


def usage_capped(r: requests.Response) -> dict | None:
    """The problem-details body of a usage-cap answer (``UsageCapExceeded``, type ending in
    ``/usage-capped``), or None for any other answer."""
    try:
        body = r.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    problems = [body, *(e for e in body.get("errors") or [] if isinstance(e, dict))]
    for p in problems:
        if p.get("title") == "UsageCapExceeded" or str(p.get("type") or "").rstrip("/").endswith("/usage-capped"):
            return p
    return None


REDACTED = "[redacted]"
_SECRET_PATTERNS = (re.compile(r"(?i)\b(bearer)(\s+|%20|\+)[^\s\"',;&<>]+"),
                    re.compile(r"(?i)\b(authorization)([\"']?\s*[:=]\s*[\"']?)[^\r\n\"',;&<>]+"))


def redact(text: str, token: str | None = None) -> str:
    """``text`` with the bearer token (as sent, URL-decoded or URL-encoded) and any ``Authorization`` header
    or ``Bearer ...`` credential replaced by ``[redacted]``: what a server echoes never prints the token."""
    from urllib.parse import quote, unquote

    text = str(text)
    if token:
        for form in sorted({token, unquote(token), quote(token, safe="")}, key=len, reverse=True):
            if form:
                text = text.replace(form, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return text


_TWEET_ID = re.compile(r"[0-9]{1,19}")


def malformed(body) -> str | None:
    """What is wrong with a 200 answer of the tweet lookup, or None when it has the form the X API v2
    documents (``data``: tweets with an ``id``; ``includes.media``: media with a ``media_key``;
    ``errors``: objects)."""
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        return "a body without data or errors"
    data, errors = body.get("data") or [], body.get("errors") or []
    includes = body.get("includes") or {}
    media = includes.get("media") or [] if isinstance(includes, dict) else None
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        return "a body whose data is not a list of tweets"
    if not all(_TWEET_ID.fullmatch(str(t.get("id", ""))) for t in data):
        return "a tweet without an id of 1 to 19 digits"
    keys = [(t.get("attachments") or {}).get("media_keys", []) if isinstance(t.get("attachments") or {}, dict)
            else None for t in data]
    if any(not isinstance(k, list) or not all(isinstance(x, str) for x in k) for k in keys):
        return "a tweet whose attachments.media_keys is not a list of keys"
    if not isinstance(media, list) or not all(isinstance(m, dict) and isinstance(m.get("media_key"), str)
                                              for m in media):
        return "includes.media that is not a list of media with a media_key"
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        return "errors that are not a list of objects"
    return None


def token_from_env(env: str = TOKEN_ENV) -> str:
    token = os.environ.get(env, "").strip()
    if not token:
        raise AuthError(f"no bearer token: set the environment variable {env} to your X API bearer token "
                        f"(for example `export {env}=...` in your shell, not in a file of this repository).")
    return token


def connect(store: str | os.PathLike | None = None) -> sqlite3.Connection:
    path = paths.resolve(store, default=paths.ROOT / DEFAULT_STORE)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    have = {row[1] for row in con.execute("PRAGMA table_info(media)")}
    if "preview_image_url" not in have:  # a store written before videos were told apart
        with con:
            con.execute("ALTER TABLE media ADD COLUMN preview_image_url TEXT")
    if "file_code" not in have:  # a store written before file codes were recorded: derived from the URLs
        with con:
            con.execute("ALTER TABLE media ADD COLUMN file_code TEXT")
            rows = con.execute("SELECT media_key, url FROM media WHERE url IS NOT NULL").fetchall()
            con.executemany("UPDATE media SET file_code = ? WHERE media_key = ?",
                            [(file_code_of(url), key) for key, url in rows])
    con.execute("CREATE INDEX IF NOT EXISTS media_file_code ON media(file_code)")
    return con


def image_name_of(media_key: str) -> str:
    """The release's image_name of a media key: ``3_1612345678901234567`` -> ``1612345678901234567``."""
    return media_key.split("_", 1)[-1]


def file_code_of(url: str | None) -> str | None:
    """A photo's file code, the last part of its URL without the extension:
    ``https://pbs.twimg.com/media/FrXy7_aWcAE1a2b.jpg`` (or ``...?format=jpg&name=large``) ->
    ``FrXy7_aWcAE1a2b``; None when there is no URL."""
    from urllib.parse import urlsplit

    if not url:
        return None
    code = urlsplit(str(url)).path.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
    return code or None


def _countdown(seconds: float, sleep: Callable[[float], None], out=None) -> None:
    out = out or sys.stderr
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        print(f"\rrate limited by the X API: waiting {left:5.0f} s", end="", file=out, flush=True)
        sleep(min(1.0, left))
    print("\rrate limit reset: continuing" + " " * 20, file=out, flush=True)


def lookup(sess: requests.Session, ids: list[str], token: str, *, api: str = X_API, retries: int = 5,
           backoff: float = 2.0, sleep: Callable[[float], None] = time.sleep, max_wait: float = 3600) -> dict:
    """One tweet-lookup call for up to 100 ids, with rate-limit waits and retries; returns the JSON.

    ``sess`` retries server errors and refused connections (:func:`rehydrate` makes it); ``retries`` and
    ``backoff`` here count and space the tries of an answer whose body is cut off midway or malformed."""
    params = {"ids": ",".join(ids), "tweet.fields": TWEET_FIELDS, "expansions": "attachments.media_keys",
              "media.fields": MEDIA_FIELDS}
    headers = {"Authorization": f"Bearer {token}"}
    problem = None
    attempt = waits = 0
    while attempt <= retries:
        try:  # the lookup never redirects: one that does is not followed, with the token or without
            r = sess.get(f"{api.rstrip('/')}/tweets", params=params, headers=headers, timeout=(5, 60),
                         allow_redirects=False)
        except PERMANENT as exc:
            raise FetchError(f"the X API at {api} cannot be asked: {redact(permanent_problem(exc), token)}") from None
        except TooLongWait as exc:
            raise FetchError(f"{TooLongWait(exc.wait, exc.cap, exc.status, api)} Nothing of this batch was stored; "
                             "the same command continues where it stopped.") from None
        except requests.RequestException as exc:
            if not cut_off(exc):  # refused, timed out: the session's retries are spent
                raise FetchError(f"the X API kept failing ({redact(describe(exc), token)}) after "
                                 f"{tries(policy_of(sess, api))} tries; nothing of this batch was stored. Run the "
                                 "command again later: it continues where it stopped.") from None
            problem = f"{type(exc).__name__}"  # a body cut off midway, which urllib3 does not retry
        else:
            if 300 <= r.status_code < 400:
                raise FetchError(_redirect_message(r, api, token))
            cap = usage_capped(r) if r.status_code in (402, 403, 429) else None
            if cap is not None:
                raise UsageCapError(redact(_cap_message(cap), token))
            if r.status_code in (401, 403):
                raise AuthError(f"the X API refused the bearer token (HTTP {r.status_code}): check {TOKEN_ENV} "
                                "and your API access level.")
            if r.status_code == 429:
                reset = r.headers.get("x-rate-limit-reset")
                wait = max(1.0, float(reset) - time.time()) if reset else backoff * 2 ** attempt
                waits += 1
                if wait > max_wait or waits > 50:
                    raise FetchError(f"rate limited ({waits} waits, next {wait:.0f} s; at most {max_wait:.0f} s "
                                     "allowed): run the command again later; it continues where it stopped.")
                _countdown(wait, sleep)
                continue  # a rate-limit wait is not a failed try
            if r.status_code == 200:
                try:  # what the server echoes of the token is not stored either
                    body = json.loads(redact(r.text, token) if token and token in r.text else r.text)
                except ValueError:
                    problem = "malformed JSON body"
                else:
                    problem = malformed(body)
                    if problem is None:
                        return body
                    problem = f"a malformed body: {problem}"
            elif 500 <= r.status_code < 600:  # the session's retries are spent
                raise FetchError(f"the X API kept failing (HTTP {r.status_code}) after {tries(policy_of(sess, api))} "
                                 "tries; nothing of this batch was stored. Run the command again later: it continues "
                                 "where it stopped.")
            else:
                raise FetchError(f"the X API answered HTTP {r.status_code}: {redact(r.text, token)[:200]}")
        attempt += 1
        if attempt <= retries:
            sleep(backoff * 2 ** (attempt - 1))
    raise FetchError(f"the X API kept failing ({problem}) after {retries + 1} tries; nothing of this batch was "
                     "stored. Run the command again later: it continues where it stopped.")


def _redirect_message(r: requests.Response, api: str, token: str) -> str:
    where = redact(r.headers.get("Location") or "nowhere", token)
    return (f"the X API at {api} answered HTTP {r.status_code}, a redirect to {where[:200]}: the tweet lookup "
            "(GET /2/tweets) does not redirect, so it was not followed, the bearer token was not sent there and "
            "nothing was retried. Check --api or TWIGMA_X_API (a proxy or a moved endpoint?); nothing of this "
            "batch was stored.")


def _cap_message(p: dict) -> str:
    said = "; ".join(str(p[k]) for k in ("detail", "product_name", "period", "scope") if p.get(k))
    return (f"the monthly usage cap of your X API tier is reached (the API answered {p.get('title') or 'usage-capped'}"
            + (f": {said}" if said else "") + "). Waiting does not help until the cap resets (the reset date is on "
            "your project's dashboard in the developer portal, and in GET /2/usage/tweets as cap_reset_day). Nothing "
            "is lost: every batch stored so far stays in the store. Run the same command after the reset (or with a "
            "tier whose cap is larger) and it continues where it stopped.")


def _status_of(error: dict) -> str:
    title = (error.get("title") or "") + " " + (error.get("type") or "")
    if "Not Found" in title or "resource-not-found" in title:
        return "not_found"
    if "Authorization" in title or "not-authorized" in title or "Forbidden" in title:
        return "not_authorized"
    return "error"


def store_batch(con: sqlite3.Connection, ids: list[str], body: dict) -> dict:
    """Write one API answer: every asked id gets a row (ok, not_found, not_authorized or error)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    seen = {}
    media = {m.get("media_key"): m for m in (body.get("includes") or {}).get("media", []) if m.get("media_key")}
    counts = {"ok": 0, "not_found": 0, "not_authorized": 0, "error": 0}
    with con:  # one transaction
        for t in body.get("data") or []:
            pm = t.get("public_metrics") or {}
            con.execute("INSERT OR REPLACE INTO tweets VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (str(t["id"]), "ok", t.get("text"), t.get("created_at"), pm.get("like_count"),
                         pm.get("quote_count"), pm.get("reply_count"), pm.get("retweet_count"),
                         None if t.get("possibly_sensitive") is None else int(bool(t.get("possibly_sensitive"))),
                         None, None, now))
            for key in (t.get("attachments") or {}).get("media_keys", []):
                m = media.get(key, {})
                kind = m.get("type")
                url = m.get("url") if kind == "photo" else None  # only a photo's url is the image
                con.execute(f"INSERT OR REPLACE INTO media ({','.join(MEDIA_COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?)",
                            (key, str(t["id"]), image_name_of(key), kind, url,
                             m.get("width"), m.get("height"), m.get("preview_image_url"), file_code_of(url)))
            seen[str(t["id"])] = "ok"
        for e in body.get("errors") or []:
            tid = str(e.get("resource_id") or e.get("value") or "")
            if tid in ids and tid not in seen:
                status = _status_of(e)
                con.execute("INSERT OR REPLACE INTO tweets (id, status, error_title, error_detail, fetched_at) "
                            "VALUES (?,?,?,?,?)", (tid, status, e.get("title"), e.get("detail"), now))
                seen[tid] = status
        for tid in ids:  # neither data nor an error: record it so it is not asked again
            if tid not in seen:
                con.execute("INSERT OR REPLACE INTO tweets (id, status, error_detail, fetched_at) VALUES (?,?,?,?)",
                            (tid, "error", "absent from the API's answer", now))
                seen[tid] = "error"
    for s in seen.values():
        counts[s] += 1
    return counts


def pending_ids(con: sqlite3.Connection, ids: Iterable[str]) -> list[str]:
    """Ids not yet in the store, in their first-seen order, without duplicates."""
    done = {row[0] for row in con.execute("SELECT id FROM tweets")}
    return [i for i in dict.fromkeys(str(x) for x in ids) if i not in done]


def rehydrate(ids: Iterable[str], store: str | os.PathLike | None = None, *, api: str | None = None,
              token: str | None = None, batch: int = BATCH, limit: int | None = None, progress: bool = True,
              sleep: Callable[[float], None] = time.sleep, retries: int = 5, backoff: float = 2.0) -> dict:
    """Look up every id not yet in the store; returns counts by status for this run."""
    from tqdm.auto import tqdm

    token = token or token_from_env()
    api = api or os.environ.get("TWIGMA_X_API") or X_API
    con = connect(store)
    todo = pending_ids(con, ids)
    if limit is not None:
        todo = todo[:limit]
    totals = {"ok": 0, "not_found": 0, "not_authorized": 0, "error": 0, "asked": len(todo)}
    # urllib3 retries server errors and broken connections; a 429 is left to lookup(), which reads X's
    # x-rate-limit-reset and tells a rate limit from a spent monthly cap
    sess = session(retries=retries, backoff=backoff, statuses=range(500, 600), retry_after_statuses=(503,))
    try:
        with tqdm(total=len(todo), unit="tweet", desc="rehydrating", disable=not progress) as bar:
            for start in range(0, len(todo), batch):
                chunk = todo[start:start + batch]
                try:
                    body = lookup(sess, chunk, token, api=api, sleep=sleep, retries=retries, backoff=backoff)
                except UsageCapError as exc:
                    stored = con.execute("SELECT COUNT(*) FROM tweets").fetchone()[0]
                    left = len(todo) - start
                    raise UsageCapError(f"{exc}\n  This run stored {start:,} of {len(todo):,} tweets; the store "
                                        f"{paths.resolve(store, default=paths.ROOT / DEFAULT_STORE)} holds {stored:,}; "
                                        f"{left:,} are left to look up.") from None
                for k, v in store_batch(con, chunk, body).items():
                    totals[k] += v
                bar.update(len(chunk))
    finally:
        con.close()
    return totals


def release_ids(release: str | os.PathLike) -> list[str]:
    """The distinct tweet ids of a release file (refusing the synthetic sample, whose ids are made up)."""
    from twigma.release import load_release

    if release is None or not str(release).strip():
        raise FetchError("give the release file whose tweets to look up: make rehydrate RELEASE=data/raw/<file>")
    df = load_release(release)
    if df.attrs.get("synthetic"):
        raise FetchError(f"{release} is the synthetic sample: its tweet ids are made up, and looking them up would "
                         "spend your API quota. Give the real release: make rehydrate RELEASE=data/raw/<file>")
    return df["id"].drop_duplicates().tolist()


def tweet_texts(store: str | os.PathLike | None = None) -> pd.DataFrame:
    """Rehydrated tweets with text: columns ``id``, ``text`` (empty when the store is missing)."""
    path = paths.resolve(store, default=paths.ROOT / DEFAULT_STORE)
    if not path.exists():
        return pd.DataFrame(columns=["id", "text"])
    with closing(sqlite3.connect(path)) as con:
        return pd.read_sql_query("SELECT id, text FROM tweets WHERE status = 'ok' AND text IS NOT NULL", con)


def media_table(store: str | os.PathLike | None = None, name_by: str = "media_id") -> pd.DataFrame:
    """Photos to download: ``image_name`` (the name a file gets: the ``media_id`` or the
    ``file_code``, as ``name_by`` says), ``media_id``, ``file_code``, ``url``, ``tweet_id`` and
    ``type`` (always ``photo``).

    Videos and animated GIFs stay in the store with their type and thumbnail URL but are not
    listed: their thumbnail is not the media (see :func:`media_types`)."""
    if name_by not in NAME_BY:
        raise ValueError(f"name_by must be one of {', '.join(NAME_BY)}, not {name_by!r}")
    path = paths.resolve(store, default=paths.ROOT / DEFAULT_STORE)
    if not path.exists():
        raise FetchError(f"{path}: no rehydrated tweets yet; run `make rehydrate` first.")
    with closing(connect(path)) as con:  # connect upgrades a store written before file codes were recorded
        table = pd.read_sql_query("SELECT image_name AS media_id, file_code, url, tweet_id, type FROM media "
                                  "WHERE type = 'photo' AND url IS NOT NULL", con)
    table.insert(0, "image_name", table[name_by])
    return table


def media_types(store: str | os.PathLike | None = None) -> dict:
    """Media items of the store by type, e.g. ``{"photo": 812, "animated_gif": 3, "video": 1}``."""
    path = paths.resolve(store, default=paths.ROOT / DEFAULT_STORE)
    with closing(sqlite3.connect(path)) as con:
        return {str(k): int(v) for k, v in
                con.execute("SELECT COALESCE(type, 'unknown'), COUNT(*) FROM media GROUP BY 1 ORDER BY 1").fetchall()}


def summary(store: str | os.PathLike | None = None) -> dict:
    path = paths.resolve(store, default=paths.ROOT / DEFAULT_STORE)
    with closing(sqlite3.connect(path)) as con:
        rows = dict(con.execute("SELECT status, COUNT(*) FROM tweets GROUP BY status").fetchall())
        rows["media"] = con.execute("SELECT COUNT(*) FROM media").fetchone()[0]
    return rows
