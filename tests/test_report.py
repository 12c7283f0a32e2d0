"""Provenance of a run, `make verify`, and the report site as a reader opens it: from disk, in headless
Chromium. Also JupyterLab as a reader uses it (`make lab`, a notebook run to its end)."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from browser import JupyterLab, broken_images, chromium, console_errors, requested_urls
from PIL import Image

from twigma import paths
from twigma.cli import main
from twigma.run import provenance
from twigma.run.runner import run_notebook

RUN = ["00_data", "03_theme_shift", "04_nsfw", "07_variability", "10_explore"]  # a few notebooks, one of images, and the map (its widget must not reach the report)


@pytest.fixture(scope="module")
def release_copy(tmp_path_factory, small_release_file):
    """The small release under a path of this module's own, so that a test may change it."""
    target = tmp_path_factory.mktemp("rel") / "small.csv.gz"
    shutil.copy(small_release_file, target)
    shutil.copy(str(small_release_file) + ".meta.json", str(target) + ".meta.json")
    return target


@pytest.fixture(scope="module")
def run(tmp_path_factory, release_copy, small_release):
    from twigma.synthetic.embeddings import make_sample_embeddings

    emb = make_sample_embeddings(small_release, tmp_path_factory.mktemp("emb"), n_natural=300, n_art=300, dim=32)
    out = tmp_path_factory.mktemp("run")
    for name in RUN:
        run_notebook(paths.NOTEBOOKS / f"{name}.ipynb", release=release_copy, out=out, embeddings=emb,
                     parameters={"N_BOOT": 20} if name == "07_variability" else None)
    assert main(["claims", "--out", str(out)]) == 0
    assert main(["provenance", "--out", str(out)]) == 0
    return out


# ------------------------------------------------------------------ provenance ---------

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


def test_verify_without_a_run_says_what_to_do(tmp_path, capsys):
    assert main(["verify", "--out", str(tmp_path)]) == 1
    assert "make figures" in capsys.readouterr().err


# ------------------------------------------------------------------ the report ---------

@pytest.fixture(scope="module")
def site(run):
    from twigma.run.report import build_report

    return build_report(run)


def test_report_leaves_nothing_outside_report_and_build(site, run):
    assert site == run / "report" / "index.html" and site.exists()
    assert not (run / "jupyter_execute").exists() and not (run / ".jupyter_cache").exists()
    assert not list(run.glob(".report*"))


def test_report_without_a_run_says_what_to_do(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path)]) == 1
    assert "make figures" in capsys.readouterr().err


@pytest.mark.browser
def test_report_opens_from_disk_and_every_page_is_reachable(site, run):
    claims = pd.read_csv(run / "results" / "claims.csv", dtype=str, keep_default_na=False)
    driver = chromium()
    try:
        driver.get(site.as_uri())
        assert "TWIGMA" in driver.title
        body = driver.find_element("tag name", "body").text
        assert "Synthetic sample data" in body  # the mark of a sample run
        for r in claims.itertuples():
            row = driver.find_element("id", f"claim-{r.claim.lower()}")
            assert r.holds in row.text and r.claim in row.text
            cls = row.find_elements("css selector", ".twigma-verdict.verdict-yes, .twigma-verdict.verdict-no, "
                                    ".twigma-verdict.verdict-untestable, .twigma-verdict.verdict-partly")
            assert cls, f"{r.claim}: the verdict is not coloured"
            assert "on the synthetic sample" in cls[0].text, f"{r.claim}: the badge does not say its data"
        links = {a.get_attribute("href").split("#")[0] for a in driver.find_elements("css selector", "a[href]")
                 if "/notebooks/" in a.get_attribute("href")}
        assert {Path(u).stem for u in links} == set(RUN)
        problems, urls = [], requested_urls(driver)
        for url in sorted(links) + [site.with_name("gallery.html").as_uri()]:
            driver.get(url)
            assert "Synthetic sample data" in driver.find_element("tag name", "body").text, url
            problems += [f"{url}: broken image {b}" for b in broken_images(driver)]
            problems += [f"{url}: console: {e}" for e in console_errors(driver)]
            urls += requested_urls(driver)
        assert not problems, problems
        outside = [u for u in urls if not u.startswith(("file://", "data:", "about:", "blob:"))]
        assert not outside, f"the report asked the network for {outside[:5]}"
        n_png = len(list((run / "figures").glob("*.png")))
        assert len(driver.find_elements("css selector", ".twigma-figure img")) == n_png
        assert len(driver.find_elements("css selector", "table.twigma-prov")) == n_png  # each with its record
        driver.get(next(u for u in links if u.endswith("03_theme_shift.html")))
        assert driver.find_elements("id", "findings"), "claims link to the notebook's Findings section"
    finally:
        driver.quit()


# ------------------------------------------------------------------ JupyterLab ---------

@pytest.mark.browser
@pytest.mark.skipif(not (paths.ROOT / ".venv" / ".installed").exists(), reason="needs the make-built .venv")
def test_jupyterlab_runs_a_notebook_to_its_end(tmp_path):
    """`make lab` as a reader starts it, one notebook run to its end: figures rendered, no error output,
    the outputs named after the notebook, and no news pop-up."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with JupyterLab(tmp_path) as lab:
        lab.open_and_run_all("04_nsfw.ipynb")
        assert not lab.error_outputs(), lab.error_outputs()
        # JupyterLab renders only the cells in view: scroll through and look at every figure as it shows
        seen = 0
        lab.scroll(to_top=True)
        for _ in range(200):
            time.sleep(0.5)  # JupyterLab renders the cells that come into view
            seen = max(seen, len(lab.driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img")))
            assert not broken_images(lab.driver)
            if not lab.scroll():
                break
        assert seen > 0, "no figure was rendered"
        assert "receive official Jupyter news" not in lab.driver.find_element(By.TAG_NAME, "body").text
        # what the reader saves holds every output: figures, no error
        lab.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.CONTROL, "s")
        time.sleep(2)
        saved = nbformat.read(lab.repo / "notebooks" / "04_nsfw.ipynb", as_version=4)
        outputs = [o for c in saved.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
        assert not [o for o in outputs if o.get("output_type") == "error"]
        # run in JupyterLab, the notebook still knows its name: its figures have the paper's names
        assert (lab.repo / "figures" / "04_nsfw_by_cluster.png").exists()


def test_report_has_the_datasheet_page_with_this_runs_counts(site, run):
    page = (site.parent / "datasheet.html").read_text(encoding="utf-8")
    n_images = int(pd.read_csv(run / "results" / "data_summary.csv").set_index("metric").loc["n_images", "value"])
    assert "Datasheet for TWIGMA" in page and f"{n_images:,} images in" in page
    assert 'href="datasheet.html"' in site.read_text(encoding="utf-8")
