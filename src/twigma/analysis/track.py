"""Theme tracker over captions: which images a query matches, and how their share moves.

``twigma track QUERY`` (or :func:`track` in a notebook) finds the images whose caption
(``all_captions``) matches a query, then tracks the matching share per calendar month with
the trend test of notebook 03 (:func:`twigma.analysis.themes.trend_test`: a quasi-binomial
logistic regression of the monthly counts on time, slope in log-odds per year), splits the
matches by cluster (share, lift and the same trend within each cluster), and compares the
engagement of matching and other images.

Queries
-------
A query is a word or a phrase (taken literally; the words of a phrase may be separated by
any run of white space), or with ``regex=True`` a Python regular expression. Matching is
case-insensitive and, by default, whole-word: the match may not be preceded or followed by
a letter, digit or underscore, so ``cat`` matches "a cat." but not "catalogue" or "tomcat"
(``whole_words=False`` matches anywhere, as a plain substring search does).

How it is fast
--------------
The captions are searched with pyarrow's RE2 engine (``match_substring_regex``), which is
several times faster than Python's ``re`` (docs/benchmarks.md). RE2 and Python's ``re``
agree on printable-ASCII text for the syntax both accept; the captions that are not
printable ASCII (accents, emoji, control characters), and every caption when the pattern
uses syntax RE2 does not have (look-arounds, back-references) or reads differently
(POSIX classes), are searched with Python's ``re``. The result is therefore always Python's
``re.search`` of :attr:`Query.pattern`; ``tests/analysis/test_track.py`` checks that both ways agree.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twigma.analysis.engagement import engagement_table
from twigma.analysis.months import Months
from twigma.analysis.themes import MIN_IMAGES_PER_MONTH, direction, trend_test
from twigma.errors import UserError
from twigma.files import slug  # the file-name form of a query (Query.slug; twigma search names its files alike)

#: Captions that hold anything but printable ASCII are searched with Python's ``re`` (regular expressions).
_NOT_PRINTABLE_ASCII = r"[^\x20-\x7e]"
#: What Python's ``\s`` matches in ASCII text (tab to carriage return, the separators 0x1c-0x1f, space).
_RE2_ASCII_SPACE = r"[\t-\r\x1c-\x20]+"
MATCHING, OTHER = "matching", "other"


class TrackError(UserError, ValueError):
    """A query that cannot be tracked (empty, not a valid regular expression, matches nothing...)."""


class NoMatch(TrackError):
    """A valid query that matches no caption."""


@dataclass(frozen=True)
class Query:
    """A compiled caption query.

    ``pattern`` is the Python regular expression actually searched (case-insensitive), ``re2``
    the same for pyarrow's RE2 engine, ``slug`` the query's file-name form.
    """

    text: str
    regex: bool
    whole_words: bool
    pattern: re.Pattern = field(repr=False)
    re2: str = field(repr=False)

    @property
    def slug(self) -> str:
        return slug(self.text)

    def describe(self) -> str:
        kind = "regular expression" if self.regex else ("phrase" if len(self.text.split()) > 1 else "word")
        return (f"{kind} {self.text!r} (case-insensitive, "
                + ("whole words" if self.whole_words else "anywhere in a word") + ")")


def compile_query(query: str, *, regex: bool = False, whole_words: bool = True) -> Query:
    """Check a query and compile it (see the module docstring for what matches).

    Raises
    ------
    TrackError
        If the query is empty, is not a valid regular expression, or would match an empty
        caption (then it matches every caption and tracks nothing).
    """
    text = "" if query is None else str(query)
    if not text.strip():
        raise TrackError("the query is empty: give a word, a phrase or (with --regex) a regular expression, "
                         "e.g. twigma track lighthouse")
    if regex:
        core = core2 = text
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "possible nested set" FutureWarnings: read as Python does
                re.compile(core)
        except re.error as exc:
            raise TrackError(f"{text!r} is not a valid regular expression: {exc}. Fix it, or leave out --regex to "
                             "search for the text as written.") from None
    else:  # words separated by white space: Python's \s, written out for RE2 on ASCII text
        words = [re.escape(w) for w in text.split()]
        core, core2 = r"\s+".join(words), _RE2_ASCII_SPACE.join(words)
    if whole_words:
        py = rf"(?<!\w)(?:{core})(?!\w)"
        re2 = rf"(?:^|[^\p{{L}}\p{{N}}_])(?:{core2})(?:[^\p{{L}}\p{{N}}_]|$)"
    else:
        py, re2 = core, core2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pattern = re.compile(py, re.IGNORECASE)
    except re.error as exc:  # e.g. global flags such as (?i) that are no longer at the start once wrapped
        raise TrackError(f"{text!r} cannot be used as a whole-word regular expression ({exc}); move inline flags "
                         "out of it (matching is case-insensitive already) or add --substring.") from None
    if pattern.search(""):
        raise TrackError(f"{text!r} matches an empty caption, so it would match every image; give a pattern that "
                         "needs at least one character (e.g. 'cats?' rather than 'cat*').")
    return Query(text=text, regex=bool(regex), whole_words=bool(whole_words), pattern=pattern, re2=re2)


def _as_arrow(captions: pd.Series):
    """The texts as an arrow array, its chunks kept as they are (a release read from the typed cache has one
    per row group; joining them would copy the whole column)."""
    import pyarrow as pa

    arr = captions.array
    if hasattr(arr, "__arrow_array__"):
        return pa.array(arr)
    return pa.array(captions.astype(object).where(captions.notna(), None), type=pa.string())


def _python_search(values: pd.Series, pattern: re.Pattern) -> np.ndarray:
    """``pattern.search`` of every value (missing: False), once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    hits = np.fromiter((pattern.search(str(u)) is not None for u in uniques), dtype=bool, count=len(uniques))
    return np.where(codes >= 0, hits[np.maximum(codes, 0)], False)


def match_captions(captions: pd.Series, query: str | Query, *, regex: bool = False, whole_words: bool = True,
                   engine: str = "auto") -> np.ndarray:
    """Which captions match ``query``.

    Parameters
    ----------
    captions : Series of str, shape (n_images,); missing captions never match
    query : str or Query, see :func:`compile_query` (``regex`` and ``whole_words`` apply to a str)
    engine : {"auto", "python"}
        "auto" searches with RE2 where that gives Python's answer (module docstring);
        "python" uses Python's ``re`` for every caption (the reference, slower).

    Returns
    -------
    ndarray of bool, shape (n_images,)
    """
    q = query if isinstance(query, Query) else compile_query(query, regex=regex, whole_words=whole_words)
    if engine == "python" or (q.regex and "[:" in q.text):  # POSIX classes: RE2 reads [[:alpha:]] otherwise
        return _python_search(captions.reset_index(drop=True), q.pattern)
    if engine != "auto":
        raise ValueError(f"engine must be 'auto' or 'python', not {engine!r}")
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _as_arrow(captions)
    try:
        hits = pc.match_substring_regex(arr, q.re2, ignore_case=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # syntax RE2 does not have
        return _python_search(captions.reset_index(drop=True), q.pattern)
    out = pc.fill_null(hits, False).to_numpy(zero_copy_only=False).astype(bool, copy=True)
    if q.regex:  # a user's pattern may use \s, $, ...: RE2 and Python agree on printable ASCII
        odd = pc.fill_null(pc.match_substring_regex(arr, _NOT_PRINTABLE_ASCII), False)
    else:  # a literal query's pattern (escaped words, white space written out) reads ASCII text alike
        odd = pc.invert(pc.fill_null(pc.string_is_ascii(arr), True))
    odd = odd.to_numpy(zero_copy_only=False)
    if odd.any():
        values = pd.Series(captions.to_numpy(dtype=object, na_value=None)[odd])  # type: ignore[call-overload]  # pandas-stubs: na_value None
        out[odd] = _python_search(values, q.pattern)
    return out


# ------------------------------------------------------------------------------- tables ---

@dataclass(frozen=True)
class MonthlyTrend:
    """The trend of a monthly share (:func:`monthly_trend`): notebook 03's test on the months fitted."""

    #: the slope (log-odds per year), its standard error and p-value, its interval at ci_level
    slope: float
    std_err: float
    p_value: float
    ci_low: float
    ci_high: float
    ci_level: float
    #: the t's degrees of freedom, the Pearson dispersion and the scale used (floored at 1)
    df: float
    dispersion: float
    scale: float
    #: the call at alpha (up, down, flat) and the odds ratio per year
    direction: str
    odds_ratio_per_year: float
    #: the months fitted; why the trend was not estimated ("" when it was)
    n_months: int
    note: str


def monthly_trend(monthly: pd.DataFrame, alpha: float, min_images_per_month: int) -> MonthlyTrend:
    """:func:`trend_test` of n_matching / n_images on t_years over the months with enough images
    (``monthly``: the columns of :meth:`Months.table`), its interval at ``1 - alpha``; NaN (direction
    flat) with a ``note`` where the trend cannot be estimated (a :class:`MonthlyTrend`)."""
    fit = monthly[monthly["n_images"] >= min_images_per_month]
    nan = {"slope": np.nan, "p_value": np.nan, "std_err": np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "ci_level": 1 - alpha, "df": np.nan, "dispersion": np.nan, "scale": np.nan}
    k, n = fit["n_matching"].to_numpy(dtype=float), fit["n_images"].to_numpy(dtype=float)
    note = ""
    if len(fit) < 3:
        note = (f"only {len(fit)} month(s) with at least {min_images_per_month} images: a trend needs 3 or more "
                "(lower --min-images-per-month)")
    elif monthly["n_matching"].sum() == 0:
        note = "no matching image"
    elif k.sum() == 0:
        note = "no matching image in the months the trend is fitted on"
    elif (k == n).all():
        note = "every image of the fitted months matches: the share cannot change"
    if note:
        res = nan
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # statsmodels' convergence/separation warnings: checked below
                res = trend_test(k, n, fit["t_years"].to_numpy(), alpha=alpha)
        except Exception as exc:  # e.g. perfect separation (all months 0 before a date, 1 after)
            res, note = nan, f"the trend model could not be fitted ({type(exc).__name__}: {exc})"
        if not note and not np.isfinite([res["slope"], res["p_value"]]).all():
            res, note = nan, "the trend model did not give finite estimates (too few matches, or complete separation)"
    return MonthlyTrend(slope=float(res["slope"]), std_err=float(res["std_err"]), p_value=float(res["p_value"]),
                        ci_low=float(res["ci_low"]), ci_high=float(res["ci_high"]), ci_level=float(res["ci_level"]),
                        df=float(res["df"]), dispersion=float(res["dispersion"]), scale=float(res["scale"]),
                        direction=direction(res["slope"], res["p_value"], alpha),
                        odds_ratio_per_year=float(np.exp(res["slope"])) if np.isfinite(res["slope"]) else np.nan,
                        n_months=int(len(fit)), note=note)


def by_cluster(df: pd.DataFrame, mask: np.ndarray, *, alpha: float = 0.01,
               min_images_per_month: int = MIN_IMAGES_PER_MONTH,
               names: pd.Series | None = None, months: Months | None = None) -> pd.DataFrame:
    """Matches per cluster.

    Returns
    -------
    DataFrame with one row per cluster: ``cluster``, ``name`` (when ``names`` is given),
    ``n_images``, ``n_matching``, ``share`` (of the cluster's images that match),
    ``share_of_matching`` (of all matching images that are in the cluster), ``lift`` (share over
    the overall share), and the trend of the share within the cluster, fitted on the months in
    which the cluster has at least ``min_images_per_month`` images: ``slope``, ``p_value``,
    ``direction``, ``odds_ratio_per_year``, ``n_months``, ``note``. ``months``: :class:`Months` of
    ``df["created_at"]`` when already made.
    """
    months = Months.of(df["created_at"]) if months is None else months
    mask = np.asarray(mask, dtype=bool)
    cluster = df["label_10_cluster"].to_numpy()
    overall = mask.mean()
    total = max(int(mask.sum()), 1)
    rows = []
    for c in np.unique(cluster):
        inside = cluster == c
        tr = monthly_trend(months.table(mask, inside), alpha, min_images_per_month)
        n, k = int(inside.sum()), int(mask[inside].sum())
        rows.append({"cluster": int(c), **({"name": names.get(int(c), "")} if names is not None else {}),
                     "n_images": n, "n_matching": k, "share": k / n, "share_of_matching": k / total,
                     "lift": (k / n) / overall if overall > 0 else np.nan,
                     "slope": tr.slope, "p_value": tr.p_value, "direction": tr.direction,
                     "odds_ratio_per_year": tr.odds_ratio_per_year, "n_months": tr.n_months, "note": tr.note})
    return pd.DataFrame(rows)


def _n_distinct(ids: pd.Series) -> int:
    """Distinct values of a column of digit strings (tweet ids), fast where they fit in 64 bits."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = _as_arrow(ids)
        if arr.null_count == 0 and pc.max(pc.utf8_length(arr)).as_py() <= 19:
            return int(len(pd.unique(pc.cast(arr, pa.uint64()).to_numpy())))
    except Exception:  # not digits: count the text itself
        pass
    return int(ids.nunique())


def engagement(df: pd.DataFrame, mask: np.ndarray, *, months: Months | None = None) -> pd.DataFrame:
    """Engagement of matching and other images (per image, as notebook 05's tables).

    Returns
    -------
    DataFrame with rows ``matching`` and ``other`` (column ``group``) and the columns of
    :func:`twigma.analysis.engagement.engagement_table`, plus ``n_tweets`` and
    ``mean_log1p_likes_same_months``: the group's mean log(1 + likes) with its months weighted
    as the matching images' months are (direct standardisation). Likes depend on when a tweet
    was posted (the audience grew; old tweets were more often deleted), so a theme that is common
    in some months can look more or less liked for its timing alone; this column compares
    matching and other images posted in the same months. Months where either group has no known
    likes are left out of it. ``months``: :class:`Months` of ``df["created_at"]`` when already made.
    """
    months = Months.of(df["created_at"]) if months is None else months
    mask = np.asarray(mask, dtype=bool)
    table = engagement_table(df, pd.Series(mask)).rename_axis("group").reset_index()
    table["group"] = table["group"].map({True: MATCHING, False: OTHER})
    table.insert(2, "n_tweets", [_n_distinct(df["id"][mask if g == MATCHING else ~mask]) for g in table["group"]])
    log1p = np.log1p(df["like_count"].to_numpy(dtype=float, na_value=np.nan))
    known = ~np.isnan(log1p)
    m = len(months)
    same = {}
    weights = np.bincount(months.code[known & mask], minlength=m).astype(float)
    sums = {g: np.bincount(months.code[known & sel], weights=log1p[known & sel], minlength=m)
            for g, sel in ((MATCHING, mask), (OTHER, ~mask))}
    counts = {g: np.bincount(months.code[known & sel], minlength=m) for g, sel in ((MATCHING, mask), (OTHER, ~mask))}
    both = (counts[MATCHING] > 0) & (counts[OTHER] > 0)
    for g in (MATCHING, OTHER):
        w = weights[both]
        mean = sums[g][both] / counts[g][both]
        same[g] = float(np.sum(w * mean) / w.sum()) if w.sum() > 0 else np.nan
    table["mean_log1p_likes_same_months"] = table["group"].map(same)
    order = {MATCHING: 0, OTHER: 1}
    return table.sort_values("group", key=lambda s: s.map(order)).reset_index(drop=True)


@dataclass
class Tracked:
    """What :func:`track` finds: the compiled ``query``, the boolean ``mask`` over the release's rows,
    and the tables ``monthly`` (:meth:`Months.table`), ``trend`` (one row), ``clusters``
    (:func:`by_cluster`) and ``engagement`` (:func:`engagement`)."""

    query: Query
    mask: np.ndarray
    monthly: pd.DataFrame
    trend: pd.DataFrame
    clusters: pd.DataFrame
    engagement: pd.DataFrame
    alpha: float
    min_images_per_month: int

    @property
    def slug(self) -> str:
        return self.query.slug

    def examples(self, df: pd.DataFrame, n: int = 10, seed: int = 0) -> pd.DataFrame:
        """``n`` matching images drawn at random (seeded): image_name, created_at, cluster, caption."""
        rows = df.loc[self.mask, ["image_name", "id", "created_at", "label_10_cluster", "all_captions"]]
        return rows.sample(min(n, len(rows)), random_state=seed).sort_values("created_at").reset_index(drop=True)


def track(df: pd.DataFrame, query: str, *, regex: bool = False, whole_words: bool = True, alpha: float = 0.01,
          min_images_per_month: int = MIN_IMAGES_PER_MONTH, names: pd.Series | None = None) -> Tracked:
    """Track a caption query through a typed release table.

    Parameters
    ----------
    df : the typed release (:func:`twigma.load_release`), shape (n_images, 12+)
    query, regex, whole_words : see :func:`compile_query`
    alpha : float, significance level; ``direction`` is ``flat`` when p >= alpha (notebook 03's 0.01):
        "not significant at alpha", not a shown absence of trend
    min_images_per_month : int
        Months with fewer images are left out of the trend fits (notebook 03's default, 20); they
        stay in the monthly table.
    names : Series, optional
        Cluster names (cluster -> name) for the ``name`` column of :attr:`Tracked.clusters`;
        the caller reads them (notebook 02's ``cluster_names.csv``:
        :func:`twigma.present.track_figure.stored_cluster_names` or
        :func:`twigma.analysis.text.cluster_names`). Nothing is read from disk here.

    Returns
    -------
    Tracked

    Raises
    ------
    TrackError
        For an empty or invalid query, or one that matches no caption.
    """
    q = compile_query(query, regex=regex, whole_words=whole_words)
    mask = match_captions(df["all_captions"], q)
    n_match = int(mask.sum())
    if n_match == 0:
        raise NoMatch(f"no caption matches the {q.describe()} among {len(df):,} images"
                         + ("; try --substring to match inside words, or another spelling" if whole_words else
                            "; try another spelling or a broader pattern") + ".")
    months = Months.of(df["created_at"])
    monthly = months.table(mask)
    tr = monthly_trend(monthly, alpha, min_images_per_month)
    eng = engagement(df, mask, months=months)
    m = eng.set_index("group")
    trend = pd.DataFrame([{
        "query": q.text, "slope": tr.slope, "p_value": tr.p_value, "direction": tr.direction,
        "odds_ratio_per_year": tr.odds_ratio_per_year, "std_err": tr.std_err, "ci_low": tr.ci_low,
        "ci_high": tr.ci_high, "ci_level": tr.ci_level, "dispersion": tr.dispersion, "scale": tr.scale,
        "alpha": alpha,
        "n_matching": n_match, "n_images": int(len(df)), "share": n_match / len(df),
        "n_months": tr.n_months, "min_images_per_month": int(min_images_per_month),
        "first_month": monthly["month"].iloc[0], "last_month": monthly["month"].iloc[-1],
        "log1p_likes_diff_same_months": float(m.loc[MATCHING, "mean_log1p_likes_same_months"]  # type: ignore[operator, arg-type]  # pandas-stubs: cells are any scalar
                                              - m.loc[OTHER, "mean_log1p_likes_same_months"]),
        "regex": q.regex, "whole_words": q.whole_words, "pattern": q.pattern.pattern, "note": tr.note}])
    clusters = by_cluster(df, mask, alpha=alpha, min_images_per_month=min_images_per_month,
                          names=names, months=months)
    return Tracked(q, mask, monthly, trend, clusters, eng, alpha, int(min_images_per_month))
