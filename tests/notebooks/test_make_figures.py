"""`make figures` as a user types it: the shared run (its release and output folder at paths with a space) as make printed it, then made again on a copy of it with a copy of the repository: without EMBEDDINGS only the image notebooks rerun, nothing reruns when nothing changed, an edit reruns what reads it, and the README's "add a notebook" path (a copied notebook, `make notebook`) writes only its own outputs."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import nbformat
import pandas as pd
import pytest
from conftest import MAKE_BUILT, make_env
from support.notebook_runs import NOTEBOOKS, RELEASE_TABLES, check_committed_notebook
from support.repo_copy import repository_copy

from twigma.analysis import claims
from twigma.cli import main


@pytest.fixture(scope="module")
def made_copy(tmp_path_factory, executed, run_release_file, run_embeddings):
    """A user's run to make again: the shared run (`make figures RELEASE= EMBEDDINGS= OUT=`, tests/conftest.py,
    its release and output folder at paths with a space) copied, times kept, with a copy of the repository:
    (the copy of the repository, make's arguments for the copied run, its folder)."""
    tmp = tmp_path_factory.mktemp("make")
    repo = repository_copy(tmp / "repo")
    out = tmp / "out put"
    shutil.copytree(executed, out, symlinks=True)
    return repo, (f"RELEASE={run_release_file}", f"EMBEDDINGS={run_embeddings}", f"OUT={out}"), out


def make_in(repo, *args):
    env = {**make_env(), "TWIGMA_ROOT": str(repo)}
    return subprocess.run(["make", "--no-print-directory", "-C", str(repo), *args], capture_output=True,
                          text=True, env=env)


def _snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for sub in ("figures", "results", "build") for p in (root / sub).rglob("*") if p.is_file()}


def _set_parameter(nb_path, name, value):
    nb = nbformat.read(nb_path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lines = cell.source.splitlines()
    i = next(i for i, line in enumerate(lines) if line.split(":")[0].split("=")[0].strip() == name)
    head, _, comment = lines[i].partition("  #")
    lines[i] = f"{head.split('=')[0].rstrip()} = {value!r}  #{comment}"
    cell.source = "\n".join(lines)
    nbformat.write(nb, str(nb_path))


@pytest.mark.skipif(not MAKE_BUILT, reason="needs the make-built .venv")
def test_make_figures_validates_the_release_once_and_runs_notebooks_side_by_side(executed, run_release_file,
                                                                                    run_embeddings):
    """The shared run, as make printed it: the release validated and cached once, before any notebook, and
    notebooks side by side without -j."""
    for name in RELEASE_TABLES:
        assert (executed / "results" / name).exists(), name
    assert int(pd.read_csv(executed / "results" / "data_summary.csv").set_index("metric").loc["n_images", "value"]) == 3000
    said = (executed / "make-figures.log").read_text()
    lines = said.splitlines()
    started = [i for i, x in enumerate(lines) if x.startswith(">> ")]
    validated = next(i for i, x in enumerate(lines) if "run.csv.gz: OK, 3,000 images" in x)
    assert validated < started[0], said  # the release is validated and cached once, before any notebook
    assert lines.index(">> 00_data") < lines.index(next(x for x in lines if x.startswith("00_data: done")))
    assert len(started) == len(NOTEBOOKS) and "skipped" not in said
    if os.cpu_count() > 1:  # side by side without -j: a second notebook starts before the first is done
        first_done = next(i for i, x in enumerate(lines) if ": done in " in x)
        assert sum(i < first_done for i in started) >= 2, said


@pytest.mark.skipif(not MAKE_BUILT, reason="needs the make-built .venv")
def test_the_copied_run_is_up_to_date_and_a_missing_release_is_refused_by_name(made_copy, run_release_file):
    repo, run, out = made_copy
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "build").glob("*.ipynb")}
    assert len(stamps) == len(NOTEBOOKS)
    r = make_in(repo, "figures", *run)  # nothing changed: nothing reruns
    assert r.returncode == 0 and ">> nothing to do" in r.stdout, r.stdout + r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (out / "build").glob("*.ipynb")} == stamps

    missing = run_release_file.parent / "not there.csv"
    r = make_in(repo, "figures", f"RELEASE={missing}", f"OUT={out}")
    assert r.returncode != 0 and f"RELEASE={missing}: no such file" in r.stderr


@pytest.mark.skipif(not MAKE_BUILT, reason="needs the make-built .venv")
def test_without_embeddings_the_image_notebooks_rerun_and_say_why(made_copy, run_release_file, tmp_path, capsys):
    """Without EMBEDDINGS, make would rerun the notebooks that read embeddings and no other (`make -n`); the
    command it runs for each (`twigma run-notebook`, no --embeddings) records the image notebooks as skipped,
    saying why, and their claims untestable. (10_explore without embeddings: tests/notebooks/test_explore.py.)"""
    repo, run, out = made_copy
    r = make_in(repo, "-n", "figures", f"RELEASE={run_release_file}", f"OUT={out}")
    assert r.returncode == 0, r.stdout + r.stderr
    rerun = set(re.findall(r'echo ">> (\S+)"', r.stdout))
    assert rerun == {"06_distinctness", "07_variability", "08_likes_similarity", "09_inspiration", "10_explore",
                     "12_robustness"}, r.stdout
    assert "--embeddings" not in r.stdout and "run-notebook" in r.stdout

    alone = tmp_path / "no embeddings"
    for name in ("06_distinctness", "07_variability", "08_likes_similarity", "09_inspiration"):
        assert main(["run-notebook", str(repo / "notebooks" / f"{name}.ipynb"), "--release", str(run_release_file),
                     "--out", str(alone)]) == 0
    said = capsys.readouterr()
    assert said.out.count("skipped: ") == 4 and "without EMBEDDINGS" in said.out, said
    skipped = nbformat.read(alone / "build" / "08_likes_similarity.ipynb", as_version=4)
    assert "Skipped" in skipped.cells[0].source and "EMBEDDINGS" in skipped.cells[0].source
    assert main(["claims", "--out", str(alone)]) == 0
    claims_table = pd.read_csv(alone / "results" / "claims.csv").set_index("claim")
    assert (claims_table.loc[["C7", "C8", "C9", "C10"], "holds"] == "untestable").all()
    assert not (alone / "results" / "likes_similarity.csv").exists()


@pytest.mark.skipif(not MAKE_BUILT, reason="needs the make-built .venv")
def test_a_copied_notebook_and_a_new_one_write_only_their_own_outputs(made_copy):
    """The README's "add a notebook" path as a user takes it, in a copy of the repository after its make
    figures: copy 03 to 13_portrait_rise with another parameter, create 14_first_look with `make notebook`,
    run make figures again."""
    repo, run, out = made_copy
    make_in_copy = lambda *args: make_in(repo, *args)  # noqa: E731
    before = _snapshot(out)
    claims_before = pd.read_csv(out / "results" / "claims.csv")

    copy = repo / "notebooks" / "13_portrait_rise.ipynb"
    copy.write_bytes((repo / "notebooks" / "03_theme_shift.ipynb").read_bytes())
    _set_parameter(copy, "ALPHA", 0.2)  # the one line its author changed; the name is nowhere in it
    r = make_in_copy("notebook", "NAME=14_first_look")
    assert r.returncode == 0, r.stdout + r.stderr
    new = repo / "notebooks" / "14_first_look.ipynb"
    check_committed_notebook(new)  # the notebook checks of make test hold for a new notebook as made
    assert nbformat.read(new, as_version=4).cells[0].source.startswith("# 14 · First look")
    r = make_in_copy("notebook", "NAME=14_first_look")
    assert r.returncode != 0 and "exists already" in r.stderr
    r = make_in_copy("notebook", "NAME=Portraits")
    assert r.returncode != 0 and "NN_topic" in r.stderr and "the next free one is 15" in r.stderr

    r = make_in_copy("figures", *run)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ">> 13_portrait_rise" in r.stdout and ">> 14_first_look" in r.stdout and ">> 03_theme_shift" not in r.stdout
    after = _snapshot(out)
    changed = sorted(k for k in before if after.get(k) != before[k])
    # the run's two ledgers gain the copy's rows, and its list of notebooks the two; no file of another notebook changes
    assert changed == ["build/.notebooks", "results/claims.csv", "results/provenance.json"], f"the copy changed: {changed}"
    prov_before = json.loads(before["results/provenance.json"][0])
    prov_after = json.loads((out / "results" / "provenance.json").read_text())
    for rel, entry in prov_before["files"].items():
        if rel != "results/claims.csv":
            assert prov_after["files"][rel] == entry, rel
    assert prov_after["files"]["results/13_portrait_rise/theme_trends.csv"]["notebook"] == "13_portrait_rise"
    claims_after = pd.read_csv(out / "results" / "claims.csv")
    n_paper = len(claims.CLAIMS)
    pd.testing.assert_frame_equal(claims_after.iloc[:n_paper], claims_before.iloc[:n_paper])  # the paper's rows stay
    extra = claims_after.iloc[n_paper:]
    assert extra["claim"].tolist() == ["C4", "C5", "C11"] and set(extra["notebook"]) == {"13_portrait_rise"}

    mine = pd.read_csv(out / "results" / "13_portrait_rise" / "theme_trends.csv")
    theirs = pd.read_csv(out / "results" / "theme_trends.csv")
    pd.testing.assert_series_equal(mine["p_value"], theirs["p_value"])  # same data, same fits
    assert (mine["direction"] != "flat").sum() >= (theirs["direction"] != "flat").sum()  # ALPHA 0.2 vs 0.01
    for fig in ("cluster_shares", "theme_trends"):
        assert (out / "figures" / f"13_portrait_rise_{fig}.png").exists()
    assert (out / "figures" / "14_first_look_monthly_images.png").exists()
    monthly = pd.read_csv(out / "results" / "14_first_look" / "monthly_images.csv")
    assert monthly["n_images"].sum() == 3000
    executed = nbformat.read(out / "build" / "14_first_look.ipynb", as_version=4)
    shown = json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "The busiest month is" in shown and "Traceback" not in shown


@pytest.mark.skipif(not MAKE_BUILT, reason="needs the make-built .venv")
def test_an_edit_of_02_reruns_every_notebook_that_declares_it_reads_02(made_copy):
    """`make -n figures` after touching 02 lists the notebooks that read its cluster names (03, 04, 05, 07 and
    10: the order make follows comes from their declarations, build/deps.mk) and no other paper notebook."""
    repo, run, out = made_copy
    nb02 = repo / "notebooks" / "02_themes_map.ipynb"
    before = nb02.stat()
    try:
        os.utime(nb02)  # touch
        r = make_in(repo, "-n", "figures", *run)
    finally:
        os.utime(nb02, ns=(before.st_atime_ns, before.st_mtime_ns))  # as it was, for the tests after this one
    assert r.returncode == 0, r.stdout + r.stderr
    rerun = set(re.findall(r'echo ">> (\S+)"', r.stdout))
    readers = {"03_theme_shift", "04_nsfw", "05_engagement", "07_variability", "10_explore"}
    assert {"02_themes_map", *readers} <= rerun, r.stdout
    assert not rerun & {"00_data", "01_growth", "06_distinctness", "08_likes_similarity", "09_inspiration",
                        "11_rising_subjects", "12_robustness"}, r.stdout
    assert "$(BUILD)/07_variability.ipynb: $(BUILD)/02_themes_map.ipynb" in (repo / "build" / "deps.mk").read_text()


@pytest.mark.skipif(not MAKE_BUILT, reason="needs the make-built .venv")
def test_an_edit_of_the_grid_reruns_notebook_12_alone(made_copy):
    """Without `make robustness`, notebook 12 runs the small grid of robustness.yml: `make -n figures` after
    touching that file reruns 12 and no other notebook."""
    repo, run, out = made_copy
    grid = repo / "robustness.yml"
    before = grid.stat()
    try:
        os.utime(grid)  # touch
        r = make_in(repo, "-n", "figures", *run)
    finally:
        os.utime(grid, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(re.findall(r'echo ">> (\S+)"', r.stdout)) == {"12_robustness"}, r.stdout


@pytest.mark.skipif(not MAKE_BUILT, reason="needs the make-built .venv")
def test_a_rerun_says_up_to_date_completes_the_manifest_and_forgets_a_deleted_copy(made_copy):
    """A second make figures with nothing to do says so; one stopped before the manifest is completed by the
    next; make verify's fix for a missing file works as printed; a deleted copy's verdicts leave the ledger."""
    repo, run, out = made_copy
    assert make_in(repo, "figures", *run).returncode == 0  # whatever the tests before left to do
    r = make_in(repo, "figures", *run)
    assert r.returncode == 0 and ">> nothing to do" in r.stdout and f"{out}/results/" in r.stdout, r.stdout

    manifest = out / "results" / "provenance.json"
    manifest.unlink()  # the run stopped after the ledger, before the manifest
    r = make_in(repo, "figures", *run)
    assert r.returncode == 0 and manifest.exists(), r.stdout + r.stderr
    assert not [line for line in r.stdout.splitlines() if line.startswith(">> 0")], r.stdout  # no notebook reran
    v = make_in(repo, "verify", f"OUT={out}")
    assert v.returncode == 0, v.stdout + v.stderr

    (out / "results" / "nsfw_by_cluster.csv").unlink()
    v = make_in(repo, "verify", f"OUT={out}")
    fix = next(line for line in v.stdout.splitlines() if "to fix the missing file(s): " in line)
    command = fix.split("to fix the missing file(s): ", 1)[1].rsplit(" (reruns", 1)[0]
    r = subprocess.run(["bash", "-c", command], cwd=repo, capture_output=True, text=True,
                       env={**make_env(), "TWIGMA_ROOT": str(repo)})
    assert r.returncode == 0 and ">> 04_nsfw" in r.stdout, command + r.stdout + r.stderr
    v = make_in(repo, "verify", f"OUT={out}")
    assert v.returncode == 0 and (out / "results" / "nsfw_by_cluster.csv").exists(), v.stdout

    copy = repo / "notebooks" / "15_gone.ipynb"
    copy.write_bytes((repo / "notebooks" / "00_data.ipynb").read_bytes())  # the quickest notebook with a claim
    assert make_in(repo, "figures", *run).returncode == 0
    assert "15_gone" in set(pd.read_csv(out / "results" / "claims.csv")["notebook"].dropna())
    copy.unlink()
    r = make_in(repo, "figures", *run)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "15_gone" not in set(pd.read_csv(out / "results" / "claims.csv")["notebook"].dropna())
    assert not (out / "results" / "claims" / "15_gone.csv").exists()
    assert "15_gone" not in json.dumps(json.loads(manifest.read_text())["notebooks"])
    v = make_in(repo, "verify", f"OUT={out}")
    assert v.returncode == 0 and "claims/15_gone.csv" not in v.stdout, v.stdout
