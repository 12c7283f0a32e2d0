"""Tests of twigma.fetch.images: downloading the images behind rehydrated media URLs, named by the release's image_name."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from support.fake_services import IDS, TOKEN, FakeX, jpeg_bytes, release_of, serve_photos
from support.rehydration import files_under, rehydrate
from support.servers import LocalServer, Reply
from support.spreadsheet_cells import cells, evaluable

from twigma.cli import main
from twigma.fetch import images, x_api
from twigma.synthetic.release import generate_release


def expected_matches(ids, missing=()):
    """Rows whose tweet the fake API returns (not deleted, not withheld) and whose photo the host serves."""
    return sum(1 for i in ids if int(i) % 1000 % 7 and int(i) % 1000 % 11 and i not in missing)


def png_bytes(size=(16, 12), mode="RGB") -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return buf.getvalue()


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

    from twigma.embeddings import store
    from twigma.release import load_release
    release = load_release(rel, cache=False)
    assert release.attrs["image_name_form"] == form
    emb = store.Embeddings("twigma", pd.Index(sorted(stems)), np.eye(len(stems), 8, dtype="float32"))
    mask, vectors = store.align(release, emb)
    assert mask.sum() == n and vectors.shape == (n, 8)


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

    from twigma.embeddings import store
    release = generate_release(40, seed=2)
    emb = store.Embeddings("twigma", pd.Index([f"FrXy7_aWcAE{i:04d}" for i in range(5)]), np.eye(5, 8, dtype="float32"))
    with pytest.raises(store.StoreError, match="form media_id .* form file_code"):
        store.align(release, emb)


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


def test_a_photo_redirected_to_file_is_recorded_not_retried(server, tmp_path, release, quick):
    HostileMediaKeys(server, [])
    assert rehydrate(tmp_path, server, release) == 0
    server.route("/media/photo0.png", Reply(302, b"", {"Location": "file:///etc/passwd"}))
    assert main(["images", "--store", str(tmp_path / "t.sqlite"), "--dest", str(tmp_path / "d"), "--quiet"]) == 0
    fails = pd.read_csv(tmp_path / "d" / images.FAILURES, dtype=str)
    assert len(fails) == 1 and "InvalidSchema" in fails["reason"][0] and "not retried" in fails["reason"][0]
    assert [p for p, _, _ in server.log].count("/media/photo0.png") == 1


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


def test_failure_lists_of_downloads_are_neutralised_and_read_back(tmp_path):
    from twigma.fetch import images
    server = LocalServer()
    try:
        media = pd.DataFrame({"image_name": ["-Fr0001aWcAE1a", "=cmd", "@x"],
                              "url": [f"{server.url}/missing{i}.jpg" for i in range(3)]})
        images.download_images(media, tmp_path / "d", retries=0, progress=False)
        header, rows = cells(tmp_path / "d" / images.FAILURES)
        assert sorted(r[0] for r in rows) == ["'-Fr0001aWcAE1a", "'=cmd", "'@x"]
        assert not [c for row in rows for c in row if evaluable(c)]
        import io

        from PIL import Image
        buf = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buf, "PNG")
        server.route("/missing0.jpg", Reply(200, buf.getvalue()))
        images.download_images(media, tmp_path / "d", retries=0, progress=False)  # the rerun reads the list back
        header, rows = cells(tmp_path / "d" / images.FAILURES)
        assert sorted(r[0] for r in rows) == ["'=cmd", "'@x"] and (tmp_path / "d" / "-Fr0001aWcAE1a.png").exists()
    finally:
        server.close()
