"""The fetchers against local servers that follow the documented responses of Zenodo, the X API and an image host."""
from __future__ import annotations

from support.fake_services import TOKEN, FakeX
from support.servers import Reply

from twigma.fetch import x_api
from twigma.synthetic.release import generate_release


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
