"""The notebooks as a user meets them: run by papermill (through twigma's runner and make) on a small release, with their outputs checked for content; and committed clean."""
from __future__ import annotations

import json
import os
import shutil

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import MAKE_BUILT
from support.notebook_runs import NOTEBOOKS, TABLES, make

from twigma import paths
from twigma.run.runner import NotebookFailed, run_notebook


def _outputs_in_order(nb):
    """(cell index, kind) of every output of an executed notebook, in order: "figure" for an
    image, "text" for Markdown rendered by the run (display(Markdown(...)))."""
    found = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "image/png" in data:
                found.append((i, "figure"))
            elif "text/markdown" in data:
                found.append((i, "text"))
    return found


def test_every_table_is_written_with_its_columns(executed):
    for name, cols in TABLES.items():
        df = pd.read_csv(executed / "results" / name)
        assert list(df.columns[: len(cols)]) == cols, name
        assert len(df) > 0, name


def test_tables_follow_the_data_given(executed, run_release):
    res = executed / "results"
    summary = pd.read_csv(res / "data_summary.csv").set_index("metric")["value"]
    assert int(summary["n_images"]) == len(run_release) == 3000
    assert int(summary["n_tweets"]) == run_release["id"].nunique()
    monthly = pd.read_csv(res / "monthly_counts.csv")
    assert monthly["n_images"].sum() == 3000 and monthly["month"].iloc[0] == "2021-01"
    trends = pd.read_csv(res / "theme_trends.csv")
    assert trends["cluster"].tolist() == list(range(1, 11))
    assert set(trends["direction"]) <= {"up", "down", "flat"}
    nsfw = pd.read_csv(res / "nsfw_by_cluster.csv")
    assert nsfw["n_images"].sum() == 3000
    eng = pd.read_csv(res / "engagement_by_cluster.csv")
    assert eng["share_likes_missing"].between(0, 1).all()
    words = pd.read_csv(res / "cluster_words.csv")
    assert words.groupby("cluster")["rank"].min().eq(1).all()


def test_claims_cover_c1_to_c11(executed):
    claims = pd.read_csv(executed / "results" / "claims.csv").set_index("claim")
    assert claims.index.tolist() == [f"C{i}" for i in range(1, 12)]
    # a synthetic sample's size says nothing about the release: the count is not applicable, the span is checked
    assert claims.loc["C1", "holds"] == "partly testable"  # the span holds; the count is not testable here
    assert claims.loc[[f"C{i}" for i in range(1, 12)], "data"].eq("synthetic sample").all()
    assert "image count: not applicable (3,000 images" in claims.loc["C1", "observed"]
    assert "span 2021-01" in claims.loc["C1", "observed"]
    assert claims["notebook"].tolist()[:6] == ["00_data", "01_growth", "01_growth", "03_theme_shift",
                                               "03_theme_shift", "04_nsfw"]
    assert claims["paper_says"].str.len().gt(20).all() and "clusters 1, 3, and 4" in claims.loc["C4", "paper_says"]
    assert "odds ratio x" in claims.loc["C4", "observed"] and "log-odds/yr" in claims.loc["C4", "observed"]
    assert not claims["observed"].str.contains(r"p = 0(?:\.0+)?[;,) ]|p = 0$", regex=True).any()
    assert set(claims.loc[["C2", "C3", "C4", "C5", "C6", "C11"], "holds"]) <= {"yes", "no"}
    assert set(claims.loc[["C7", "C8", "C9", "C10"], "holds"]) <= {"yes", "no"}
    assert claims.loc["C2", "observed"].startswith("[synthetic sample]")
    assert "AUC" in claims.loc["C7", "observed"] and "99% CI" in claims.loc["C7", "observed"]
    assert "of 100 known inspiration pairs" in claims.loc["C10", "observed"]
    assert "lower bound" in claims.loc["C10", "observed"]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_is_followed_by_text_from_its_run(executed, nb_path):
    """No figure without a Markdown text rendered by the run after it (before the next figure),
    a synthetic-data banner near the top, and a Findings section with its table at the end."""
    nb = nbformat.read(executed / "build" / nb_path.name, as_version=4)
    seq = _outputs_in_order(nb)
    figures = [k for k, (_, kind) in enumerate(seq) if kind == "figure"]
    assert figures, "no figure shown"
    for k in figures:
        following = [kind for _, kind in seq[k + 1:]]
        nxt = following.index("figure") if "figure" in following else len(following)
        assert "text" in following[:nxt], f"figure in cell {seq[k][0]} is not followed by text from the run"
    shown = [o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
    assert "SYNTHETIC sample" in shown[0] and "by construction" in shown[0]  # the small release is synthetic
    assert any(c.cell_type == "markdown" and c.source.startswith("## Findings") for c in nb.cells)
    assert "| the paper says | this run finds | verdict |" in shown[-1]


def test_example_images_per_cluster(tmp_path, small_release_file, small_release, executed):
    """02 shows example images from an IMAGES folder (named by image_name) and never saves them."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images  # two photos that ship with scikit-learn
    images = tmp_path / "images"
    images.mkdir()
    picks = small_release.groupby("label_10_cluster").head(2)
    for j, name in enumerate(picks["image_name"]):
        Image.fromarray(photos[j % len(photos)]).resize((96, 64)).save(images / f"{name}.jpg")
    out = tmp_path / "out"
    run_notebook(paths.NOTEBOOKS / "02_themes_map.ipynb", release=small_release_file, out=out,
                 parameters={"IMAGES": str(images), "EXAMPLES_PER_CLUSTER": 2})
    nb = nbformat.read(out / "build" / "02_themes_map.ipynb", as_version=4)
    seq = _outputs_in_order(nb)
    grid_cell = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "example_grid(" in c.source)
    assert (grid_cell, "figure") in seq and (grid_cell, "text") in seq
    text = json.dumps(nb.cells[grid_cell].outputs)
    assert f"{len(picks)} images from {len(picks)} files" in text
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == ["02_cluster_words.png", "02_umap_clusters.png"]

    # without IMAGES (the shared run) the notebook says how to get them, and shows no grid
    nb2 = nbformat.read(executed / "build" / "02_themes_map.ipynb", as_version=4)
    said = json.dumps(nb2.cells[grid_cell].outputs)
    assert "make images" in said and "image/png" not in said


def test_image_tables_follow_the_embeddings(executed, run_embeddings):
    from twigma.analysis.variability import dispersion
    from twigma.embeddings import store

    res = executed / "results"
    var = pd.read_csv(res / "variability.csv").set_index("source")
    for src in ("twigma", "natural", "art"):
        X = store.read(run_embeddings, src).vectors
        assert var.loc[src, "n"] == len(X)
        assert var.loc[src, "dispersion"] == pytest.approx(dispersion(X))
    dist = pd.read_csv(res / "distinctness.csv")
    assert dist["comparison"].tolist() == ["twigma_vs_natural", "twigma_vs_art"] and dist["auc"].between(0, 1).all()
    ls = pd.read_csv(res / "likes_similarity.csv")
    assert ls["term"].iloc[0] == "similarity_to_natural" and ls["n"].iloc[0] < 3000
    bins = pd.read_csv(res / "likes_similarity_bins.csv")  # 08's figure: both views cover every image and tweet once
    assert set(bins["view"]) == {"unadjusted", "adjusted"}
    assert (bins.groupby("view")["n"].sum() == ls["n"].iloc[0]).all()
    assert (bins.groupby("view")["n_tweets"].sum() == ls["n_tweets"].iloc[0]).all()
    insp = pd.read_csv(res / "inspiration.csv")
    assert insp.groupby("image_name")["rank"].apply(list).map(lambda r: r == [1, 2, 3, 4, 5]).all()


def test_figures_in_raster_and_vector_form(executed):
    figs = sorted(p.name for p in (executed / "figures").iterdir())
    stems = {p.rsplit(".", 1)[0] for p in figs}
    for nb in NOTEBOOKS:
        assert any(s.startswith(nb.stem[:2] + "_") for s in stems), nb.stem
    for s in stems:
        assert f"{s}.png" in figs and f"{s}.pdf" in figs
    assert all((executed / "figures" / f).stat().st_size > 5000 for f in figs)


def test_executed_notebooks_carry_no_tool_noise(executed):
    """No tqdm "IProgress not found" warning (ipywidgets is installed) and no kernel interrupt messages."""
    for nb in sorted((executed / "build").glob("[0-9][0-9]_*.ipynb")):
        shown = json.dumps([c.get("outputs", []) for c in nbformat.read(nb, as_version=4).cells])
        for noise in ("IProgress not found", "KeyboardInterrupt"):
            assert noise not in shown, f"{nb.name}: {noise}"


def test_figures_from_synthetic_data_carry_the_mark(executed, tmp_path):
    nb = nbformat.read(executed / "build" / "00_data.ipynb", as_version=4)
    assert "SYNTHETIC sample" in json.dumps([c.get("outputs", []) for c in nb.cells])
    import matplotlib.pyplot as plt

    from twigma.present.outputs import Outputs
    from twigma.present.plots import SYNTHETIC_MARK
    fig, _ = plt.subplots()
    Outputs(tmp_path, synthetic=True, notebook="99_probe").figure(fig, "probe")
    assert any(t.get_text() == SYNTHETIC_MARK for t in fig.texts)
    fig2, _ = plt.subplots()
    Outputs(tmp_path, synthetic=False, notebook="99_probe").figure(fig2, "probe")
    assert not fig2.texts


def test_executed_copies_record_their_parameters(executed, run_release_file):
    nb = nbformat.read(executed / "build" / "03_theme_shift.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and str(run_release_file) in injected[0].source
    assert not (executed / "build" / ".staging" / "03_theme_shift").exists()


def test_a_failing_notebook_names_itself_and_keeps_earlier_outputs(executed, tmp_path, raw_small):
    executed = shutil.copytree(executed, tmp_path / "run")  # the shared run stays as it was
    bad = tmp_path / "bad.csv"
    broken = raw_small.copy()
    broken.loc[2, "label_10_cluster"] = 42
    broken.to_csv(bad, index=False)
    before = (executed / "results" / "theme_trends.csv").read_bytes()
    nb_before = (executed / "build" / "03_theme_shift.ipynb").read_bytes()
    with pytest.raises(NotebookFailed) as info:
        run_notebook(paths.NOTEBOOKS / "03_theme_shift.ipynb", release=bad, out=executed)
    msg = str(info.value)
    assert "03_theme_shift" in msg and "ReleaseError" in msg and "label_10_cluster" in msg
    assert (executed / "results" / "theme_trends.csv").read_bytes() == before
    assert (executed / "build" / "03_theme_shift.ipynb").read_bytes() == nb_before
    assert (executed / "build" / "failed" / "03_theme_shift.ipynb").exists()


@pytest.mark.skipif(not MAKE_BUILT, reason="needs the make-built .venv")
def test_make_figures_with_embeddings_follows_them(executed, tmp_path, run_release_file, run_embeddings):
    """The session's run is `make figures RELEASE= EMBEDDINGS= OUT=`: the image tables follow the store; a
    changed store (at a path with a space) reruns the image notebooks that read it and nothing else."""
    from twigma.analysis.variability import dispersion
    from twigma.embeddings import store

    out = shutil.copytree(executed, tmp_path / "out")
    for p in (out / "build").rglob("*"):  # the run as make left it, newer than its inputs (in a shared checkout
        os.utime(p)                       # the package may have been edited since the session's run)
    var = pd.read_csv(out / "results" / "variability.csv").set_index("source")
    assert var.loc["natural", "n"] == 600
    assert var.loc["art", "dispersion"] == pytest.approx(dispersion(store.read(run_embeddings, "art").vectors))
    claims = pd.read_csv(out / "results" / "claims.csv").set_index("claim")
    assert (claims.loc[["C7", "C8", "C9"], "holds"] != "untestable").all()

    # a changed store reruns the image notebooks that read it (make finds them by their EMBEDDINGS parameter)
    other = tmp_path / "other store"
    shutil.copytree(run_embeddings, other)
    natural = store.read(other, "natural")
    store.write(other, "natural", natural.ids[:500], np.asarray(natural.vectors[:500]),
                meta={k: v for k, v in store.read_meta(other).items() if k != "sources"})
    r = make(str(out / "build" / "07_variability.ipynb"), f"RELEASE={run_release_file}",
             f"EMBEDDINGS={other}", f"OUT={out}")
    assert r.returncode == 0 and ">> 07_variability" in r.stdout, r.stdout + r.stderr
    assert ">> 00_data" not in r.stdout, "a release-only notebook (07's prerequisite 00) reran for a new store"
    assert pd.read_csv(out / "results" / "variability.csv").set_index("source").loc["natural", "n"] == 500


def test_growth_uses_rehydrated_tweet_text_without_printing_it(tmp_path, small_release_file, small_release):
    from twigma.fetch import x_api

    con = x_api.connect(tmp_path / "tweets.sqlite")
    ids = small_release["id"].drop_duplicates().tolist()
    secret_phrase = "zebracorn"  # a word only the tweets have; it may be counted, the text never printed
    body = {"data": [{"id": i, "text": f"new AI art prompts {secret_phrase} https://t.co/x", "public_metrics": {}}
                     for i in ids]}
    x_api.store_batch(con, ids, body)
    con.close()
    out = tmp_path / "out"
    run_notebook(paths.NOTEBOOKS / "01_growth.ipynb", release=small_release_file, out=out,
                 parameters={"TWEETS": str(tmp_path / "tweets.sqlite")})
    top = pd.read_csv(out / "results" / "tweet_top_words.csv")
    assert {"new", "art", "prompts", secret_phrase} <= set(top["word"]) and "https" not in set(top["word"])
    nb = nbformat.read(out / "build" / "01_growth.ipynb", as_version=4)
    shown = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "new AI art prompts" not in shown  # no tweet text in the executed notebook


def test_a_cell_timeout_is_a_clear_failure(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("RELEASE = ''\nOUT = ''", metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell("import time\ntime.sleep(30)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "98_slow.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(NotebookFailed, match="98_slow stopped: .*Timeout"):
        run_notebook(path, out=tmp_path / "out", timeout=1)
    assert (tmp_path / "out" / "build" / "failed" / "98_slow.ipynb").exists()
    assert not (tmp_path / "out" / "build" / ".staging" / "98_slow").exists()


def test_a_skipped_notebook_removes_what_an_earlier_run_wrote(executed, tmp_path, run_release_file):
    out = shutil.copytree(executed, tmp_path / "run")  # the earlier run: the shared one, which had embeddings
    nb = paths.NOTEBOOKS / "07_variability.ipynb"
    assert (out / "results" / "variability.csv").exists() and (out / "figures" / "07_variability.png").exists()
    run_notebook(nb, release=run_release_file, out=out)  # now without embeddings: skipped
    assert not (out / "results" / "variability.csv").exists()
    assert not (out / "figures" / "07_variability.png").exists()


def test_plain_papermill_with_inject_paths_names_the_outputs(tmp_path, small_release_file):
    """Without the runner: `papermill --inject-paths` gives the notebook its input path as a parameter (papermill's
    command line, papermill.cli, which `papermill` and `python -m papermill` run: called here in this process)."""
    from click.testing import CliRunner
    from papermill.cli import papermill

    nb = tmp_path / "notebooks" / "12_plain.ipynb"
    nb.parent.mkdir()
    nb.write_bytes((paths.NOTEBOOKS / "_template.ipynb").read_bytes())
    out = tmp_path / "out"
    r = CliRunner().invoke(papermill, [str(nb), str(tmp_path / "executed.ipynb"), "--inject-paths", "-k", "python3",
                                       "-p", "RELEASE", str(small_release_file), "-p", "OUT", str(out)])
    assert r.exit_code == 0, r.output[-3000:] + repr(r.exception)
    assert (out / "figures" / "12_plain_monthly_images.png").exists()
    assert (out / "results" / "12_plain" / "monthly_images.csv").exists()
