"""Caption words: tokenising, counting and the most distinctive words of a group.

Captions in the release are BLIP captions of the images (tweet text is not released).
BLIP writes a few words that describe its own output rather than the image ("arafed",
"there is", "a close up of", "a picture of"): :data:`CAPTION_STOPWORDS` removes them with
scikit-learn's English stop words, and callers can pass their own list.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

#: BLIP artefacts and framing words, removed on top of the English stop words.
BLIP_WORDS = frozenset({
    "arafed", "araffe", "araffed", "arafly", "arafe", "arafd", "there", "image", "picture", "photo",
    "close", "view", "shows", "showing", "depicts", "stock",
})
CAPTION_STOPWORDS = frozenset(ENGLISH_STOP_WORDS) | BLIP_WORDS
TOKEN_PATTERN = r"(?u)\b[a-z][a-z]+\b"


def vectorizer(stopwords: Iterable[str] | None) -> CountVectorizer:
    stop = sorted(CAPTION_STOPWORDS if stopwords is None else set(stopwords))
    return CountVectorizer(lowercase=True, token_pattern=TOKEN_PATTERN, stop_words=stop or None)


def term_counts(texts: pd.Series, groups: pd.Series | None = None,
                stopwords: Iterable[str] | None = None) -> pd.DataFrame:
    """Word counts of texts, in total or per group.

    Each distinct text is tokenised once and weighted by how often it occurs, which keeps
    800,000 captions fast.

    Parameters
    ----------
    texts : Series of str, shape (n,)
    groups : Series, shape (n,), optional
        Group of each text (for example the cluster). None counts all texts as one group.
    stopwords : iterable of str, optional
        Words to leave out; default :data:`CAPTION_STOPWORDS`.

    Returns
    -------
    DataFrame of shape (n_groups, n_words)
        Integer counts; the index holds the groups (``"all"`` when ``groups`` is None), the
        columns the words in alphabetical order.
    """
    texts = texts.fillna("").astype(str).reset_index(drop=True)
    g = pd.Series("all", index=texts.index) if groups is None else groups.reset_index(drop=True)
    text_code, uniq_texts = pd.factorize(texts, sort=False)
    group_code, uniq_groups = pd.factorize(g, sort=True)
    vec = vectorizer(stopwords)
    X = vec.fit_transform(uniq_texts)  # (n_unique_texts, n_words)
    W = sparse.coo_matrix((np.ones(len(texts)), (group_code, text_code)),
                          shape=(len(uniq_groups), len(uniq_texts))).tocsr()
    counts = (W @ X).toarray().astype(np.int64)
    return pd.DataFrame(counts, index=pd.Index(uniq_groups, name=g.name or "group"),
                        columns=vec.get_feature_names_out())


def top_words(texts: pd.Series | None, n: int = 30, stopwords: Iterable[str] | None = None,
              counts: pd.Series | None = None) -> pd.DataFrame:
    """The ``n`` most frequent words of the texts: columns ``rank``, ``word``, ``count``, ``share``.

    ``share`` is the word's count over all counted words. ``counts``: the texts' total word counts
    when already made (``term_counts(texts, stopwords=stopwords).iloc[0]``, or
    :meth:`twigma.analysis.subjects.CaptionCounts.word_counts`); then ``texts`` is not read.
    """
    if counts is None:
        assert texts is not None, "top_words reads the texts when no counts are given"
        counts = term_counts(texts, stopwords=stopwords).iloc[0]
    counts = counts.sort_values(ascending=False, kind="stable")
    out = counts.head(n).rename_axis("word").reset_index(name="count")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["share"] = out["count"] / counts.sum()
    return out


def log_odds_dirichlet(counts: pd.DataFrame, prior_scale: float = 1.0) -> pd.DataFrame:
    """Log-odds ratio of each word in each group against all other groups, with an
    informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words", eq. 22).

    For group i and word w, with y the counts, n the group totals, the rest of the corpus j,
    prior alpha_w = prior_scale * (count of w in the whole corpus) and alpha_0 = sum of alpha_w:

        delta = log((y_iw + a_w) / (n_i + a_0 - y_iw - a_w)) - log((y_jw + a_w) / (n_j + a_0 - y_jw - a_w))
        var   = 1 / (y_iw + a_w) + 1 / (y_jw + a_w)
        z     = delta / sqrt(var)

    Unlike raw counts, z favours words that are both frequent and specific to the group.

    Parameters
    ----------
    counts : DataFrame of shape (n_groups, n_words), as from :func:`term_counts`.
    prior_scale : float
        Weight of the prior as a multiple of the corpus counts. 1 (the paper's choice: the
        corpus itself is the prior) keeps the scores comparable across corpus sizes; larger
        values shrink rare words more.

    Returns
    -------
    DataFrame of shape (n_groups, n_words) of z-scores.
    """
    y = counts.to_numpy(dtype=float)
    total = y.sum(axis=0)
    a = prior_scale * total
    a0 = a.sum()
    n_i = y.sum(axis=1, keepdims=True)
    y_j = total[None, :] - y
    n_j = total.sum() - n_i
    delta = (np.log(y + a) - np.log(n_i + a0 - y - a)
             - np.log(y_j + a) + np.log(n_j + a0 - y_j - a))
    z = delta / np.sqrt(1.0 / (y + a) + 1.0 / (y_j + a))
    return pd.DataFrame(z, index=counts.index, columns=counts.columns)


def distinctive_words(texts: pd.Series, groups: pd.Series, top_n: int = 15,
                      stopwords: Iterable[str] | None = None, prior_scale: float = 1.0,
                      min_count: int = 5, min_z: float = 3.0) -> pd.DataFrame:
    """The most distinctive words of each group by :func:`log_odds_dirichlet`.

    A word is listed for a group only when it occurs at least ``min_count`` times there and its
    z-score is at least ``min_z`` (which must be positive: a negative z means the word is rarer
    in the group than elsewhere, the opposite of distinctive). Ranks are competition ranks: words
    with the same z (to 9 decimals) share the better rank, so a tie at the ``top_n`` cut keeps
    every tied word and a group may list more than ``top_n`` words, or fewer when fewer reach
    ``min_z``.

    Returns
    -------
    DataFrame with columns ``cluster`` (the group), ``rank`` (1 = most distinctive), ``word``,
    ``score`` (the z-score), ``count`` (in the group), ``share_in_group`` and ``n_at_rank``
    (the number of listed words of the group at that rank: more than 1 is a tie), ordered by
    group, rank and word; ``attrs`` hold ``min_z`` and ``top_n``.
    """
    if not min_z > 0:
        raise ValueError(f"min_z must be positive (a negative z is not distinctive), not {min_z!r}")
    counts = term_counts(texts, groups, stopwords=stopwords)
    z = log_odds_dirichlet(counts, prior_scale=prior_scale)
    rows = []
    for grp in counts.index:
        c = counts.loc[grp]
        s = z.loc[grp][(c >= min_count) & (z.loc[grp] >= min_z)]
        key = s.round(9)
        rank = key.rank(method="min", ascending=False)
        keep = pd.DataFrame({"word": s.index, "score": s.to_numpy(), "rank": rank.to_numpy().astype(int),
                             "key": key.to_numpy()})
        keep = keep[keep["rank"] <= top_n].sort_values(["rank", "word"], kind="stable")
        at_rank = keep.groupby("rank")["word"].transform("size")
        r: Any  # a row of keep (pandas-stubs types its fields as any scalar)
        for r, a in zip(keep.itertuples(), at_rank):
            rows.append({"cluster": grp, "rank": int(r.rank), "word": r.word, "score": float(r.score),
                         "count": int(c[r.word]), "share_in_group": float(c[r.word] / max(c.sum(), 1)),
                         "n_at_rank": int(a)})
    out = pd.DataFrame(rows, columns=["cluster", "rank", "word", "score", "count", "share_in_group", "n_at_rank"])
    out.attrs.update({"min_z": float(min_z), "top_n": int(top_n)})
    return out


def group_names(words: pd.DataFrame, n_words: int = 3) -> pd.Series:
    """A short name per group from its first ``n_words`` distinctive words (in the order of
    :func:`distinctive_words`: rank, then the word), e.g. ``"woman, hair, long"``."""
    top = words.sort_values(["cluster", "rank", "word"], kind="stable").groupby("cluster").head(n_words)
    return top.groupby("cluster")["word"].apply(lambda w: ", ".join(w)).rename("name")


def names_from_table(table: pd.DataFrame | None, release: pd.DataFrame,
                     cluster_col: str = "label_10_cluster") -> pd.Series | None:
    """Short names of the clusters (``cluster`` -> ``"woman, hair, long"``) from notebook 02's
    ``cluster_names`` table when it was made from this release (its ``n_images`` per cluster equal
    the release's cluster sizes); None when there is no table or it belongs to another release.
    Nothing is read here: the notebook's context (:func:`twigma.present.notebook.open_notebook`)
    reads the file."""
    if table is None or not {"cluster", "name", "n_images"} <= set(table.columns):
        return None
    sizes = release[cluster_col].value_counts().sort_index()
    stored = table.set_index("cluster")["n_images"].sort_index()
    if stored.index.tolist() != sizes.index.tolist() or (stored.to_numpy() != sizes.to_numpy()).any():
        return None
    return table.set_index("cluster")["name"].astype(str)


def cluster_names(release: pd.DataFrame, cluster_col: str = "label_10_cluster") -> pd.Series:
    """Short names of the clusters computed from ``release``'s captions with notebook 02's default
    parameters (its three most distinctive words each, :func:`distinctive_words`); a cluster
    without a name is ``"cluster k"``. ``release`` must hold ``all_captions``."""
    if "all_captions" not in release.columns:
        raise KeyError("cluster names: the table has no all_captions column; load the release with "
                       "all_captions among its columns.")
    sizes = release[cluster_col].value_counts().sort_index()
    names = group_names(distinctive_words(release["all_captions"], release[cluster_col]))
    return names.reindex(sizes.index).fillna(pd.Series({k: f"cluster {k}" for k in sizes.index})).astype(str)


@dataclass(frozen=True)
class WordMarkers:
    """What notebook 02 says about the clusters' top words (:func:`word_markers`)."""

    best: pd.Series  # the row of the highest z-score of any cluster
    weakest: pd.Series  # the rank-1 row of the cluster whose top word scores lowest
    weak_name: bool  # that top score is under weak_fraction of the median of the clusters' top scores
    weak_fraction: float


def word_markers(words: pd.DataFrame, weak_fraction: float = 0.5) -> WordMarkers:
    """The strongest marker of any cluster and the weakest cluster (:class:`WordMarkers`): its
    short name is the least reliable when its top score is under ``weak_fraction`` of the
    median of the clusters' top scores."""
    firsts = words[words["rank"] == 1].drop_duplicates("cluster")
    weakest = firsts.sort_values("score", kind="stable").iloc[0]
    return WordMarkers(words.loc[words["score"].idxmax()], weakest,  # type: ignore[call-overload]  # pandas-stubs: .loc takes no Hashable label
                       bool(weakest["score"] < weak_fraction * firsts["score"].median()), float(weak_fraction))


@dataclass(frozen=True)
class WordPlace:
    """Where a word is distinctive (:func:`word_ranks`): its best-ranked cluster, or none."""

    word: str
    cluster: int | None  # None: in no cluster's list (z below the cut everywhere, or past the top_n)
    rank: int | None
    score: float  # its z-score there (NaN when in no list)
    n_at_rank: int  # listed words of that cluster at that rank (more than 1: a tie); 0 when in no list


def word_ranks(words: pd.DataFrame, wanted) -> list[WordPlace]:
    """Where each wanted word is distinctive (:func:`distinctive_words`, which lists only words
    with z at or above its ``min_z``): one :class:`WordPlace` per word, at its best-ranked
    cluster (the higher z among equal ranks)."""
    out = []
    for w in wanted:
        hit = words[words["word"] == w].sort_values(["rank", "score"], ascending=[True, False], kind="stable")
        if len(hit):
            h = hit.iloc[0]
            at = int(h["n_at_rank"]) if "n_at_rank" in hit.columns else 1
            out.append(WordPlace(w, int(h["cluster"]), int(h["rank"]), float(h["score"]), at))
        else:
            out.append(WordPlace(w, None, None, float("nan"), 0))
    return out
