"""Tests of twigma.present.explore: the interactive map of notebook 10_explore: the images of a release on the released UMAP."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from support.quirky_releases import _releases

from twigma import paths
from twigma.present import explore
from twigma.release import load_release


@pytest.fixture(scope="module")
def table(small_release, names):
    return explore.map_table(small_release, names)


def _histogram2d_image(x, y, labels, categories, colors, bins, gamma=0.5):
    """categorical_density's image as it was drawn with one np.histogram2d per category (the reference)."""
    x, y, labels = np.asarray(x, float), np.asarray(y, float), np.asarray(labels)
    pad_x, pad_y = 0.02 * np.ptp(x), 0.02 * np.ptp(y)
    extent = (x.min() - pad_x, x.max() + pad_x, y.min() - pad_y, y.max() + pad_y)
    rgb, total = np.zeros((bins, bins, 3)), np.zeros((bins, bins))
    for cat, col in zip(categories, colors):
        m = labels == cat
        h, _, _ = np.histogram2d(y[m], x[m], bins=bins, range=[extent[2:], extent[:2]])
        total += h
        rgb += h[..., None] * np.asarray(col)[None, None, :3]
    with np.errstate(invalid="ignore", divide="ignore"):
        rgb = np.where(total[..., None] > 0, rgb / total[..., None], 1.0)
        alpha = np.where(total > 0, (np.log1p(total) / np.log1p(total.max())) ** gamma, 0.0)
    return np.dstack([rgb, 0.15 + 0.85 * alpha if total.max() else alpha]) * (total[..., None] > 0)


def test_map_table_has_one_row_per_image_in_release_order(table, small_release, names):
    assert list(table.columns) == explore.COLUMNS and len(table) == len(small_release)
    np.testing.assert_array_equal(table["x"], small_release["UMAP_dim_1"].to_numpy(np.float32))
    np.testing.assert_array_equal(table["y"], small_release["UMAP_dim_2"].to_numpy(np.float32))
    k = small_release["label_10_cluster"].iloc[5]
    assert table["cluster"].iloc[5] == f"{k} · {names[k]}"[:40] or table["cluster"].iloc[5].startswith(f"{k} · ")
    assert list(table["cluster"].cat.categories) == sorted(table["cluster"].cat.categories,
                                                           key=lambda c: int(c.split(" ")[0]))
    assert small_release.attrs["synthetic"]  # made-up ids: no live link
    assert table["tweet"].iloc[0] == f"synthetic id {small_release['id'].iloc[0]} (no tweet)"
    assert not table["tweet"].str.contains("twitter.com|x.com", regex=True).any()
    real = small_release.iloc[:5].copy()
    real.attrs["synthetic"] = False
    assert explore.map_table(real, names)["tweet"].iloc[0] == f"https://twitter.com/i/web/status/{real['id'].iloc[0]}"
    assert table["month"].iloc[0] == small_release["created_at"].iloc[0].strftime("%Y-%m")
    assert table["caption"].str.len().max() <= explore.CAPTION_CHARS


def test_map_table_names_the_row_without_coordinates(small_release, names):
    bad = small_release.copy()
    bad.loc[bad.index[7], "UMAP_dim_2"] = np.nan
    with pytest.raises(ValueError, match=r"row 7 .*make validate"):
        explore.map_table(bad, names)
    with pytest.raises(KeyError, match="UMAP_dim_1"):
        explore.map_table(small_release.drop(columns="UMAP_dim_1"), names)


def test_filters_and_selection_table(table):
    cats = list(table["cluster"].cat.categories)
    months = sorted(table["month"].unique())
    rows = explore.filter_rows(table, clusters=cats[:2], months=(months[2], months[5]))
    expected = table.index[table["cluster"].isin(cats[:2]) & table["month"].between(months[2], months[5])]
    np.testing.assert_array_equal(rows, expected.to_numpy())
    assert len(explore.filter_rows(table)) == len(table)
    sel = explore.selection_table(table, rows, limit=7)
    assert len(sel) == 7 and sel["likes"].is_monotonic_decreasing
    assert sel["likes"].iloc[0] == table.iloc[rows]["likes"].max()
    assert set(sel.columns) >= {"caption", "date", "likes", "nsfw_score", "tweet"}


def test_what_notebook_10_says_of_the_map_and_a_selection_against_numpy(table):
    s = explore.map_summary(table)
    counts = {c: int((table["cluster"] == c).sum()) for c in table["cluster"].cat.categories}
    assert s.largest == max(counts, key=counts.get) and s.smallest == min(counts, key=counts.get)
    assert s.largest_share == pytest.approx(max(counts.values()) / len(table))
    spread = {c: np.mean([np.std(g["x"], ddof=1), np.std(g["y"], ddof=1)]) for c, g in table.groupby("cluster", observed=True)}
    assert s.compact == min(spread, key=spread.get) and s.diffuse_spread == pytest.approx(max(spread.values()))
    months = sorted(set(table["month"]))
    assert s.last_months == (months[-3], months[-1])
    sel = explore.selection_table(table, explore.filter_rows(table, [s.largest], s.last_months), limit=10)
    got = explore.selection_summary(sel)
    assert (got.n, got.likes_max, got.likes_min, got.images) == (len(sel), sel["likes"].max(), sel["likes"].min(), len(sel))
    assert got.n_nsfw == sum(v > 0.5 for v in sel["nsfw_score"])
    hits = pd.DataFrame({"cluster": [3, 3, 1, 3, 2]})
    assert explore.same_cluster_share(hits) == 0.5


def test_explorer_filters_and_selects_without_a_browser(table):
    e = explore.Explorer(table)
    e.view()
    cats = e.clusters.options
    e.clusters.value = cats[:1]
    shown = e.scatter.filter()
    np.testing.assert_array_equal(shown, np.flatnonzero(table["cluster"] == cats[0]))
    assert f"{len(shown):,}</b> of {len(table):,}" in e.status.value
    e.months.index = (1, 3)
    assert len(e.scatter.filter()) == len(explore.filter_rows(table, cats[:1], e.months.value))
    e.clusters.value, e.months.index = tuple(cats), (0, len(e.months.options) - 1)
    assert e.scatter.widget.filter is None  # everything shown: no filter at all
    e.scatter.selection([3, 1, 2])
    assert sorted(e.selected().index) == [1, 2, 3]


def test_static_stand_in_draws_every_point(table):
    fig, info = explore.density_figure(table, bins=50)
    assert info.points == len(table) and info.bins == 50
    assert len(fig.axes[0].get_legend().get_texts()) == table["cluster"].nunique()


def test_interactive_only_with_a_front_end(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv(paths.NOTEBOOK_ENV, raising=False)
    assert not explore.interactive()
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/notebooks/10_explore.ipynb")
    assert explore.interactive()
    monkeypatch.setenv(paths.NOTEBOOK_ENV, "10_explore")  # twigma run-notebook: papermill, no browser
    assert not explore.interactive()


def test_below_map_points_the_map_is_the_table_of_every_image(small_release, names, table):
    """A release with fewer images than MAP_POINTS: the map's table, the density map, the summary and the
    example selection are exactly those of the whole table (as before MAP_POINTS)."""
    n = len(small_release)
    rows = explore.sample_rows(n, 1_000_000)
    np.testing.assert_array_equal(rows, np.arange(n))
    pd.testing.assert_frame_equal(explore.map_table(small_release, names, rows=rows), table, check_exact=True)
    assert isinstance(explore.map_table(small_release, names, rows=rows).index, pd.RangeIndex)
    points = explore.map_points(small_release, names)
    pd.testing.assert_frame_equal(points[["x", "y", "cluster"]], table[["x", "y", "cluster"]], check_exact=True)
    assert points["month"].cat.ordered and list(points["month"].astype(str)) == list(table["month"])
    assert explore.map_summary(points) == explore.map_summary(table)
    (f1, i1), (f2, i2) = explore.density_figure(points, bins=60), explore.density_figure(table, bins=60)
    np.testing.assert_array_equal(f1.axes[0].images[0].get_array(), f2.axes[0].images[0].get_array())
    assert i1 == i2 and f1.axes[0].get_title() == f2.axes[0].get_title()
    cats = list(table["cluster"].cat.categories)
    months = sorted(table["month"].unique())
    for clusters, span in ((None, None), (cats[:1], None), (cats[2:5], (months[3], months[9])), (None, ("2099-01", "2099-02"))):
        sel = explore.filter_rows(points, clusters, span)
        np.testing.assert_array_equal(sel, explore.filter_rows(table, clusters, span))
        for limit in (0, 1, 10, 200, len(sel) + 5):
            pd.testing.assert_frame_equal(explore.most_liked(small_release, names, sel, limit=limit),
                                          explore.selection_table(table, sel, limit=limit), check_exact=True)
    assert explore.sample_text(n, n) == "all 3,000 images"
    assert "sample" not in explore.Explorer(table).status.value


def test_most_liked_tweets_lists_each_tweet_once_with_its_images(small_release, names):
    """Against pandas: the tweets of the rows ranked by likes, each once at its first image, with its images."""
    points = explore.map_points(small_release, names)
    rows = explore.filter_rows(points, clusters=list(points["cluster"].cat.categories[:3]))
    got = explore.most_liked_tweets(small_release, names, rows, limit=15)
    per_image = explore.most_liked(small_release, names, rows, limit=0)
    tweet_of = dict(zip(small_release["image_name"].astype(str), small_release["id"].astype(str)))
    per_image = per_image.assign(tw=per_image["image_name"].astype(str).map(tweet_of))
    expected = per_image.drop_duplicates("tw").head(15)
    assert got["image_name"].tolist() == expected["image_name"].tolist() and got["likes"].is_monotonic_decreasing
    images = small_release.iloc[rows]["id"].astype(str).value_counts()
    assert got["images"].tolist() == images.reindex(expected["tw"]).tolist()
    assert got["images"].max() > 1  # tweets of several images were among them: the test saw a merge
    assert len(set(expected["tw"])) == len(got)


def test_most_liked_breaks_ties_as_the_table_does(small_release, names):
    """Equal likes (and missing likes) ordered by time to the minute, then by position, as selection_table."""
    rel = small_release.copy()
    rel["like_count"] = pd.array([None if i % 5 == 0 else i % 3 for i in range(len(rel))], dtype="Int64")
    rel["created_at"] = rel["created_at"].iloc[::-1].to_numpy()  # times out of the rows' order
    rel.loc[rel.index[::4], "created_at"] = rel["created_at"].iloc[0]  # many at the same minute
    full = explore.map_table(rel, names)
    rows = np.arange(0, len(rel), 2)
    for limit in (0, 7, 300):
        pd.testing.assert_frame_equal(explore.most_liked(rel, names, rows, limit=limit),
                                      explore.selection_table(full, rows, limit=limit), check_exact=True)


def test_past_map_points_a_seeded_bounded_sample_and_every_point_for_the_density(small_release, names, table):
    n = len(small_release)
    rows = explore.sample_rows(n, 500)
    assert len(rows) == 500 == len(np.unique(rows)) and np.all(np.diff(rows) > 0) and 0 <= rows[0] and rows[-1] < n
    np.testing.assert_array_equal(rows, explore.sample_rows(n, 500))  # seeded: the same rows every run
    assert not np.array_equal(rows, explore.sample_rows(n, 500, seed=1))
    for everything in (0, -1, n, n + 1):
        np.testing.assert_array_equal(explore.sample_rows(n, everything), np.arange(n))
    sample = explore.map_table(small_release, names, rows=rows)
    pd.testing.assert_frame_equal(sample, table.iloc[rows], check_exact=True)  # its rows of the whole table
    assert list(sample.index) == list(rows) and list(sample["cluster"].cat.categories) == list(table["cluster"].cat.categories)
    points = explore.map_points(small_release, names)
    fig, info = explore.density_figure(points, bins=50)
    assert info.points == n and f"All {n:,} images" in fig.axes[0].get_title()
    s = explore.map_summary(points)
    sizes = small_release["label_10_cluster"].value_counts()
    assert s.largest.startswith(f"{sizes.idxmax()} · ") and s.largest_share == pytest.approx(sizes.max() / n)
    assert explore.sample_text(len(sample), n) == "a seeded random sample of 500 of the 3,000 images"
    e = explore.Explorer(sample, n_images=n)
    assert "<b>500</b> of 500 images shown (a seeded random sample of the release's 3,000)" in e.status.value
    e.scatter.selection([0, 2])
    assert sorted(e.selected().index) == sorted(rows[[0, 2]])  # selected() names the release's rows


def test_take_rows_is_iloc_on_text_columns_of_many_chunks(small_release):
    import pyarrow as pa

    chunked = pd.concat([small_release.iloc[i:i + 400] for i in range(0, len(small_release), 400)])
    assert pa.array(chunked["all_captions"].array).num_chunks > 1
    rng = np.random.default_rng(3)
    n = len(small_release)
    for frame in (small_release, chunked):
        for rows in (np.arange(0), np.array([5]), np.sort(rng.choice(n, 700, replace=False)), rng.choice(n, 300),
                     np.array([9, 2, 2, n - 1, 0]), np.arange(n)):
            pd.testing.assert_frame_equal(explore.take_rows(frame, rows), frame.iloc[rows], check_exact=True)


def test_points_need_only_four_columns_and_ten_bytes_a_row(small_release, names):
    part = small_release[explore.MAP_COLUMNS[:4]]
    points = explore.map_points(part, names)
    assert points.memory_usage(deep=True, index=False).sum() <= 10 * len(part) + 2000
    with pytest.raises(ValueError, match=r"row 7 "):
        bad = part.copy()
        bad.loc[bad.index[7], "UMAP_dim_1"] = np.inf
        explore.map_points(bad, names)


def test_categorical_density_counts_as_histogram2d(small_release):
    import matplotlib.pyplot as plt

    from twigma.present.plots import categorical_density

    rng = np.random.default_rng(5)
    x = small_release["UMAP_dim_1"].to_numpy().copy()
    y = small_release["UMAP_dim_2"].to_numpy().copy()
    x[::9] = x.max()  # points on the right edge of the span
    y[::13] = np.round(y[::13], 1)
    k = small_release["label_10_cluster"].to_numpy()
    cats, colors = [3, 1, 2, 5, 4, 6, 7, 8, 9, 10], [tuple(rng.uniform(size=3)) for _ in range(10)]
    for xs, ys in ((x, y), (np.full_like(x, 2.5), y)):  # also every point at one x
        want = _histogram2d_image(xs, ys, k, cats[:8], colors[:8], 37)
        for labels in (k, pd.Categorical(k), pd.Series(pd.Categorical(k, categories=[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]))):
            fig, ax = plt.subplots()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # one x: matplotlib widens the empty x span
                info = categorical_density(ax, xs, ys, labels, cats[:8], colors[:8], bins=37)
            np.testing.assert_array_equal(ax.images[0].get_array(), want)
            assert info.points == len(xs)
            plt.close(fig)


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
