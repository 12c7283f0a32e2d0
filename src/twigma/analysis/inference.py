"""The compendium's one inference policy, implemented once.

The policy (said to readers in notebook 00, the README and ``docs/design.md``):

1. **One level per claim family.** Each notebook that decides a claim has a parameter ``ALPHA``
   (default :data:`DEFAULT_ALPHA`, 0.01). A verdict is "significant at ``ALPHA``".
2. **Intervals match verdicts.** Every interval printed, drawn or tabled by such a notebook is a
   ``1 - ALPHA`` interval (:func:`level`, :func:`level_text`), so an interval excludes the null
   exactly when the verdict says significant (up to the test's and the interval's own method:
   a Wald interval and its Wald test agree exactly).
3. **Conjunctions need no adjustment.** A claim that holds only when *every* listed test rejects
   (C4: clusters 1, 3 *and* 4 decline) is an intersection-union test: each test at ``ALPHA`` gives
   a level-``ALPHA`` test of the conjunction (Berger 1982, Technometrics 24:295).
4. **Picking findings out of many tests is adjusted.** Where the text names the tests that came
   out significant among many (03's clusters the paper did not name, 11's subjects), the
   selection is made with Holm's step-down method (family-wise error) or Benjamini-Hochberg
   (false discovery rate) at ``ALPHA``, and the intervals of BH-selected findings are
   false-coverage-rate adjusted: level ``1 - ALPHA * R / m`` for ``R`` selected of ``m``
   (Benjamini & Yekutieli 2005, JASA 100:71) (:func:`fcr_level`).
5. **Effects carry intervals at the tweet level.** An effect that decides a verdict or carries a
   conclusion has a ``1 - ALPHA`` interval; where a tweet's images could share an outcome, the
   bootstrap resamples tweets and takes every image of each drawn tweet (:func:`tweet_bootstrap`),
   with at least :data:`MIN_RESAMPLES` replicates.

The functions here are thin wrappers over statsmodels and scipy, checked against them in
``tests/``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

#: The default significance level of every claim family (a notebook parameter ``ALPHA``).
DEFAULT_ALPHA = 0.01
#: The fewest bootstrap replicates an interval is computed with.
MIN_RESAMPLES = 2000


def level(alpha: float) -> float:
    """The confidence level that goes with a verdict at ``alpha``: ``1 - alpha``."""
    check_alpha(alpha)
    return 1.0 - float(alpha)


def level_text(alpha: float) -> str:
    """``"99%"`` for alpha 0.01, ``"95%"`` for 0.05, ``"99.9%"`` for 0.001."""
    pct = 100 * level(alpha)
    return f"{pct:.10g}%"


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float in (0, 1), or a ValueError saying what it was."""
    a = float(alpha)
    if not 0 < a < 1:
        raise ValueError(f"a significance level lies strictly between 0 and 1, not {alpha!r}")
    return a


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided interval at ``level`` (for example 0.99)."""

    estimate: float
    low: float
    high: float
    level: float
    method: str = ""

    def excludes(self, value: float = 0.0) -> bool:
        """Whether the interval lies wholly on one side of ``value``."""
        return bool(self.low > value or self.high < value)

    def below(self, value: float) -> bool:
        """Whether the whole interval lies below ``value``."""
        return bool(self.high < value)

    def above(self, value: float) -> bool:
        """Whether the whole interval lies above ``value``."""
        return bool(self.low > value)

    @property
    def level_text(self) -> str:
        """``"99%"``."""
        return f"{100 * self.level:.10g}%"

    def text(self, fmt: str = ".3f") -> str:
        """``"0.412 (99% CI 0.380 to 0.440)"``."""
        return f"{self.estimate:{fmt}} ({self.level_text} CI {self.low:{fmt}} to {self.high:{fmt}})"


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """The exact two-sided ``1 - alpha`` Clopper-Pearson interval of a proportion k/n
    (statsmodels' ``proportion_confint(method="beta")``); (nan, nan) when n is 0."""
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        return float("nan"), float("nan")
    lo, hi = proportion_confint(int(k), int(n), alpha=check_alpha(alpha), method="beta")
    return float(lo), float(hi)


def clopper_pearson_lower(k: int, n: int, alpha: float) -> float:
    """The exact one-sided ``1 - alpha`` lower confidence bound of a proportion k/n (the lower
    end of the two-sided ``1 - 2 alpha`` Clopper-Pearson interval); 0 when k is 0."""
    if n <= 0:
        return float("nan")
    if k <= 0:
        return 0.0
    return float(stats.beta.ppf(check_alpha(alpha), int(k), int(n) - int(k) + 1))


def holm(p_values, alpha: float) -> np.ndarray:
    """Which of ``p_values`` Holm's step-down method rejects at family-wise level ``alpha``
    (the decisions of statsmodels' ``multipletests(method="holm")``, written out: that one runs a
    full garbage collection on every call, which takes a second in a process holding a release);
    NaN p-values are never rejected."""
    p = np.asarray(p_values, dtype=float)
    out = np.zeros(p.shape, dtype=bool)
    ok = ~np.isnan(p)
    if ok.any():
        a = check_alpha(alpha)
        tested = p[ok]
        order = np.argsort(tested)
        # step down from the smallest: reject while p_(i) <= alpha / (m - i + 1), stop at the first that is not
        stops = tested[order] > a / np.arange(len(tested), 0, -1)
        n_rejected = int(np.argmax(stops)) if stops.any() else len(tested)
        reject = np.zeros(len(tested), dtype=bool)
        reject[order[:n_rejected]] = True
        out[ok] = reject
    return out


def benjamini_hochberg(p_values, alpha: float) -> np.ndarray:
    """Which of ``p_values`` Benjamini-Hochberg rejects at false discovery rate ``alpha``
    (statsmodels' ``multipletests(method="fdr_bh")``); NaN p-values are never rejected."""
    return _multipletests(p_values, alpha, "fdr_bh")


def _multipletests(p_values, alpha: float, method: str) -> np.ndarray:
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    out = np.zeros(p.shape, dtype=bool)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=check_alpha(alpha), method=method)[0]
    return out


def fcr_level(alpha: float, n_selected: int, n_tests: int) -> float:
    """The confidence level of the intervals of ``n_selected`` findings picked by BH at
    ``alpha`` among ``n_tests``: ``1 - alpha * R / m`` (Benjamini & Yekutieli 2005); with no
    finding selected, the unadjusted ``1 - alpha``."""
    a = check_alpha(alpha)
    if n_tests <= 0 or n_selected <= 0:
        return 1.0 - a
    return 1.0 - a * min(int(n_selected), int(n_tests)) / int(n_tests)


def tweet_bootstrap(statistic: Callable[[np.ndarray], float], groups, alpha: float, *,
                    n_resamples: int = MIN_RESAMPLES, seed: int = 0,
                    method: str = "percentile") -> Interval:
    """A ``1 - alpha`` cluster-bootstrap interval that resamples tweets.

    ``groups`` labels each image (row) with its tweet; ``statistic(rows)`` computes the statistic
    from an array of row indices (rows of one tweet appear together, a tweet drawn twice twice).
    Each replicate draws as many tweets as there are, with replacement, and takes every image of
    each drawn tweet (Davison & Hinkley 1997, section 3.8). ``method`` is ``"percentile"``;
    replicates whose statistic is not finite are dropped (their number is in ``method``).
    """
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"n_resamples is at least {MIN_RESAMPLES}, not {n_resamples}")
    if method != "percentile":
        raise ValueError(f"method must be 'percentile', not {method!r}")
    a = check_alpha(alpha)
    codes, n_groups, members, starts = _group_index(groups)
    estimate = float(statistic(np.arange(len(codes))))
    rng = np.random.default_rng(seed)
    sizes = np.diff(starts)
    reps = np.empty(n_resamples)
    for b in range(n_resamples):
        drawn = rng.integers(0, n_groups, n_groups)
        reps[b] = statistic(_rows_of(drawn, members, starts, sizes) if n_groups else members)
    good = np.isfinite(reps)
    lo, hi = np.quantile(reps[good], [a / 2, 1 - a / 2]) if good.any() else (np.nan, np.nan)
    dropped = int((~good).sum())
    note = f"tweet bootstrap, percentile, {n_resamples} resamples" + (f", {dropped} not finite" if dropped else "")
    return Interval(estimate, float(lo), float(hi), 1 - a, note)


def _rows_of(drawn: np.ndarray, members: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The rows of the groups ``drawn``, group after group in the order drawn (each group's rows in
    ``members`` order): ``np.concatenate([members[starts[g]:starts[g] + sizes[g]] for g in drawn])``
    without a slice per group."""
    n = sizes[drawn]
    ends = np.cumsum(n)
    within = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - n, n)
    return members[np.repeat(starts[drawn], n) + within]


def _group_index(groups) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Integer codes of ``groups``, their number, the rows sorted by group and each group's
    start in that order (the last entry is the number of rows)."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(groups), sort=False)
    if (codes < 0).any():
        raise ValueError("a tweet id is missing: every image needs its tweet to be resampled by tweet")
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))
    starts = np.concatenate([[0], np.cumsum(counts)])
    return codes, len(uniques), order, starts


def percentile_bootstrap(data: tuple, statistic: Callable, alpha: float, *,
                         n_resamples: int = MIN_RESAMPLES, seed: int = 0, paired: bool = True,
                         method: Literal["percentile", "basic", "BCa"] = "percentile") -> Interval:
    """A ``1 - alpha`` bootstrap interval of ``statistic(*data)`` over independent units (rows
    of ``data``, resampled together when ``paired``): :func:`scipy.stats.bootstrap` with
    ``method`` ``"percentile"`` or ``"BCa"``. Use it where the units are tweets already (one
    row per tweet); over images grouped by tweet use :func:`tweet_bootstrap`."""
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"n_resamples is at least {MIN_RESAMPLES}, not {n_resamples}")
    a = check_alpha(alpha)
    arrays = tuple(np.asarray(d) for d in data)
    res = stats.bootstrap(arrays, statistic, n_resamples=n_resamples, confidence_level=1 - a,
                          method=method, paired=paired, vectorized=False, rng=np.random.default_rng(seed))
    est = float(statistic(*arrays))
    return Interval(est, float(res.confidence_interval.low), float(res.confidence_interval.high), 1 - a,
                    f"bootstrap over {len(arrays[0]):,} units, {method}, {n_resamples} resamples")


def tweet_sums(values, groups) -> np.ndarray:
    """Per-tweet column sums of ``values`` (images x k, or a 1-d array): shape (tweets, k), the
    input of :func:`tweet_bootstrap_sums`; rows are tweets in order of first occurrence."""
    import pandas as pd

    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    codes = pd.factorize(np.asarray(groups), sort=False)[0]
    if (codes < 0).any():
        raise ValueError("a tweet id is missing: every image needs its tweet to be resampled by tweet")
    n = int(codes.max()) + 1 if len(codes) else 0
    return np.column_stack([np.bincount(codes, weights=v[:, j], minlength=n) for j in range(v.shape[1])])


def tweet_bootstrap_sums(sums: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray], alpha: float, *,
                         n_resamples: int = MIN_RESAMPLES, seed: int = 0, batch: int = 250) -> Interval:
    """The tweet bootstrap of :func:`tweet_bootstrap` for a statistic of summed counts.

    Where the statistic is a function of totals over images (a 2x2 table's cells, a ratio of
    sums), a replicate that draws tweets with replacement and takes every image of each drawn
    tweet has totals ``w @ sums``, with ``w`` the number of times each tweet was drawn (a
    multinomial count vector): the same resampling, in one matrix product per batch of replicates
    instead of a concatenation of images. ``sums`` is (tweets, k) (:func:`tweet_sums`);
    ``statistic`` maps totals of shape (..., k) to values of shape (...) (vectorised over the
    leading axis). Returns the estimate on all tweets and the ``1 - alpha`` percentile interval;
    replicates whose statistic is not finite are dropped (their number is in ``method``).
    """
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"n_resamples is at least {MIN_RESAMPLES}, not {n_resamples}")
    a = check_alpha(alpha)
    s = np.asarray(sums, dtype=float)
    s = s[:, None] if s.ndim == 1 else s
    g = s.shape[0]
    estimate = float(statistic(s.sum(axis=0)))
    rng = np.random.default_rng(seed)
    batch = max(1, min(batch, 4_000_000 // max(g, 1)))  # a batch's weights stay within ~32 MB
    parts = []
    for start in range(0, n_resamples, batch):
        b = min(batch, n_resamples - start)
        w = np.stack([np.bincount(rng.integers(0, g, g), minlength=g) for _ in range(b)]) if g else np.zeros((b, 0))
        parts.append(np.asarray(statistic(w @ s), dtype=float).reshape(b))
    reps = np.concatenate(parts)
    good = np.isfinite(reps)
    lo, hi = np.quantile(reps[good], [a / 2, 1 - a / 2]) if good.any() else (np.nan, np.nan)
    dropped = int((~good).sum())
    note = (f"tweet bootstrap over {g:,} tweets, percentile, {n_resamples} resamples"
            + (f", {dropped} not finite" if dropped else ""))
    return Interval(estimate, float(lo), float(hi), 1 - a, note)
