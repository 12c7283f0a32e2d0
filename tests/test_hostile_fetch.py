"""Hostile servers met the way a user meets them (`twigma rehydrate`, `twigma images`, `twigma data`): names from a
server's answer never leave the destination, the token never shows in an error, a malformed or redirected answer
ends in a message, not a traceback or a misleading one, and no image is decoded beyond a stated pixel bound.

The fake servers answer as the services document: the X API v2 tweet lookup, ``GET /2/tweets?ids=...`` with
``expansions=attachments.media_keys``, answers ``{"data": [tweet...], "includes": {"media": [...]}, "errors":
[...]}``, each tweet with an ``id`` string and each media object with a ``media_key`` string, a ``type`` and, for
photos, a ``url`` (https://docs.x.com/x-api/posts/post-lookup-by-post-ids, and the data dictionary's media
object, https://docs.x.com/x-api/fundamentals/data-dictionary#media); Zenodo's records API lists a record's
files with a ``key`` and ``links`` (https://developers.zenodo.org/#records, the InvenioRDM REST API).
"""
from __future__ import annotations

import hashlib
import io
import json

import pandas as pd
import pytest
from servers import LocalServer, Reply

from twigma.cli import main
from twigma.fetch import images, x_api
from twigma.synthetic.release import generate_release

TOKEN = "AAAA-test%2Bsecret%3Dtoken-0987654321"  # URL-encoded as real bearer tokens are


@pytest.fixture
def release(tmp_path):
    p = tmp_path / "release.csv"
    generate_release(40, seed=5).to_csv(p, index=False)  # no sidecar: taken for a real release
    return p


@pytest.fixture
def quick(monkeypatch):
    """The CLI's retries without their waits (backoff sleeps), so a test of five tries takes no time."""
    monkeypatch.setitem(x_api.rehydrate.__kwdefaults__, "sleep", lambda s: None)
    monkeypatch.setattr(images.time, "sleep", lambda s: None)
    monkeypatch.setenv(x_api.TOKEN_ENV, TOKEN)


def png_bytes(size=(16, 12), mode="RGB") -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return buf.getvalue()


def files_under(root, skip=()):
    """{path: bytes} of every file under ``root`` except under the ``skip`` folders."""
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and not any(s in p.parents for s in skip)}


def rehydrate(tmp_path, server, release, store="t.sqlite"):
    return main(["rehydrate", "--release", str(release), "--store", str(tmp_path / store), "--api",
                 f"{server.url}/2", "--quiet"])


# ------------------------------------------------------------- names from the server ----------

class HostileMediaKeys:
    """The tweet lookup, with the first tweets' media keys made of paths."""

    def __init__(self, server, keys):
        self.server, self.keys = server, keys
        server.route("/2/tweets", self)

    def __call__(self, req):
        data, media = [], []
        for k, i in enumerate(req.query["ids"].split(",")):
            key = self.keys[k] if k < len(self.keys) else f"3_{int(i) + 5}"
            url = f"{self.server.url}/media/photo{k}.png"
            self.server.route(f"/media/photo{k}.png", Reply(200, png_bytes(), {"Content-Type": "image/png"}))
            data.append({"id": i, "text": "t", "attachments": {"media_keys": [key]}})
            media.append({"media_key": key, "type": "photo", "url": url})
        return Reply.json({"data": data, "includes": {"media": media}})


def test_media_keys_naming_paths_never_write_outside_dest(server, tmp_path, release, quick, capsys):
    dest = tmp_path / "a" / "b" / "dest"
    earlier = tmp_path / "a" / "escaped_rel.png"  # where `../../escaped_rel` would land
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"an earlier file")
    absolute = tmp_path / "abs" / "escaped"
    keys = ["3_../../escaped_rel", f"3_{absolute}", "3_..", "3_.hidden", "3_a\\..\\..\\win"]
    HostileMediaKeys(server, keys)
    assert rehydrate(tmp_path, server, release) == 0
    before = files_under(tmp_path, skip=[dest])
    assert main(["images", "--store", str(tmp_path / "t.sqlite"), "--dest", str(dest), "--name-by", "media_id",
                 "--quiet"]) == 0
    said = capsys.readouterr().out
    assert files_under(tmp_path, skip=[dest]) == before  # nothing new or changed outside dest
    assert earlier.read_bytes() == b"an earlier file" and not absolute.parent.exists()
    fails = pd.read_csv(dest / images.FAILURES, dtype=str, keep_default_na=False)
    assert sorted(fails["image_name"]) == sorted(k[2:] for k in keys)
    assert fails["reason"].str.contains("unsafe file name .* from the server's answer .*: not written").all()
    assert f"{len(keys):,} failed" in said
    n_tweets = pd.read_csv(release, dtype=str)["id"].nunique()
    assert len([p for p in dest.iterdir() if p.suffix == ".png"]) == n_tweets - len(keys)


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


# ------------------------------------------------------------- the token ----------------------

@pytest.mark.parametrize("echo", [
    lambda req: f"Bad Request. Your request:\nGET /2/tweets\nAuthorization: {req.headers['Authorization']}\n",
    lambda req: json.dumps({"title": "Invalid Request", "headers": {"authorization": req.headers["Authorization"],
                                                                     **req.headers}}),
    lambda req: f"token {TOKEN.replace('%2B', '+').replace('%3D', '=')} is not valid",  # URL-decoded
    lambda req: "x" * 190 + f" Bearer {TOKEN}",  # cut at 200 characters, mid-token
], ids=["header line", "json of headers", "decoded token", "cut mid-token"])
def test_an_error_echoing_the_request_never_prints_the_token(server, tmp_path, release, quick, capsys, echo):
    server.route("/2/tweets", lambda req: Reply(400, echo(req).encode(), {"Content-Type": "text/plain"}))
    assert rehydrate(tmp_path, server, release) == 1
    out = capsys.readouterr()
    assert "the X API answered HTTP 400" in out.err and "Traceback" not in out.err
    for secret in (TOKEN, TOKEN[5:15], TOKEN.replace("%2B", "+").replace("%3D", "=")):
        assert secret not in out.out + out.err
    assert "[redacted]" in out.err or out.err.rstrip().endswith("Bearer [r")  # redacted, then cut at 200
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p


def test_a_token_echoed_in_a_200_answer_is_not_stored(server, tmp_path, release, quick):
    def answer(req):
        ids = req.query["ids"].split(",")
        return Reply.json({"data": [{"id": ids[0], "text": "t"}], "errors": [
            {"resource_id": i, "title": "Not Found Error", "detail": f"not found (auth {TOKEN})"} for i in ids[1:]]})
    server.route("/2/tweets", answer)
    assert rehydrate(tmp_path, server, release) == 0
    assert TOKEN.encode() not in (tmp_path / "t.sqlite").read_bytes()


# ------------------------------------------------------------- malformed and redirected answers --

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


def test_a_zenodo_redirect_to_file_is_not_retried(server, tmp_path, capsys):
    server.route("/api/records/8031785", Reply(302, b"", {"Location": "file:///etc/passwd"}))
    assert main(["data", "--dest", str(tmp_path / "d"), "--api", f"{server.url}/api", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "InvalidSchema" in err and "not retried" in err and len(server.log) == 1


def test_a_photo_redirected_to_file_is_recorded_not_retried(server, tmp_path, release, quick):
    HostileMediaKeys(server, [])
    assert rehydrate(tmp_path, server, release) == 0
    server.route("/media/photo0.png", Reply(302, b"", {"Location": "file:///etc/passwd"}))
    assert main(["images", "--store", str(tmp_path / "t.sqlite"), "--dest", str(tmp_path / "d"), "--quiet"]) == 0
    fails = pd.read_csv(tmp_path / "d" / images.FAILURES, dtype=str)
    assert len(fails) == 1 and "InvalidSchema" in fails["reason"][0] and "not retried" in fails["reason"][0]
    assert [p for p, _, _ in server.log].count("/media/photo0.png") == 1


# ------------------------------------------------------------- pixels ---------------------------

@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, at open: then refused
def test_a_photo_between_pillows_warning_and_error_is_refused_before_decoding(server, tmp_path, release, quick):
    from PIL import Image
    w, h = 10_000, 9_000  # 90 million pixels: Pillow only warns (89.5 to 179 million)
    assert Image.MAX_IMAGE_PIXELS < w * h < 2 * Image.MAX_IMAGE_PIXELS
    HostileMediaKeys(server, [])
    assert rehydrate(tmp_path, server, release) == 0
    server.route("/media/photo0.png", Reply(200, png_bytes((w, h), mode="1"), {"Content-Type": "image/png"}))
    assert main(["images", "--store", str(tmp_path / "t.sqlite"), "--dest", str(tmp_path / "d"), "--quiet"]) == 0
    fails = pd.read_csv(tmp_path / "d" / images.FAILURES, dtype=str)
    assert len(fails) == 1
    assert "too many pixels (10,000 x 9,000 = 90 million > 40 million): not decoded" in fails["reason"][0]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_embedding_decodes_within_the_pixel_bound(tmp_path):
    from PIL import Image

    from twigma.embeddings.images import MAX_PIXELS, ImageFiles
    w, h = 10_000, 9_000
    Image.new("L", (w, h), 128).save(tmp_path / "big.jpg", quality=30)
    Image.new("1", (w, h)).save(tmp_path / "big.png")
    Image.new("RGB", (300, 200)).save(tmp_path / "small.png")
    files = ImageFiles([tmp_path / "big.jpg", tmp_path / "big.png", tmp_path / "small.png"], lambda im: im.size)
    (_, size, err), (_, none, why), (_, small, _) = files[0], files[1], files[2]
    assert err == "" and size[0] * size[1] <= MAX_PIXELS and size[0] >= 224  # decoded reduced (draft)
    assert none is None and "over the 40 million decoded at most" in why and "PNG" in why
    assert small == (300, 200)
