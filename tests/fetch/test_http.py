"""Tests of twigma.fetch.http: HTTP downloads for the fetchers: retries that honour Retry-After, timeouts, size caps, checksums, progress bars, and atomic writes (a partial file never has the final name)."""
from __future__ import annotations

import hashlib
import time
from types import SimpleNamespace

import pytest
from support.fake_services import zenodo_record
from support.servers import Reply

from twigma.fetch import zenodo
from twigma.fetch.http import FetchError


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


# Retry-After as the services send it. RFC 9110 section 10.2.3: "Retry-After = HTTP-date / delay-seconds",
# sent with a 503 (Service Unavailable) or a 3xx, and by RFC 6585 section 4 with a 429 (Too Many Requests).
# Zenodo (InvenioRDM) rate-limits with Flask-Limiter, headers on (RATELIMIT_HEADERS_ENABLED = True in
# inveniosoftware/invenio-app, invenio_app/config.py): a 429 with Retry-After in seconds beside
# X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (Zenodo's REST API docs, "Rate limiting").
# The X API answers its 429 with x-rate-limit-reset (docs.x.com, "Rate limits"): that one is
# tests/fetch/test_x_api.py's.
def zenodo_429(wait: str) -> Reply:
    return Reply.json({"status": 429, "message": "Too Many Requests"}, 429,
                      {"Retry-After": wait, "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": str(int(time.time()) + 60)})


def busy_then(server, path: str, first: list[Reply], then: Reply) -> list[float]:
    """``path`` answers ``first`` in turn, then ``then``; returns the times the requests came."""
    seen: list[float] = []

    def answer(req):
        seen.append(time.monotonic())
        return first[len(seen) - 1] if len(seen) <= len(first) else then
    server.route(path, answer)
    return seen


def test_a_429_with_retry_after_in_seconds_is_waited_out(server, tmp_path, capsys):
    from twigma.fetch.http import download

    body = b"x" * 5000
    seen = busy_then(server, "/rate.bin", [zenodo_429("1")], Reply(200, body))
    # a backoff that would show: were Retry-After ignored, the retry would come at once (urllib3's first)
    path = download(f"{server.url}/rate.bin", tmp_path / "rate.bin", progress=False, backoff=5.0)
    assert path.read_bytes() == body and len(seen) == 2
    assert 0.95 <= seen[1] - seen[0] < 3
    assert "answered HTTP 429 and asks to wait 1 s (Retry-After)" in capsys.readouterr().err


def test_a_503_with_retry_after_as_an_http_date_is_waited_out(server, tmp_path, release_bytes, monkeypatch):
    """The wait is read from the date (2 minutes ahead); urllib3's sleep is recorded instead of slept."""
    from email.utils import formatdate

    import urllib3.util.retry as retry
    waits: list[float] = []
    monkeypatch.setattr(retry, "time", SimpleNamespace(time=time.time, sleep=waits.append))
    zenodo_record(server, release_bytes)
    record = server.routes["/api/records/8031785"]
    when = formatdate(time.time() + 120, usegmt=True)  # "Tue, 08 Dec 2026 00:40:00 GMT"
    seen = busy_then(server, "/api/records/8031785", [Reply(503, b"down for maintenance", {"Retry-After": when})],
                     record(None))
    path = zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    assert path.exists() and len(seen) == 2
    assert len(waits) == 1 and 118 < waits[0] <= 120


def test_a_retry_after_beyond_the_cap_fails_at_once_saying_when_to_try_again(server, tmp_path):
    from twigma.fetch.http import MAX_RETRY_AFTER, download, session

    server.route("/api/records/8031785", zenodo_429("3600"))
    started = time.perf_counter()
    with pytest.raises(FetchError, match=f"{server.url}/api/records/8031785 answered HTTP 429 and asks to wait "
                                         f"3,600 s .*longer than the {MAX_RETRY_AFTER} s .*Try again later"):
        zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False)
    assert time.perf_counter() - started < 2 and len(server.log) == 1
    # a download's cap is its session's
    server.route("/slow.bin", Reply(503, b"", {"Retry-After": "5"}))
    with pytest.raises(FetchError, match=r"slow.bin answered HTTP 503 and asks to wait 5 s .*longer than the 2 s"):
        download(f"{server.url}/slow.bin", tmp_path / "slow.bin", sess=session(max_wait=2), progress=False)
    assert not list(tmp_path.iterdir())


def test_spent_retries_name_the_url_and_the_last_answer(server, tmp_path):
    from twigma.fetch.http import download

    server.route("/busy.bin", Reply(503, b"busy"))
    with pytest.raises(FetchError, match=f"download of busy.bin failed after 3 tries: {server.url}/busy.bin: HTTP 503"):
        download(f"{server.url}/busy.bin", tmp_path / "busy.bin", retries=2, backoff=0.01, progress=False)
    assert len(server.log) == 3


def test_an_unreadable_retry_after_falls_back_to_the_backoff(server, tmp_path):
    from twigma.fetch.http import download

    seen = busy_then(server, "/odd.bin", [Reply(503, b"", {"Retry-After": "soon"})], Reply(200, b"fine"))
    assert download(f"{server.url}/odd.bin", tmp_path / "odd.bin", progress=False).read_bytes() == b"fine"
    assert len(seen) == 2


def test_an_api_answer_cut_off_midway_is_asked_for_again(server, tmp_path, release_bytes):
    """urllib3 retries no body cut off midway: the records API's answer, read whole, is asked for again."""
    zenodo_record(server, release_bytes)
    whole = server.routes["/api/records/8031785"](None)
    cut = Reply(200, whole.body[:20], {"Content-Type": "application/json", "Content-Length": str(len(whole.body))})
    seen = busy_then(server, "/api/records/8031785", [cut], whole)
    assert zenodo.fetch_release(tmp_path, api=f"{server.url}/api", progress=False).exists()
    assert len(seen) == 2
