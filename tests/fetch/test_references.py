"""Tests of twigma.fetch.references: the reference image sets: natural photographs and human artwork (``make refs``)."""
from __future__ import annotations

import hashlib
import io

import pandas as pd
import pytest
from support.fake_services import jpeg_bytes
from support.servers import Reply

from twigma.fetch.http import FetchError


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


def test_the_download_manifest_lists_two_wikiart_alternatives():
    from twigma.fetch import references
    from twigma.fetch.http import MAGIC
    m = references.manifest()
    sources = m["wikiart"]["sources"]
    assert len(sources) >= 2 and all(s["url"].startswith("http") and s["format"] in MAGIC for s in sources)
    assert len({s["url"] for s in sources}) == len(sources)
    assert [a.url for a in references.wikiart_sources()] == [s["url"] for s in sources]
    assert references.wikiart_sources("http://example.org/w.tar.gz")[0].format == "tar.gz"


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
