"""Specification curve of the paper's claims over the choices the paper leaves open (``make robustness``).

The grid lives in ``robustness.yml`` at the repository's root (a user edits it): for each *group* of
claims, the choices and their values; every combination of the values is one *specification*, and
the first value of each choice is the notebooks' default. Each specification re-checks its group's
claims by calling the same analysis functions and the same claim checks
(:mod:`twigma.analysis.claims`) that the notebooks call, with that specification's parameters:
there is no second implementation of a claim's rule (docs/robustness.md says why the grid calls the
functions instead of running the notebooks through papermill once per specification).

====================  =========  ===========  =====================================================
group                 claims     notebook     choices it knows
====================  =========  ===========  =====================================================
growth                C2         01_growth    test, alpha, window, count
words                 C3         01_growth    top_n, stopwords, window
themes                C4, C5     03           model, alpha, min_images_per_month, window
nsfw                  C6         04_nsfw      measure, threshold, mostly
distinctness          C7         06           max_per_class, folds, min_auc, seed
variability           C8         07           reference_n, twigma_n, level, n_boot, seed
likes                 C9         08           similarity, alpha, reference_n, window
====================  =========  ===========  =====================================================

This module computes: the choices and how their values are read (:data:`CHOICES`), the
specifications of a grid (:func:`specifications`), one specification's claim checks
(:func:`run_group`, on a :class:`Data` source that gives the release and the embeddings), and the
summary of many (:func:`tabulate`, :func:`summarise`: how often each claim holds, the range of its
estimate, the verdict). Reading the grid file, the make fragment, the specifications' files and
collecting them are :mod:`twigma.run.robustness`; the curves are drawn by
:func:`twigma.present.figures.robustness_curve`.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Protocol

import numpy as np
import pandas as pd

#: The clusters the paper says decline (C4) and rise (C5); notebook 03's DECLINING and RISING defaults.
DECLINING = [1, 3, 4]
RISING = [8, 9]
#: Columns of results/robustness.csv before the parameter columns, and after them.
LEAD_COLUMNS = ["claim", "group", "spec_id", "specification", "default"]
TAIL_COLUMNS = ["estimate", "estimate_is", "p_value", "observed", "holds", "notebook", "release"]
SUMMARY_COLUMNS = ["claim", "statement", "n_specifications", "n_holds", "share_holds", "holds_by_default",
                   "estimate_is", "estimate_default", "estimate_min", "estimate_max", "in_words",
                   "verdict", "depends_on", "detail"]
VERDICT_YES, VERDICT_NO, VERDICT_DEPENDS = "robust: yes", "robust: no", "depends on the specification"


# ------------------------------------------------------------------ choices ------------------

def _window(v) -> str:
    v = str(v).strip()
    if v == "all":
        return v
    if v.startswith("from-"):
        try:
            pd.Timestamp(v[5:])
        except ValueError:
            pass
        else:
            return v
    raise ValueError("a window is 'all' or 'from-YYYY' / 'from-YYYY-MM' (images posted from then on)")


def _fraction(v) -> str:
    f = Fraction(str(v).strip()).limit_denominator(1000)
    if not 0 < f < 1:
        raise ValueError("a share between 0 and 1, such as 1/2 or 2/3")
    return str(f)


def _unit(v) -> float:
    f = float(v)
    if not 0 < f < 1:
        raise ValueError("a number between 0 and 1")
    return f


def _count_or_all(v) -> int | str:
    if str(v).strip() == "all":
        return "all"
    n = int(v)
    if n < 2:
        raise ValueError("a whole number of at least 2, or 'all'")
    return n


def _positive_int(v) -> int:
    n = int(v)
    if n < 1 or n != float(v):
        raise ValueError("a whole number of at least 1")
    return n


def _one_of(*allowed: str) -> Callable:
    def parse(v):
        if str(v) not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return str(v)
    return parse


#: Every choice a group may list: how its values are read, and how a value reads in a specification.
CHOICES: dict[str, tuple[Callable, Callable[[Any], str]]] = {
    "test": (_one_of("mann-kendall", "log-linear"), lambda v: f"{v} test"),
    "alpha": (_unit, lambda v: f"alpha {v:g}"),
    "window": (_window, lambda v: "all months" if v == "all" else f"months from {v[5:]}"),
    "count": (_one_of("tweets", "images"), lambda v: f"monthly {v}"),
    "top_n": (_positive_int, lambda v: f"top {v} words"),
    "stopwords": (_one_of("caption", "english"),
                  lambda v: "English + BLIP stop words" if v == "caption" else "English stop words only"),
    "model": (_one_of("quasi-binomial", "logit-clustered", "mann-kendall"),
              lambda v: {"quasi-binomial": "quasi-binomial GLM", "logit-clustered": "image logit, SE by tweet",
                         "mann-kendall": "Mann-Kendall on shares"}[v]),
    "min_images_per_month": (_positive_int, lambda v: f"months with >= {v} images"),
    "measure": (_one_of("detector", "twitter-flag"), lambda v: "detector" if v == "detector" else "Twitter's flag"),
    "threshold": (_unit, lambda v: f"score > {v:g}"),
    "mostly": (_fraction, lambda v: f"mostly = more than {v}"),
    "max_per_class": (_positive_int, lambda v: f"probe on <= {v:,} per class"),
    "folds": (_positive_int, lambda v: f"{v}-fold CV"),
    "min_auc": (_unit, lambda v: f"AUC >= {v:g}"),
    "seed": (int, lambda v: f"seed {v}"),
    "reference_n": (_count_or_all, lambda v: "all reference images" if v == "all" else f"{v:,} reference images"),
    "twigma_n": (_one_of("all", "matched"),
                 lambda v: "all TWIGMA images" if v == "all" else "TWIGMA subsampled to the reference size"),
    "level": (_unit, lambda v: f"{v:.0%} intervals"),
    "n_boot": (_positive_int, lambda v: f"{v} bootstrap replicates"),
    "similarity": (_one_of("max_sim", "mean_top10_sim"),
                   lambda v: "max similarity" if v == "max_sim" else "mean top-10 similarity"),
}


@dataclass(frozen=True)
class Spec:
    """One specification: a group and one value per choice (in the grid file's order)."""
    group: str
    params: tuple[tuple[str, Any], ...]
    default: bool = False
    varied: tuple[str, ...] = field(default=(), compare=False)

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def id(self) -> str:
        digest = hashlib.sha1(json.dumps([self.group, sorted(self.params)], default=str).encode()).hexdigest()
        return f"{self.group}-{digest[:10]}"

    @property
    def text(self) -> str:
        """The specification in words: the choices that vary in the grid (all of them if none varies)."""
        shown = [(k, v) for k, v in self.params if k in self.varied] or list(self.params)
        return "; ".join(CHOICES[k][1](v) for k, v in shown if v is not None)


# ------------------------------------------------------------------ the groups ---------------

@dataclass(frozen=True)
class Group:
    claims: tuple[str, ...]
    notebook: str
    choices: tuple[str, ...]
    run: Callable[[dict, Data], list[dict]]
    images: bool = False
    #: choices that do not apply given another choice's value: {choice: (other, value)}
    not_with: dict = field(default_factory=dict)


class Data(Protocol):
    """What a specification reads (:class:`twigma.run.robustness.Inputs` loads it from files, once per
    process): ``release``, the typed release; ``twigma()``, the rows of the release that have an
    embedding (a boolean mask over ``release``) and their embeddings in the same order;
    ``reference(source)``, the embeddings of a reference set (``"natural"``, ``"art"``)."""

    release: pd.DataFrame

    def twigma(self) -> tuple[np.ndarray, np.ndarray]: ...

    def reference(self, source: str) -> np.ndarray: ...


def in_window(df: pd.DataFrame, window: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``df`` posted in ``window`` (``all``, or ``from-YYYY[-MM]``: from then on); only ``columns``
    (with ``created_at``) when given, so that a window's copy holds only what its computation reads."""
    df = df if columns is None else df[columns]
    return df if window == "all" else df[df["created_at"] >= _window_start(window)].reset_index(drop=True)


def _window_start(window: str) -> pd.Timestamp:
    return pd.Timestamp(window[5:], tz="UTC")


def _row(check: dict, estimate: float, estimate_is: str, p_value: float = float("nan")) -> dict:
    return {"claim": check["claim"], "observed": check["observed"], "holds": check["holds"],
            "estimate": float(estimate), "estimate_is": estimate_is, "p_value": float(p_value)}


def _no_rows(what: str, window: str) -> ValueError:
    return ValueError(f"no {what} in window {window!r}: the release ends before it. Remove that value of "
                      "'window' from the grid file (robustness.yml).")


def _shared(data: Data, key: tuple, window: str, make: Callable, columns: list[str] | None = None):
    """``make(rows of window, only columns)``, a small table, once per ``data`` and ``key``: shared by the specifications
    that differ only in later choices; returned as a copy. An empty window raises."""
    memo = vars(data).setdefault("_shared_tables", {}) if hasattr(data, "__dict__") else {}
    if key not in memo:
        n = len(data.release) if window == "all" else int((data.release["created_at"] >= _window_start(window)).sum())
        memo[key] = make(in_window(data.release, window, columns)) if n else None
    if memo[key] is None:
        raise _no_rows("images", window)
    return memo[key].copy()


def _run_growth(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, overview
    monthly = _shared(data, ("monthly_counts", p["window"]), p["window"], overview.monthly_counts, ["id", "created_at"])
    trend = overview.growth_trend(monthly, "n_tweets" if p["count"] == "tweets" else "n_images")
    check = claims.check_c2(trend, alpha=p["alpha"], test=p["test"])
    p_value = trend["p_value"] if p["test"] == "mann-kendall" else trend["loglinear_p_value"]
    return [_row(check, trend["growth_per_year"], "growth factor per year (log-linear fit)", p_value)]


def _run_words(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, text
    stop = None if p["stopwords"] == "caption" else text.ENGLISH_STOP_WORDS
    counts = _shared(data, ("term_counts", p["window"], p["stopwords"]), p["window"],
                     lambda df: text.term_counts(df["all_captions"], stopwords=stop).iloc[0], ["created_at", "all_captions"])
    top = text.top_words(None, n=p["top_n"], counts=counts)
    check = claims.check_c3(top)
    found = sum(w in set(top["word"]) for w in ("painting", "woman", "man", "hair"))
    return [_row(check, found, "number of the 4 words in the top N")]


def _run_themes(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, themes
    cols = ["id", "created_at", "label_10_cluster"]
    counts = _shared(data, ("monthly_cluster_counts", p["window"]), p["window"], themes.monthly_cluster_counts, cols[1:])
    if (counts["n_images"] >= p["min_images_per_month"]).sum() < 3:
        raise ValueError(f"fewer than 3 months with at least {p['min_images_per_month']} images in window "
                         f"{p['window']!r}: lower that value of 'min_images_per_month' or drop the window in the "
                         "grid file (robustness.yml).")
    df = in_window(data.release, p["window"], cols) if p["model"] == "logit-clustered" else None  # its image rows
    trends = themes.theme_trends(df, alpha=p["alpha"], min_images_per_month=p["min_images_per_month"],
                                 model=p["model"], counts=counts)
    t = trends.set_index("cluster")
    rows = []
    for cid, ks, direction, pick, what in (("C4", DECLINING, "down", max, "weakest decline"),
                                           ("C5", RISING, "up", min, "weakest rise")):
        check = claims.check_trends(trends, cid, ks, direction)
        present = [k for k in ks if k in t.index]
        est = pick(t.loc[present, "slope"]) if present else float("nan")
        p_max = t.loc[present, "p_value"].max() if present else float("nan")
        rows.append(_row(check, est, f"{what}: slope of clusters {', '.join(map(str, ks))} in log-odds per year",
                         p_max))
    return rows


def _run_nsfw(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, nsfw
    threshold = 0.5 if p["threshold"] is None else p["threshold"]
    table = nsfw.nsfw_by_cluster(data.release, threshold=threshold, mostly=float(Fraction(p["mostly"])),
                                 measure=p["measure"])
    check = claims.check_c6(table, score_column=nsfw.score_column(threshold))
    return [_row(check, int(table["mostly_nsfw"].sum()), "clusters counted as mostly NSFW")]


def _subsample_rows(n_rows: int, n, seed: int = 0) -> np.ndarray:
    """Sorted positions of a random ``n`` of ``n_rows`` rows (all of them for ``"all"`` or n >= n_rows)."""
    if n == "all" or n >= n_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, int(n), replace=False))


def _subsample(X: np.ndarray, n, seed: int = 0) -> np.ndarray:
    return X if n == "all" or n >= len(X) else np.asarray(X[_subsample_rows(len(X), n, seed)])


def _run_distinctness(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, distinctness
    mask, X = data.twigma()
    tweets = data.release.loc[mask, "id"].astype(str).to_numpy()
    table = distinctness.probe_table(X, tweets, {s: data.reference(s) for s in ("natural", "art")},
                                     folds=p["folds"], max_per_class=p["max_per_class"], seed=p["seed"])
    check = claims.check_c7(table, min_auc=p["min_auc"])
    return [_row(check, table["auc"].min(), "the smaller probe AUC (folds grouped by tweet)")]


def _run_variability(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, variability
    mask, X = data.twigma()
    tweets = data.release.loc[mask, "id"].astype(str).to_numpy()
    refs = {s: _subsample(data.reference(s), p["reference_n"], p["seed"]) for s in ("natural", "art")}
    if p["twigma_n"] == "matched":
        keep = _subsample_rows(len(X), min(len(r) for r in refs.values()), p["seed"])
        X, tweets = np.asarray(X[keep]), tweets[keep]
    by_source, differences = variability.compare_sources({"twigma": X, **refs}, groups={"twigma": tweets},
                                                         n_boot=p["n_boot"], level=p["level"], seed=p["seed"])
    check = claims.check_c8(by_source, differences)
    v = by_source.set_index("source")["dispersion"]
    return [_row(check, v["twigma"] - min(v["natural"], v["art"]),
                 "TWIGMA's dispersion minus the lower reference set's (tweets resampled together)")]


def _run_likes(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, likes
    mask, X = data.twigma()
    rel = data.release[mask].reset_index(drop=True)
    natural = _subsample(data.reference("natural"), p["reference_n"])
    sim = likes.similarity_to_reference(X, natural, k=10)
    keep = np.ones(len(rel), bool) if p["window"] == "all" else (rel["created_at"] >= _window_start(p["window"])).to_numpy()
    if not keep.any():
        raise _no_rows("images with embeddings", p["window"])
    frame = likes.model_frame(rel[keep].reset_index(drop=True), sim[p["similarity"]].to_numpy()[keep])
    row = likes.likes_regression(frame)
    check = claims.check_c9(row, alpha=p["alpha"])
    return [_row(check, row["estimate"], "change in log(1 + likes) per SD of similarity",
                 max(row["p_value"], row["p_value_cluster"]))]


GROUPS: dict[str, Group] = {
    "growth": Group(("C2",), "01_growth", ("test", "alpha", "window", "count"), _run_growth),
    "words": Group(("C3",), "01_growth", ("top_n", "stopwords", "window"), _run_words),
    "themes": Group(("C4", "C5"), "03_theme_shift", ("model", "alpha", "min_images_per_month", "window"), _run_themes),
    "nsfw": Group(("C6",), "04_nsfw", ("measure", "threshold", "mostly"), _run_nsfw,
                  not_with={"threshold": ("measure", "twitter-flag")}),
    "distinctness": Group(("C7",), "06_distinctness", ("max_per_class", "folds", "min_auc", "seed"),
                          _run_distinctness, images=True),
    "variability": Group(("C8",), "07_variability", ("reference_n", "twigma_n", "level", "n_boot", "seed"),
                         _run_variability, images=True),
    "likes": Group(("C9",), "08_likes_similarity", ("similarity", "alpha", "reference_n", "window"), _run_likes,
                   images=True),
}


def specifications(grid: dict, images: bool = True, one_at_a_time: bool = False) -> list[Spec]:
    """Every specification of the grid (the image groups only with ``images``), in grid order.

    With ``one_at_a_time``, only the defaults (the first values) and each other value of each
    choice alone, the others at their defaults (a small grid: the sum of the choices' values
    rather than their product). A choice that does not apply under another's value (the detector
    threshold when Twitter's flag decides) is set to None there, and the duplicates this makes
    are dropped.
    """
    specs, seen = [], set()
    for name, choices in grid.items():
        group = GROUPS[name]
        if group.images and not images:
            continue
        varied = tuple(c for c, vs in choices.items() if len(vs) > 1)
        if one_at_a_time:
            base = [vs[0] for vs in choices.values()]
            combos = [base] + [base[:i] + [v] + base[i + 1:] for i, vs in enumerate(choices.values()) for v in vs[1:]]
        else:
            combos = itertools.product(*choices.values())
        for i, combo in enumerate(combos):
            values = dict(zip(choices, combo))
            for c, (other, value) in group.not_with.items():
                if values.get(other) == value:
                    values[c] = None
            spec = Spec(name, tuple(values.items()), default=i == 0, varied=varied)
            if spec.id not in seen:
                seen.add(spec.id)
                specs.append(spec)
    return specs


def run_group(spec: Spec, data: Data) -> list[dict]:
    """Check ``spec``'s claims on ``data``: one row per claim (``claim``, ``observed``, ``holds``,
    ``estimate``, ``estimate_is``, ``p_value``). A failure names the specification."""
    try:
        return GROUPS[spec.group].run(spec.values, data)
    except Exception as exc:
        raise RuntimeError(f"specification {spec.id} ({spec.group}: {spec.text}) failed: {exc}") from exc


# ------------------------------------------------------------------ results ------------------

def tabulate(specs: list[Spec], records: list[dict], not_run: dict | None = None,
             one_at_a_time: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The specifications' records (:func:`twigma.run.robustness.record`) as ``results/robustness.csv``
    (one row per claim and specification) and its :func:`summarise`."""
    choice_cols = list(dict.fromkeys(c for s in specs for c, _ in s.params))
    rows = []
    for s, rec in zip(specs, records):
        for r in rec["rows"]:
            rows.append({"claim": r["claim"], "group": s.group, "spec_id": s.id, "specification": s.text,
                         "default": s.default, **{c: None for c in choice_cols}, **rec["params"],
                         **{k: r[k] for k in ("estimate", "estimate_is", "p_value", "observed", "holds")},
                         "notebook": rec["notebook"], "release": rec["release"]})
    table = pd.DataFrame(rows, columns=[*LEAD_COLUMNS, *choice_cols, *TAIL_COLUMNS]).astype({c: object for c in choice_cols})
    table = table.sort_values("claim", key=lambda c: c.str[1:].astype(int), kind="stable").reset_index(drop=True)
    return table, summarise(table, not_run=not_run, one_at_a_time=one_at_a_time)


def _number(x: float) -> str:
    return f"{x:.3g}" if np.isfinite(x) else "n/a"


def effect_words(n: int, k: int, lo: float, hi: float, default: float, one_at_a_time: bool = False) -> str:
    """How often a claim holds and how far its estimate moves, in words: ``"holds in all 6
    specifications; estimate 7.2 to 20.1 (default 7.2)"``; a vote is never given without the
    effect's range beside it."""
    votes = (f"holds in all {n} specifications" if k == n and n > 1 else "holds in the one specification" if k == n
             else f"holds in none of the {n} specifications" if k == 0 else f"holds in {k} of {n} specifications")
    if one_at_a_time:
        votes += " (each choice varied alone)"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return votes + "; no estimate"
    same = _number(lo) == _number(hi)
    spread = f"estimate {_number(lo)} in every specification" if same else f"estimate {_number(lo)} to {_number(hi)}"
    return f"{votes}; {spread}" + ("" if same else f" (default {_number(default)})")


def summarise(table: pd.DataFrame, not_run: dict[str, str] | None = None, one_at_a_time: bool = False) -> pd.DataFrame:
    """One row per claim: how many specifications, how often the claim holds, whether it holds
    under the notebooks' defaults, how far its estimate moves, and the verdict.

    ``estimate_default``, ``estimate_min`` and ``estimate_max`` are the claim's estimate (what
    ``estimate_is`` says) under the defaults and its range over the specifications; ``in_words``
    says both (:func:`effect_words`), since a claim can hold everywhere while its size changes
    threefold. ``robust: yes`` when it holds under every specification, ``robust: no`` when under
    none, otherwise ``depends on the specification``; then ``depends_on`` names the choice whose
    values split the verdicts most (the largest difference in the share that holds between its
    values; ties are all named) and ``detail`` gives the share that holds at each of its values.
    ``one_at_a_time``: the table is the small grid (each choice varied alone), said in ``in_words``.
    """
    from twigma.analysis.claims import CLAIMS

    out = []
    for cid, part in table.groupby("claim", sort=False):
        holds = part["holds"].eq("yes")
        n, k = len(part), int(holds.sum())
        is_default = part["default"].astype(bool)
        default = part.loc[is_default, "holds"]
        est = pd.to_numeric(part["estimate"], errors="coerce")
        finite = est[np.isfinite(est)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (np.nan, np.nan)
        d = float(est[is_default].iloc[0]) if is_default.any() else np.nan
        row = {"claim": cid, "statement": CLAIMS.get(cid, ""), "n_specifications": n, "n_holds": k,
               "share_holds": round(k / n, 4), "holds_by_default": default.iloc[0] if len(default) else "",
               "estimate_is": part["estimate_is"].iloc[0], "estimate_default": d, "estimate_min": lo,
               "estimate_max": hi, "in_words": effect_words(n, k, lo, hi, d, one_at_a_time),
               "depends_on": "", "detail": ""}
        if k == n:
            row["verdict"] = VERDICT_YES
        elif k == 0:
            row["verdict"] = VERDICT_NO
        else:
            row["verdict"] = VERDICT_DEPENDS
            row["depends_on"], row["detail"] = _decisive_choice(part, holds)
        out.append(row)
    for cid, why in (not_run or {}).items():
        out.append({"claim": cid, "statement": CLAIMS.get(cid, ""), "n_specifications": 0, "n_holds": 0,
                    "share_holds": float("nan"), "holds_by_default": "", "estimate_is": "",
                    "estimate_default": np.nan, "estimate_min": np.nan, "estimate_max": np.nan, "in_words": why,
                    "verdict": why, "depends_on": "", "detail": ""})
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def value_text(v) -> str:
    """A choice's value as text: 20 (not 20.0), 0.05, 2/3, "n/a" where the choice does not apply."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)


def _decisive_choice(part: pd.DataFrame, holds: pd.Series) -> tuple[str, str]:
    group = GROUPS[part["group"].iloc[0]]
    spreads = {}
    for c in group.choices:
        values = part[c].map(value_text)
        if values.nunique() < 2:
            continue
        share = holds.groupby(values, sort=False).mean()
        spreads[c] = (share.max() - share.min(), share)
    if not spreads:
        return "", ""
    top = max(s for s, _ in spreads.values())
    named = [c for c, (s, _) in spreads.items() if np.isclose(s, top)]
    detail = []
    for c in named:
        share = spreads[c][1]
        if share.isin([0.0, 1.0]).all():
            yes = ", ".join(v for v, s in share.items() if s == 1)
            no = ", ".join(v for v, s in share.items() if s == 0)
            detail.append(f"{c}: holds with {yes}, fails with {no} (whatever the other choices)")
        else:
            detail.append(f"{c}: holds in " + ", ".join(f"{s:.0%} with {v}" for v, s in share.items()))
    return ", ".join(named), "; ".join(detail)
