"""The paper's claims (spec section 4), checked against the analysis tables.

Each notebook checks the claims it can and writes them with :meth:`twigma.present.outputs.Outputs.claims`
to ``results/claims/<notebook>.csv``; ``twigma claims`` (run by make) gathers them into
``results/claims.csv`` with one row per claim C1..C11 (the paper's notebooks' checks), marking
those no notebook checked as untestable with the reason, followed by the checks of any other
notebook. Columns: :data:`LEDGER_COLUMNS` (the claim, our short statement of it, what was
observed, ``holds``, the notebook that checked it, the claim as the paper words it and ``data``:
what the verdict rests on, ``synthetic sample`` or ``release``, from the loaded table's
``attrs["synthetic"]``, written by :meth:`~twigma.present.outputs.Outputs.claims`; empty for a
claim no notebook checked). ``holds`` is ``yes``, ``no``, ``untestable`` or ``partly testable``
(the part of the claim that this data can test holds, the rest cannot be tested on it: C1's
count on the synthetic sample). P-values are written by :func:`twigma.analysis.pformat.p_text` (never "0"); slopes carry their units.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twigma.analysis import paper
from twigma.analysis.pformat import odds_ratio, p_text

if TYPE_CHECKING:
    from twigma.analysis.inference import Interval
    from twigma.analysis.likes import FitRow
    from twigma.analysis.overview import GrowthTrend

CLAIMS: dict[str, str] = {
    "C1": "over 800,000 images, January 2021 to March 2023",
    "C2": "monthly count of tweets grows over the period",
    "C3": "captions' most frequent content words include painting, woman, man, hair",
    "C4": "clusters 1, 3, 4 decline over time",
    "C5": "clusters 8, 9 increase over time",
    "C6": "two clusters are mostly NSFW",
    "C7": "gen-AI images are distinct from natural images and from artwork",
    "C8": "gen-AI images vary less than natural images and than artwork",
    "C9": "similarity to natural images is inversely correlated with likes",
    "C10": "nearest-neighbour search finds human images that inspired gen-AI images",
    "C11": "portraits rise and natural scenes and animals decline over time",
}
#: The claim as the paper (or the authors' site) words it (../shared/spec/paper.md, sections 1 and 3).
PAPER_SAYS: dict[str, str] = {
    "C1": '"over 800,000" AI-generated images posted on Twitter "from January 2021 to March 2023" (abstract)',
    "C2": '"steady growth in the count of tweets featuring generative AI images over time" (Figure 1b)',
    "C3": 'prominent caption words "painting, woman, man, hair" (authors\' demo text)',
    "C4": '"clusters 1, 3, and 4 have experienced a steady decline over time" (authors\' demo text, "Figure 2")',
    "C5": '"while clusters 8 and 9 showed a consistent increase" (authors\' demo text, "Figure 2")',
    "C6": "two of the ten clusters are mostly NSFW (an earlier version of the authors' site)",
    "C7": 'compared with natural images and human artwork, gen-AI images "possess distinctive characteristics" '
          "(abstract)",
    "C8": 'gen-AI images "exhibit, on average, lower variability" than natural images and human artwork (abstract)',
    "C9": '"the similarity between a gen-AI image and natural images is inversely correlated with the number of '
          'likes" (abstract, v2)',
    "C10": 'image similarity "can be used to identify human images that served as inspiration for the gen-AI '
           'creations" (abstract, v1)',
    "C11": 'users are "increasingly sharing artistically sophisticated content such as intricate human portraits, '
           'whereas their interest in simple subjects such as natural scenes and animals has decreased" (abstract)',
}
#: Why a claim stays untestable when no notebook checked it.
UNTESTED_REASON: dict[str, str] = {
    **{c: "needs the release table: run the notebooks (make figures)"
       for c in ("C1", "C2", "C3", "C4", "C5", "C6", "C11")},
    **{c: "needs CLIP image embeddings of TWIGMA and of natural/art reference sets, which the release does not "
          "include: run with EMBEDDINGS=<folder> (see docs/embeddings.md)" for c in ("C7", "C8", "C9", "C10")},
}
#: The leading columns of every claims table (tests and other tools read them in this order).
COLUMNS = ["claim", "statement", "observed", "holds"]
#: The columns of results/claims.csv: COLUMNS, the notebook that checked the claim, the paper's wording,
#: and the data the verdict rests on (:data:`DATA_VALUES`).
LEDGER_COLUMNS = [*COLUMNS, "notebook", "paper_says", "data"]
#: The values of the ledger's ``data`` column, by ``attrs["synthetic"]`` of the release read.
DATA_VALUES = {True: "synthetic sample", False: "release"}
#: The values of ``holds``.
HOLDS = ("yes", "no", "untestable", "partly testable")


def data_label(synthetic: bool) -> str:
    """The ledger's ``data`` value for a release whose ``attrs["synthetic"]`` is ``synthetic``."""
    return DATA_VALUES[bool(synthetic)]


@dataclass(frozen=True)
class ClaimCheck:
    """One claim checked (:func:`claim`, the ``check_*`` functions): a row of the claims tables."""

    #: the claim (C1..C11), our short statement of it (:data:`CLAIMS`)
    claim: str
    statement: str
    #: what was observed, with its intervals and p-values; the verdict, one of :data:`HOLDS`
    observed: str
    holds: str
    #: the claim as the paper words it (:data:`PAPER_SAYS`)
    paper_says: str

    def row(self) -> dict[str, str]:
        """The check as a table row (``pd.DataFrame([check.row()])``): the fields as columns, in this order."""
        return asdict(self)


#: What a claims table takes: a :class:`ClaimCheck`, or a notebook's own row (a mapping with ``claim``,
#: ``observed`` and ``holds``, for a statement outside C1-C11; docs/adapting.md).
ClaimRow = ClaimCheck | Mapping[str, Any]


def as_row(check: ClaimRow) -> dict[str, Any]:
    """A claims row as a dict: a :class:`ClaimCheck`'s fields (:meth:`ClaimCheck.row`), or a copy of a
    notebook's own row."""
    return check.row() if isinstance(check, ClaimCheck) else dict(check)


def claim(cid: str, observed: str, holds: bool | str) -> ClaimCheck:
    """A claim checked; ``holds`` is True/False, ``"untestable"`` or ``"partly testable"`` (explain
    why in ``observed``)."""
    if isinstance(holds, (bool, np.bool_)):
        holds = "yes" if bool(holds) else "no"
    if holds not in HOLDS:
        raise ValueError(f"holds must be one of {', '.join(HOLDS)}, not {holds!r}")
    return ClaimCheck(claim=cid, statement=CLAIMS[cid], observed=observed, holds=holds, paper_says=PAPER_SAYS[cid])


def check_c1(summary: pd.DataFrame, target: int = paper.N_IMAGES, synthetic: bool = False) -> ClaimCheck:
    """C1: "over 800,000" images, posted from January 2021 to March 2023.

    One-sided, as the paper words it: the count holds when it is more than ``target`` (the
    release's row count is a count, not an estimate, so there is no tolerance band and no
    interval), and the span when the first and last tweets fall in January 2021 and March 2023.
    On a ``synthetic`` sample the count says nothing about the release (the sample is small by
    design): only the span is checked and the count is reported as not applicable, so the verdict
    is ``partly testable`` when the span matches (``no`` when it does not).
    """
    v = summary.set_index("metric")["value"]
    n = int(v["n_images"])
    first, last = pd.Timestamp(v["first_created_at"]), pd.Timestamp(v["last_created_at"])
    count_ok = n > target
    span_ok = first.strftime("%Y-%m") == paper.FIRST_MONTH and last.strftime("%Y-%m") == paper.LAST_MONTH
    span = (f"span {first:%Y-%m-%d} to {last:%Y-%m-%d} "
            f"({'matches' if span_ok else 'does not match'} January 2021 to March 2023)")
    if synthetic:
        return claim("C1", f"{span}; image count: not applicable ({n:,} images in a synthetic sample, small by "
                           f"design; \"over {target:,}\" is checked on the release)",
                     "partly testable" if span_ok else "no")
    return claim("C1", f"{n:,} images ({'over' if count_ok else 'not over'} {target:,}); {span}",
                 count_ok and span_ok)


def count_gap(n: int, target: int) -> float:
    """How far an image count is from the paper's: (n - target) / target (signed)."""
    return (n - target) / target


def check_c2(trend: GrowthTrend, alpha: float = 0.01, test: str = "mann-kendall") -> ClaimCheck:
    """C2: the monthly count of tweets grows, significantly at level ``alpha``.

    ``test`` is ``"mann-kendall"`` (Kendall's tau > 0 with the Hamed & Rao (1998)
    autocorrelation-corrected Mann-Kendall p < alpha, the notebooks' choice; ``trend`` from
    :func:`twigma.analysis.overview.growth_trend`) or ``"log-linear"`` (the least-squares slope of
    log(count) on time > 0 with its t-test p < alpha). The growth factor is stated for the whole
    period only when one rate fits both halves; otherwise per half.
    """
    if test == "mann-kendall":
        ok = trend.kendall_tau > 0 and trend.p_value < alpha
        lead = (f"Kendall tau = {trend.kendall_tau:.3f}, Mann-Kendall {p_text(trend.p_value)} corrected for "
                f"autocorrelation (Hamed & Rao 1998; uncorrected {p_text(trend.p_value_naive)})")
    elif test == "log-linear":
        ok = trend.growth_per_year > 1 and trend.loglinear_p_value < alpha
        lead = f"log-linear slope {p_text(trend.loglinear_p_value)} (Kendall tau = {trend.kendall_tau:.3f})"
    else:
        raise ValueError(f"C2 test must be 'mann-kendall' or 'log-linear', not {test!r}")
    if trend.one_growth_rate:
        growth = f"log-linear growth {_factor(trend.whole)} per year"
    else:
        growth = (f"log-linear growth {_factor(trend.first_half)} per year in the first half and "
                  f"{_factor(trend.second_half)} in the second (no single rate fits the period)")
    return claim("C2", f"{lead} over {trend.n_months} months ({trend.first_month} to {trend.last_month}); "
                       f"{growth}", ok)


def _factor(growth: Interval) -> str:
    """A growth factor of :func:`twigma.analysis.overview.growth_trend` with its interval when it has
    one: ``"x3.00 (99% Newey-West CI x2.14 to x4.19)"``."""
    text = f"x{growth.estimate:.2f}"
    if np.isfinite(growth.low) and np.isfinite(growth.high):
        text += (f" ({growth.level_text} {growth.method} CI x{growth.low:.2f} "
                 f"to x{growth.high:.2f})").replace("%  CI", "% CI")
    return text


def check_c3(top: pd.DataFrame, words=paper.PROMINENT_WORDS) -> ClaimCheck:
    """C3: every word in ``words`` is among the ranked top words (``top`` from ``text.top_words``)."""
    rank = dict(zip(top["word"], top["rank"]))
    found = ", ".join(f"{w} #{rank[w]}" if w in rank else f"{w} not in top {len(top)}" for w in words)
    return claim("C3", f"ranks among the top {len(top)} caption words: {found}", all(w in rank for w in words))


def direction_words(direction: str, alpha: float | None = None) -> str:
    """A trend direction of :func:`twigma.analysis.themes.theme_trends` in words: ``up``, ``down``,
    and ``flat`` as "not significant at alpha 0.01" (a non-significant slope is not a flat share)."""
    if direction != "flat":
        return direction
    return "not significant" + (f" at alpha {alpha:g}" if alpha is not None else "")


def _level_text(level: float) -> str:
    return f"{100 * float(level):.10g}%"


def check_trends(trends: pd.DataFrame, cid: str, clusters: list[int], direction: str,
                 alpha: float | None = None) -> ClaimCheck:
    """C4/C5: every listed cluster has the given trend direction, each at ``alpha`` (read from
    ``trends.attrs`` when not given). A conjunction of tests each at ``alpha`` is a level-``alpha``
    test of the conjunction (intersection-union, Berger 1982): no adjustment. Each cluster's odds
    ratio per year is given with the table's interval (``ci_level``, ``1 - alpha`` from
    :func:`~twigma.analysis.themes.theme_trends`)."""
    alpha = trends.attrs.get("alpha") if alpha is None else alpha
    t = trends.set_index("cluster")
    parts, ok = [], True
    for k in clusters:
        if k not in t.index:
            parts.append(f"cluster {k} absent")
            ok = False
            continue
        r = t.loc[k]
        assert isinstance(r, pd.Series)  # one row per cluster
        ci = (f" ({_level_text(r['ci_level'])} CI x{odds_ratio(r['ci_low']):.2f} to x{odds_ratio(r['ci_high']):.2f})"
              if "ci_level" in r.index else "")
        parts.append(f"cluster {k}: {direction_words(r['direction'], alpha)} (slope {r['slope']:+.2f} log-odds/yr, odds "
                     f"ratio x{odds_ratio(r['slope']):.2f}/yr{ci}, {p_text(r['p_value'])})")
        ok &= r["direction"] == direction
    return claim(cid, "; ".join(parts), ok)


def check_c11(shift) -> ClaimCheck:
    """C11: the share of tweets whose captions name portraits rises AND the share naming natural
    scenes or animals falls, each significant at the shift's alpha (an intersection-union test: no
    adjustment). ``shift`` is :func:`twigma.analysis.theme_shift.theme_shift`'s result; the grid and
    notebook 03 call ``check_c11(theme_shift.theme_shift(release, alpha=ALPHA,
    min_images_per_month=MIN_IMAGES_PER_MONTH))``. The row gives each trend's odds ratio per year
    with its ``1 - alpha`` interval and p-value."""
    parts = []
    for tr, want in ((shift.portraits, "up"), (shift.nature, "down")):
        parts.append(f"{tr.name} ({tr.n_matching:,} of {tr.n_tweets:,} tweets): {direction_words(tr.direction, shift.alpha)}"
                     f", odds x{tr.odds_ratio_per_year:.2f}/yr ({_level_text(tr.ci_level)} CI x{tr.or_low:.2f} to "
                     f"x{tr.or_high:.2f}), {p_text(tr.p_value)}, share {tr.share_first_year:.1%} in the first year "
                     f"to {tr.share_last_year:.1%} in the last (should be {want})")
    return claim("C11", "; ".join(parts) + f" (caption words fixed in advance, ours; {shift.unit} as the unit)",
                 bool(shift.holds))


def check_c6(nsfw: pd.DataFrame, score_column: str = "share_nsfw_gt_0_5") -> ClaimCheck:
    """C6: exactly two clusters have ``mostly_nsfw`` set.

    The rule that set it (``measure``, ``threshold``, ``mostly``) is read from the table's
    ``attrs``, which :func:`twigma.analysis.nsfw.nsfw_by_cluster` fills in; ``score_column`` is the
    share listed for the detector.
    """
    measure = nsfw.attrs.get("measure", "detector")
    mostly_cut = nsfw.attrs.get("mostly", 0.5)
    if measure == "twitter-flag":
        column, rule = "share_possibly_sensitive", "flagged sensitive by Twitter"
    else:
        column, rule = score_column, f"with detector score > {nsfw.attrs.get('threshold', 0.5):g}"
    mostly = nsfw.loc[nsfw["mostly_nsfw"], ["cluster", column]]
    listed = ", ".join(f"{int(k)} ({s:.0%})" for k, s in mostly.itertuples(index=False)) or "none"
    noun = "cluster" if len(mostly) == 1 else "clusters"
    return claim("C6", f"{len(mostly)} {noun} with more than {mostly_cut:.0%} of images {rule}: {listed}",
                 len(mostly) == paper.N_MOSTLY_NSFW)


def check_c7(distinct: pd.DataFrame, min_auc: float = 0.9) -> ClaimCheck:
    """C7: the linear probe separates TWIGMA from each reference set with AUC >= ``min_auc``,
    decided on the lower bound of each AUC's interval (``ci_low``, at ``ci_level``; from
    :func:`twigma.analysis.distinctness.probe_table`). A table without intervals (``ci_low``
    absent) cannot decide it: the verdict is ``untestable``."""
    from twigma.analysis.distinctness import auc_ci_text, fold_spread_text
    from twigma.analysis.inference import Interval

    has_ci = {"ci_low", "ci_high", "ci_level"} <= set(distinct.columns)
    spread = {"auc_min", "auc_max"} <= set(distinct.columns)  # the folds' range: a spread, not an uncertainty
    parts = []
    r: Any  # a row of probe_table (pandas-stubs types its fields as any scalar)
    for r in distinct.itertuples():
        auc = (auc_ci_text(Interval(r.auc, r.ci_low, r.ci_high, r.ci_level)) + ", tweets resampled" if has_ci
               else f"{r.auc:.3f}")
        folds = f"; {fold_spread_text(r._asdict())}" if spread else ""
        parts.append(f"{r.comparison}: AUC {auc}{folds}")
    if not has_ci:
        return claim("C7", "; ".join(parts) + " (no interval of the AUC: C7 is decided on its lower bound)",
                     "untestable")
    rule = f" (distinct when the interval's lower bound is >= {min_auc:g}; folds grouped by tweet)"
    return claim("C7", "; ".join(parts) + rule, bool((distinct["ci_low"] >= min_auc).all()) and len(distinct) == 2)


def check_c8(variability: pd.DataFrame, differences: pd.DataFrame | None = None) -> ClaimCheck:
    """C8: TWIGMA is less varied than the natural and art sets.

    ``differences`` holds TWIGMA's dispersion minus each reference's with a bootstrap interval
    (TWIGMA resampled by tweet, a reference by image): rows of
    :func:`twigma.analysis.variability.theme_matched` (``matching`` "within themes") and of
    :func:`~twigma.analysis.variability.compare_sources` ("whole sets"). C8 holds when both
    differences' intervals lie wholly below 0, judged on the within-theme rows when there are any
    (the sets' subject mix differs; the whole-set rows are reported beside them), else on the
    whole-set rows. Without ``differences``, when TWIGMA's dispersion interval lies wholly below
    those of the natural and art sets."""
    v = variability.set_index("source")
    level = (f"{100 * float(v['ci_level'].iloc[0]):.10g}% intervals" if "ci_level" in v.columns
             else "intervals")
    parts = [f"{s}: {v.loc[s, 'dispersion']:.3f} [{v.loc[s, 'ci_low']:.3f}, {v.loc[s, 'ci_high']:.3f}]"
             for s in v.index]
    have = {"natural", "art"} <= set(v.index)
    if differences is None:
        ok = all(v.loc["twigma", "ci_high"] < v.loc[s, "ci_low"] for s in ("natural", "art") if s in v.index)  # type: ignore[operator, arg-type]  # pandas-stubs: cells are any scalar
        return claim("C8", f"mean pairwise cosine distance ({level}) " + "; ".join(parts), ok and have)
    d = differences.assign(matching=differences["matching"] if "matching" in differences.columns else "whole sets")
    by = "within themes" if (d["matching"] == "within themes").any() else "whole sets"
    names = [f"twigma_minus_{s}" for s in ("natural", "art")]
    decide = d[d["matching"] == by].set_index("comparison")
    have = have and all(n in decide.index for n in names)
    ok = have and all(decide.loc[n, "ci_high"] < 0 for n in names)  # type: ignore[operator, arg-type]  # pandas-stubs: cells are any scalar
    diffs = []
    for m in ("within themes", "whole sets"):
        rows = d[d["matching"] == m].set_index("comparison")
        diffs += [f"{n.replace('_', ' ')} ({m}"
                  + (f", {int(rows.loc[n, 'themes'])} themes" if "themes" in rows.columns and m == "within themes" else "")  # type: ignore[arg-type]  # pandas-stubs: cells are any scalar
                  + f"): {rows.loc[n, 'difference']:+.3f} [{rows.loc[n, 'ci_low']:+.3f}, {rows.loc[n, 'ci_high']:+.3f}]"  # type: ignore[str-bytes-safe]  # as above
                  for n in names if n in rows.index]
    return claim("C8", "mean pairwise cosine distance " + "; ".join(parts + diffs)
                 + f" ({level}; TWIGMA resampled by tweet, references by image; holds when both differences "
                   f"{by} lie below 0)", ok)


def check_c9(row: FitRow, alpha: float = 0.01, reference: str = "natural") -> ClaimCheck:
    """C9: the adjusted slope of log(1 + likes) on similarity is negative with p < alpha (HC1, and
    clustered by tweet when given), and Spearman's rho is negative too.

    ``row`` is :func:`twigma.analysis.likes.likes_regression`'s fit, or a row of ``likes_similarity.csv``;
    its intervals are printed at their own level (``ci_level``, ``1 - alpha`` when the row was made
    at this alpha), and a p-value the row flags as floored reads "p < 1e-16". C9 is about natural
    images: with similarity measured to another ``reference`` set (notebook 08's ``REFERENCE``) the
    row is ``untestable`` and says why, so no verdict on another question is filed under C9 (the
    answer to that question is :func:`likes_verdict`'s)."""
    from twigma.analysis.likes import reference as reference_set

    ref = reference_set(reference)
    if not ref.checks_c9:
        return claim("C9", f"not checked by this run: it measures similarity to {ref.plural} (REFERENCE={ref.name}), "
                           "and C9 is about natural images; run 08 with REFERENCE=natural to check it", "untestable")
    v = likes_verdict(row, alpha)
    return claim("C9", v.observed, v.holds)


@dataclass(frozen=True)
class Verdict:
    """A test's answer in a claims row's words (:func:`likes_verdict`)."""

    observed: str  #: what was observed, with its intervals and p-values
    holds: str  #: "yes" or "no"


def likes_verdict(row: FitRow, alpha: float = 0.01) -> Verdict:
    """C9's test on any reference set: what was observed, and whether the adjusted slope is negative
    with p < alpha under HC1 and tweet-clustered errors and Spearman's rho is negative too
    (:class:`Verdict`); ``row`` as in :func:`check_c9`."""
    from twigma.analysis.inference import level
    from twigma.analysis.likes import fit_row, p_text_of

    row = dict(fit_row(row))
    p_cluster = row.get("p_value_cluster", row["p_value"])
    ok = row["estimate"] < 0 and row["p_value"] < alpha and p_cluster < alpha and row["spearman_rho"] < 0
    lev = f"{100 * float(row.get('ci_level', level(alpha))):.10g}% CI"
    z = (lambda c: f"z = {row[c]:.1f}, " if c in row else "")  # noqa: E731  the test statistic beside its p
    if "ci_low_cluster" in row:
        ci = (f"{lev} clustered by tweet [{row['ci_low_cluster']:+.3f}, {row['ci_high_cluster']:+.3f}], "
              f"{z('z_stat_cluster')}{p_text_of(row, 'p_value_cluster')}; HC1 [{row['ci_low']:+.3f}, "
              f"{row['ci_high']:+.3f}], {z('z_stat')}{p_text_of(row, 'p_value')}")
    else:
        ci = f"{lev} HC1 [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}], {p_text_of(row, 'p_value')}"
    n = f"{int(row['n']):,} images"
    if "n_tweets" in row and pd.notna(row["n_tweets"]):
        n += f" in {int(row['n_tweets']):,} tweets"  # the rank correlation is over tweets, the fit over images
    rho = f"Spearman rho = {row['spearman_rho']:+.3f}"
    if "spearman_ci_low" in row and pd.notna(row["spearman_ci_low"]):
        rho += f" ({lev} [{row['spearman_ci_low']:+.3f}, {row['spearman_ci_high']:+.3f}], bootstrap over tweets)"
    return Verdict(f"{row['estimate']:+.3f} log(1 + likes) per SD of similarity, {ci}; {rho} ({n})",
                   "yes" if ok else "no")


def check_c10(found: pd.DataFrame, known: pd.DataFrame | None, k: int, min_recall: float = 0.9,
              alpha: float = 0.01) -> ClaimCheck:
    """C10: known (image, artwork) inspiration pairs are found among the top k neighbours, decided
    on the exact one-sided ``1 - alpha`` lower confidence bound of the recall (Clopper-Pearson,
    :func:`twigma.analysis.inference.clopper_pearson_lower`): C10 holds when that bound is at least
    ``min_recall``, so a handful of pairs found cannot decide it.

    Without a list of known pairs the claim cannot be scored: untestable, with the closest pairs
    reported for a person to review.
    """
    from twigma.analysis.inspiration import recall_bound

    if known is None or known.empty:
        top = found[found["rank"] == 1].nlargest(3, "cosine")
        listed = ", ".join(f"{r.image_name} ~ {r.art_id} ({r.cosine:.2f})" for r in top.itertuples())
        return claim("C10", "untestable: no list of known (image, artwork) inspiration pairs, so the search's "
                            f"recall cannot be measured; closest pairs for review: {listed}", "untestable")
    b = recall_bound(known, found, alpha, min_recall)
    return claim("C10", f"{b.found} of {b.n} known inspiration pairs found in the top {k} (recall {b.recall:.1%}; "
                        f"one-sided {b.level_text} lower bound {b.lower:.3f}, exact Clopper-Pearson; holds when the "
                        f"bound is >= {min_recall:g})", b.holds)


def notebook_rows(rows: Sequence[ClaimRow], notebook: str, synthetic: bool) -> pd.DataFrame:
    """One notebook's claim checks as its ``results/claims/<notebook>.csv`` holds them: :data:`COLUMNS`,
    the notebook, the paper's wording and the ``data`` the verdicts rest on; on a synthetic sample
    every ``observed`` is prefixed ``[synthetic sample]`` (it holds there only by construction)."""
    df = pd.DataFrame([as_row(r) for r in rows], columns=COLUMNS)
    df["notebook"] = notebook
    df["paper_says"] = df["claim"].map(PAPER_SAYS).fillna("")
    df["data"] = data_label(synthetic)
    if synthetic:
        df["observed"] = "[synthetic sample] " + df["observed"].astype(str)
    return df


def combine(parts: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The claims ledger from each notebook's claim checks, ``{notebook: its rows}`` (read from
    ``results/claims/<notebook>.csv`` by :func:`twigma.run.ledger.combine`; nothing is read here).

    The first rows are C1..C11 as checked by the paper's notebooks
    (:data:`twigma.paths.PAPER_NOTEBOOKS`), one each; a claim no paper notebook checked is
    untestable, with the reason. Checks made by any other notebook (a copy run with other
    parameters, a new notebook) follow, each with its ``notebook``: they never replace the
    paper notebooks' rows.
    """
    from twigma.paths import PAPER_NOTEBOOKS

    frames = [part.assign(notebook=name) for name, part in sorted(parts.items())]  # the notebook that wrote it
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*COLUMNS, "notebook"])
    found["paper_says"] = found["claim"].map(PAPER_SAYS).fillna("")  # the wording comes from here, not the files
    if "data" not in found.columns:  # files written before the ledger had a data column
        found["data"] = ""
    by_paper = found[found["notebook"].isin(PAPER_NOTEBOOKS)].drop_duplicates("claim", keep="last").set_index("claim")
    rows = []
    for cid, statement in CLAIMS.items():
        if cid in by_paper.index:
            r = by_paper.loc[cid]
            rows.append({"claim": cid, "statement": statement, "observed": r["observed"], "holds": r["holds"],
                         "notebook": r["notebook"], "paper_says": PAPER_SAYS[cid], "data": r["data"]})
        else:
            rows.append({**claim(cid, UNTESTED_REASON[cid], "untestable").row(), "notebook": "", "data": ""})
    others = found[~found["notebook"].isin(PAPER_NOTEBOOKS)][LEDGER_COLUMNS]
    return pd.concat([pd.DataFrame(rows, columns=LEDGER_COLUMNS), others], ignore_index=True)
