"""Counts of the release and its growth over time (paper Figure 1b; claims C1, C2), and the
helpers every notebook uses to compare the first and the last months of the period
(:func:`early_late_months`, :func:`pooled`, :func:`early_late`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from twigma.analysis.inference import Interval
from twigma.analysis.months import Months
from twigma.memory import free_arrow_memory


def month_of(created_at: pd.Series) -> pd.Series:
    """Calendar month (UTC) of each timestamp, as text ``YYYY-MM`` (missing for a missing time).

    The distinct months' texts spread by code (:meth:`Months.texts`); the result is the Series that
    ``strftime`` gives (values, dtype, index and name; tests/analysis/test_overview.py).
    """
    if created_at.isna().any():  # never for a validated release; the plain path keeps NaT's meaning
        return created_at.dt.tz_convert("UTC").dt.strftime("%Y-%m")
    return Months.of(created_at).texts()


def tweet_codes(ids: pd.Series) -> np.ndarray:
    """Each image's tweet as a code 0..n_tweets-1 (in order of first occurrence): one hash pass over the
    ids, then counts per tweet by ``np.bincount`` (a groupby over the id strings for every table is slow on
    millions of images)."""
    codes = pd.factorize(ids.reset_index(drop=True), use_na_sentinel=False)[0]
    free_arrow_memory()  # the hash table of the id strings lived in pyarrow's pool: give it back
    return codes


def data_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Headline counts of a typed release table.

    Returns
    -------
    DataFrame with columns ``metric``, ``value`` (text-friendly values) and ``description``.
    """
    tweet = tweet_codes(df["id"])
    per_tweet = pd.Series(np.bincount(tweet))
    tweet_likes_missing = pd.Series(np.bincount(tweet, weights=df["like_count"].notna().to_numpy()) == 0)
    rows = [
        ("n_images", len(df), "rows of the release (one per image)"),
        ("n_tweets", int(per_tweet.size), "distinct tweet ids"),
        ("images_per_tweet_mean", round(float(per_tweet.mean()), 4), "mean images per tweet"),
        ("images_per_tweet_max", int(per_tweet.max()), "most images in one tweet"),
        ("share_tweets_multi_image", round(float((per_tweet > 1).mean()), 4), "tweets with more than one image"),
        ("first_created_at", df["created_at"].min().isoformat(), "earliest tweet (UTC)"),
        ("last_created_at", df["created_at"].max().isoformat(), "latest tweet (UTC)"),
        ("n_months", int(month_of(df["created_at"]).nunique()), "calendar months with at least one tweet"),
        ("share_likes_missing", round(float(df["like_count"].isna().mean()), 4),
         "images whose like count is missing (tweet deleted by May 2023)"),
        ("share_tweets_likes_missing", round(float(tweet_likes_missing.mean()), 4), "tweets whose like count is missing"),
        ("share_possibly_sensitive", round(float(df["possibly_sensitive"].dropna().astype(float).mean()), 4)
         if df["possibly_sensitive"].notna().any() else float("nan"),
         "images in tweets flagged sensitive by Twitter (among known flags)"),
        ("n_clusters", int(df["label_10_cluster"].nunique()), "distinct clusters present"),
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "description"])


def images_per_tweet(df: pd.DataFrame) -> pd.DataFrame:
    """Distribution of the number of images per tweet: ``n_images_in_tweet``, ``n_tweets``, ``share``."""
    counts = pd.Series(np.bincount(tweet_codes(df["id"]))).value_counts().sort_index()
    out = counts.rename_axis("n_images_in_tweet").reset_index(name="n_tweets")
    out["share"] = out["n_tweets"] / out["n_tweets"].sum()
    return out


def monthly_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Tweets (distinct ids) and images (rows) per calendar month, UTC.

    Returns
    -------
    DataFrame with columns ``month`` (YYYY-MM), ``n_tweets``, ``n_images``; every month between
    the first and the last is listed, with zeros where nothing was posted.
    """
    if df["created_at"].isna().any():  # a missing time: the rows without a month are left out, as a groupby does
        g = pd.DataFrame({"month": month_of(df["created_at"]), "id": df["id"]}).groupby("month")
        out = pd.DataFrame({"n_tweets": g["id"].nunique(), "n_images": g.size()})
    else:  # distinct (month, tweet) pairs by integer codes: a groupby's nunique over the id strings is slow
        months = Months.of(df["created_at"])
        tweet = tweet_codes(df["id"])
        n_t = int(tweet.max()) + 1 if len(tweet) else 1
        pairs = pd.unique(months.code * n_t + tweet)
        out = pd.DataFrame({"n_tweets": np.bincount(pairs // n_t, minlength=len(months)),
                            "n_images": np.bincount(months.code, minlength=len(months))},
                           index=pd.Index(months.labels, name="month"))
    full = pd.period_range(out.index.min(), out.index.max(), freq="M").strftime("%Y-%m")
    out = out.reindex(full, fill_value=0).rename_axis("month").reset_index()
    return out.astype({"n_tweets": "int64", "n_images": "int64"})


@dataclass(frozen=True)
class MultiImageShares:
    """What notebook 00 says about images per tweet (:func:`multi_image_shares`)."""

    single_tweet_share: float  # tweets with one image
    multi_image_image_share: float  # images that sit in a tweet with two or more
    max_images: int  # most images in one tweet
    most_single: bool  # more than half of the tweets carry one image
    close_to_tweets: bool  # multi-image tweets hold under ``max_multi_share`` of the images
    max_multi_share: float  # the cut of ``close_to_tweets``


def multi_image_shares(per_tweet: pd.DataFrame, max_multi_share: float = 0.2) -> MultiImageShares:
    """From :func:`images_per_tweet`: the share of tweets with one image, of images that sit in a
    tweet with two or more, the most images in a tweet, and whether image-level tables are close
    to tweet-level ones (``close_to_tweets``: multi-image tweets hold under ``max_multi_share``
    of the images)."""
    n, k = per_tweet["n_images_in_tweet"].to_numpy(), per_tweet["n_tweets"].to_numpy()
    images = n * k
    single = float(k[n == 1].sum() / k.sum())
    multi = float(images[n > 1].sum() / images.sum())
    return MultiImageShares(single, multi, int(n.max()), single > 0.5, multi < max_multi_share,
                            float(max_multi_share))


# ---------------------------------------------------------------- first and last months ----

def early_late_months(months: Sequence[str] | pd.Series | pd.DataFrame, n_months: int = 12
                      ) -> tuple[list[str], list[str]]:
    """The first and the last ``n_months`` calendar months of a period: the one definition of
    "early" and "late" that every notebook's comparison of the two ends uses.

    Parameters
    ----------
    months : sequence of ``YYYY-MM`` text, or a DataFrame with a ``month`` column
        The months of the period (each once; any order: they are sorted).
    n_months : int
        Months at each end. When the period has fewer than ``2 * n_months`` months, each end gets
        ``len // 2`` months, so the two ends never share a month.

    Returns
    -------
    (early, late) : two lists of month labels, each in calendar order.
    """
    if isinstance(months, pd.DataFrame):
        if "month" not in months.columns:
            raise KeyError(f"early_late_months needs a 'month' column; the table has {list(months.columns)}")
        months = months["month"]
    labels = sorted(pd.unique(pd.Series(list(months), dtype=str)))
    if n_months < 1:
        raise ValueError(f"n_months must be at least 1, not {n_months}")
    k = min(n_months, len(labels) // 2)
    if k == 0:
        raise ValueError(f"a period of {len(labels)} month(s) has no separate first and last months")
    return labels[:k], labels[-k:]


def pooled(table: pd.DataFrame, value: str, weight: str) -> float:
    """The pooled value of rows of a table: sum(value * weight) / sum(weight).

    With a per-group share and its denominator (``share_possibly_sensitive`` and ``n_flag_known``)
    this is the share over all units of the groups together; with a per-group mean and its
    count, the mean over all units. Rows with a missing value or weight are left out.
    """
    v, w = table[value].to_numpy(dtype=float), table[weight].to_numpy(dtype=float)
    ok = np.isfinite(v) & np.isfinite(w)
    total = w[ok].sum()
    return float((v[ok] * w[ok]).sum() / total) if total > 0 else float("nan")


def early_late(table: pd.DataFrame, values: dict[str, str], n_months: int = 12) -> pd.DataFrame:
    """A monthly table's values pooled over its first and its last months (:func:`early_late_months`).

    Parameters
    ----------
    table : DataFrame with a ``month`` column, one row per month
    values : dict
        ``{value column: weight column}``: each value is pooled with its weight (:func:`pooled`).

    Returns
    -------
    DataFrame indexed by ``period`` (``early``, ``late``) with ``first_month``, ``last_month``,
    ``n_months`` and one column per value.
    """
    ends = early_late_months(table, n_months)
    rows = []
    for period, months in zip(("early", "late"), ends):
        part = table[table["month"].astype(str).isin(months)]
        rows.append({"period": period, "first_month": months[0], "last_month": months[-1],
                     "n_months": len(months), **{v: pooled(part, v, w) for v, w in values.items()}})
    return pd.DataFrame(rows).set_index("period")


# ---------------------------------------------------------------- growth (C2) --------------

@dataclass(frozen=True)
class MannKendall:
    """The Mann-Kendall test of a series, corrected for autocorrelation (:func:`mann_kendall_hamed_rao`)."""

    #: the Mann-Kendall score S and its variance (corrected); z and its two-sided p-value (NaN when the
    #: corrected variance is not positive)
    s: float
    var_s: float
    z: float
    p_value: float
    #: the corrected variance over the uncorrected one (n / n*)
    variance_inflation: float


def mann_kendall_hamed_rao(y: np.ndarray) -> MannKendall:
    """Mann-Kendall trend test with Hamed & Rao's (1998) variance correction for autocorrelation.

    The series is detrended by its Sen slope, the autocorrelations of the ranks of what is left
    are estimated, and those significant at 5% (Hamed & Rao's choice) inflate the variance of
    the Mann-Kendall score S by n / n*; computed by ``pymannkendall.hamed_rao_modification_test``.
    The two-sided p-value is recomputed from z with the normal survival function (exact far into
    the tail, where pymannkendall's ``1 - cdf`` rounds to 0).

    Returns a :class:`MannKendall`: ``s``, ``var_s`` (corrected), ``z``, ``p_value`` and
    ``variance_inflation`` (n / n*); ``p_value`` is NaN when the corrected variance is not positive.
    """
    import pymannkendall

    y = np.asarray(y, dtype=float)
    naive_var = pymannkendall.original_test(y).var_s
    res = pymannkendall.hamed_rao_modification_test(y, alpha=0.05)
    ok = np.isfinite(res.var_s) and res.var_s > 0
    return MannKendall(s=float(res.s), var_s=float(res.var_s), z=float(res.z) if ok else float("nan"),
                       p_value=float(2 * stats.norm.sf(abs(res.z))) if ok else float("nan"),
                       variance_inflation=float(res.var_s / naive_var) if naive_var > 0 else float("nan"))


def _loglinear(y: np.ndarray, t: np.ndarray):
    pos = y > 0
    return stats.linregress(t[pos], np.log(y[pos])) if pos.sum() >= 3 else None


def newey_west_lags(n: int) -> int:
    """The Bartlett-kernel truncation lag of Newey & West (1994): floor(4 (n / 100)^(2/9))."""
    return int(np.floor(4 * (n / 100.0) ** (2 / 9)))


def loglinear_growth_interval(y: np.ndarray, t: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """The growth factor per unit of ``t`` of a log-linear fit of a count ``y`` on ``t`` (months
    with a zero count left out) and its ``1 - alpha`` interval: (factor, low, high).

    The months' residuals around the fitted line are serially correlated (a month above the
    line is followed by another), which makes the OLS t interval too narrow; the interval is
    therefore the slope's Newey-West (1987) HAC interval (Bartlett kernel, lag
    :func:`newey_west_lags`, small-sample factor n / (n - 2), t with n - 2 degrees of freedom;
    statsmodels' ``OLS.fit(cov_type="HAC")``), exponentiated. NaN with fewer than 3 months.
    """
    import statsmodels.api as sm

    from twigma.analysis.inference import check_alpha

    a = check_alpha(alpha)
    pos = y > 0
    if pos.sum() < 3:
        return float("nan"), float("nan"), float("nan")
    x, ly = t[pos], np.log(y[pos])
    fit = sm.OLS(ly, sm.add_constant(x)).fit(cov_type="HAC", use_t=True,
                                             cov_kwds={"maxlags": newey_west_lags(len(x)), "use_correction": True})
    lo, hi = fit.conf_int(alpha=a)[1]
    return float(np.exp(fit.params[1])), float(np.exp(lo)), float(np.exp(hi))


@dataclass(frozen=True)
class GrowthTrend:
    """The trend of a monthly count (:func:`growth_trend`): C2's Mann-Kendall test and the log-linear growth."""

    #: the count's column and how many months it covers
    column: str
    n_months: int
    #: Kendall's tau-b with time; the Mann-Kendall p-value corrected for autocorrelation (Hamed & Rao), its z
    #: and variance inflation; the uncorrected p-value
    kendall_tau: float
    p_value: float
    mk_z: float
    mk_variance_inflation: float
    p_value_naive: float
    #: the log-linear fit over the whole period: growth factor per year, log count at the first month, t-test p
    growth_per_year: float
    log_intercept: float
    loglinear_p_value: float
    #: the growth factor of each half; whether one rate fits both (within a factor of max_rate_ratio)
    growth_first_half: float
    growth_second_half: float
    one_growth_rate: bool
    max_rate_ratio: float
    #: each growth factor's interval (ci_method) at ci_level
    growth_ci_low: float
    growth_ci_high: float
    growth_first_half_ci_low: float
    growth_first_half_ci_high: float
    growth_second_half_ci_low: float
    growth_second_half_ci_high: float
    ci_level: float
    ci_method: str
    #: the months: first and last; each half's log count at its first month; where the halves meet
    first_month: str
    last_month: str
    log_intercept_first_half: float
    log_intercept_second_half: float
    first_half_last_month: str
    half_split: str

    @property
    def whole(self) -> Interval:
        """The growth factor per year over the whole period with its interval."""
        return Interval(self.growth_per_year, self.growth_ci_low, self.growth_ci_high, self.ci_level, self.ci_method)

    @property
    def first_half(self) -> Interval:
        """The growth factor per year over the first half of the months with its interval."""
        return Interval(self.growth_first_half, self.growth_first_half_ci_low, self.growth_first_half_ci_high,
                        self.ci_level, self.ci_method)

    @property
    def second_half(self) -> Interval:
        """The growth factor per year over the second half of the months with its interval."""
        return Interval(self.growth_second_half, self.growth_second_half_ci_low, self.growth_second_half_ci_high,
                        self.ci_level, self.ci_method)


def growth_trend(monthly: pd.DataFrame, column: str = "n_tweets", alpha: float = 0.01,
                 max_rate_ratio: float = 2.0) -> GrowthTrend:
    """Trend of a monthly count: Mann-Kendall test and log-linear growth rate (a :class:`GrowthTrend`).

    ``kendall_tau`` is Kendall's tau-b between the count and time (scipy). ``p_value`` is the
    Mann-Kendall test corrected for autocorrelation (Hamed & Rao 1998,
    :func:`mann_kendall_hamed_rao`): monthly counts are serially correlated, and the naive
    p-value (``p_value_naive``, scipy's, which assumes independent months) is optimistic. The
    growth rate is the slope of an ordinary least-squares fit of log(count) on time in years,
    reported as the factor by which the count multiplies per year, with the fit's t-test p-value
    (``loglinear_p_value``, a second test of growth). Months with a zero count are left out of
    the log-linear fit. The same fit on each half of the months gives ``growth_first_half`` and
    ``growth_second_half`` (NaN when a half has fewer than 3 months) and ``one_growth_rate``: True
    when the two halves' factors are within a factor of ``max_rate_ratio`` of each other, i.e.
    one exponential rate describes the period; only then is ``growth_per_year`` a fair summary
    of it. Each factor has a ``1 - alpha`` Newey-West interval (:func:`loglinear_growth_interval`):
    ``growth_ci_low``/``_high``, ``growth_first_half_ci_low``/``_high``,
    ``growth_second_half_ci_low``/``_high``, at ``ci_level``.
    """
    y = monthly[column].to_numpy(dtype=float)
    t = np.arange(len(y)) / 12.0
    tau, p_naive = stats.kendalltau(t, y)
    nan = float("nan")
    mk = mann_kendall_hamed_rao(y) if len(y) >= 3 else MannKendall(nan, nan, nan, nan, nan)
    fit = _loglinear(y, t)
    half = len(y) // 2
    spans = ((0, len(y)), (0, half), (half, len(y)))
    intervals = [loglinear_growth_interval(y[a:b], t[a:b] - t[a], alpha) for a, b in spans]
    fits = [_loglinear(y[a:b], t[a:b] - t[a]) if b - a >= 3 else None for a, b in spans[1:]]
    g1, g2 = (float(np.exp(f.slope)) if f else float("nan") for f in fits)
    i1, i2 = (float(f.intercept) if f else float("nan") for f in fits)
    return GrowthTrend(
        column=column,
        n_months=int(len(y)),
        kendall_tau=float(tau),
        p_value=mk.p_value,  # Hamed & Rao
        mk_z=mk.z,
        mk_variance_inflation=mk.variance_inflation,
        p_value_naive=float(p_naive),
        growth_per_year=float(np.exp(fit.slope)) if fit else nan,
        log_intercept=float(fit.intercept) if fit else nan,  # log(count) at the first month
        loglinear_p_value=float(fit.pvalue) if fit else nan,  # t-test of the log-linear slope
        growth_first_half=g1,
        growth_second_half=g2,
        one_growth_rate=bool(np.isfinite(g1) and np.isfinite(g2) and 1 / max_rate_ratio < g2 / g1 < max_rate_ratio),
        max_rate_ratio=float(max_rate_ratio),
        growth_ci_low=intervals[0][1], growth_ci_high=intervals[0][2],
        growth_first_half_ci_low=intervals[1][1], growth_first_half_ci_high=intervals[1][2],
        growth_second_half_ci_low=intervals[2][1], growth_second_half_ci_high=intervals[2][2],
        ci_level=1 - float(alpha),
        ci_method="Newey-West HAC",
        first_month=str(monthly["month"].iloc[0]),
        last_month=str(monthly["month"].iloc[-1]),
        log_intercept_first_half=i1,  # log(count) at the first month of each half
        log_intercept_second_half=i2,
        first_half_last_month=str(monthly["month"].iloc[half - 1]) if half >= 1 else "",
        half_split=str(monthly["month"].iloc[half]) if half < len(y) else "",  # first month of the second half
    )


def fitted_growth(monthly: pd.DataFrame, trend: GrowthTrend) -> pd.DataFrame:
    """The log-linear fit of :func:`growth_trend` at each month, for drawing: one line over the
    whole period when one rate fits it (``one_growth_rate``), else one line per half.

    Returns columns ``x`` (month number from 0), ``month``, ``fitted`` (count) and ``segment``
    (``whole period``, ``first half``, ``second half``) and ``growth_per_year`` of the segment.
    """
    n, half = len(monthly), len(monthly) // 2
    if trend.one_growth_rate or not np.isfinite(trend.growth_first_half):
        parts = [("whole period", 0, n, trend.log_intercept, trend.growth_per_year)]
    else:
        parts = [("first half", 0, half, trend.log_intercept_first_half, trend.growth_first_half),
                 ("second half", half, n, trend.log_intercept_second_half, trend.growth_second_half)]
    rows = []
    for name, a, b, intercept, g in parts:
        x = np.arange(a, b)
        rows.append(pd.DataFrame({"x": x, "month": monthly["month"].iloc[a:b].to_numpy(),
                                  "fitted": np.exp(intercept) * g ** ((x - a) / 12), "segment": name,
                                  "growth_per_year": g}))
    return pd.concat(rows, ignore_index=True)


@dataclass(frozen=True)
class GrowthFacts:
    """The numbers notebook 01's text states about the monthly tweet counts (:func:`growth_summary`)."""

    k: int  # months averaged at each end
    first_mean: float  # mean tweets per month over the first k months
    last_mean: float  # and over the last k
    rises: int  # month-to-month steps up
    steps: int  # month-to-month steps
    peak_month: str
    peak: int
    min_month: int  # the smallest monthly count
    doubling_months: float  # 12 log 2 / log growth; inf without growth
    images_per_tweet: float  # all images over all tweets
    last_day: str
    last_month_partial: bool  # the data end more than a day before the end of their last month


def growth_summary(monthly: pd.DataFrame, trend: GrowthTrend, last_created_at: pd.Timestamp, k: int = 3) -> GrowthFacts:
    """The numbers notebook 01's text states about the monthly tweet counts (:class:`GrowthFacts`);
    ``k`` months are averaged at each end (a third of the months if fewer)."""
    n = monthly["n_tweets"].to_numpy()
    k = min(k, len(n) // 3) or 1
    g = trend.growth_per_year
    last_day = pd.Timestamp(last_created_at)
    return GrowthFacts(k=int(k), first_mean=float(n[:k].mean()), last_mean=float(n[-k:].mean()),
                       rises=int((np.diff(n) > 0).sum()), steps=int(len(n) - 1),
                       peak_month=str(monthly.loc[monthly["n_tweets"].idxmax(), "month"]), peak=int(n.max()),  # type: ignore[index]  # pandas-stubs: .loc takes no Hashable label
                       min_month=int(n.min()),
                       doubling_months=float(12 * np.log(2) / np.log(g)) if g > 1 else float("inf"),
                       images_per_tweet=float(monthly["n_images"].sum() / max(n.sum(), 1)),
                       last_day=last_day.strftime("%Y-%m-%d"),
                       last_month_partial=bool(last_day.day < last_day.days_in_month - 1))


@dataclass(frozen=True)
class SteadyGrowth:
    """What notebook 01 says about growth and tests the paper's "steady growth" as (:func:`steady_growth`)."""

    monotone: bool  # a rising trend significant at alpha by the Hamed & Rao Mann-Kendall test (C2's test)
    one_rate: bool  # one exponential rate fits both halves of the period
    steady: bool  # both
    alpha: float
    whole: Interval  # growth factor per year over the whole period, with its interval
    first_half: Interval
    second_half: Interval
    max_rate_ratio: float  # the halves' factors within this ratio of each other: one rate
    tau: float  # Kendall's tau of the monthly count and time
    p_value: float  # Mann-Kendall, Hamed & Rao corrected
    p_value_naive: float
    variance_inflation: float  # the correction's factor on the variance of the score
    n_months: int
    first_month: str
    first_half_last_month: str
    half_split: str  # the first month of the second half
    last_month: str


def steady_growth(trend: GrowthTrend, alpha: float) -> SteadyGrowth:
    """What notebook 01 tests the paper's "steady growth" as, from :func:`growth_trend`, with the
    growth factors per year as :class:`~twigma.analysis.inference.Interval` (their Newey-West
    intervals at the trend's ``ci_level``)."""
    monotone = bool(trend.kendall_tau > 0 and trend.p_value < alpha)
    return SteadyGrowth(monotone=monotone, one_rate=trend.one_growth_rate,
                        steady=monotone and trend.one_growth_rate, alpha=float(alpha),
                        whole=trend.whole, first_half=trend.first_half, second_half=trend.second_half,
                        max_rate_ratio=trend.max_rate_ratio, tau=trend.kendall_tau, p_value=trend.p_value,
                        p_value_naive=trend.p_value_naive, variance_inflation=trend.mk_variance_inflation,
                        n_months=trend.n_months, first_month=trend.first_month,
                        first_half_last_month=trend.first_half_last_month, half_split=trend.half_split,
                        last_month=trend.last_month)


def columns_without_values(df: pd.DataFrame, columns=None) -> list[str]:
    """The columns of ``df`` (or of ``columns`` among them) that are empty in every row: a release whose
    ``like_count`` or ``nsfw_score`` was never filled in, which the notebooks that need it report."""
    names = [c for c in (df.columns if columns is None else columns) if c in df.columns]
    return [c for c in names if len(df) and not df[c].notna().any()]
