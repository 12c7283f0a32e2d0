"""Tests of twigma.analysis.theme_shift: the abstract's theme finding (claim C11): portraits rise, natural scenes and animals decline."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from twigma.analysis import claims, theme_shift
from twigma.release import validate
from twigma.synthetic.release import generate_release


@pytest.fixture(scope="module")
def planted():
    return validate(generate_release(3000, seed=7))


@pytest.fixture(scope="module")
def still():
    return validate(generate_release(3000, seed=7, trends=False))


def _quasi_binomial_by_hand(k, n, t, alpha):
    """statsmodels' GLM on the two-column (successes, failures) response, Pearson scale floored at 1."""
    X = sm.add_constant(np.asarray(t, float))
    y = np.column_stack([k, n - k])
    fit = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    scale = max(1.0, float(np.sum(fit.resid_pearson ** 2) / fit.df_resid))
    res = sm.GLM(y, X, family=sm.families.Binomial()).fit(scale=scale, use_t=True)
    return res.params[1], res.conf_int(alpha=alpha)[1], res.pvalues[1]


def test_c11_says_yes_where_the_shift_is_planted_and_no_where_it_is_not(planted, still):
    yes = claims.check_c11(theme_shift.theme_shift(planted, alpha=0.01, min_images_per_month=20))
    no = claims.check_c11(theme_shift.theme_shift(still, alpha=0.01, min_images_per_month=20))
    assert yes.claim == "C11" and yes.holds == "yes"
    assert no.holds == "no"
    assert "99% CI" in yes.observed and "tweets" in yes.observed
    assert yes.paper_says.startswith('users are "increasingly sharing')


@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_each_share_is_the_monthly_share_of_tweets_with_03s_trend_and_its_interval(planted, alpha):
    shift = theme_shift.theme_shift(planted, alpha=alpha, min_images_per_month=20)
    tweets = planted.assign(month=planted["created_at"].dt.strftime("%Y-%m"))
    kept = tweets["month"].value_counts()
    kept = kept[kept >= 20].index
    for tr, words in ((shift.portraits, theme_shift.PORTRAIT_WORDS), (shift.nature, theme_shift.NATURE_WORDS)):
        pat = re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)  # an independent matcher
        per_tweet = tweets.assign(hit=tweets["all_captions"].astype(str).str.contains(pat))
        per_tweet = per_tweet.groupby("id").agg(hit=("hit", "any"), month=("month", "first"),
                                                 created_at=("created_at", "first"))
        per_tweet = per_tweet[per_tweet["month"].isin(kept)]
        years = (per_tweet["created_at"] - pd.Timestamp("2021-01-01", tz="UTC")).dt.total_seconds() / (365.25 * 86400)
        by = per_tweet.assign(t=years).groupby("month").agg(k=("hit", "sum"), n=("hit", "size"), t=("t", "mean"))
        slope, (lo, hi), p = _quasi_binomial_by_hand(by["k"].to_numpy(float), by["n"].to_numpy(float), by["t"], alpha)
        assert tr.n_tweets == by["n"].sum() and tr.n_matching == by["k"].sum()
        assert tr.slope == pytest.approx(slope, rel=1e-5) and tr.p_value == pytest.approx(p, rel=1e-5)
        assert (tr.ci_low, tr.ci_high) == pytest.approx((lo, hi), rel=1e-5, abs=1e-6) and tr.ci_level == 1 - alpha
        assert (tr.ci_low > 0 or tr.ci_high < 0) == (tr.p_value < alpha)  # interval and verdict agree
        assert tr.or_low == pytest.approx(np.exp(lo)) and tr.interval.level == 1 - alpha


def test_a_tweet_counts_once_however_many_of_its_images_match(planted):
    base = theme_shift.theme_shift(planted, min_images_per_month=1)  # every month: one image a tweet keeps them all
    one = planted[planted.groupby("id").cumcount() == 0]  # the first image of each tweet only
    four = planted.copy()
    first = four.groupby("id").cumcount() == 0
    four.loc[~first, "all_captions"] = "a photo of a portrait of a woman"  # every later image now a portrait
    multi = four.groupby("id")["id"].transform("size") > 1
    dup = theme_shift.theme_shift(four, min_images_per_month=1)
    only_first = theme_shift.theme_shift(one, min_images_per_month=1)
    assert dup.portraits.n_tweets == base.portraits.n_tweets == only_first.portraits.n_tweets
    # a tweet gains at most one match, whatever its number of matching images
    gained = four[multi].groupby("id").ngroups
    assert base.portraits.n_matching <= dup.portraits.n_matching <= base.portraits.n_matching + gained


def test_word_lists_match_whole_words_only():
    q = theme_shift.words_query(["man", "cat"])
    assert q.pattern.search("a Man in a suit") and q.pattern.search("a cat.")
    assert not q.pattern.search("a woman") and not q.pattern.search("a catalogue")
    with pytest.raises(ValueError):
        theme_shift.words_query([" "])
