"""The abstract's theme finding (claim C11): portraits rise, natural scenes and animals decline.

The paper's abstract says users are "increasingly sharing artistically sophisticated content such
as intricate human portraits, whereas their interest in simple subjects such as natural scenes and
animals has decreased". The release has no label "portrait" or "nature", so the claim is mapped, in
advance and by us (not by the paper), onto caption words: :data:`PORTRAIT_WORDS` and
:data:`NATURE_WORDS`, the one place the defaults live (notebook 03's parameters copy them).

The unit is the **tweet**: a tweet counts as naming portraits when the caption of any of its images
matches a portrait word (whole words, case-insensitive: :func:`twigma.analysis.track.match_captions`),
and likewise for nature. The images of one tweet usually come from one prompt, so counting images
would count one choice of subject up to four times. Each share (tweets matching among the month's
tweets) is tested with notebook 03's trend test (:func:`twigma.analysis.themes.trend_test`: the
quasi-binomial logistic trend on the monthly counts, scale floored at 1, t-based p-value) on the
months that 03 fits (those with at least ``min_images_per_month`` images).

C11 holds when the portrait share rises AND the nature share falls, each significant at ``alpha``.
A conjunction of two tests each at ``alpha`` is a level-``alpha`` test of the conjunction (an
intersection-union test, Berger 1982): no multiplicity adjustment. A caption may match both lists
("a woman with a dog"); such tweets count in both shares (:attr:`ThemeShift.n_both`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twigma.analysis import inference, track
from twigma.analysis.months import Months
from twigma.analysis.overview import early_late_months
from twigma.analysis.themes import MIN_IMAGES_PER_MONTH, direction

#: Caption words mapped to the abstract's "intricate human portraits" (fixed before looking at any
#: trend; our mapping, not the paper's): words that name a person or a portrait, singular and plural.
PORTRAIT_WORDS: tuple[str, ...] = (
    "portrait", "portraits", "woman", "women", "man", "men", "girl", "girls", "boy", "boys", "lady",
    "person", "people", "face", "faces",
)
#: Caption words mapped to the abstract's "natural scenes and animals" (fixed in advance, ours): nature
#: scenes and common animals. "flower" is left out: BLIP writes it of portraits ("a flower in her hair").
NATURE_WORDS: tuple[str, ...] = (
    "landscape", "landscapes", "mountain", "mountains", "forest", "forests", "tree", "trees", "lake",
    "river", "sea", "ocean", "waterfall", "valley", "sunset", "sky", "field", "nature",
    "animal", "animals", "cat", "cats", "dog", "dogs", "bird", "birds", "horse", "fox", "owl", "lion", "wolf",
)


def words_query(words) -> track.Query:
    """One whole-word, case-insensitive query matching any of ``words`` (each taken literally)."""
    words = [str(w).strip() for w in words if str(w).strip()]
    if not words:
        raise ValueError("give at least one word")
    return track.compile_query("|".join(re.escape(w) for w in words), regex=True)


@dataclass(frozen=True)
class CaptionTrend:
    """The trend of the share of tweets whose captions name any of ``words``.

    ``slope`` in log-odds per year with its ``1 - alpha`` interval ``ci_low``/``ci_high`` (level
    ``ci_level``), ``odds_ratio_per_year`` with ``or_low``/``or_high``, ``p_value``, ``direction``
    (up, down, or flat: not significant at ``alpha``), ``n_matching`` of ``n_tweets`` (in the months
    fitted), ``share_first_year``/``share_last_year`` (pooled over the first and the last twelve
    months fitted), ``n_months``, ``dispersion`` (Pearson) and ``note`` (why no trend, else "").
    """

    name: str
    words: tuple[str, ...]
    slope: float
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float
    direction: str
    n_matching: int
    n_tweets: int
    share_first_year: float
    share_last_year: float
    n_months: int
    dispersion: float
    note: str = ""

    @property
    def odds_ratio_per_year(self) -> float:
        return float(np.exp(self.slope))

    @property
    def or_low(self) -> float:
        return float(np.exp(self.ci_low))

    @property
    def or_high(self) -> float:
        return float(np.exp(self.ci_high))

    @property
    def interval(self) -> inference.Interval:
        """The odds ratio per year with its interval."""
        return inference.Interval(self.odds_ratio_per_year, self.or_low, self.or_high, self.ci_level,
                                  "quasi-binomial t-interval of the monthly trend")


@dataclass(frozen=True)
class ThemeShift:
    """C11 decided: ``portraits`` and ``nature`` (:class:`CaptionTrend`), ``holds`` (the portrait share
    rises and the nature share falls, each at ``alpha``), ``n_both`` (tweets matching both lists),
    ``unit`` ("tweets") and the ``monthly`` table (``month``, ``n_tweets``, ``n_portraits``,
    ``n_nature``, ``t_years``, ``fitted``: whether 03's trend uses the month)."""

    portraits: CaptionTrend
    nature: CaptionTrend
    alpha: float
    holds: bool
    n_both: int
    min_images_per_month: int
    monthly: pd.DataFrame
    unit: str = "tweets"

    @property
    def level_text(self) -> str:
        return inference.level_text(self.alpha)

    def table(self) -> pd.DataFrame:
        """One row per theme, as ``results/theme_shift.csv`` holds it: ``theme``, ``unit``, ``words``,
        ``n_matching``, ``n_tweets``, ``slope`` with ``ci_low``/``ci_high`` (``ci_level``: ``1 - alpha``),
        ``odds_ratio_per_year``, ``p_value``, ``direction``, ``expected`` (the claim's direction),
        ``share_first_year``, ``share_last_year``, ``n_months``, ``dispersion``."""
        rows = [{"theme": tr.name, "unit": self.unit, "words": " ".join(tr.words), "n_matching": tr.n_matching,
                 "n_tweets": tr.n_tweets, "slope": tr.slope, "ci_low": tr.ci_low, "ci_high": tr.ci_high,
                 "ci_level": tr.ci_level, "odds_ratio_per_year": tr.odds_ratio_per_year, "p_value": tr.p_value,
                 "direction": tr.direction, "expected": want, "share_first_year": tr.share_first_year,
                 "share_last_year": tr.share_last_year, "n_months": tr.n_months, "dispersion": tr.dispersion}
                for tr, want in ((self.portraits, "up"), (self.nature, "down"))]
        return pd.DataFrame(rows)


def _tweet_rows(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each image's tweet code and, per tweet, the row of its first image."""
    codes, uniques = pd.factorize(df["id"].astype(str), sort=False)
    first = np.full(len(uniques), len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return codes, first


def _caption_trend(name: str, words, mask_tweet: np.ndarray, months, fitted: np.ndarray,
                   alpha: float) -> tuple[CaptionTrend, pd.DataFrame]:
    monthly = months.table(mask_tweet)  # per month: tweets ("n_images" here counts tweets) and matching ones
    fit = monthly[fitted].reset_index(drop=True)  # only the months 03 fits
    tr = track.monthly_trend(fit, alpha, 1)
    early, late = early_late_months(fit["month"].tolist())
    first, last = fit[fit["month"].isin(early)], fit[fit["month"].isin(late)]
    trend = CaptionTrend(
        name=name, words=tuple(words), slope=tr.slope, ci_low=tr.ci_low,
        ci_high=tr.ci_high, ci_level=inference.level(alpha), p_value=tr.p_value,
        direction=direction(tr.slope, tr.p_value, alpha), n_matching=int(fit["n_matching"].sum()),
        n_tweets=int(fit["n_images"].sum()),
        share_first_year=float(first["n_matching"].sum() / max(first["n_images"].sum(), 1)),
        share_last_year=float(last["n_matching"].sum() / max(last["n_images"].sum(), 1)),
        n_months=tr.n_months, dispersion=tr.dispersion, note=tr.note)
    return trend, monthly


def theme_shift(df: pd.DataFrame, portrait_words=PORTRAIT_WORDS, nature_words=NATURE_WORDS, *,
                alpha: float = inference.DEFAULT_ALPHA,
                min_images_per_month: int = MIN_IMAGES_PER_MONTH) -> ThemeShift:
    """Decide C11 on a release (module docstring).

    ``df`` needs ``id``, ``created_at`` and ``all_captions``. ``min_images_per_month``: the months
    with fewer images are left out of the fits, as in notebook 03 (its ``MIN_IMAGES_PER_MONTH``).

    The robustness grid calls it as notebook 03 does::

        claims.check_c11(theme_shift.theme_shift(release, alpha=ALPHA, min_images_per_month=MIN_IMAGES_PER_MONTH))
    """
    inference.check_alpha(alpha)
    codes, first = _tweet_rows(df)
    captions = df["all_captions"].reset_index(drop=True)
    hits = {}
    for key, words in (("portraits", portrait_words), ("nature", nature_words)):
        image_hits = track.match_captions(captions, words_query(words))
        hits[key] = np.bincount(codes, weights=image_hits, minlength=len(first)) > 0
    months = Months.of(df["created_at"].iloc[first].reset_index(drop=True))  # a tweet's month: its time
    images = Months.of(df["created_at"]).table(np.zeros(len(df), dtype=bool))
    base = months.table(hits["portraits"])
    fitted = base["month"].map(images.set_index("month")["n_images"]).fillna(0).to_numpy() >= min_images_per_month
    portraits, mp = _caption_trend("portraits", portrait_words, hits["portraits"], months, fitted, alpha)
    nature, mn = _caption_trend("natural scenes and animals", nature_words, hits["nature"], months, fitted, alpha)
    monthly = pd.DataFrame({"month": mp["month"], "n_tweets": mp["n_images"], "n_portraits": mp["n_matching"],
                            "n_nature": mn["n_matching"], "t_years": mp["t_years"], "fitted": fitted})
    return ThemeShift(portraits, nature, float(alpha), portraits.direction == "up" and nature.direction == "down",
                      int((hits["portraits"] & hits["nature"]).sum()), int(min_images_per_month), monthly)
