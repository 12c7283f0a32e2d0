"""Tests of twigma.analysis.inference: the compendium's one inference policy, implemented once."""
from __future__ import annotations

import gc

import numpy as np
import pytest
from scipy import stats

from twigma.analysis import inference, inference as inf


def _holm_by_hand(p, alpha):
    order = np.argsort(p)
    reject = np.zeros(len(p), bool)
    for i, j in enumerate(order):
        if p[j] > alpha / (len(p) - i):
            break
        reject[j] = True
    return reject


@pytest.mark.parametrize("alpha,text", [(0.01, "99%"), (0.05, "95%"), (0.001, "99.9%"), (0.1, "90%")])
def test_the_level_beside_a_verdict_is_one_minus_alpha(alpha, text):
    assert inf.level(alpha) == pytest.approx(1 - alpha)
    assert inf.level_text(alpha) == text


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, float("nan")])
def test_a_significance_level_outside_zero_one_is_refused(bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        inf.check_alpha(bad)


@pytest.mark.parametrize("k,n", [(25, 25), (0, 10), (7, 31), (44, 50)])
@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_clopper_pearson_is_scipys_exact_interval(k, n, alpha):
    lo, hi = inf.clopper_pearson(k, n, alpha)
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=1 - alpha, method="exact")
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-12)
    lower = inf.clopper_pearson_lower(k, n, alpha)
    one_sided = stats.binomtest(k, n, alternative="greater").proportion_ci(confidence_level=1 - alpha)
    assert lower == pytest.approx(one_sided.low, abs=1e-12)


def test_25_of_25_does_not_show_a_recall_of_090():
    # the case the review raised: all 25 planted pairs found, yet the bound is under 0.9
    assert inf.clopper_pearson(25, 25, 0.05)[0] == pytest.approx(0.8628, abs=1e-4)
    assert inf.clopper_pearson_lower(25, 25, 0.01) < 0.9
    assert inf.clopper_pearson_lower(60, 60, 0.01) > 0.9  # alpha ** (1 / n) for k = n
    assert inf.clopper_pearson_lower(60, 60, 0.01) == pytest.approx(0.01 ** (1 / 60))


def test_holm_and_benjamini_hochberg_as_written_out(monkeypatch):
    from statsmodels.stats.multitest import multipletests

    # statsmodels' holm collects garbage on every call (a second each in a test worker): not the point here
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = np.concatenate([rng.uniform(0, 0.02, 4), rng.uniform(0, 1, 8)])
        assert (inf.holm(p, 0.05) == _holm_by_hand(p, 0.05)).all()
        assert (inf.holm(p, 0.05) == multipletests(p, alpha=0.05, method="holm")[0]).all()
        adjusted = stats.false_discovery_control(p, method="bh")
        assert (inf.benjamini_hochberg(p, 0.05) == (adjusted <= 0.05)).all()
    tied = np.array([0.02, 0.02, 0.02, 0.04, np.nan, 0.001])  # ties stop together; a NaN; a 2-d array's shape
    assert inf.holm(tied, 0.05).tolist() == [False, False, False, False, False, True]
    assert inf.holm(tied.reshape(2, 3), 0.05).tolist() == [[False, False, False], [False, False, True]]
    assert inf.holm(np.where(tied == 0.02, 0.012, tied), 0.05).tolist() == [True, True, True, True, False, True]


def test_a_missing_p_value_is_never_a_finding():
    p = [0.001, np.nan, 0.2]
    assert inf.holm(p, 0.05).tolist() == [True, False, False]
    assert inf.benjamini_hochberg(p, 0.05).tolist() == [True, False, False]


def test_false_coverage_rate_level():
    assert inf.fcr_level(0.05, 4, 20) == pytest.approx(1 - 0.05 * 4 / 20)
    assert inf.fcr_level(0.05, 0, 20) == pytest.approx(0.95)  # nothing selected: unadjusted
    assert inf.fcr_level(0.05, 20, 20) == pytest.approx(0.95)


def test_tweet_bootstrap_of_one_image_per_tweet_agrees_with_scipy():
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=400)
    ours = inf.tweet_bootstrap(lambda rows: x[rows].mean(), np.arange(len(x)), 0.01, n_resamples=4000)
    ref = stats.bootstrap((x,), np.mean, confidence_level=0.99, method="percentile", n_resamples=4000,
                          rng=np.random.default_rng(1)).confidence_interval
    se = x.std() / np.sqrt(len(x))
    assert ours.estimate == pytest.approx(x.mean())
    assert ours.low == pytest.approx(ref.low, abs=0.25 * se) and ours.high == pytest.approx(ref.high, abs=0.25 * se)
    assert ours.level == pytest.approx(0.99) and ours.level_text == "99%"


def test_tweet_bootstrap_treats_a_tweets_images_as_one_draw():
    # three identical images per tweet carry no more information than one: resampling tweets gives
    # exactly the interval of one row per tweet, while resampling images would be about sqrt(3) narrower
    rng = np.random.default_rng(1)
    x = rng.normal(size=150)
    tripled, tweets = np.repeat(x, 3), np.repeat(np.arange(150), 3)
    one = inf.tweet_bootstrap(lambda r: x[r].mean(), np.arange(150), 0.05, seed=5)
    three = inf.tweet_bootstrap(lambda r: tripled[r].mean(), tweets, 0.05, seed=5)
    assert (three.low, three.high) == pytest.approx((one.low, one.high), abs=1e-12)
    images = inf.tweet_bootstrap(lambda r: tripled[r].mean(), np.arange(450), 0.05, seed=5)
    assert (images.high - images.low) < 0.7 * (three.high - three.low)


def test_tweet_bootstrap_takes_tweet_ids_as_strings_and_needs_enough_resamples():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    ids = np.array(["1700000000000000001", "1700000000000000001", "1700000000000000002", "17"])
    iv = inf.tweet_bootstrap(lambda r: x[r].mean(), ids, 0.05)
    assert iv.low <= iv.estimate <= iv.high
    with pytest.raises(ValueError, match="at least 2000"):
        inf.tweet_bootstrap(lambda r: x[r].mean(), ids, 0.05, n_resamples=200)
    with pytest.raises(ValueError, match="tweet id is missing"):
        inf.tweet_bootstrap(lambda r: x[r].mean(), np.array([1.0, np.nan, 2.0, 3.0]), 0.05)


def test_percentile_bootstrap_is_scipys():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=200), rng.normal(size=200)
    a = a + 0.5 * b

    def rho(x, y):
        return stats.spearmanr(x, y).statistic

    ours = inf.percentile_bootstrap((a, b), rho, 0.01, seed=4)
    ref = stats.bootstrap((a, b), rho, paired=True, vectorized=False, confidence_level=0.99, n_resamples=2000,
                          method="percentile", rng=np.random.default_rng(4)).confidence_interval
    assert (ours.low, ours.high) == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert ours.estimate == pytest.approx(rho(a, b)) and ours.excludes(0) == (ref.low > 0 or ref.high < 0)


def test_interval_reads_on_the_side_of_a_value():
    iv = inf.Interval(0.2, 0.1, 0.3, 0.99)
    assert iv.excludes(0) and iv.above(0.05) and not iv.below(0.25) and not iv.excludes(0.2)
    assert iv.text(".2f") == "0.20 (99% CI 0.10 to 0.30)"


def test_sums_bootstrap_matches_scipy_with_one_image_per_tweet():
    rng = np.random.default_rng(1)
    x = rng.exponential(size=400)
    sums = inference.tweet_sums(np.column_stack([x, np.ones_like(x)]), np.arange(400))
    got = inference.tweet_bootstrap_sums(sums, lambda t: t[..., 0] / t[..., 1], 0.01, n_resamples=4000)
    ref = stats.bootstrap((x,), np.mean, n_resamples=4000, confidence_level=0.99, method="percentile",
                          rng=np.random.default_rng(2)).confidence_interval
    assert got.estimate == pytest.approx(x.mean())
    width = ref.high - ref.low
    assert abs(got.low - ref.low) < 0.1 * width and abs(got.high - ref.high) < 0.1 * width


def test_sums_bootstrap_matches_the_row_level_tweet_bootstrap():
    rng = np.random.default_rng(4)
    tweets = np.repeat(np.arange(300), rng.integers(1, 5, 300))
    effect = rng.normal(size=300)[tweets]  # images of a tweet share an outcome
    y = effect + rng.normal(scale=0.3, size=len(tweets))
    sums = inference.tweet_sums(np.column_stack([y, np.ones_like(y)]), tweets)
    got = inference.tweet_bootstrap_sums(sums, lambda t: t[..., 0] / t[..., 1], 0.01, n_resamples=3000)
    ref = inference.tweet_bootstrap(lambda rows: y[rows].mean(), tweets, 0.01, n_resamples=3000, seed=9)
    width = ref.high - ref.low
    assert got.estimate == pytest.approx(ref.estimate)
    assert abs(got.low - ref.low) < 0.1 * width and abs(got.high - ref.high) < 0.1 * width
    with pytest.raises(ValueError, match="at least"):
        inference.tweet_bootstrap_sums(sums, lambda t: t[..., 0], 0.01, n_resamples=100)
