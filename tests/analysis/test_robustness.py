"""Tests of twigma.analysis.robustness: specification curve of the paper's claims over the choices the paper leaves open (``make robustness``)."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import papermill as pm
import pytest
from support.grids import NSFW_GRID, _planted, _run_grid, write

from twigma import paths
from twigma.analysis import claims, nsfw, overview, robustness as rb, themes
from twigma.run import grid_runs


def test_the_committed_grid_has_at_least_four_specifications_per_claim():
    specs = rb.specifications(grid_runs.read_grid())
    per_claim = {c: sum(c in rb.GROUPS[s.group].claims for s in specs) for c in
                 ("C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C11")}
    assert min(per_claim.values()) >= 4, per_claim
    assert len({s.id for s in specs}) == len(specs)
    assert [s.default for s in specs].count(True) == len(grid_runs.read_grid())  # one default per group


def test_the_first_values_are_the_notebooks_defaults():
    """Each group's first specification is what make figures reports."""
    grid = grid_runs.read_grid()

    def defaults(nb):
        return {k: v["default"] for k, v in pm.inspect_notebook(str(paths.NOTEBOOKS / f"{nb}.ipynb")).items()}

    nb01, nb03, nb04 = defaults("01_growth"), defaults("03_theme_shift"), defaults("04_nsfw")
    nb06, nb08 = defaults("06_distinctness"), defaults("08_likes_similarity")
    assert grid["growth"]["alpha"][0] == float(nb01["ALPHA"]) and grid["growth"]["test"][0] == "mann-kendall"
    assert grid["words"]["top_n"][0] == int(nb01["TOP_N_WORDS"])
    assert grid["themes"]["alpha"][0] == float(nb03["ALPHA"])
    assert grid["themes"]["min_images_per_month"][0] == int(nb03["MIN_IMAGES_PER_MONTH"])
    assert grid["themes"]["model"][0] == "quasi-binomial"
    assert str(rb.DECLINING) == nb03["DECLINING"] and str(rb.RISING) == nb03["RISING"]
    assert grid["nsfw"]["threshold"][0] == float(nb04["THRESHOLD"]) and grid["nsfw"]["measure"][0] == "detector"
    assert float(eval(grid["nsfw"]["mostly"][0])) == float(nb04["MOSTLY"])
    assert grid["distinctness"]["max_per_class"][0] == int(nb06["MAX_PER_CLASS"])
    assert grid["distinctness"]["folds"][0] == int(nb06["FOLDS"])
    assert grid["distinctness"]["min_auc"][0] == float(nb06["MIN_AUC"])
    assert grid["likes"]["similarity"][0] == nb08["SIMILARITY"].strip("\"'")
    assert grid["likes"]["alpha"][0] == float(nb08["ALPHA"])


def test_specifications_full_grid_one_at_a_time_and_choices_that_do_not_apply(tmp_path):
    grid = grid_runs.read_grid(write(tmp_path, NSFW_GRID))
    specs = rb.specifications(grid)
    # 2 x 3 x 2 = 12, but the threshold does not apply to Twitter's flag: 6 detector + 2 flag
    assert len(specs) == 8
    flag = [s for s in specs if s.values["measure"] == "twitter-flag"]
    assert len(flag) == 2 and all(s.values["threshold"] is None for s in flag)
    assert specs[0].default and specs[0].values == {"measure": "detector", "threshold": 0.5, "mostly": "1/2"}
    assert specs[0].text == "detector; score > 0.5; mostly = more than 1/2"
    small = rb.specifications(grid, one_at_a_time=True)  # defaults + each other value alone
    assert len(small) == 1 + 1 + 2 + 1
    # the id is the values': the same specification in an edited grid keeps its id (and its finished file)
    grid2 = grid_runs.read_grid(write(tmp_path, NSFW_GRID.replace("[0.5, 0.3, 0.7]", "[0.5, 0.3, 0.7, 0.9]"), "g2.yml"))
    assert {s.id for s in specs} < {s.id for s in rb.specifications(grid2)}


def test_default_specifications_decide_as_the_notebooks_do(small_release_file, small_release):
    """The default specification of each release group gives the notebooks' claim rows."""
    grid = grid_runs.read_grid()
    data = grid_runs.Inputs(str(small_release_file), None)
    by_group = {s.group: s for s in rb.specifications(grid, images=False) if s.default}
    got = {r["claim"]: r for g in by_group.values() for r in grid_runs.record(g, data)["rows"]}
    expected = [
        claims.check_c2(overview.growth_trend(overview.monthly_counts(small_release), "n_tweets"), alpha=0.01),
        claims.check_trends(themes.theme_trends(small_release, alpha=0.01, min_images_per_month=20), "C4",
                            [1, 3, 4], "down"),
        claims.check_trends(themes.theme_trends(small_release, alpha=0.01, min_images_per_month=20), "C5",
                            [8, 9], "up"),
        claims.check_c6(nsfw.nsfw_by_cluster(small_release, threshold=0.5, mostly=0.5)),
    ]
    for c in expected:
        assert (got[c.claim]["observed"], got[c.claim]["holds"]) == (c.observed, c.holds), c.claim


def test_a_claim_planted_true_under_every_specification_is_robust(tmp_path, raw_small):
    release = _planted(raw_small, tmp_path, 0.95)  # far above every threshold, flagged too
    table, summary = _run_grid(write(tmp_path, NSFW_GRID), release, tmp_path / "out")
    s = summary.set_index("claim").loc["C6"]
    assert (s["n_specifications"], s["n_holds"], s["verdict"]) == (8, 8, rb.VERDICT_YES)
    assert s["depends_on"] == "" and s["holds_by_default"] == "yes"
    assert (table["estimate"] == 2).all()
    written = pd.read_csv(tmp_path / "out" / "results" / "robustness_summary.csv", keep_default_na=False)
    assert written.columns.tolist() == rb.SUMMARY_COLUMNS
    assert written.set_index("claim").loc["C6", "verdict"] == rb.VERDICT_YES


def test_image_groups_need_embeddings_and_say_so(tmp_path, raw_small):
    from twigma.synthetic.release import write_release

    release = write_release(raw_small, tmp_path / "mine.csv")  # not the sample: no embeddings go with it
    grid = grid_runs.read_grid()
    assert not grid_runs.has_embeddings(str(release), None)
    assert {s.group for s in rb.specifications(grid, images=False)} == {"growth", "words", "themes", "shift", "nsfw"}
    summary = rb.summarise(pd.DataFrame(columns=[*rb.LEAD_COLUMNS, *rb.TAIL_COLUMNS]),
                           not_run={"C7": "not run: needs image embeddings"})
    assert summary.iloc[0]["n_specifications"] == 0


@pytest.mark.slow  # make robustness -j2: 2 specifications in processes of their own, then notebook 12
@pytest.mark.skipif(not (paths.ROOT / ".venv" / ".installed").exists(), reason="needs the make-built .venv")
def test_make_robustness_runs_in_parallel_and_never_reruns_a_finished_specification(tmp_path, raw_small):
    from twigma.synthetic.release import write_release

    release = write_release(raw_small.iloc[:2000], tmp_path / "mine.csv")
    # one specification of each of two claims: two make jobs side by side, and a rerun that must skip one (each
    # specification is a process of its own, so a larger grid costs time and tests nothing more; the grid's
    # expansion and a summary over several specifications of a claim are tested above)
    grid = write(tmp_path, """
nsfw:
  measure: [detector]
  threshold: [0.5]
  mostly: [1/2]
growth:
  test: [mann-kendall]
  alpha: [0.01]
  window: [all]
  count: [tweets]
""")
    out = tmp_path / "out"

    def make(*args):
        return subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "-j2", "robustness",
                               f"RELEASE={release}", f"OUT={out}", f"GRID={grid}", *args],
                              capture_output=True, text=True)

    r = make()
    assert r.returncode == 0, r.stdout + r.stderr
    specs = sorted((out / "build" / "robustness").glob("*.json"))
    assert len(specs) == 1 + 1
    summary = pd.read_csv(out / "results" / "robustness_summary.csv")
    assert summary["claim"].tolist() == ["C2", "C6"] and (summary["n_specifications"] == 1).all()
    assert (out / "figures" / "12_robustness_nsfw.png").exists()  # notebook 12 ran on the results
    executed = (out / "build" / "12_robustness.ipynb").read_text()
    assert "These are the results of `make robustness`" in executed
    assert json.loads(specs[0].read_text())["release"] == str(release)

    stamps = {p.name: p.stat().st_mtime_ns for p in specs}
    specs[0].unlink()  # an interrupted run: one specification missing
    r = make()
    assert r.returncode == 0, r.stdout + r.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (out / "build" / "robustness").glob("*.json")}
    changed = [n for n in after if after[n] != stamps.get(n)]
    assert changed == [specs[0].name]  # only the missing one ran again


def test_growth_log_linear_test_and_nsfw_flag_measure(small_release):
    from scipy import stats

    monthly = overview.monthly_counts(small_release)
    trend = overview.growth_trend(monthly)
    t = np.arange(len(monthly)) / 12.0
    pos = monthly["n_tweets"].to_numpy() > 0
    ref = stats.linregress(t[pos], np.log(monthly["n_tweets"].to_numpy()[pos]))
    assert np.isclose(trend.loglinear_p_value, ref.pvalue)
    c2 = claims.check_c2(trend, alpha=0.01, test="log-linear")
    assert c2.holds == ("yes" if ref.slope > 0 and ref.pvalue < 0.01 else "no") and "log-linear slope" in c2.observed
    with pytest.raises(ValueError, match="C2 test"):
        claims.check_c2(trend, test="sign")
    flag = nsfw.nsfw_by_cluster(small_release, mostly=2 / 3, measure="twitter-flag")
    assert (flag["mostly_nsfw"] == (flag["share_possibly_sensitive"] > 2 / 3)).all()
    assert "flagged sensitive by Twitter" in claims.check_c6(flag).observed
    assert "more than 67%" in claims.check_c6(flag).observed


def test_a_vote_is_said_with_the_range_of_its_estimate():
    assert rb.effect_words(6, 6, 7.2, 20.1, 7.2) == "holds in all 6 specifications; estimate 7.2 to 20.1 (default 7.2)"
    assert rb.effect_words(5, 5, 2, 2, 2, one_at_a_time=True) == (
        "holds in all 5 specifications (each choice varied alone); estimate 2 in every specification")
    assert rb.effect_words(8, 3, -1.0, 0.5, -0.2).startswith("holds in 3 of 8 specifications; estimate -1 to 0.5")
    assert rb.effect_words(4, 0, float("nan"), float("nan"), float("nan")) == "holds in none of the 4 specifications; no estimate"


def test_grid_shares_tables_without_changing_results(small_release_file, tmp_path, monkeypatch):
    """The small grid reuses each window's monthly, word and monthly cluster counts across specifications
    (analysis.robustness._shared): every specification's rows equal those of a fresh run of it alone."""
    from twigma.analysis.robustness import run_group, specifications

    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(tmp_path / "cache"))
    specs = specifications(grid_runs.read_grid(None), images=False, one_at_a_time=True)
    shared = grid_runs.Inputs(str(small_release_file), None)
    reused = [run_group(s, shared) for s in specs]
    assert {k[0] for k in vars(shared)["_shared_tables"]} == {"monthly_counts", "term_counts", "monthly_cluster_counts"}
    alone = grid_runs.Inputs(str(small_release_file), None)
    for s, rows in zip(specs, reused):
        vars(alone).pop("_shared_tables", None)
        assert run_group(s, alone) == rows, s.text
