"""Column selection from the typed cache and the tables made by integer codes equal the full-table
pandas path exactly, on the embedded sample and on a small release with quirks (missing likes,
missing flags, missing captions, an empty month)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twigma.analysis import overview, text
from twigma.release import COLUMNS, load_release


@pytest.fixture
def quirky(raw, write_csv, tmp_path):
    """3,000 images: likes (and the other counts) missing for every 7th row, the flag missing for every
    5th, the caption for every 11th, and no image at all in one month inside the period."""
    df = raw.copy()
    for c in ("like_count", "quote_count", "reply_count"):
        df[c] = df[c].astype("object")
        df.loc[::7, c] = ""
    df["possibly_sensitive"] = df["possibly_sensitive"].astype("object")
    df.loc[::5, "possibly_sensitive"] = ""
    df["all_captions"] = df["all_captions"].astype("object")
    df.loc[::11, "all_captions"] = ""
    months = pd.to_datetime(df["created_at"], utc=True).dt.strftime("%Y-%m")
    gap = sorted(months.unique())[len(months.unique()) // 2]
    df = df[months != gap].reset_index(drop=True)
    return write_csv(df, "quirky.csv"), tmp_path / "cache", gap


def _releases(quirky):
    path, cache, _ = quirky
    return [("", None), (path, cache)]


def test_columns_equal_the_full_table(quirky):
    for path, cache in _releases(quirky):
        full = load_release(path, cache_dir=cache)
        for cols in (["like_count"], ["created_at", "id"], ["all_captions", "label_10_cluster", "possibly_sensitive"],
                     list(COLUMNS)):
            part = load_release(path, cache_dir=cache, columns=cols)
            assert list(part.columns) == [c for c in COLUMNS if c in cols]  # the release's order
            pd.testing.assert_frame_equal(part, full[list(part.columns)], check_exact=True)
            assert part.attrs == full.attrs
    path, cache, _ = quirky
    missing = pd.read_csv(path, usecols=["like_count", "possibly_sensitive"]).isna().sum()
    assert missing.min() > 0  # the quirks are there, and kept as NA
    assert load_release(path, cache_dir=cache, columns=["like_count"])["like_count"].isna().sum() == missing["like_count"]
    assert load_release(path, cache_dir=cache, columns=["possibly_sensitive"]).isna().sum().item() == \
        missing["possibly_sensitive"]


def test_columns_on_the_first_load(quirky, tmp_path):
    """Before any cache exists the whole file is validated and cached, then only the columns returned."""
    path, _, _ = quirky
    part = load_release(path, cache_dir=tmp_path / "fresh", columns=["nsfw_score", "id"])
    assert list(part.columns) == ["id", "nsfw_score"]
    pd.testing.assert_frame_equal(part, load_release(path, cache=False)[["id", "nsfw_score"]], check_exact=True)
    assert list(load_release(path, cache_dir=tmp_path / "fresh").columns) == list(COLUMNS)  # the cache is whole


def test_unknown_column_is_named():
    with pytest.raises(ValueError, match="'likes'.*release's columns are id, image_name"):
        load_release("", columns=["likes"])


def test_monthly_counts_list_the_empty_month(quirky):
    path, cache, gap = quirky
    got = overview.monthly_counts(load_release(path, cache_dir=cache)).set_index("month")
    assert got.loc[gap, "n_images"] == 0 and got.loc[gap, "n_tweets"] == 0  # the empty month is listed


def test_word_counts_from_distinct_captions_equal_term_counts(quirky):
    """subjects.CaptionCounts tokenises each distinct caption once, weighted by its images: the same
    counts as text.term_counts over every caption (missing captions count no word)."""
    from twigma.analysis.subjects import CaptionCounts

    for path, cache in _releases(quirky):
        df = load_release(path, cache_dir=cache)
        pd.testing.assert_series_equal(CaptionCounts.of(df).word_counts(), text.term_counts(df["all_captions"]).iloc[0],
                                       check_exact=True)


def test_month_of_equals_strftime(quirky):
    for path, cache in _releases(quirky):
        created = load_release(path, cache_dir=cache, columns=["created_at"])["created_at"]
        for s in (created, created.iloc[::3], created.rename(None)):  # another index, no name
            pd.testing.assert_series_equal(overview.month_of(s), s.dt.tz_convert("UTC").dt.strftime("%Y-%m"),
                                           check_exact=True)
    with_nat = pd.Series(pd.to_datetime(["2022-01-31 23:59:59", None], utc=True))
    pd.testing.assert_series_equal(overview.month_of(with_nat), with_nat.dt.strftime("%Y-%m"))
    eastern = pd.Series(pd.to_datetime(["2022-02-01 01:00"], utc=True)).dt.tz_convert("America/New_York")
    assert overview.month_of(eastern).tolist() == ["2022-02"]  # the UTC month, not the local one


def test_grid_shares_tables_without_changing_results(small_release_file, tmp_path, monkeypatch):
    """The small grid reuses each window's monthly, word and monthly cluster counts across specifications
    (analysis.robustness._shared): every specification's rows equal those of a fresh run of it alone."""
    from twigma.analysis.robustness import run_group, specifications
    from twigma.run import robustness as grid_run

    monkeypatch.setenv("TWIGMA_CACHE_DIR", str(tmp_path / "cache"))
    specs = specifications(grid_run.read_grid(None), images=False, one_at_a_time=True)
    shared = grid_run.Inputs(str(small_release_file), None)
    reused = [run_group(s, shared) for s in specs]
    assert {k[0] for k in vars(shared)["_shared_tables"]} == {"monthly_counts", "term_counts", "monthly_cluster_counts"}
    alone = grid_run.Inputs(str(small_release_file), None)
    for s, rows in zip(specs, reused):
        vars(alone).pop("_shared_tables", None)
        assert run_group(s, alone) == rows, s.text


def test_theme_trends_from_shared_counts_equal_those_from_the_rows(small_release):
    """theme_trends(counts=monthly_cluster_counts(df)), as the grid calls it, gives the table it makes from
    the rows, for every model and both month floors; without the rows for the models on monthly counts."""
    from twigma.analysis import themes

    counts = themes.monthly_cluster_counts(small_release)
    for model in themes.TREND_MODELS:
        for floor in (20, 200):
            want = themes.theme_trends(small_release, min_images_per_month=floor, model=model)
            df = small_release if model == "logit-clustered" else None
            got = themes.theme_trends(df, min_images_per_month=floor, model=model, counts=counts.copy())
            pd.testing.assert_frame_equal(got, want, check_exact=True)
            assert len(want) == 10 and want["n_months"].nunique() == 1


def test_logit_clustered_equals_statsmodels(small_release):
    """themes.trend_test_logit_clustered (pooled binomial rows, Newton, tweet sandwich) against
    statsmodels' image-level GLM with cov_type='cluster', per cluster of a 3,000-image release."""
    import statsmodels.api as sm

    from twigma.analysis import themes

    df = small_release
    t0 = themes.years_since_origin(df["created_at"]).to_numpy()
    codes = pd.factorize(df["id"])[0]
    shifted = t0 + np.where(np.arange(len(t0)) % 3 == 0, 1e-4, 0.0)  # images of one tweet at different times
    for t, k in [(t, k) for t in (t0, shifted) for k in sorted(df["label_10_cluster"].unique())]:
        y = (df["label_10_cluster"] == k).to_numpy()
        ref = sm.GLM(y.astype(float), sm.add_constant(t), family=sm.families.Binomial()).fit(
            cov_type="cluster", cov_kwds={"groups": codes}, tol=1e-13)
        got = themes.trend_test_logit_clustered(y, t, df["id"].to_numpy())
        lo, hi = ref.conf_int(alpha=0.01)[1]  # the default level, 1 - inference.DEFAULT_ALPHA
        for key, want in (("slope", ref.params[1]), ("std_err", ref.bse[1]), ("p_value", ref.pvalues[1]),
                          ("ci_low", lo), ("ci_high", hi)):
            assert got[key] == pytest.approx(want, rel=1e-8, abs=1e-12), (k, key)


def test_subjects_from_caption_counts_equal_a_pass_per_word(quirky):
    """analysis.subjects counts each distinct caption's images once (CaptionCounts) and works on those
    counts: every subject's trend equals the one track.track makes from scratch over the rows (exactly;
    the likes, by tweet, are checked in tests/test_track.py), the merged words, their Jaccard indices
    and the cluster marks equal those of the row-level masks, and every left-out word's image count a
    pass over all captions. On the sample and on the quirky release (missing likes and captions, an
    empty month), from the four columns the notebook loads, and with the likes of one subject's images
    all missing (its medians and same-month likes NaN, as track's)."""
    from twigma.analysis import subjects as subj, track

    cols = ["created_at", "like_count", "all_captions", "label_10_cluster"]
    for path, cache in _releases(quirky):
        full = load_release(path, cache_dir=cache)
        word = text.top_words(full["all_captions"], n=1)["word"].iloc[0]
        no_likes = full.assign(like_count=full["like_count"].mask(track.match_captions(full["all_captions"], word)))
        for df in (full, no_likes):
            words = text.top_words(df["all_captions"], n=40)["word"].tolist()
            masks = np.stack([track.match_captions(df["all_captions"], w) for w in words])
            dup = subj.duplicate_of(masks, words).set_index("subject")
            cluster_of = dict(zip(words, subj.same_as_cluster(masks, df["label_10_cluster"].to_numpy())))
            middle = int(np.median(masks.sum(axis=1)))  # about half the words have fewer images
            for min_images in (20, middle):
                subjects, left = subj.subject_trends(df[cols], n_subjects=40, min_images=min_images,
                                                     min_images_per_month=5)
                assert sorted([*subjects["subject"], *left["subject"]]) == sorted(words) and len(subjects)
                for r in subjects.to_dict("records"):
                    want = subj._row(r["subject"], track.track(df, r["subject"], alpha=0.01, min_images_per_month=5))
                    for key, value in want.items():  # exactly equal (NaN where NaN)
                        assert r[key] == value or (pd.isna(r[key]) and pd.isna(value)), (r["subject"], key)
                    assert r["same_as_cluster"] == cluster_of[r["subject"]]
                    assert dup.loc[r["subject"], "duplicate_of"] == ""
                for r in left.itertuples():
                    want = dup.loc[r.subject]
                    assert r.n_images == int(masks[words.index(r.subject)].sum())
                    assert r.duplicate_of == want["duplicate_of"]
                    assert r.jaccard == want["jaccard"] or (pd.isna(r.jaccard) and pd.isna(want["jaccard"]))
            assert (left["reason"] == f"fewer than {middle} images").any() and subjects["n_images"].min() >= middle
        assert pd.isna(subj.subject_trends(no_likes[cols], n_subjects=40, min_images=20, min_images_per_month=5)[0]
                       .set_index("subject").loc[word, ["median_likes", "likes_diff"]]).all()
        assert no_likes["like_count"].notna().any() and (left["duplicate_of"] != "").any()  # merged words too


def test_subject_medians_from_like_counts_equal_pandas_medians():
    """The median of a group's likes from its images per like value (even, odd and empty groups)."""
    from twigma.analysis import subjects as subj

    rng = np.random.default_rng(3)
    likes = rng.integers(0, 40, 501).astype(float)
    values = np.unique(likes)
    groups = [rng.random(501) < p for p in (0.0, 0.002, 0.1, 0.5, 1.0)] + [np.arange(501) < 2]
    counts = np.stack([np.array([(likes[g] == v).sum() for v in values]) for g in groups])
    got = subj._median(counts, values)
    want = [pd.Series(likes[g]).median() for g in groups]
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[0]) and counts[1:].sum(axis=1).min() > 0
    assert np.isnan(subj._median(np.zeros((2, 0)), np.zeros(0))).all()


def test_map_table_per_distinct_value_equals_a_pass_per_row(quirky):
    """explore.map_table formats each distinct time, caption and tweet once: its columns equal the
    per-row formatting (strftime, str.slice, tweet_url of every row)."""
    from twigma.embeddings.search import tweet_url
    from twigma.present import explore

    for path, cache in _releases(quirky):
        df = load_release(path, cache_dir=cache)
        names = pd.Series({k: f"name {k}" for k in range(1, 11)})
        table = explore.map_table(df, names)
        captions = df["all_captions"].astype(str)
        long = captions.str.len() > explore.CAPTION_CHARS
        captions = captions.where(~long, captions.str.slice(0, explore.CAPTION_CHARS - 1) + "…")
        np.testing.assert_array_equal(table["month"].to_numpy(), df["created_at"].dt.strftime("%Y-%m").to_numpy())
        np.testing.assert_array_equal(table["date"].to_numpy(),
                                      df["created_at"].dt.strftime("%Y-%m-%d %H:%M").to_numpy())
        np.testing.assert_array_equal(table["caption"].to_numpy(), captions.to_numpy())
        synthetic = bool(df.attrs["synthetic"])  # a synthetic release's ids are never linked
        assert table["tweet"].tolist() == [explore.tweet_link(t, synthetic) for t in df["id"].astype(str)]
        assert synthetic or table["tweet"].iloc[0] == tweet_url(str(df["id"].iloc[0]))
        old = pd.DataFrame({"caption": captions.to_numpy(), "month": df["created_at"].dt.strftime("%Y-%m").to_numpy()})
        assert table["caption"].dtype == old["caption"].dtype and table["month"].dtype == old["month"].dtype
