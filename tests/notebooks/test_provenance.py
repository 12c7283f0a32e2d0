"""Provenance of a run (every figure and table recorded, key fields in PNG and PDF metadata), `make verify`, and what `twigma report` writes from a run (nothing outside report/ and build/, the datasheet page with the run's counts)."""
from __future__ import annotations

import json
import shutil

import pandas as pd
from PIL import Image

from twigma import paths
from twigma.cli import main
from twigma.run import provenance
from twigma.run.runner import run_notebook


def test_every_figure_and_table_has_a_provenance_record(run, release_copy):
    manifest = json.loads((run / "results" / "provenance.json").read_text())
    on_disk = {str(p.relative_to(run)) for sub in ("figures", "results") for p in (run / sub).rglob("*")
               if p.is_file() and p.name != "provenance.json"}
    assert on_disk and on_disk <= set(manifest["files"])
    for rel in on_disk:
        assert manifest["files"][rel]["sha256"] == provenance.sha256(run / rel)
    rec = manifest["notebooks"]["03_theme_shift"]
    assert rec["release"]["sha256"] == provenance.sha256(release_copy) and rec["release"]["rows"] == 3000
    assert rec["parameters"]["RELEASE"] == str(release_copy)
    assert rec["notebook_sha256"] == provenance.sha256(paths.NOTEBOOKS / "03_theme_shift.ipynb")
    assert rec["git"]["commit"] and len(rec["git"]["commit"]) == 40
    assert rec["versions"]["pandas"] == pd.__version__ and rec["run_seconds"] > 0
    assert manifest["notebooks"]["07_variability"]["embeddings"]["digest"]
    assert manifest["notebooks"]["03_theme_shift"]["embeddings"] is None  # 03 takes no embeddings


def test_figures_carry_their_key_provenance_in_png_and_pdf_metadata(run, release_copy):
    digest = provenance.sha256(release_copy)
    png = Image.open(run / "figures" / "03_theme_trends.png")
    assert png.text["twigma:notebook"] == "03_theme_shift"
    assert png.text["twigma:release_sha256"] == digest and png.text["twigma:release_rows"] == "3000"
    assert json.loads(png.text["twigma:parameters"])["RELEASE"] == str(release_copy)
    assert len(png.text["twigma:git_commit"]) == 40
    pdf = (run / "figures" / "03_theme_trends.pdf").read_bytes()  # the Info dictionary is plain text
    assert f"release_sha256={digest}".encode() in pdf and b"03_theme_shift" in pdf
    emb = Image.open(run / "figures" / "07_variability.png").text
    assert emb["twigma:embeddings_digest"] and emb["twigma:embeddings_model"] == "synthetic (no model)"


def test_verify_names_edited_missing_and_unrecorded_files(run, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "results" / "provenance.json").read_text())
    assert main(["verify", "--out", str(copy)]) == 0
    with open(copy / "figures" / "04_nsfw_by_cluster.png", "ab") as fh:  # touched up by hand
        fh.write(b"\0")
    (copy / "results" / "nsfw_by_cluster.csv").unlink()
    (copy / "figures" / "99_mine.png").write_bytes(b"not from the run")
    capsys.readouterr()
    assert main(["verify", "--out", str(copy)]) == 1
    said = capsys.readouterr().out
    assert "edited     figures/04_nsfw_by_cluster.png" in said
    assert "missing    results/nsfw_by_cluster.csv" in said
    assert "figures/99_mine.png" in said and "not made by the recorded run" in said
    assert f"{len(manifest['files']) - 2} file(s) match" in said


def test_verify_names_files_made_from_a_release_that_changed(tmp_path, raw_small, capsys):
    from twigma.synthetic.release import write_release

    release = write_release(raw_small.iloc[:1500], tmp_path / "r.csv")
    out = tmp_path / "out"
    run_notebook(paths.NOTEBOOKS / "04_nsfw.ipynb", release=release, out=out)
    assert main(["claims", "--out", str(out)]) == 0 and main(["provenance", "--out", str(out)]) == 0
    assert main(["verify", "--out", str(out)]) == 0
    write_release(raw_small.iloc[:1400], release)  # the release was replaced after the run
    capsys.readouterr()
    assert main(["verify", "--out", str(out)]) == 1
    said = capsys.readouterr().out
    assert "stale      figures/04_nsfw_by_cluster.png" in said and "changed since the run" in said


def test_report_leaves_nothing_outside_report_and_build(site, run):
    assert site == run / "report" / "index.html" and site.exists()
    assert not (run / "jupyter_execute").exists() and not (run / ".jupyter_cache").exists()
    assert not list(run.glob(".report*"))


def test_report_has_the_datasheet_page_with_this_runs_counts(site, run):
    page = (site.parent / "datasheet.html").read_text(encoding="utf-8")
    n_images = int(pd.read_csv(run / "results" / "data_summary.csv").set_index("metric").loc["n_images", "value"])
    assert "Datasheet for TWIGMA" in page and f"{n_images:,} images in" in page
    assert 'href="datasheet.html"' in site.read_text(encoding="utf-8")
