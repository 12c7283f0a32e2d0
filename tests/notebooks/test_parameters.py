"""Questions open to change: notebook 08 asked of the art set by one parameter, notebook 03 on any number of clusters, and the toolbox of docs/adapting.md (every function it names exists and imports)."""
from __future__ import annotations

import json
import subprocess

import nbformat
import pandas as pd
import pytest
from conftest import make_env
from PIL import Image

from twigma import paths
from twigma.run.runner import run_notebook


def _toolbox() -> list[tuple[str, str]]:
    """(dotted name, the rest of its line) for each line of docs/adapting.md's Toolbox section."""
    import re

    text = (paths.ROOT / "docs" / "adapting.md").read_text()
    section = text.split("\n## Toolbox\n", 1)[1].split("\n## ", 1)[0]
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^- `(twigma(?:\.\w+)+)`: (.+)$", section, re.M)]


def test_notebook_08_asks_about_art_with_one_parameter(tmp_path, small_release_file, small_embeddings):
    """REFERENCE="art": the similarity is to the art set in the table, the figure and the text; the ledger
    files C9 as untestable and the findings answer the art question under its own name."""
    out = tmp_path / "art"
    nb = run_notebook(paths.NOTEBOOKS / "08_likes_similarity.ipynb", release=small_release_file, out=out,
                      embeddings=small_embeddings, parameters={"REFERENCE": "art"})
    table = pd.read_csv(out / "results" / "likes_similarity.csv")
    assert table["term"].tolist() == ["similarity_to_art", "similarity_to_art_mean_top10_sim"]
    ledger = pd.read_csv(out / "results" / "claims" / "08_likes_similarity.csv")
    assert ledger["claim"].tolist() == ["C9"] and ledger["holds"].tolist() == ["untestable"]
    assert "similarity to artworks" in ledger["observed"].iloc[0]
    text = json.dumps([c.get("outputs", []) for c in nbformat.read(nb, as_version=4).cells])
    assert "holds 600 artworks" in text and "likes against similarity to artworks (not C9)" in text
    assert "closest natural photograph" not in text and "Traceback" not in text
    assert (out / "figures" / "08_likes_vs_similarity.png").exists()


#: the clusters of the release notebook 03 runs on below: six of the ten, C4's and C5's among them
SIX = [1, 3, 4, 6, 8, 9]


@pytest.fixture(scope="module")
def six_cluster_run(tmp_path_factory, small_release_file):
    """`make run NB=03_theme_shift PARAMS="ALPHA=0.05 MIN_IMAGES_PER_MONTH=50"` (make help's example) on the
    small release cut to the SIX clusters, once for the module (the two tests below read it): the run's folder."""
    from twigma.synthetic.release import write_release

    folder = tmp_path_factory.mktemp("six")
    raw = pd.read_csv(small_release_file)
    six = write_release(raw[raw["label_10_cluster"].isin(SIX)], folder / "six.csv")
    out = folder / "alpha05"
    r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "run", "NB=03_theme_shift",
                        "PARAMS=ALPHA=0.05 MIN_IMAGES_PER_MONTH=50", f"RELEASE={six}", f"OUT={out}"],
                       capture_output=True, text=True, env=make_env(), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_notebook_03_runs_on_a_release_with_six_clusters(six_cluster_run):
    """A release holding six of the ten clusters: one panel per cluster, the text counts six."""
    out = six_cluster_run
    trends = pd.read_csv(out / "results" / "theme_trends.csv")
    assert sorted(trends["cluster"]) == SIX
    text = json.dumps([c.get("outputs", []) for c in nbformat.read(out / "build" / "03_theme_shift.ipynb",
                                                                   as_version=4).cells])
    assert "split over the 6 clusters of the release" in text and "Traceback" not in text
    assert (out / "figures" / "03_theme_trends.png").exists()


def test_the_toolbox_names_the_functions_a_question_needs():
    names = {name for name, _ in _toolbox()}
    needed = {"twigma.load_release", "twigma.present.outputs.Outputs", "twigma.present.narrative.banner",
              "twigma.analysis.themes.theme_trends", "twigma.analysis.track.track",
              "twigma.analysis.inference.tweet_bootstrap", "twigma.analysis.inference.percentile_bootstrap",
              "twigma.analysis.inference.benjamini_hochberg", "twigma.analysis.likes.likes_regression",
              "twigma.analysis.claims.claim", "twigma.present.narrative.plural", "twigma.present.narrative.count",
              "twigma.present.narrative.pct", "twigma.present.narrative.p_text", "twigma.present.plots.set_style"}
    assert needed <= names, sorted(needed - names)


@pytest.mark.parametrize("name, line", _toolbox(), ids=[n for n, _ in _toolbox()])
def test_every_toolbox_name_imports_and_its_example_calls_it(name, line):
    """Each name is importable and public, and its one-line example (a code span) calls it by its own name."""
    import importlib
    import re

    module, _, attr = name.rpartition(".")
    obj = getattr(importlib.import_module(module), attr)
    assert callable(obj) and not attr.startswith("_") and obj.__doc__
    examples = re.findall(r"`([^`]+)`", line)
    assert any(re.search(rf"\b{attr}\(", e) for e in examples), f"{name}: no example calls {attr}(...) in {line!r}"


def test_the_readmes_notebook_outputs_are_where_make_figures_writes_them(executed):
    """Every table and figure the README's notebook table names is in a make figures run, where it says
    (notebook 12 under make figures: results/12_robustness/; `make robustness` writes results/ itself)."""
    import re

    rows = [line for line in (paths.ROOT / "README.md").read_text().splitlines()
            if re.match(r"^\| \[\d\d_", line)]
    assert len(rows) == len(list(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    missing = []
    for row in rows:
        outputs = row.rstrip(" |").rsplit(" | ", 1)[1]
        outputs = outputs.split("after `make robustness`")[0] + outputs.partition(";")[2]  # that run is another
        for name in re.findall(r"`([^`]+)`", outputs):
            if "<" in name or "*" in name or name.startswith("make "):
                continue
            path = executed / ("results" if name.endswith(".csv") else "figures") / (
                name if name.endswith(".csv") else f"{name}.png")
            if not path.is_file():
                missing.append(str(path.relative_to(executed)))
    assert not missing, missing


def test_make_run_with_two_parameters_is_a_recorded_and_verified_run(six_cluster_run, capsys):
    from twigma.cli import main

    out = six_cluster_run
    manifest = json.loads((out / "results" / "provenance.json").read_text())
    recorded = manifest["notebooks"]["03_theme_shift"]["parameters"]
    assert recorded["ALPHA"] == 0.05 and recorded["MIN_IMAGES_PER_MONTH"] == 50
    assert recorded["DECLINING"] == [1, 3, 4]  # the defaults are recorded too
    png = Image.open(out / "figures" / "03_theme_trends.png")
    assert json.loads(png.info["twigma:parameters"]) == recorded
    ledger = pd.read_csv(out / "results" / "claims.csv", dtype=str, keep_default_na=False)
    assert set(ledger.loc[ledger["notebook"] == "03_theme_shift", "claim"]) >= {"C4", "C5"}
    assert not any("=" in p.name for p in paths.ROOT.iterdir())  # PARAMS made no file of its words
    # make figures on this folder later keeps that run and says so (twigma provenance --notes, its last line;
    # make verify runs twigma verify: both called here as make calls them, in this process)
    capsys.readouterr()
    assert main(["provenance", "--out", str(out), "--notes"]) == 0
    notes = capsys.readouterr().out
    assert "03_theme_shift in this run was made with ALPHA=0.05 MIN_IMAGES_PER_MONTH=50 (make run)" in notes
    assert f"rm '{out / 'build' / '03_theme_shift.ipynb'}' && make figures OUT='{out}'" in notes
    assert main(["verify", "--out", str(out)]) == 0
    assert "0 problem" in capsys.readouterr().out
