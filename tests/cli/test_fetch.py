"""Tests of twigma.cli.fetch: commands that download: ``data`` (the release table), ``rehydrate`` (tweets), ``images`` (their photos), ``refs`` (the reference sets). Where they download from is read from the modules' constants and ``twigma/fetch/sources.json``, never spelled here."""
from __future__ import annotations

from support.fake_services import IDS, TOKEN, FakeX, release_of, serve_photos

from twigma.fetch import x_api


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
