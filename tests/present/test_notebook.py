"""Tests of twigma.present.notebook: a notebook's opening in one call: the release, the outputs, the synthetic flag, the tables it reads from other notebooks, the embedding store, and the banner, shown once."""
from __future__ import annotations

import re
import shutil

import nbformat
import pandas as pd
import pytest
from support.notebook_files import NAMES_NOTE, _notebook_file

from twigma import paths
from twigma.present import notebook as context
from twigma.run import deps

NUMBERED = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _names_table(release, names):
    sizes = release["label_10_cluster"].value_counts().sort_index()
    return pd.DataFrame({"cluster": sizes.index, "name": names.reindex(sizes.index).to_numpy(),
                         "n_images": sizes.to_numpy()})


def _code(p):
    return "\n".join(c.source for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")


def test_a_notebook_run_alone_computes_the_names_and_says_so_once(tmp_path, small_release_file, shown):
    file = _notebook_file(tmp_path, "13_alone", [context.CLUSTER_NAMES])
    nb = context.open_notebook(small_release_file, tmp_path / "out", columns=["id", "label_10_cluster"],
                               reads=[context.CLUSTER_NAMES], notebook=file)
    assert nb.synthetic is True and nb.release.attrs["synthetic"]  # the sample's mark, read from the file itself
    assert list(nb.release.columns) == ["id", "label_10_cluster"] and nb.store is None
    assert nb.out.notebook == "13_alone" and nb.out.tables == tmp_path / "out" / "results" / "13_alone"
    assert sum("SYNTHETIC sample data" in t for t in shown) == 1  # the banner, once
    notes = [t for t in shown if NAMES_NOTE in t]
    assert len(notes) == 1 and "\n" not in notes[0] and "runs alone" in notes[0]
    from twigma.analysis.text import cluster_names
    from twigma.release import load_release

    full = load_release(small_release_file, columns=["all_captions", "label_10_cluster"])
    pd.testing.assert_series_equal(nb.names, cluster_names(full))  # 02's default names, from the captions


def test_02s_table_is_used_when_it_fits_the_release_and_required_under_make(tmp_path, small_release_file, shown,
                                                                           monkeypatch):
    file = _notebook_file(tmp_path, "13_labels", [context.CLUSTER_NAMES])
    out = tmp_path / "out"
    kw = {"columns": ["label_10_cluster"], "reads": [context.CLUSTER_NAMES], "notebook": file}
    monkeypatch.setenv(paths.INPUTS_ENV, "required")  # as make's notebook rule sets it
    with pytest.raises(context.MissingInput, match="cluster_names.csv does not exist"):
        context.open_notebook(small_release_file, out, **kw)
    release = context.open_notebook(small_release_file, tmp_path / "other", show_banner=False,
                                    columns=["label_10_cluster"], notebook=file).release
    table = _names_table(release, pd.Series({k: f"theme {k}" for k in range(1, 11)}))
    (out / "results").mkdir(parents=True)
    table.assign(n_images=table["n_images"] + 1).to_csv(out / "results" / "cluster_names.csv", index=False)
    with pytest.raises(context.MissingInput, match="made from another release"):
        context.open_notebook(small_release_file, out, **kw)
    table.to_csv(out / "results" / "cluster_names.csv", index=False)
    shown.clear()
    nb = context.open_notebook(small_release_file, out, **kw)
    assert nb.names.loc[4] == "theme 4" and not any(NAMES_NOTE in t for t in shown)


def test_an_undeclared_table_fails_with_what_to_declare(tmp_path, small_release_file, shown):
    file = _notebook_file(tmp_path, "13_sloppy")  # no declaration at all
    with pytest.raises(context.UndeclaredInput, match=r'"twigma": \{"reads": \["02_themes_map/cluster_names"\]\}'):
        context.open_notebook(small_release_file, tmp_path, reads=[context.CLUSTER_NAMES], notebook=file)
    assert not shown  # it fails before loading anything
    nb = context.open_notebook(small_release_file, tmp_path, columns=["id"], notebook=file)
    with pytest.raises(context.UndeclaredInput, match="01_growth/monthly_counts without declaring it"):
        nb.table("01_growth/monthly_counts")
    declared = context.open_notebook(small_release_file, tmp_path, columns=["id"], reads=["01_growth/monthly_counts"],
                                     notebook=_notebook_file(tmp_path, "13_tidy", ["01_growth/monthly_counts"]))
    with pytest.raises(context.MissingInput, match="run notebook 01_growth first"):
        declared.table("01_growth/monthly_counts")
    (tmp_path / "results").mkdir(exist_ok=True)
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "results" / "monthly_counts.csv", index=False)
    assert declared.table("01_growth/monthly_counts")["x"].tolist() == [1]
    assert context.table_path(tmp_path, "13_copy/t") == tmp_path / "13_copy" / "t.csv"  # a non-paper notebook's


def test_a_release_of_ones_own_is_not_synthetic_and_a_synthetic_store_makes_the_run_synthetic(
        tmp_path, raw_small, small_embeddings, shown):
    from twigma.synthetic.release import write_release

    mine = write_release(raw_small.iloc[:500], tmp_path / "mine.csv")  # no synthetic mark in the file
    file = _notebook_file(tmp_path, "13_mine")
    nb = context.open_notebook(mine, tmp_path / "out", columns=["id"], notebook=file)
    assert nb.synthetic is False and shown == [f"Data: `{mine}`, 500 images."]
    shown.clear()
    nb = context.open_notebook(mine, tmp_path / "out", columns=["id", "image_name"], embeddings=small_embeddings,
                               notebook=file)
    assert nb.store == small_embeddings and nb.synthetic is True and nb.out.synthetic is True
    assert sum("SYNTHETIC sample data" in t for t in shown) == 1


def test_the_generated_deps_put_every_reader_of_02s_names_after_02(tmp_path):
    readers = {p.stem for p in NUMBERED if "nb.names" in _code(p)}  # the notebooks that use 02's cluster names
    assert readers == {"03_theme_shift", "04_nsfw", "05_engagement", "07_variability", "10_explore"}
    target = deps.write(tmp_path / "deps.mk", NUMBERED)
    rules = dict(re.findall(r"^\$\(BUILD\)/(\S+)\.ipynb: (.+)$", target.read_text(), flags=re.M))
    assert {r for r, ws in rules.items() if "$(BUILD)/02_themes_map.ipynb" in ws.split()} == readers
    for p in NUMBERED:  # each notebook's declaration is what its opening call asks for
        m = re.search(r"reads=\[([^\]]*)\]", _code(p))
        assert set(deps.declared_reads(p)) == set(re.findall(r'"([^"]+)"', m.group(1)) if m else []), p.stem


def test_make_reads_the_generated_deps_without_the_environment(tmp_path):
    """make writes build/deps.mk with the standard library alone (the Makefile's rule runs the file as a
    script, before .venv exists) and rewrites it when a notebook is newer."""
    import subprocess
    import sys

    script = paths.ROOT / "src" / "twigma" / "run" / "deps.py"
    copy = tmp_path / "notebooks"
    copy.mkdir()
    for p in NUMBERED:
        shutil.copy(p, copy / p.name)
    r = subprocess.run([sys.executable, "-I", "-S", str(script), str(tmp_path / "deps.mk"),
                        *sorted(map(str, copy.iterdir()))],
                       capture_output=True, text=True)  # -I -S: no PYTHONPATH, no site packages: the stdlib alone
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "deps.mk").read_text() == deps.makefile_text(NUMBERED)


def test_make_n_after_an_edit_of_02_lists_02_and_its_readers_only(tmp_path, small_release_file):
    """`make -n figures` on a finished run has nothing to do; once 02 is newer than its executed copy (as
    after an edit of 02) it lists 02 and the notebooks that declare they read its table, 07 and 10 among
    them, and no other. The run is laid out by hand (empty executed copies, all newer than the sources)."""
    import os
    import subprocess
    import time

    from conftest import make_env

    out = tmp_path / "out"
    build, results = out / "build", out / "results"
    build.mkdir(parents=True)
    results.mkdir()
    (build / ".params").write_text(f"RELEASE={small_release_file}\n")
    (build / ".params-embeddings").write_text("EMBEDDINGS=\n")
    stamp = tmp_path / "env-stamp"  # stands for the built .venv (its stamp newer than the locks)
    now = time.time()
    for path, age in [(build / ".params", 10), (build / ".params-embeddings", 10), (stamp, 10),
                      (build / ".release-ready", 20), *[(build / p.name, 30) for p in NUMBERED],
                      (results / "claims.csv", 40)]:
        path.touch()
        os.utime(path, (now + age, now + age))

    def plan():
        r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "-n", "figures",
                            f"RELEASE={small_release_file}", f"OUT={out}", f"ENV_STAMP={stamp}"],
                           capture_output=True, text=True, env=make_env())
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    assert "run-notebook" not in plan()
    os.utime(build / "02_themes_map.ipynb", (now - 10**6, now - 10**6))  # older than notebooks/02: stale
    listed = set(re.findall(r'echo ">> (\S+)"', plan()))
    assert listed == {"02_themes_map", "03_theme_shift", "04_nsfw", "05_engagement", "07_variability", "10_explore"}
