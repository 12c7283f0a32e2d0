"""Tests of twigma.analysis.text: caption words: tokenising, counting and the most distinctive words of a group."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from twigma.analysis import text

TEXTS = pd.Series(["a painting of a cat", "arafed woman with long hair", "a painting of a woman",
                   "a cat and a dog", "a painting of a man with a hat", "there is a man"])


GROUPS = pd.Series([1, 2, 2, 1, 3, 3])


def naive_counts(texts, stop):
    c = Counter()
    for t in texts:
        c.update(w for w in re.findall(r"\b[a-z][a-z]+\b", t.lower()) if w not in stop)
    return c


def test_term_counts_match_a_plain_counter():
    got = text.term_counts(TEXTS).iloc[0]
    expect = naive_counts(TEXTS, text.CAPTION_STOPWORDS)
    assert got[got > 0].to_dict() == dict(expect)
    by = text.term_counts(TEXTS, GROUPS)
    for g in (1, 2, 3):
        row = by.loc[g]
        assert row[row > 0].to_dict() == dict(naive_counts(TEXTS[GROUPS == g], text.CAPTION_STOPWORDS))
    assert "arafed" not in by.columns and "there" not in by.columns


def test_top_words_rank_by_frequency():
    top = text.top_words(TEXTS, n=3)
    assert top["word"].tolist()[:1] == ["painting"]
    assert top["rank"].tolist() == [1, 2, 3]
    assert top["count"].is_monotonic_decreasing


def test_log_odds_dirichlet_against_the_formula_written_out():
    counts = pd.DataFrame([[10, 0, 5, 1], [2, 8, 5, 0], [1, 1, 0, 9]], columns=list("wxyz"))
    scale = 0.5
    z = text.log_odds_dirichlet(counts, prior_scale=scale)
    y = counts.to_numpy(float)
    for i in range(3):
        for w in range(4):
            a_w = scale * y[:, w].sum()
            a0 = scale * y.sum()
            yi, ni = y[i, w], y[i].sum()
            yj, nj = y[:, w].sum() - yi, y.sum() - ni
            d = np.log((yi + a_w) / (ni + a0 - yi - a_w)) - np.log((yj + a_w) / (nj + a0 - yj - a_w))
            expect = d / np.sqrt(1 / (yi + a_w) + 1 / (yj + a_w))
            assert z.iloc[i, w] == pytest.approx(expect)


def test_distinctive_words_find_each_groups_own_words(small_release):
    words = text.distinctive_words(small_release["all_captions"], small_release["label_10_cluster"], top_n=5)
    assert list(words.columns[:4]) == ["cluster", "rank", "word", "score"]
    assert set(words["cluster"]) == set(range(1, 11))
    top = words[words["rank"] == 1].set_index("cluster")["word"]
    assert top[3] in {"cat", "dog", "owl"} and top[9] in {"man", "suit", "old", "bearded"}
    assert (words.groupby("cluster")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    names = text.group_names(words, 2)
    assert len(names) == 10 and names.str.count(",").eq(1).all()


def test_cluster_names_are_taken_from_02s_table_only_when_it_matches_the_release(small_release):
    from twigma.analysis import text

    computed = text.cluster_names(small_release)
    assert computed.index.tolist() == list(range(1, 11)) and computed.str.count(",").eq(2).all()
    sizes = small_release["label_10_cluster"].value_counts().sort_index()
    table = pd.DataFrame({"cluster": sizes.index, "name": [f"name {k}" for k in sizes.index], "n_images": sizes.values})
    assert text.names_from_table(table, small_release).loc[3] == "name 3"
    assert text.names_from_table(table.assign(n_images=table["n_images"] + 1), small_release) is None  # another release
    assert text.names_from_table(None, small_release) is None
    few = small_release[["id", "label_10_cluster"]]
    with pytest.raises(KeyError, match="no all_captions column"):
        text.cluster_names(few)


def test_distinctive_words_are_never_negative_and_keep_ties_at_the_cut():
    texts = pd.Series(["cat dog"] * 20 + ["sky sea"] * 20 + ["cat painting"] * 3 + ["painting tree"] * 30
                      + ["sky painting"] * 5)
    groups = pd.Series([1] * 20 + [2] * 20 + [1] * 3 + [3] * 30 + [2] * 5)
    words = text.distinctive_words(texts, groups, top_n=1, min_count=1, min_z=1.0)
    assert (words["score"] >= 1.0).all()
    assert words.attrs["min_z"] == 1.0
    z = text.log_odds_dirichlet(text.term_counts(texts, groups))
    assert z.loc[1, "painting"] < 0 and "painting" not in set(words.loc[words["cluster"] == 1, "word"])
    ties = words.groupby(["cluster", "rank"])["word"].transform("size")
    assert (ties == words["n_at_rank"]).all()
    with pytest.raises(ValueError, match="positive"):
        text.distinctive_words(texts, groups, min_z=-1.0)


def test_a_tie_at_the_top_n_cut_keeps_every_tied_word():
    texts = pd.Series(["alpha beta gamma"] * 10 + ["delta"] * 10)
    groups = pd.Series([1] * 10 + [2] * 10)
    words = text.distinctive_words(texts, groups, top_n=1, min_count=1, min_z=0.5)
    first = words[words["cluster"] == 1]
    assert sorted(first["word"]) == ["alpha", "beta", "gamma"] and (first["rank"] == 1).all()
    assert (first["n_at_rank"] == 3).all()
    assert text.group_names(words, 2).loc[1] == "alpha, beta"  # ties named in alphabetical order
    place = text.word_ranks(words, ["beta", "zeta"])
    assert place[0].cluster == 1 and place[0].rank == 1 and place[0].n_at_rank == 3
    assert place[1].cluster is None and place[1].n_at_rank == 0


def test_word_markers_and_ranks():
    words = pd.DataFrame({"cluster": [1, 1, 2, 2, 3], "rank": [1, 2, 1, 2, 1],
                          "word": ["cat", "dog", "woman", "cat", "sky"], "score": [40.0, 20.0, 30.0, 10.0, 5.0]})
    m = text.word_markers(words)
    assert m.best["word"] == "cat" and m.weakest["cluster"] == 3 and m.weak_name
    r = text.word_ranks(words, ["cat", "man"])
    assert (r[0].word, r[0].cluster, r[0].rank, r[0].score) == ("cat", 1, 1, 40.0)
    assert (r[1].word, r[1].cluster, r[1].rank, r[1].n_at_rank) == ("man", None, None, 0)
