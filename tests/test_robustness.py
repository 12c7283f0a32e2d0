"""The specification curve (make robustness, twigma.analysis.robustness): the grid file, the specifications,
the verdicts on releases where a claim is planted robust or made to flip with one choice, and make."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import papermill as pm
import pytest

from twigma import paths
from twigma.analysis import claims, nsfw, overview, robustness as rb, themes
from twigma.run import robustness as runrb

NSFW_GRID = """
nsfw:
  measure: [detector, twitter-flag]
  threshold: [0.5, 0.3, 0.7]
  mostly: [1/2, 2/3]
"""


def write(tmp_path, text, name="grid.yml"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ---------------------------------------------------------------- the grid file -------------

def test_the_committed_grid_has_at_least_four_specifications_per_claim():
    specs = rb.specifications(runrb.read_grid())
    per_claim = {c: sum(c in rb.GROUPS[s.group].claims for s in specs) for c in
                 ("C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C11")}
    assert min(per_claim.values()) >= 4, per_claim
    assert len({s.id for s in specs}) == len(specs)
    assert [s.default for s in specs].count(True) == len(runrb.read_grid())  # one default per group


def test_the_first_values_are_the_notebooks_defaults():
    """Each group's first specification is what make figures reports."""
    grid = runrb.read_grid()

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


@pytest.mark.parametrize("text, says", [
    ("colour:\n  alpha: [0.01]\n", "unknown group 'colour'"),
    ("nsfw:\n  measure: [detector]\n  threshold: [0.5]\n", "lacks the choices mostly"),
    ("nsfw:\n  measure: [detector]\n  threshold: [0.5]\n  mostly: [1/2]\n  shade: [1]\n",
     "does not know: shade"),
    ("nsfw:\n  measure: [detector]\n  threshold: [1.5]\n  mostly: [1/2]\n", "choice 'threshold': value 1.5"),
    ("nsfw:\n  measure: [detector, camera]\n  threshold: [0.5]\n  mostly: [1/2]\n", "value 'camera'"),
    ("growth:\n  test: [mann-kendall]\n  alpha: [0.01]\n  window: [since-2022]\n  count: [tweets]\n",
     "a window is 'all' or 'from-YYYY'"),
    ("nsfw: [1, 2\n", "not valid YAML"),
    ("variability:\n  reference_n: [all]\n  twigma_n: [all]\n  alpha: [0.01]\n  n_boot: [200]\n  seed: [0]\n",
     "at least 2000 bootstrap replicates"),
])
def test_a_bad_grid_file_is_a_clear_error(tmp_path, text, says):
    path = write(tmp_path, text)
    with pytest.raises(runrb.GridError) as e:
        runrb.read_grid(path)
    assert str(path) in str(e.value) and says in str(e.value)


def test_specifications_full_grid_one_at_a_time_and_choices_that_do_not_apply(tmp_path):
    grid = runrb.read_grid(write(tmp_path, NSFW_GRID))
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
    grid2 = runrb.read_grid(write(tmp_path, NSFW_GRID.replace("[0.5, 0.3, 0.7]", "[0.5, 0.3, 0.7, 0.9]"), "g2.yml"))
    assert {s.id for s in specs} < {s.id for s in rb.specifications(grid2)}


# ---------------------------------------------------------------- same code paths -----------

def test_default_specifications_decide_as_the_notebooks_do(small_release_file, small_release):
    """The default specification of each release group gives the notebooks' claim rows."""
    grid = runrb.read_grid()
    data = runrb.Inputs(str(small_release_file), None)
    by_group = {s.group: s for s in rb.specifications(grid, images=False) if s.default}
    got = {r["claim"]: r for g in by_group.values() for r in runrb.record(g, data)["rows"]}
    expected = [
        claims.check_c2(overview.growth_trend(overview.monthly_counts(small_release), "n_tweets"), alpha=0.01),
        claims.check_trends(themes.theme_trends(small_release, alpha=0.01, min_images_per_month=20), "C4",
                            [1, 3, 4], "down"),
        claims.check_trends(themes.theme_trends(small_release, alpha=0.01, min_images_per_month=20), "C5",
                            [8, 9], "up"),
        claims.check_c6(nsfw.nsfw_by_cluster(small_release, threshold=0.5, mostly=0.5)),
    ]
    for c in expected:
        assert (got[c["claim"]]["observed"], got[c["claim"]]["holds"]) == (c["observed"], c["holds"]), c["claim"]


# ---------------------------------------------------------------- planted verdicts ----------

def _planted(raw, tmp_path, nsfw_score):
    """Clusters 5 and 7: detector score ``nsfw_score`` and flagged; the others 0.02 and not flagged."""
    from twigma.synthetic.release import write_release

    df = raw.copy()
    hot = df["label_10_cluster"].isin([5, 7])
    df["nsfw_score"] = np.where(hot, nsfw_score, 0.02)
    df["possibly_sensitive"] = hot
    return write_release(df, tmp_path / f"planted_{nsfw_score}.csv")


def _run_grid(grid_path, release, out):
    grid = runrb.read_grid(grid_path)
    for s in rb.specifications(grid, images=False):
        runrb.run_spec(s.id, grid_path=grid_path, release=str(release), out=out)
    return runrb.collect(grid_path=grid_path, release=str(release), out=out)


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


def test_a_claim_that_flips_with_one_choice_depends_on_that_choice(tmp_path, raw_small):
    release = _planted(raw_small, tmp_path, 0.6)  # above 0.3 and 0.5, below 0.7; flagged
    table, summary = _run_grid(write(tmp_path, NSFW_GRID), release, tmp_path / "out")
    s = summary.set_index("claim").loc["C6"]
    assert s["verdict"] == rb.VERDICT_DEPENDS and s["depends_on"] == "threshold"
    assert s["n_holds"] == 6 and s["n_specifications"] == 8  # fails at 0.7, whatever "mostly" means
    assert "fails with 0.7" in s["detail"] and "whatever the other choices" in s["detail"]
    fails = table[table["holds"] == "no"]
    assert (fails["threshold"] == 0.7).all() and len(fails) == 2
    assert fails["observed"].str.contains("detector score > 0.7").all()
    full = pd.read_csv(tmp_path / "out" / "results" / "robustness.csv")
    assert {"claim", "specification", "measure", "threshold", "mostly", "observed", "holds"} <= set(full.columns)


def test_a_claim_that_never_holds_is_robust_no(tmp_path, raw_small):
    release = _planted(raw_small, tmp_path, 0.02)  # nothing scores high; but flagged: the flag still finds two
    grid = write(tmp_path, NSFW_GRID.replace("[detector, twitter-flag]", "[detector]"))
    _, summary = _run_grid(grid, release, tmp_path / "out")
    assert summary.set_index("claim").loc["C6", "verdict"] == rb.VERDICT_NO


def test_collect_names_a_specification_not_yet_run(tmp_path, small_release_file):
    grid = write(tmp_path, NSFW_GRID)
    with pytest.raises(FileNotFoundError, match="has not been run: run `make robustness`"):
        runrb.collect(grid_path=grid, release=str(small_release_file), out=tmp_path)


def test_image_groups_need_embeddings_and_say_so(tmp_path, raw_small):
    from twigma.synthetic.release import write_release

    release = write_release(raw_small, tmp_path / "mine.csv")  # not the sample: no embeddings go with it
    grid = runrb.read_grid()
    assert not runrb.has_embeddings(str(release), None)
    assert {s.group for s in rb.specifications(grid, images=False)} == {"growth", "words", "themes", "shift", "nsfw"}
    summary = rb.summarise(pd.DataFrame(columns=[*rb.LEAD_COLUMNS, *rb.TAIL_COLUMNS]),
                           not_run={"C7": "not run: needs image embeddings"})
    assert summary.iloc[0]["n_specifications"] == 0


# ---------------------------------------------------------------- make ----------------------

@pytest.mark.skipif(not (paths.ROOT / ".venv" / ".installed").exists(), reason="needs the make-built .venv")
def test_make_robustness_runs_in_parallel_and_never_reruns_a_finished_specification(tmp_path, raw_small):
    from twigma.synthetic.release import write_release

    release = write_release(raw_small.iloc[:2000], tmp_path / "mine.csv")
    grid = write(tmp_path, NSFW_GRID + """
growth:
  test: [mann-kendall, log-linear]
  alpha: [0.01, 0.05]
  window: [all]
  count: [tweets, images]
""")
    out = tmp_path / "out"

    def make(*args):
        return subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "-j2", "robustness",
                               f"RELEASE={release}", f"OUT={out}", f"GRID={grid}", *args],
                              capture_output=True, text=True)

    r = make()
    assert r.returncode == 0, r.stdout + r.stderr
    specs = sorted((out / "build" / "robustness").glob("*.json"))
    assert len(specs) == 8 + 8
    summary = pd.read_csv(out / "results" / "robustness_summary.csv")
    assert summary["claim"].tolist() == ["C2", "C6"] and (summary["n_specifications"] == 8).all()
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


# ---------------------------------------------------------------- the new analysis options --

def test_trend_models_against_statsmodels_and_scipy(small_release):
    import statsmodels.api as sm
    from scipy import stats

    qb = themes.theme_trends(small_release, min_images_per_month=20).set_index("cluster")
    lc = themes.theme_trends(small_release, min_images_per_month=20, model="logit-clustered").set_index("cluster")
    mk = themes.theme_trends(small_release, min_images_per_month=20, model="mann-kendall").set_index("cluster")
    counts = themes.monthly_cluster_counts(small_release)
    counts = counts[counts["n_images"] >= 20]
    kept = overview.month_of(small_release["created_at"]).isin(counts.index).to_numpy()
    rel = small_release[kept]
    y = (rel["label_10_cluster"] == 8).to_numpy(float)
    X = sm.add_constant(themes.years_since_origin(rel["created_at"]).to_numpy())
    fit = sm.Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(rel["id"])[0]})
    assert np.isclose(lc.loc[8, "slope"], fit.params[1], rtol=1e-6)
    assert np.isclose(lc.loc[8, "p_value"], fit.pvalues[1], rtol=1e-4)
    share = counts[8] / counts["n_images"]
    assert np.isclose(mk.loc[8, "p_value"], stats.kendalltau(counts["t_years"], share).pvalue)
    logit = np.log((counts[8] + 0.5) / (counts["n_images"] - counts[8] + 0.5))
    assert np.isclose(mk.loc[8, "slope"], stats.theilslopes(logit, counts["t_years"]).slope)
    for k in (1, 8, 9):  # the strong trends of the generator: one sign under every model
        assert np.sign(qb.loc[k, "slope"]) == np.sign(lc.loc[k, "slope"]) == np.sign(mk.loc[k, "slope"])
    with pytest.raises(ValueError, match="model must be one of"):
        themes.theme_trends(small_release, model="ols")


def test_growth_log_linear_test_and_nsfw_flag_measure(small_release):
    from scipy import stats

    monthly = overview.monthly_counts(small_release)
    trend = overview.growth_trend(monthly)
    t = np.arange(len(monthly)) / 12.0
    pos = monthly["n_tweets"].to_numpy() > 0
    ref = stats.linregress(t[pos], np.log(monthly["n_tweets"].to_numpy()[pos]))
    assert np.isclose(trend["loglinear_p_value"], ref.pvalue)
    c2 = claims.check_c2(trend, alpha=0.01, test="log-linear")
    assert c2["holds"] == ("yes" if ref.slope > 0 and ref.pvalue < 0.01 else "no") and "log-linear slope" in c2["observed"]
    with pytest.raises(ValueError, match="C2 test"):
        claims.check_c2(trend, test="sign")
    flag = nsfw.nsfw_by_cluster(small_release, mostly=2 / 3, measure="twitter-flag")
    assert (flag["mostly_nsfw"] == (flag["share_possibly_sensitive"] > 2 / 3)).all()
    assert "flagged sensitive by Twitter" in claims.check_c6(flag)["observed"]
    assert "more than 67%" in claims.check_c6(flag)["observed"]


# ---------------------------------------------------------------- effects beside votes -----

def test_a_vote_is_said_with_the_range_of_its_estimate():
    assert rb.effect_words(6, 6, 7.2, 20.1, 7.2) == "holds in all 6 specifications; estimate 7.2 to 20.1 (default 7.2)"
    assert rb.effect_words(5, 5, 2, 2, 2, one_at_a_time=True) == (
        "holds in all 5 specifications (each choice varied alone); estimate 2 in every specification")
    assert rb.effect_words(8, 3, -1.0, 0.5, -0.2).startswith("holds in 3 of 8 specifications; estimate -1 to 0.5")
    assert rb.effect_words(4, 0, float("nan"), float("nan"), float("nan")) == "holds in none of the 4 specifications; no estimate"


def test_the_summary_gives_each_claim_s_estimate_range_against_pandas(tmp_path, raw_small):
    release = _planted(raw_small, tmp_path, 0.6)
    table, summary = _run_grid(write(tmp_path, NSFW_GRID), release, tmp_path / "out")
    s = summary.set_index("claim").loc["C6"]
    est = table.loc[table["claim"] == "C6", "estimate"]
    assert (s["estimate_min"], s["estimate_max"]) == (est.min(), est.max())
    assert s["estimate_default"] == table.loc[table["default"] & (table["claim"] == "C6"), "estimate"].iloc[0]
    assert s["in_words"].startswith(f"holds in 6 of 8 specifications; estimate {est.min():.3g} to {est.max():.3g}")
    assert s["estimate_is"] == "clusters counted as mostly NSFW"


def test_the_small_grid_runs_the_image_claims_when_the_run_has_embeddings(tmp_path, small_release_file, small_release):
    from twigma.synthetic.embeddings import make_sample_embeddings

    grid = write(tmp_path, NSFW_GRID + """
variability:
  reference_n: [all, 100]
  twigma_n: [all]
  alpha: [0.01]
  n_boot: [2000]
  seed: [0]
""")
    table, summary = runrb.run_small(grid, str(small_release_file))  # another release, no store: C8 not run
    assert set(table["claim"]) == {"C6"}
    assert summary.set_index("claim").loc["C8", "verdict"].startswith("not run: needs image embeddings")
    store = make_sample_embeddings(small_release, tmp_path / "emb", n_natural=300, n_art=300, dim=32)
    table, summary = runrb.run_small(grid, str(small_release_file), str(store))
    assert table.groupby("claim")["spec_id"].nunique().to_dict() == {"C6": 5, "C8": 2}
    c8 = summary.set_index("claim").loc["C8"]
    assert c8["n_specifications"] == 2 and "(each choice varied alone)" in c8["in_words"] and c8["n_merged"] == 0
    assert table.loc[table["claim"] == "C8", "observed"].str.contains("natural").all()


def test_the_curve_draws_every_specification_and_its_choices(tmp_path, raw_small):
    from twigma.present.figures import robustness_curve

    release = _planted(raw_small, tmp_path, 0.6)
    table, _ = _run_grid(write(tmp_path, NSFW_GRID), release, tmp_path / "out")
    fig = robustness_curve(table, "C6")
    top, bottom = fig.axes
    assert sum(len(c.get_offsets()) for c in top.collections[:2]) == 8  # holds + fails
    assert "holds in 6 of 8 specifications" in top.get_title()
    ticks = [t.get_text() for t in bottom.get_yticklabels()]
    assert {"measure = detector", "measure = twitter-flag", "threshold = 0.7", "mostly = 2/3"} <= set(ticks)


def test_notebook_12_uses_make_robustness_results_only_when_made_from_its_release(tmp_path, raw_small, small_release_file):
    release = _planted(raw_small, tmp_path, 0.95)
    grid = write(tmp_path, NSFW_GRID)
    table, _ = _run_grid(grid, release, tmp_path / "out")
    source, got, summary, made_from = runrb.results_for(tmp_path / "out", str(release), None, grid)
    assert source == "full" and len(got) == len(table) and "in_words" in summary
    source, got, _, made_from = runrb.results_for(tmp_path / "out", str(small_release_file), None, grid)
    assert source == "small" and made_from == {str(release)} and got["spec_id"].nunique() == 5
    assert runrb.results_for(tmp_path / "nothing", str(small_release_file), None, grid)[3] == set()


def test_a_grid_without_image_claims_reads_only_the_release_only_columns(tmp_path, small_release_file, monkeypatch):
    """Without a store the small grid (C2-C6) loads only runrb.RELEASE_ONLY_COLUMNS (notebook 12's memory at 14
    million rows), and its table is the one every column gives."""
    import twigma.release

    asked = []
    real = twigma.release.load_release
    monkeypatch.setattr(twigma.release, "load_release",
                        lambda *a, **kw: asked.append(kw.get("columns")) or real(*a, **kw))
    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(tmp_path / "cache"))
    grid = paths.ROOT / "robustness.yml"
    table, summary = runrb.run_small(grid, str(small_release_file))
    assert asked == [runrb.RELEASE_ONLY_COLUMNS]
    assert set(table["claim"]) == {"C2", "C3", "C4", "C5", "C6", "C11"}
    monkeypatch.setattr(runrb, "RELEASE_ONLY_COLUMNS", None)  # every column
    everything, _ = runrb.run_small(grid, str(small_release_file))
    assert asked[-1] is None
    pd.testing.assert_frame_equal(table, everything)


# ---------------------------------------------------------------- what the vote counts -----

THEMES_GRID = """
themes:
  model: [quasi-binomial, logit-clustered]
  alpha: [0.01]
  min_images_per_month: [20, {same}]
  window: [all, from-2020]
"""


def themes_grid(tmp_path, release) -> tuple:
    """THEMES_GRID with a second cut-off that keeps the same months as 20 on ``release``."""
    n = themes.monthly_cluster_counts(release)["n_images"]
    same = int(n[n < 20].max()) + 1
    assert same < 20 and n.between(same, 19).sum() == 0
    return write(tmp_path, THEMES_GRID.format(same=same)), same


def test_c2_s_estimate_is_the_statistic_it_is_decided_on(tmp_path, small_release_file, small_release):
    from scipy import stats

    grid = write(tmp_path, "growth:\n  test: [mann-kendall, log-linear]\n  alpha: [0.01]\n  window: [all]\n"
                           "  count: [tweets]\n")
    table, summary = runrb.run_small(grid, str(small_release_file))
    monthly = overview.monthly_counts(small_release)
    t = np.arange(len(monthly)) / 12.0
    mk, ll = (table[table["test"] == v].iloc[0] for v in ("mann-kendall", "log-linear"))
    assert mk["estimate"] == pytest.approx(stats.kendalltau(t, monthly["n_tweets"]).statistic)
    assert "Kendall's tau" in mk["estimate_is"] and mk["decision_threshold"] == 0 and mk["holds_when"] == "above"
    assert ll["estimate"] == pytest.approx(stats.linregress(t, np.log(monthly["n_tweets"])).slope)
    assert "ln(monthly count) per year" in ll["estimate_is"]
    s = summary.set_index("claim").loc["C2"]
    assert "Kendall's tau" in s["estimate_is"] and "growth factor" not in s["in_words"]
    assert "deciding on Kendall's tau" in s["in_words"] and "deciding on log-linear slope" in s["in_words"]


def test_the_rejected_logit_is_shown_not_counted_and_identical_specifications_count_once(
        tmp_path, small_release_file, small_release):
    grid, same = themes_grid(tmp_path, small_release)
    table, summary = runrb.run_small(grid, str(small_release_file))
    assert small_release["created_at"].min().year == 2021  # from-2020 leaves nothing out
    c4 = table[table["claim"] == "C4"].set_index("spec_id")
    assert c4["status"].value_counts().to_dict() == {"counted": 1, "rejected": 1, "merged": 2}
    assert (c4.loc[c4["model"] == "logit-clustered", "status"] == "rejected").all()
    assert c4.loc[c4["status"] == "rejected", "why_not_counted"].str.contains("rejected by notebook 03").all()
    merged = c4[c4["status"] == "merged"]
    assert (merged["same_as"] == c4.index[c4["default"]][0]).all() and not merged["counted"].any()
    assert "window from-2020 acts as all" in " ".join(merged["why_not_counted"])
    assert f"min_images_per_month {same} acts as 20" in " ".join(merged["why_not_counted"])
    s = summary.set_index("claim").loc["C4"]
    assert (s["n_specifications"], s["n_merged"], s["n_rejected"]) == (1, 2, 1)
    assert "2 specifications identical in effect to others were counted once" in s["in_words"]
    assert "1 run but not counted: rejected by notebook 03" in s["in_words"]


def test_the_curve_draws_the_decision_threshold_on_axes_that_hold_it(tmp_path, small_release, small_release_file):
    from twigma.present.figures import robustness_curve

    table, _ = runrb.run_small(themes_grid(tmp_path, small_release)[0], str(small_release_file))
    fig = robustness_curve(table, "C4")
    top = fig.axes[0]
    lines = [ln for ln in top.get_lines() if ln.get_linestyle() == "--"]
    assert len(lines) == 1 and lines[0].get_ydata()[0] == 0  # C4 needs the weakest slope below 0
    lo, hi = top.get_ylim()
    shown = table.loc[(table["claim"] == "C4") & (table["status"] != "merged"), "estimate"]
    assert lo < shown.min() and hi > 0 and "decision threshold 0" in lines[0].get_label()
    assert "1 rejected, not counted" in top.get_title() and "2 identical in effect, merged" in top.get_title()
    grid = write(tmp_path, "growth:\n  test: [mann-kendall, log-linear]\n  alpha: [0.01]\n  window: [all]\n"
                           "  count: [tweets]\n", "g.yml")
    growth, _ = runrb.run_small(grid, str(small_release_file))
    assert len(robustness_curve(growth, "C2").axes) == 3  # one panel per statistic, then the choices
