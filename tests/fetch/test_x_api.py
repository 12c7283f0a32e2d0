"""Tests of twigma.fetch.x_api: rehydration: tweets and their photos' URLs by tweet id, from the X (Twitter) API v2."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest
from support.fake_services import IDS, TOKEN, FakeX, jpeg_bytes
from support.rehydration import ENCODED_TOKEN, rehydrate
from support.servers import LocalServer, Reply

from twigma.cli import main
from twigma.fetch import images, x_api
from twigma.fetch.http import FetchError
from twigma.synthetic.release import generate_release


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


def test_server_errors_are_retried_by_the_session_honouring_a_503s_retry_after(server, tmp_path):
    """X's docs ("Response codes") list 500, 502, 503 (overloaded: "try again later") and 504 as its
    errors; a 503 may say when (Retry-After, RFC 9110 section 10.2.3). A 429 is not the session's: see
    the countdown and usage-cap tests."""
    fake = FakeX(server)
    seen = []

    def flaky(req):
        seen.append(time.monotonic())
        if len(seen) == 1:
            return Reply(503, b"Service Unavailable", {"Retry-After": "1"})
        return Reply(500, b"Internal Server Error") if len(seen) == 2 else fake(req)
    server.route("/2/tweets", flaky)
    counts = x_api.rehydrate(IDS[:5], tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False,
                             retries=2, backoff=0.01)
    assert counts["asked"] == 5 and counts["ok"] + counts["not_found"] + counts["not_authorized"] == 5
    assert len(seen) == 3 and seen[1] - seen[0] >= 0.95
    server.route("/2/tweets", Reply(502, b"Bad Gateway"))
    n_before = len(server.log)
    with pytest.raises(FetchError, match=r"kept failing \(HTTP 502\) after 3 tries; nothing of this batch was stored"):
        x_api.rehydrate(IDS[5:10], tmp_path / "t.sqlite", api=f"{server.url}/2", token=TOKEN, progress=False,
                        retries=2, backoff=0.01)
    assert len(server.log) - n_before == 3
    assert sum(v for k, v in x_api.summary(tmp_path / "t.sqlite").items() if k != "media") == 5  # the first batch


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
    server.route("/2/tweets", fake)  # the rerun needs no slow server: nothing interrupts it
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


def test_file_code_is_recorded_from_the_photo_url():
    assert x_api.file_code_of("https://pbs.twimg.com/media/FrXy7_aWcAE1a2b.jpg") == "FrXy7_aWcAE1a2b"
    assert x_api.file_code_of("https://pbs.twimg.com/media/FrXy7_aWcAE1a2b?format=png&name=large") == "FrXy7_aWcAE1a2b"
    assert x_api.file_code_of(None) is None


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


def test_rehydration_refuses_the_synthetic_sample():
    with pytest.raises(FetchError, match="give the release file"):
        x_api.release_ids("")
    from twigma import paths
    with pytest.raises(FetchError, match="synthetic sample"):
        x_api.release_ids(paths.SAMPLE_RELEASE)


@pytest.mark.parametrize("echo", [
    lambda req: f"Bad Request. Your request:\nGET /2/tweets\nAuthorization: {req.headers['Authorization']}\n",
    lambda req: json.dumps({"title": "Invalid Request", "headers": {"authorization": req.headers["Authorization"],
                                                                     **req.headers}}),
    lambda req: f"token {ENCODED_TOKEN.replace('%2B', '+').replace('%3D', '=')} is not valid",  # URL-decoded
    lambda req: "x" * 190 + f" Bearer {ENCODED_TOKEN}",  # cut at 200 characters, mid-token
], ids=["header line", "json of headers", "decoded token", "cut mid-token"])
def test_an_error_echoing_the_request_never_prints_the_token(server, tmp_path, release, quick, capsys, echo):
    server.route("/2/tweets", lambda req: Reply(400, echo(req).encode(), {"Content-Type": "text/plain"}))
    assert rehydrate(tmp_path, server, release) == 1
    out = capsys.readouterr()
    assert "the X API answered HTTP 400" in out.err and "Traceback" not in out.err
    for secret in (ENCODED_TOKEN, ENCODED_TOKEN[5:15], ENCODED_TOKEN.replace("%2B", "+").replace("%3D", "=")):
        assert secret not in out.out + out.err
    assert "[redacted]" in out.err or out.err.rstrip().endswith("Bearer [r")  # redacted, then cut at 200
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert ENCODED_TOKEN.encode() not in p.read_bytes(), p


def test_a_token_echoed_in_a_200_answer_is_not_stored(server, tmp_path, release, quick):
    def answer(req):
        ids = req.query["ids"].split(",")
        return Reply.json({"data": [{"id": ids[0], "text": "t"}], "errors": [
            {"resource_id": i, "title": "Not Found Error", "detail": f"not found (auth {ENCODED_TOKEN})"} for i in ids[1:]]})
    server.route("/2/tweets", answer)
    assert rehydrate(tmp_path, server, release) == 0
    assert ENCODED_TOKEN.encode() not in (tmp_path / "t.sqlite").read_bytes()


def test_tweets_without_an_id_are_retried_then_reported_as_malformed(server, tmp_path, release, quick, capsys):
    server.route("/2/tweets", Reply.json({"data": [{"text": "no id here"}], "includes": {"media": []}}))
    assert rehydrate(tmp_path, server, release) == 1
    err = capsys.readouterr().err
    assert "malformed body: a tweet without an id" in err and "after 6 tries" in err
    assert "Traceback" not in err and "KeyError" not in err
    assert len(server.log) == 6  # the first try and five retries
    assert x_api.summary(tmp_path / "t.sqlite") == {"media": 0}  # nothing of the batch stored


def test_a_redirect_to_file_is_not_followed_nor_retried(server, tmp_path, release, quick, capsys):
    server.route("/2/tweets", Reply(302, b"", {"Location": "file:///etc/passwd"}))
    assert rehydrate(tmp_path, server, release) == 1
    err = capsys.readouterr().err
    assert "HTTP 302, a redirect to file:///etc/passwd" in err and "not followed" in err
    assert len(server.log) == 1


def test_a_redirect_to_another_host_says_so_not_that_the_token_was_refused(server, tmp_path, release, quick, capsys):
    other = LocalServer()
    try:
        other.route("/2/tweets", Reply.json({"title": "Unauthorized", "status": 401}, status=401))
        server.route("/2/tweets", Reply(307, b"", {"Location": f"{other.url}/2/tweets"}))
        assert rehydrate(tmp_path, server, release) == 1
        err = capsys.readouterr().err
        assert f"a redirect to {other.url}/2/tweets" in err and "the bearer token was not sent there" in err
        assert "refused the bearer token" not in err
        assert other.log == [] and len(server.log) == 1
    finally:
        other.close()
