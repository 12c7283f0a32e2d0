"""Tests of twigma.fetch.http: HTTP downloads for the fetchers: retries with backoff, timeouts, size caps, checksums, progress bars, and atomic writes (a partial file never has the final name)."""
from __future__ import annotations

import hashlib
import time

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
