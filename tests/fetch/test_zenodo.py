"""Tests of twigma.fetch.zenodo: the TWIGMA release table from Zenodo (record 8031785, newest version)."""
from __future__ import annotations

import hashlib

import pytest
from support.fake_services import zenodo_record
from support.rehydration import files_under
from support.servers import Reply

from twigma.cli import main
from twigma.fetch import zenodo


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


def test_a_zenodo_file_key_naming_a_path_is_refused(server, tmp_path, capsys):
    body = b"id,image_name\n"
    entry = {"key": "../../escaped_release.csv", "size": len(body), "checksum": "md5:" + hashlib.md5(body).hexdigest(),
             "links": {"self": f"{server.url}/api/records/11/files/x/content"}}
    server.route("/api/records/8031785", Reply.json({"id": 8031785, "files": [entry], "links": {}}))
    server.route("/api/records/11/files/x/content", Reply(200, body))
    dest = tmp_path / "a" / "b" / "dest"
    before = files_under(tmp_path)
    assert main(["data", "--dest", str(dest), "--api", f"{server.url}/api", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "'../../escaped_release.csv'" in err and "path separator" in err and "Nothing was downloaded" in err
    assert files_under(tmp_path) == before
    assert "/api/records/11/files/x/content" not in [p for p, _, _ in server.log]


def test_a_zenodo_redirect_to_file_is_not_retried(server, tmp_path, capsys):
    server.route("/api/records/8031785", Reply(302, b"", {"Location": "file:///etc/passwd"}))
    assert main(["data", "--dest", str(tmp_path / "d"), "--api", f"{server.url}/api", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "InvalidSchema" in err and "not retried" in err and len(server.log) == 1
