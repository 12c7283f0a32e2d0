"""The fetchers against local servers that follow the documented responses of Zenodo, the X API
and an image host."""
from __future__ import annotations

import hashlib
import io
import sqlite3
import time

import numpy as np
import pandas as pd
import pytest
from servers import Reply

from twigma.fetch import images, x_api, zenodo
from twigma.fetch.http import FetchError
from twigma.synthetic.release import generate_release

# ---------------------------------------------------------------- Zenodo ------------------

@pytest.fixture
def release_bytes():
    buf = io.BytesIO()
    generate_release(500, seed=11).to_csv(buf, index=False)
    return buf.getvalue()


def zenodo_record(server, body: bytes, checksum: str | None = None, rdm: bool = False):
    md5 = checksum or "md5:" + hashlib.md5(body).hexdigest()
    entry = {"key": "TWIGMA_release.csv", "size": len(body), "checksum": md5,
             "links": {("content" if rdm else "self"): f"{server.url}/api/records/11_v4/files/TWIGMA_release.csv/content"}}
    readme = {"key": "README.md", "size": 10, "checksum": "md5:0", "links": {"self": f"{server.url}/x"}}
    files = {"entries": {"a": readme, "b": entry}} if rdm else [readme, entry]
    server.route("/api/records/8031785", Reply.json({"id": 8031785, "files": [readme],
                                                     "links": {"latest": f"{server.url}/api/records/8031785/versions/latest"}}))
    # Zenodo (InvenioRDM) answers versions/latest with a redirect to the newest record:
    # inveniosoftware/invenio-drafts-resources, invenio_drafts_resources/resources/records/resource.py,
    # RecordResource.read_latest ("Redirect to latest record": raise RedirectException(item["links"]["self"]))
    server.route("/api/records/8031785/versions/latest",
                 Reply(302, b"", {"Location": f"{server.url}/api/records/11"}))
    server.route("/api/records/11", Reply.json({"id": 11, "metadata": {"version": "v4"}, "files": files}))
    server.route("/api/records/11_v4/files/TWIGMA_release.csv/content", Reply(200, body))


@pytest.mark.parametrize("rdm", [False, True])
def test_zenodo_follows_latest_version_downloads_verifies_and_validates(server, tmp_path, release_bytes, rdm):
    zenodo_record(server, release_bytes, rdm=rdm)
    path = zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    assert path.name == "TWIGMA_release.csv" and path.read_bytes() == release_bytes
    asked = [p for p, _, _ in server.log]
    assert asked.index("/api/records/8031785/versions/latest") < asked.index("/api/records/11")  # redirect followed
    n_before = len(server.log)
    zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)  # already there: no download
    assert not any("content" in p for p, _, _ in server.log[n_before:])


def test_zenodo_rejects_a_corrupted_download(server, tmp_path, release_bytes):
    zenodo_record(server, release_bytes, checksum="md5:" + "0" * 32)
    with pytest.raises(FetchError, match="checksum"):
        zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    assert not list(tmp_path.iterdir())  # no partial or corrupt file left


def test_zenodo_404_and_offline_say_how_to_place_the_file(server, tmp_path):
    with pytest.raises(FetchError, match="404.*place the file by hand"):
        zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    started = time.perf_counter()
    with pytest.raises(FetchError, match="place the file by hand"):
        zenodo.fetch_release(tmp_path, api="http://127.0.0.1:9/api", progress=False)  # nothing listens there
    assert time.perf_counter() - started < 30


def test_zenodo_500_then_success(server, tmp_path, release_bytes):
    zenodo_record(server, release_bytes)
    calls = {"n": 0}
    good = server.routes["/api/records/8031785"]
    def flaky(req):
        calls["n"] += 1
        return Reply(500, b"oops") if calls["n"] == 1 else good(req)
    server.route("/api/records/8031785", flaky)
    path = zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    assert path.exists() and calls["n"] == 2


def test_zenodo_saves_raw_bytes_of_a_gzip_encoded_csv_gz(server, tmp_path, release_bytes):
    """A .csv.gz served with Content-Encoding: gzip keeps its bytes (and so its length and MD5)."""
    import gzip
    gz = gzip.compress(release_bytes, mtime=0)
    entry = {"key": "TWIGMA_release.csv.gz", "size": len(gz), "checksum": "md5:" + hashlib.md5(gz).hexdigest(),
             "links": {"self": f"{server.url}/api/records/11/files/TWIGMA_release.csv.gz/content"}}
    server.route("/api/records/8031785", Reply.json({"id": 8031785, "files": [entry], "links": {}}))
    server.route("/api/records/11/files/TWIGMA_release.csv.gz/content",
                 Reply(200, gz, {"Content-Type": "application/gzip", "Content-Encoding": "gzip"}))
    path = zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    assert path.read_bytes() == gz
    sent = [h for p, _, h in server.log if p.endswith("/content")][0]
    assert sent.get("Accept-Encoding") == "identity"


def test_zenodo_deposit_form_bare_md5_and_links_download(server, tmp_path, release_bytes):
    """The deposit API lists files as {checksum: <bare md5>, filename, filesize, links: {download, self}}
    (zenodo.org/dev quickstart), where self is the file's metadata, not its content."""
    entry = {"id": "eb78d50b", "filename": "TWIGMA_release.csv", "filesize": len(release_bytes),
             "checksum": hashlib.md5(release_bytes).hexdigest(),
             "links": {"self": f"{server.url}/api/deposit/depositions/11/files/eb78d50b",
                       "download": f"{server.url}/api/files/bucket-1/TWIGMA_release.csv"}}
    server.route("/api/records/8031785", Reply.json({"id": 8031785, "files": [entry], "links": {}}))
    server.route("/api/deposit/depositions/11/files/eb78d50b", Reply.json({"id": "eb78d50b"}))
    server.route("/api/files/bucket-1/TWIGMA_release.csv", Reply(200, release_bytes))
    path = zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    assert path.read_bytes() == release_bytes
    assert not any("deposit" in p for p, _, _ in server.log)
    assert zenodo.content_url({"self": f"{server.url}/api/records/11/files/a.csv"}) is None  # metadata only


def test_checksum_forms():
    from twigma.fetch.http import parse_checksum
    assert parse_checksum("md5:" + "A" * 32) == ("md5", "a" * 32)
    assert parse_checksum("b" * 32) == ("md5", "b" * 32)  # bare hex: an MD5
    assert parse_checksum("sha256:" + "c" * 64) == ("sha256", "c" * 64)
    assert parse_checksum(None) is None and parse_checksum("") is None
    for bad in ("crc32:1234abcd", "md5:xyz", "d" * 64, "sha256:" + "e" * 32):
        with pytest.raises(FetchError, match="cannot read the checksum"):
            parse_checksum(bad, what="TWIGMA_release.csv")


def test_zenodo_unreadable_checksum_is_a_clear_error(server, tmp_path, release_bytes):
    zenodo_record(server, release_bytes, checksum="crc32:1234abcd")
    with pytest.raises(FetchError, match="TWIGMA_release.csv: cannot read the checksum 'crc32:1234abcd'"):
        zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- X API --------------------

TOKEN = "test-token-SECRET-1234567890"


class FakeX:
    """Tweets 1..N exist except multiples of 7 (deleted) and of 11 (withheld); each has one photo."""

    # The 429 bodies are X's problem-details objects. A rate limit:
    # {"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}
    # (the body X returns, as quoted in many client logs); the monthly usage cap, as reported in
    # xdevplatform/xdk#25 (2026-02-07), with rate-limit headers that show requests to spare.
    RATE_LIMITED = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
    USAGE_CAPPED = {"account_id": "1234", "product_name": "standard-basic", "title": "UsageCapExceeded",
                    "period": "Monthly", "scope": "Product", "detail": "Usage cap exceeded: Monthly product cap",
                    "type": "https://api.twitter.com/2/problems/usage-capped"}

    def __init__(self, server, rate_limit_on_call=None, usage_cap_from_call=None,
                 photo_base="https://pbs.twimg.com/media"):
        self.calls, self.asked, self.rate_limit_on_call = 0, [], rate_limit_on_call
        self.usage_cap_from_call = usage_cap_from_call
        self.photo_base = photo_base
        server.route("/2/tweets", self)

    @staticmethod
    def file_code(tweet_id: str) -> str:
        """A photo's file code as X writes them (15 base64url characters), one per tweet."""
        n = int(tweet_id) % 1000
        return f"{'-_'[n % 2]}Fr{n:04d}aWcAE1a{'bB'[n % 2]}"[:15]

    @staticmethod
    def media_id(tweet_id: str) -> str:
        return str(int(tweet_id) + 5)

    def __call__(self, req):
        self.calls += 1
        if req.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply.json({"title": "Unauthorized", "status": 401}, status=401)
        if self.usage_cap_from_call and self.calls >= self.usage_cap_from_call:
            return Reply.json(self.USAGE_CAPPED, 429, {"x-rate-limit-limit": "40000", "x-rate-limit-remaining": "39999",
                                                       "x-rate-limit-reset": str(int(time.time()) + 900)})
        if self.rate_limit_on_call == self.calls:
            return Reply.json(self.RATE_LIMITED, 429, {"x-rate-limit-reset": str(int(time.time()) + 1)})
        ids = req.query["ids"].split(",")
        assert len(ids) <= 100
        assert "attachments.media_keys" in req.query["expansions"]
        self.asked += ids
        data, media, errors = [], [], []
        for i in ids:
            n = int(i) % 1000
            if n % 7 == 0:
                errors.append({"value": i, "detail": f"Could not find tweet with ids: [{i}].", "title": "Not Found Error",
                               "resource_type": "tweet", "parameter": "ids", "resource_id": i,
                               "type": "https://api.twitter.com/2/problems/resource-not-found"})
            elif n % 11 == 0:
                errors.append({"value": i, "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{i}].",
                               "title": "Authorization Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": i, "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"})
            else:
                key = f"3_{self.media_id(i)}"
                data.append({"id": i, "text": f"new AI art prompt {n}", "created_at": "2022-11-03T14:22:10.000Z",
                             "public_metrics": {"like_count": n, "quote_count": 0, "reply_count": 1, "retweet_count": 2},
                             "possibly_sensitive": False, "attachments": {"media_keys": [key]}})
                media.append({"media_key": key, "type": "photo", "url": f"{self.photo_base}/{self.file_code(i)}.jpg"})
        return Reply.json({"data": data, "includes": {"media": media}, "errors": errors})


IDS = [str(1600000000000000000 + i) for i in range(1, 251)]


def test_rehydrate_batches_records_deleted_and_withheld_and_maps_media(server, tmp_path):
    fake = FakeX(server)
    counts = x_api.rehydrate(IDS, tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False)
    assert fake.calls == 3 and sorted(fake.asked) == sorted(IDS)  # 100 + 100 + 50
    n = [int(i) % 1000 for i in IDS]
    assert counts["not_found"] == sum(1 for k in n if k % 7 == 0)
    assert counts["not_authorized"] == sum(1 for k in n if k % 7 and k % 11 == 0)
    assert counts["ok"] == 250 - counts["not_found"] - counts["not_authorized"]
    media = x_api.media_table(tmp_path / "t.sqlite")
    assert len(media) == counts["ok"]
    row = media.iloc[0]
    assert row["image_name"] == str(int(row["tweet_id"]) + 5)  # the digits of the media key
    texts = x_api.tweet_texts(tmp_path / "t.sqlite")
    assert len(texts) == counts["ok"] and texts["text"].str.startswith("new AI art").all()


def test_rehydrate_resumes_and_never_asks_an_id_twice(server, tmp_path):
    fake = FakeX(server)
    x_api.rehydrate(IDS, tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False, limit=120)
    x_api.rehydrate(IDS + IDS[:10], tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False)
    assert len(fake.asked) == len(set(fake.asked)) == 250
    again = x_api.rehydrate(IDS, tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False)
    assert again["asked"] == 0 and fake.calls == 4  # 2 batches (100 + 20) + 2 batches (100 + 30)


def test_rehydrate_waits_out_a_429_with_a_countdown(server, tmp_path, capsys):
    fake = FakeX(server, rate_limit_on_call=2)
    counts = x_api.rehydrate(IDS[:150], tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False)
    assert counts["asked"] == 150 and fake.calls == 3
    assert "rate limited by the X API: waiting" in capsys.readouterr().err


def test_a_usage_cap_429_stops_at_once_and_keeps_what_was_stored(server, tmp_path, capsys, monkeypatch):
    fake = FakeX(server, usage_cap_from_call=2)
    waits = []
    with pytest.raises(x_api.UsageCapError, match=r"(?s)monthly usage cap of your X API tier is reached.*"
                                                  r"Usage cap exceeded: Monthly product cap.*continues where it "
                                                  r"stopped.*This run stored 100 of 250 tweets"):
        x_api.rehydrate(IDS, tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False,
                        sleep=waits.append)
    assert fake.calls == 2 and waits == []  # no wait for x-rate-limit-reset, no retry
    assert sum(x_api.summary(tmp_path / "t.sqlite")[k] for k in ("ok", "not_found", "not_authorized")) == 100
    # the cap resets: the same command continues with the ids not yet stored
    fake.usage_cap_from_call = None
    again = x_api.rehydrate(IDS, tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False)
    assert again["asked"] == 150 and len(fake.asked) == len(set(fake.asked)) == 250
    # on the command line: exit status 1 and the message
    rel = tmp_path / "rel.csv"
    generate_release(300, seed=3).to_csv(rel, index=False)
    fake.usage_cap_from_call = fake.calls + 1
    monkeypatch.setenv(x_api.TOKEN_ENV, TOKEN)
    from twigma.cli import main
    assert main(["rehydrate", "--release", str(rel), "--store", str(tmp_path / "u.sqlite"),
                 "--api", f"{server.url}/2", "--quiet"]) == 1
    assert "monthly usage cap" in capsys.readouterr().err


def test_only_photos_go_to_the_image_list_videos_and_gifs_are_recorded(tmp_path):
    body = {"data": [{"id": "1", "text": "a", "attachments": {"media_keys": ["3_11", "3_12"]}},
                     {"id": "2", "text": "b", "attachments": {"media_keys": ["7_21"]}},
                     {"id": "3", "text": "c", "attachments": {"media_keys": ["16_31"]}}],
            # media fields as in the X API data dictionary: url only for photos, preview_image_url otherwise
            "includes": {"media": [
                {"media_key": "3_11", "type": "photo", "url": "https://pbs.twimg.com/media/A.jpg"},
                {"media_key": "3_12", "type": "photo", "url": "https://pbs.twimg.com/media/B.png"},
                {"media_key": "7_21", "type": "video",
                 "preview_image_url": "https://pbs.twimg.com/ext_tw_video_thumb/21/pu/img/C.jpg"},
                {"media_key": "16_31", "type": "animated_gif",
                 "preview_image_url": "https://pbs.twimg.com/tweet_video_thumb/D.jpg"}]}}
    con = x_api.connect(tmp_path / "t.sqlite")
    x_api.store_batch(con, ["1", "2", "3"], body)
    con.close()
    media = x_api.media_table(tmp_path / "t.sqlite")
    assert sorted(media["image_name"]) == ["11", "12"] and set(media["type"]) == {"photo"}
    assert x_api.media_types(tmp_path / "t.sqlite") == {"animated_gif": 1, "photo": 2, "video": 1}
    rows = dict(sqlite3.connect(tmp_path / "t.sqlite").execute("SELECT media_key, preview_image_url FROM media"))
    assert rows["7_21"].endswith("C.jpg") and rows["3_11"] is None


def test_a_store_written_before_media_types_were_told_apart_is_upgraded(tmp_path):
    con = sqlite3.connect(tmp_path / "old.sqlite")
    con.executescript("""CREATE TABLE media (media_key TEXT PRIMARY KEY, tweet_id TEXT NOT NULL,
                         image_name TEXT NOT NULL, type TEXT, url TEXT, width INTEGER, height INTEGER);""")
    con.executemany("INSERT INTO media VALUES (?,?,?,?,?,?,?)",
                    [("3_1", "9", "1", "photo", "https://x/1.jpg", 1, 1), ("7_2", "9", "2", "video", "https://x/t.jpg", 1, 1)])
    con.commit()
    con.close()
    x_api.connect(tmp_path / "old.sqlite").close()  # adds the preview_image_url column
    assert x_api.media_table(tmp_path / "old.sqlite")["image_name"].tolist() == ["1"]  # the video's thumbnail is not listed


def test_an_interrupted_rehydration_loses_nothing(server, tmp_path):
    fake = FakeX(server)
    original = x_api.store_batch
    state = {"n": 0}

    def die_on_second(con, ids, body):
        state["n"] += 1
        if state["n"] == 2:
            raise KeyboardInterrupt
        return original(con, ids, body)
    x_api.store_batch = die_on_second
    try:
        with pytest.raises(KeyboardInterrupt):
            x_api.rehydrate(IDS, tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False)
    finally:
        x_api.store_batch = original
    con = sqlite3.connect(tmp_path / "t.sqlite")
    assert con.execute("SELECT COUNT(*) FROM tweets").fetchone()[0] == 100  # the first batch, whole
    x_api.rehydrate(IDS, tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False)
    assert con.execute("SELECT COUNT(*) FROM tweets").fetchone()[0] == 250
    from collections import Counter
    times = Counter(fake.asked)
    assert all(times[i] == 1 for i in IDS[:100])  # the stored batch is never asked again
    assert all(times[i] == 2 for i in IDS[100:200])  # the batch lost to the interruption is asked once more
    assert all(times[i] == 1 for i in IDS[200:])


def test_a_killed_rehydration_resumes(server, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    fake = FakeX(server)
    slow = lambda req: (time.sleep(0.4), fake(req))[1]  # noqa: E731
    server.route("/2/tweets", slow)
    rel = tmp_path / "rel.csv"
    raw = generate_release(1200, seed=5)
    raw.to_csv(rel, index=False)
    n_tweets = raw["id"].nunique()
    cmd = [sys.executable, "-m", "twigma", "rehydrate", "--release", str(rel), "--store", str(tmp_path / "t.sqlite"),
           "--api", f"{server.url}/2", "--quiet"]
    env = {**os.environ, x_api.TOKEN_ENV: TOKEN}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    count = 0
    while time.time() < deadline and proc.poll() is None:
        if (tmp_path / "t.sqlite").exists():
            try:
                count = sqlite3.connect(tmp_path / "t.sqlite").execute("SELECT COUNT(*) FROM tweets").fetchone()[0]
            except sqlite3.Error:
                count = 0
            if count >= 100:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sqlite3.connect(tmp_path / "t.sqlite").execute("SELECT COUNT(*) FROM tweets").fetchone()[0]
    assert 100 <= done < n_tweets and done % 100 == 0  # whole batches only
    stored = {row[0] for row in sqlite3.connect(tmp_path / "t.sqlite").execute("SELECT id FROM tweets")}
    time.sleep(1.0)  # let the server finish the request that was in flight at the kill
    asked_before = len(fake.asked)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sqlite3.connect(tmp_path / "t.sqlite").execute("SELECT COUNT(*) FROM tweets").fetchone()[0] == n_tweets
    rerun = fake.asked[asked_before:]
    assert len(rerun) == len(set(rerun)) and set(rerun) == set(raw["id"]) - stored  # only what was missing


def test_malformed_bodies_are_retried_then_fail_cleanly(server, tmp_path):
    server.route("/2/tweets", Reply(200, b"{not json", {"Content-Type": "application/json"}))
    with pytest.raises(FetchError, match="malformed JSON.*nothing of this batch was stored"):
        x_api.rehydrate(IDS[:5], tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False,
                        retries=2, backoff=0.01)
    assert x_api.summary(tmp_path / "t.sqlite") == {"media": 0}


def test_bad_or_missing_token(server, tmp_path, monkeypatch):
    FakeX(server)
    with pytest.raises(x_api.AuthError, match="refused the bearer token"):
        x_api.rehydrate(IDS[:5], tmp_path / "t.sqlite", api=f"{server.url}/2", token="wrong", progress=False)
    monkeypatch.delenv(x_api.TOKEN_ENV, raising=False)
    with pytest.raises(x_api.AuthError, match="X_BEARER_TOKEN"):
        x_api.rehydrate(IDS[:5], tmp_path / "t.sqlite", api=f"{server.url}/2", progress=False)


def test_the_token_never_reaches_logs_files_or_output(server, tmp_path, monkeypatch, capsys, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    FakeX(server, rate_limit_on_call=1)
    monkeypatch.setenv(x_api.TOKEN_ENV, TOKEN)
    rel = tmp_path / "rel.csv"
    raw = generate_release(300, seed=3)
    raw.to_csv(rel, index=False)
    from twigma.cli import main
    assert main(["rehydrate", "--release", str(rel), "--store", str(tmp_path / "t.sqlite"),
                 "--api", f"{server.url}/2", "--quiet"]) == 0
    server.route("/2/tweets", Reply(401, b"{}"))
    assert main(["rehydrate", "--release", str(rel), "--store", str(tmp_path / "u.sqlite"),
                 "--api", f"{server.url}/2", "--quiet"]) == 1
    # the rehydrated store feeds notebook 01, run with the token in the kernel's environment
    from twigma import paths
    from twigma.run.runner import run_notebook
    run_notebook(paths.NOTEBOOKS / "01_growth.ipynb", release=rel, out=tmp_path / "out",
                 parameters={"TWEETS": str(tmp_path / "t.sqlite")})
    assert (tmp_path / "out" / "results" / "tweet_top_words.csv").exists()
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    assert TOKEN not in caplog.text
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p


# ---------------------------------------------------------------- images -------------------

def jpeg_bytes(size=(64, 48)) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((*size[::-1], 3)) * 255).astype("uint8")).save(buf, "JPEG")
    return buf.getvalue()


def test_image_download_checks_bodies_and_records_failures(server, tmp_path):
    good = jpeg_bytes()
    server.route("/good.jpg", Reply(200, good, {"Content-Type": "image/jpeg"}))
    server.route("/truncated.jpg", Reply(200, good[: len(good) // 2], {"Content-Type": "image/jpeg"}))
    server.route("/page.jpg", Reply(200, b"<html><body>login</body></html>", {"Content-Type": "text/html"}))
    server.route("/huge.jpg", Reply(200, good * 50, {"Content-Type": "image/jpeg"}))
    server.route("/slow.jpg", Reply(200, good, {"Content-Type": "image/jpeg"}, delay=3))
    calls = {"n": 0}
    def flaky(req):
        calls["n"] += 1
        return Reply(503, b"busy") if calls["n"] == 1 else Reply(200, good)
    server.route("/flaky.jpg", flaky)
    media = pd.DataFrame({"image_name": ["1", "2", "3", "4", "5", "6", "7"],
                          "url": [f"{server.url}/{p}.jpg" for p in ("good", "truncated", "page", "huge", "slow", "flaky", "missing")]})
    counts = images.download_images(media, tmp_path / "imgs", threads=4, max_bytes=len(good) * 10, timeout=(2, 1),
                                    retries=1, backoff=0.01, progress=False)
    files = sorted(p.name for p in (tmp_path / "imgs").iterdir())
    assert "1.jpg" in files and "6.jpg" in files and not any(f.endswith(".part") for f in files)
    assert (tmp_path / "imgs" / "1.jpg").read_bytes() == good
    fails = pd.read_csv(tmp_path / "imgs" / images.FAILURES, dtype=str).set_index("image_name")["reason"]
    assert set(fails.index) == {"2", "3", "4", "5", "7"}
    assert "not a readable image" in fails["2"] and "not a readable image" in fails["3"]
    assert "too large" in fails["4"] and "HTTP 404" in fails["7"]
    assert "Timeout" in fails["5"] or "tries" in fails["5"]
    assert counts == {"asked": 7, "downloaded": 2, "failed": 5, "already_there": 0, "folder": str(tmp_path / "imgs")}

    # a rerun skips what is there and tries the failures again; a success clears its failure row
    server.route("/slow.jpg", Reply(200, good, {"Content-Type": "image/jpeg"}))
    n_before = len(server.log)
    again = images.download_images(media, tmp_path / "imgs", threads=2, max_bytes=len(good) * 10, retries=0,
                                   progress=False)
    asked = {p for p, _, _ in server.log[n_before:]}
    assert "/good.jpg" not in asked and "/slow.jpg" in asked
    assert again["downloaded"] == 1 and again["already_there"] == 2
    fails = pd.read_csv(tmp_path / "imgs" / images.FAILURES, dtype=str)
    assert "5" not in set(fails["image_name"])


def test_images_follow_rehydration_names_into_embeddable_files(server, tmp_path):
    FakeX(server)
    x_api.rehydrate(IDS[:20], tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False)
    media = x_api.media_table(tmp_path / "t.sqlite")
    good = jpeg_bytes()
    for u in media["url"]:
        server.route("/" + u.rsplit("/", 1)[1], Reply(200, good))
    media["url"] = [f"{server.url}/{u.rsplit('/', 1)[1]}" for u in media["url"]]
    images.download_images(media, tmp_path / "imgs", progress=False)
    from twigma.embeddings.embed import list_images
    assert sorted(p.stem for p in list_images(tmp_path / "imgs")) == sorted(media["image_name"])


# ------------------------------------------- photos matched to rows by media id or file code -----

def release_of(ids, image_names):
    """A release table (one image per tweet) with the given tweet ids and image names."""
    raw = generate_release(len(ids), seed=5)
    raw["id"], raw["image_name"] = list(ids), list(image_names)
    return raw


def serve_photos(server, fake, ids, missing=()):
    """The image host: every photo of ``ids`` at the URL the fake X API gives, but those of ``missing`` (404)."""
    good = jpeg_bytes()
    for i in ids:
        if i not in missing:
            server.route(f"/media/{fake.file_code(i)}.jpg", Reply(200, good, {"Content-Type": "image/jpeg"}))


def expected_matches(ids, missing=()):
    """Rows whose tweet the fake API returns (not deleted, not withheld) and whose photo the host serves."""
    return sum(1 for i in ids if int(i) % 1000 % 7 and int(i) % 1000 % 11 and i not in missing)


def test_file_code_is_recorded_from_the_photo_url():
    assert x_api.file_code_of("https://pbs.twimg.com/media/FrXy7_aWcAE1a2b.jpg") == "FrXy7_aWcAE1a2b"
    assert x_api.file_code_of("https://pbs.twimg.com/media/FrXy7_aWcAE1a2b?format=png&name=large") == "FrXy7_aWcAE1a2b"
    assert x_api.file_code_of(None) is None


@pytest.mark.parametrize("form", ["file_code", "file_name", "media_id"])
def test_make_images_names_photos_as_the_release_does_and_reports_the_match_rate(server, tmp_path, capsys, form):
    ids = IDS[:40]
    fake = FakeX(server, photo_base=f"{server.url}/media")
    missing = {ids[2], ids[3]}  # photos the host no longer serves
    serve_photos(server, fake, ids, missing)
    names = {"file_code": [fake.file_code(i) for i in ids], "file_name": [fake.file_code(i) + ".jpg" for i in ids],
             "media_id": [fake.media_id(i) for i in ids]}[form]
    rel = tmp_path / "rel.csv"
    release_of(ids, names).to_csv(rel, index=False)
    from twigma.cli import main
    db, dest = str(tmp_path / "t.sqlite"), tmp_path / "imgs"
    x_api.rehydrate(ids, db, api=f"{server.url}/2", token=TOKEN, progress=False)
    assert main(["images", "--store", db, "--dest", str(dest), "--release", str(rel), "--quiet"]) == 0
    said = capsys.readouterr().out
    by = "media id" if form == "media_id" else "file code"
    assert f"naming photos by {by}" in said, said
    n = expected_matches(ids, missing)
    assert f"match rate: {n:,} of {len(ids):,} rows of the release ({n / len(ids):.1%})" in said, said
    stems = {p.stem for p in dest.iterdir() if p.suffix == ".jpg"}
    keys = {fake.media_id(i) if form == "media_id" else fake.file_code(i) for i in ids}
    assert len(stems) == n and stems <= keys  # every file is named as a row of the release

    # the embeddings made from those files line up with the release's rows
    import numpy as np

    from twigma.embeddings import store
    from twigma.release import load_release
    release = load_release(rel, cache=False)
    assert release.attrs["image_name_form"] == form
    emb = store.Embeddings("twigma", pd.Index(sorted(stems)), np.eye(len(stems), 8, dtype="float32"))
    mask, vectors = store.align(release, emb)
    assert mask.sum() == n and vectors.shape == (n, 8)


def test_name_by_can_be_forced_and_a_mismatch_shows_in_the_match_rate(server, tmp_path, capsys):
    ids = IDS[:30]
    fake = FakeX(server, photo_base=f"{server.url}/media")
    serve_photos(server, fake, ids)
    rel = tmp_path / "rel.csv"
    release_of(ids, [fake.file_code(i) for i in ids]).to_csv(rel, index=False)
    from twigma.cli import main
    db = str(tmp_path / "t.sqlite")
    x_api.rehydrate(ids, db, api=f"{server.url}/2", token=TOKEN, progress=False)
    assert main(["images", "--store", db, "--dest", str(tmp_path / "a"), "--release", str(rel),
                 "--name-by", "media_id", "--quiet"]) == 0
    said = capsys.readouterr().out
    assert f"match rate: 0 of {len(ids)} rows of the release (0.0%)" in said, said
    assert sorted(p.stem for p in (tmp_path / "a").glob("*.jpg")) == sorted(
        fake.media_id(i) for i in ids if int(i) % 1000 % 7 and int(i) % 1000 % 11)
    # without a release: media ids, the documented form, and a word on how to get the match rate
    assert main(["images", "--store", db, "--dest", str(tmp_path / "b"), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "naming photos by media id" in said and "give RELEASE" in said and "match rate" in said


def test_a_float_image_name_warns_and_nothing_can_be_matched(server, tmp_path, capsys):
    ids = IDS[:30]
    fake = FakeX(server, photo_base=f"{server.url}/media")
    serve_photos(server, fake, ids)
    rel = tmp_path / "rel.csv"
    release_of(ids, [f"{float(fake.media_id(i)):.15e}" for i in ids]).to_csv(rel, index=False)
    from twigma.cli import main
    db = str(tmp_path / "t.sqlite")
    x_api.rehydrate(ids, db, api=f"{server.url}/2", token=TOKEN, progress=False)
    with pytest.warns(UserWarning, match="matching images to rows is not possible"):
        assert main(["images", "--store", db, "--dest", str(tmp_path / "imgs"), "--release", str(rel),
                     "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "naming photos by media id" in said and "match rate: 0 of 30" in said and "float-formatted" in said

    # the image notebooks' alignment says why nothing matches, rather than a silent 0
    import numpy as np

    from twigma.embeddings import store
    from twigma.release import load_release
    with pytest.warns(UserWarning):
        release = load_release(rel, cache=False)
    stems = sorted(p.stem for p in (tmp_path / "imgs").glob("*.jpg"))
    emb = store.Embeddings("twigma", pd.Index(stems), np.eye(len(stems), 8, dtype="float32"))
    with pytest.raises(store.StoreError, match="floating-point numbers") as info:
        store.align(release, emb)
    assert "8031785" in str(info.value) and "no image can be matched" in str(info.value)


def test_align_names_both_forms_when_nothing_matches():
    import numpy as np

    from twigma.embeddings import store
    release = generate_release(40, seed=2)
    emb = store.Embeddings("twigma", pd.Index([f"FrXy7_aWcAE{i:04d}" for i in range(5)]), np.eye(5, 8, dtype="float32"))
    with pytest.raises(store.StoreError, match="form media_id .* form file_code"):
        store.align(release, emb)


def test_a_store_written_before_file_codes_were_recorded_is_upgraded(tmp_path):
    con = sqlite3.connect(tmp_path / "old.sqlite")
    con.executescript("""CREATE TABLE media (media_key TEXT PRIMARY KEY, tweet_id TEXT NOT NULL,
                         image_name TEXT NOT NULL, type TEXT, url TEXT, width INTEGER, height INTEGER,
                         preview_image_url TEXT);""")
    con.executemany("INSERT INTO media VALUES (?,?,?,?,?,?,?,?)",
                    [("3_11", "1", "11", "photo", "https://pbs.twimg.com/media/_Ab1-cD2.jpg", 10, 10, None),
                     ("7_21", "2", "21", "video", None, 10, 10, "https://pbs.twimg.com/ext_tw_video_thumb/21/x.jpg")])
    con.commit()
    con.close()
    media = x_api.media_table(tmp_path / "old.sqlite", name_by="file_code")
    assert media[["image_name", "media_id", "file_code"]].values.tolist() == [["_Ab1-cD2", "11", "_Ab1-cD2"]]
    with pytest.raises(ValueError, match="name_by"):
        x_api.media_table(tmp_path / "old.sqlite", name_by="tweet_id")


# ---------------------------------------------------------------- reference sets -----------

def zip_bytes(members: dict[str, bytes]) -> bytes:
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def raw_dir(tmp_path, monkeypatch):
    from twigma import paths
    monkeypatch.setattr(paths, "RAW", tmp_path / "raw")
    return tmp_path / "raw"


def coco_server(server, n=12, bad_md5=False):
    from twigma.fetch import references
    img = jpeg_bytes()
    files = {f"val2017/{i:012d}.jpg": img for i in range(1, n + 1)}
    caps = {"images": [{"id": i, "file_name": f"{i:012d}.jpg", "width": 64, "height": 48} for i in range(1, n + 1)],
            "annotations": [{"image_id": i, "id": 100 + i * 5 + k, "caption": f"a photo number {i} take {k}"}
                            for i in range(1, n + 1) for k in range(5)]}
    images_zip = zip_bytes(files)
    ann_zip = zip_bytes({"annotations/captions_val2017.json": json_bytes(caps)})
    server.route("/zips/val2017.zip", Reply(200, images_zip))
    server.route("/annotations/annotations_trainval2017.zip", Reply(200, ann_zip))
    md5 = {"val2017.zip": hashlib.md5(images_zip).hexdigest(),
           "annotations_trainval2017.zip": hashlib.md5(ann_zip).hexdigest()}
    real = references.coco_archives
    def archives(base=None):
        return [references.Archive(a.name, a.url, "md5:" + ("0" * 32 if bad_md5 else md5[a.name])) for a in real(server.url)]
    return archives


def json_bytes(obj) -> bytes:
    import json
    return json.dumps(obj).encode()


def test_coco_reference_set_sample_with_captions(server, tmp_path, raw_dir, monkeypatch):
    from twigma.fetch import references
    monkeypatch.setattr(references, "coco_archives", coco_server(server))
    out = references.fetch_coco(tmp_path / "refs", n=5, seed=1, progress=False)
    meta = pd.read_csv(out / "_meta.csv", dtype=str)
    assert len(meta) == 5 and sorted(p.name for p in out.glob("*.jpg")) == sorted(meta["file"])
    assert meta["captions"].str.count(r"\|").eq(4).all()
    again = references.fetch_coco(tmp_path / "refs2", n=5, seed=1, progress=False)
    assert pd.read_csv(again / "_meta.csv", dtype=str)["id"].tolist() == meta["id"].tolist()  # seeded
    assert sum(1 for p, _, _ in server.log if p.endswith(".zip")) == 2  # archives downloaded once


def test_coco_checksum_mismatch_is_rejected(server, tmp_path, raw_dir, monkeypatch):
    from twigma.fetch import references
    monkeypatch.setattr(references, "coco_archives", coco_server(server, bad_md5=True))
    with pytest.raises(FetchError, match="checksum"):
        references.fetch_coco(tmp_path / "refs", n=3, progress=False)
    assert not list((raw_dir / "downloads").glob("*.zip"))


def test_wikiart_sample_metadata_and_unsafe_archives(server, tmp_path, raw_dir):
    from twigma.fetch import references
    img = jpeg_bytes()
    members = {f"wikiart/{style}/{artist}_{title}-19{i:02d}.jpg": img
               for i, (style, artist, title) in enumerate([("Impressionism", "claude-monet", "water-lilies"),
                                                           ("Baroque", "rembrandt", "the-night-watch"),
                                                           ("Ukiyo_e", "katsushika-hokusai", "the-great-wave"),
                                                           ("Cubism", "pablo-picasso", "guernica")])}
    server.route("/wikiart.zip", Reply(200, zip_bytes(members)))
    out = references.fetch_wikiart(tmp_path / "refs", n=3, seed=0, url=f"{server.url}/wikiart.zip", progress=False)
    meta = pd.read_csv(out / "_meta.csv", dtype=str)
    assert len(meta) == 3 and set(meta.columns) >= {"id", "title", "artist", "style", "genre"}
    row = meta.set_index("artist").loc["claude monet"] if "claude monet" in set(meta["artist"]) else meta.iloc[0]
    assert row["title"] and row["style"]
    assert (raw_dir / "downloads" / "SHA256SUMS").read_text().endswith("  wikiart.zip\n")  # recorded on first use

    evil = zip_bytes({"wikiart/Baroque/a_b.jpg": img, "../../evil.jpg": img})
    server.route("/evil.zip", Reply(200, evil))
    with pytest.raises(FetchError, match="unsafe member"):
        references.fetch_wikiart(tmp_path / "refs_evil", n=1, url=f"{server.url}/evil.zip", progress=False,
                                 checksum="sha256:" + hashlib.sha256(evil).hexdigest())
    assert not (tmp_path / "evil.jpg").exists() and not (tmp_path.parent / "evil.jpg").exists()


def test_an_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    from twigma.fetch.http import download

    body = bytes(range(256)) * 400
    def ranged(req):
        rng = req.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].rstrip("-"))
            return Reply(206, body[start:], {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})
        return Reply(200, body)
    server.route("/big.bin", ranged)
    (tmp_path / "big.bin.part").write_bytes(body[:30000])  # what a killed run left
    path = download(f"{server.url}/big.bin", tmp_path / "big.bin", checksum="md5:" + hashlib.md5(body).hexdigest(),
                    progress=False)
    assert path.read_bytes() == body and not (tmp_path / "big.bin.part").exists()
    assert server.log[-1][2].get("Range") == "bytes=30000-"


def test_a_whole_part_file_over_the_limit_is_refused(server, tmp_path):
    from twigma.fetch.http import download

    server.route("/whole.bin", Reply(416))  # the part file already holds the whole body
    (tmp_path / "whole.bin.part").write_bytes(b"x" * 100)
    with pytest.raises(FetchError, match="100 bytes is over the 10-byte limit"):
        download(f"{server.url}/whole.bin", tmp_path / "whole.bin", max_bytes=10, progress=False)


def test_rehydration_refuses_the_synthetic_sample():
    with pytest.raises(FetchError, match="give the release file"):
        x_api.release_ids("")
    from twigma import paths
    with pytest.raises(FetchError, match="synthetic sample"):
        x_api.release_ids(paths.SAMPLE_RELEASE)


def test_a_body_cut_off_mid_download_is_recorded_not_fatal(tmp_path, monkeypatch):
    import requests

    class Cut:
        status_code, headers = 200, {"Content-Length": "100"}
        def __enter__(self): return self
        def __exit__(self, *a): return False
        def iter_content(self, n):
            yield b"\xff\xd8"
            raise requests.exceptions.ChunkedEncodingError("connection broken")
    monkeypatch.setattr(requests.Session, "get", lambda self, url, **kw: Cut())
    media = pd.DataFrame({"image_name": ["1", "2"], "url": ["http://127.0.0.1:9/a.jpg", "http://127.0.0.1:9/b.jpg"]})
    counts = images.download_images(media, tmp_path / "imgs", retries=1, backoff=0.01, progress=False)
    assert counts["failed"] == 2
    fails = pd.read_csv(tmp_path / "imgs" / images.FAILURES, dtype=str)
    assert fails["reason"].str.contains("ChunkedEncodingError").all()


# ---------------------------------------------------------------- WikiArt sources -----------

def test_the_download_manifest_lists_two_wikiart_alternatives():
    from twigma.fetch import references
    from twigma.fetch.http import MAGIC
    m = references.manifest()
    sources = m["wikiart"]["sources"]
    assert len(sources) >= 2 and all(s["url"].startswith("http") and s["format"] in MAGIC for s in sources)
    assert len({s["url"] for s in sources}) == len(sources)
    assert [a.url for a in references.wikiart_sources()] == [s["url"] for s in sources]
    assert references.wikiart_sources("http://example.org/w.tar.gz")[0].format == "tar.gz"


def art_members(n=6, broken=None) -> dict[str, bytes]:
    from PIL import Image
    out = {}
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (i * 40 % 256, 0, 0)).save(buf, "PNG")
        out[f"wikiart/Impressionism/claude-monet_painting-{i}.png"] = buf.getvalue()
    return out


def tar_gz_bytes(members: dict[str, bytes]) -> bytes:
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo("./" + name)  # the layout of a tar made with `tar czf x.tar.gz ./wikiart`
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


HTML = b"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>...</body></html>"


def test_wikiart_tries_its_sources_in_order_and_refuses_an_html_page(server, tmp_path, raw_dir, capsys):
    from twigma.fetch import references
    members = art_members()
    server.route("/drive/wikiart.zip", Reply(200, HTML, {"Content-Type": "text/html"}))
    server.route("/archive/wikiart.tar.gz", Reply(200, tar_gz_bytes(members)))
    sources = [references.Archive("wikiart.zip", "http://127.0.0.1:9/wikiart.zip", None, "zip", "unreachable"),
               references.Archive("wikiart.zip", f"{server.url}/drive/wikiart.zip", None, "zip", "an HTML page"),
               references.Archive("wikiart.tar.gz", f"{server.url}/archive/wikiart.tar.gz", None, "tar.gz", "archive")]
    out = references.fetch_wikiart(tmp_path / "refs", n=4, seed=0, sources=sources, progress=False, retries=0)
    meta = pd.read_csv(out / "_meta.csv", dtype=str)
    assert len(meta) == 4 and sorted(p.name for p in out.glob("*.png")) == sorted(meta["file"])
    assert meta["artist"].eq("claude monet").all() and meta["source"].str.contains("wikiart.tar.gz").all()
    downloads = raw_dir / "downloads"
    assert sorted(p.name for p in downloads.iterdir()) == ["SHA256SUMS", "wikiart.tar.gz"]  # the page was not kept
    assert (downloads / "SHA256SUMS").read_text().endswith("  wikiart.tar.gz\n")  # and its checksum not recorded
    assert "trying the next source" in capsys.readouterr().out

    with pytest.raises(FetchError, match=r"(?s)no source of the archive could be used.*wikiart.zip from "
                                         r".*is an HTML page, not a zip archive.*Download one of them by hand"):
        references.fetch_wikiart(tmp_path / "refs2", n=2, sources=sources[1:2], progress=False, retries=0)
    assert "wikiart.zip" not in (downloads / "SHA256SUMS").read_text()


def test_damaged_zip_members_are_skipped_and_listed(server, tmp_path, raw_dir):
    from twigma.fetch import references
    members = art_members(6)
    victim = "wikiart/Impressionism/claude-monet_painting-2.png"
    blob = bytearray(zip_bytes(members))  # stored, not deflated: the member's bytes appear as they are
    at = bytes(blob).index(members[victim]) + 40
    blob[at] ^= 0xFF  # a bad CRC-32, as in cs-chan/ArtGAN#14 (2025-03-18)
    server.route("/wikiart.zip", Reply(200, bytes(blob)))
    out = references.fetch_wikiart(tmp_path / "refs", n=6, url=f"{server.url}/wikiart.zip", progress=False)
    damaged = pd.read_csv(out / "_damaged.csv", dtype=str)
    assert damaged["member"].tolist() == [victim] and damaged["reason"].str.contains("CRC").all()
    meta = pd.read_csv(out / "_meta.csv", dtype=str)
    assert len(meta) == 5 and sorted(p.name for p in out.glob("*.png")) == sorted(meta["file"])
    assert "claude-monet_painting-2" not in " ".join(meta["file"])
