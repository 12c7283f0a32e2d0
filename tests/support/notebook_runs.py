"""The numbered notebooks, their result tables, make called from a test, and the check of a committed notebook."""
from __future__ import annotations

import subprocess

import nbformat
import papermill as pm
from conftest import make_env

from twigma import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


TABLES = {  # the seven result files and their required leading columns
    "data_summary.csv": ["metric", "value"],
    "monthly_counts.csv": ["month", "n_tweets", "n_images"],
    "cluster_words.csv": ["cluster", "rank", "word", "score"],
    "theme_trends.csv": ["cluster", "slope", "p_value", "direction"],
    "nsfw_by_cluster.csv": ["cluster", "n_images", "share_possibly_sensitive", "share_nsfw_gt_0_5", "mean_nsfw_score"],
    "engagement_by_cluster.csv": ["cluster", "n_images", "share_likes_missing", "median_likes", "mean_log1p_likes"],
    "claims.csv": ["claim", "statement", "observed", "holds"],
    "distinctness.csv": ["comparison", "auc", "ci_low", "ci_high", "ci_level"],
    "variability.csv": ["source", "n", "dispersion", "ci_low", "ci_high"],
    "likes_similarity.csv": ["term", "estimate", "ci_low", "ci_high", "ci_level", "p_value", "p_below_floor"],
    "inspiration.csv": ["image_name", "rank", "art_id", "cosine"],
}


RELEASE_TABLES = list(TABLES)[:7]  # the ones the release alone gives


def check_committed_notebook(nb_path):
    """What every committed notebook must be: clean, python3 kernel, a header, typed parameters with help."""
    nb = nbformat.read(nb_path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# {nb_path.stem[:2]} ")
    for heading in ("**Question.**", "**Reproduces.**", "**Inputs.**", "**Outputs.**"):
        assert heading in nb.cells[0].source, heading
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    names = [line.split("=")[0].split(":")[0].strip() for line in params[0].source.splitlines() if "=" in line]
    inferred = pm.inspect_notebook(str(nb_path))  # what `papermill --help-notebook` shows
    assert set(names) == set(inferred), "every parameter line must parse (no '=' or quotes in comments)"
    assert len(names) == len(set(names)), f"a parameter is defined twice: {sorted(names)}"
    assert {"RELEASE", "OUT"} <= set(names)
    assert all(inferred[n]["help"] for n in names), "every parameter needs a trailing comment"
    untyped = [n for n in names if inferred[n]["inferred_type_name"] in (None, "None")]
    assert not untyped, f"parameters without a type annotation (papermill shows 'Unknown type'): {untyped}"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert nb_path.stem not in code, "a notebook never spells its own name: Outputs finds it"


def make(*args, **kw):
    return subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), *args],
                          capture_output=True, text=True, env=make_env(), **kw)
