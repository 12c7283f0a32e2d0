"""Tests of twigma.run.grid_runs: ``make robustness``: the grid file, the make fragment, one specification's file, and collecting them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.grids import NSFW_GRID, _planted, _run_grid, themes_grid, write

from twigma import paths
from twigma.analysis import overview, robustness as rb
from twigma.run import grid_runs


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
    with pytest.raises(grid_runs.GridError) as e:
        grid_runs.read_grid(path)
    assert str(path) in str(e.value) and says in str(e.value)


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
        grid_runs.collect(grid_path=grid, release=str(small_release_file), out=tmp_path)


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
    table, summary = grid_runs.run_small(grid, str(small_release_file))  # another release, no store: C8 not run
    assert set(table["claim"]) == {"C6"}
    assert summary.set_index("claim").loc["C8", "verdict"].startswith("not run: needs image embeddings")
    store = make_sample_embeddings(small_release, tmp_path / "emb", n_natural=300, n_art=300, dim=32)
    table, summary = grid_runs.run_small(grid, str(small_release_file), str(store))
    assert table.groupby("claim")["spec_id"].nunique().to_dict() == {"C6": 5, "C8": 2}
    c8 = summary.set_index("claim").loc["C8"]
    assert c8["n_specifications"] == 2 and "(each choice varied alone)" in c8["in_words"] and c8["n_merged"] == 0
    assert table.loc[table["claim"] == "C8", "observed"].str.contains("natural").all()


def test_the_curve_draws_every_specification_and_its_choices(tmp_path, raw_small):
    from twigma.present.robustness_figure import robustness_curve

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
    source, got, summary, made_from = grid_runs.results_for(tmp_path / "out", str(release), None, grid)
    assert source == "full" and len(got) == len(table) and "in_words" in summary
    source, got, _, made_from = grid_runs.results_for(tmp_path / "out", str(small_release_file), None, grid)
    assert source == "small" and made_from == {str(release)} and got["spec_id"].nunique() == 5
    assert grid_runs.results_for(tmp_path / "nothing", str(small_release_file), None, grid)[3] == set()


def test_a_grid_without_image_claims_reads_only_the_release_only_columns(tmp_path, small_release_file, monkeypatch):
    """Without a store the small grid (C2-C6) loads only grid_runs.RELEASE_ONLY_COLUMNS (notebook 12's memory at 14
    million rows), and its table is the one every column gives."""
    import twigma.release

    asked = []
    real = twigma.release.load_release
    monkeypatch.setattr(twigma.release, "load_release",
                        lambda *a, **kw: asked.append(kw.get("columns")) or real(*a, **kw))
    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(tmp_path / "cache"))
    grid = paths.ROOT / "robustness.yml"
    table, summary = grid_runs.run_small(grid, str(small_release_file))
    assert asked == [grid_runs.RELEASE_ONLY_COLUMNS]
    assert set(table["claim"]) == {"C2", "C3", "C4", "C5", "C6", "C11"}
    monkeypatch.setattr(grid_runs, "RELEASE_ONLY_COLUMNS", None)  # every column
    everything, _ = grid_runs.run_small(grid, str(small_release_file))
    assert asked[-1] is None
    pd.testing.assert_frame_equal(table, everything)


def test_c2_s_estimate_is_the_statistic_it_is_decided_on(tmp_path, small_release_file, small_release):
    from scipy import stats

    grid = write(tmp_path, "growth:\n  test: [mann-kendall, log-linear]\n  alpha: [0.01]\n  window: [all]\n"
                           "  count: [tweets]\n")
    table, summary = grid_runs.run_small(grid, str(small_release_file))
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
    table, summary = grid_runs.run_small(grid, str(small_release_file))
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
