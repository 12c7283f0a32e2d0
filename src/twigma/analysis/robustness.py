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

Steps (the make targets call them through ``twigma robustness``):

* :func:`write_makefile` lists the specifications as make targets ``build/robustness/<id>.json``;
  the id is the group and a digest of the specification's parameters, so editing the grid adds or
  drops specifications without touching the finished ones (make runs only what is missing);
* :func:`run_spec` runs one specification and writes its file atomically;
* :func:`collect` gathers them into ``results/robustness.csv`` (one row per claim and
  specification) and ``results/robustness_summary.csv`` (one row per claim: how often it holds and
  the verdict: robust: yes / robust: no / depends on the specification, naming the choice).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from twigma import paths
from twigma.errors import UserError
from twigma.files import atomic_write

#: The grid's default file.
GRID = paths.ROOT / "robustness.yml"
#: The clusters the paper says decline (C4) and rise (C5); notebook 03's DECLINING and RISING defaults.
DECLINING = [1, 3, 4]
RISING = [8, 9]
#: Columns of results/robustness.csv before the parameter columns, and after them.
LEAD_COLUMNS = ["claim", "group", "spec_id", "specification", "default"]
TAIL_COLUMNS = ["estimate", "estimate_is", "p_value", "observed", "holds", "notebook", "release"]
SUMMARY_COLUMNS = ["claim", "statement", "n_specifications", "n_holds", "share_holds", "holds_by_default",
                   "verdict", "depends_on", "detail"]
VERDICT_YES, VERDICT_NO, VERDICT_DEPENDS = "robust: yes", "robust: no", "depends on the specification"


class GridError(UserError, ValueError):
    """The grid file is malformed: the message names the file, the group, the choice and what to do."""


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
    run: Callable[[dict, "Inputs"], list[dict]]
    images: bool = False
    #: choices that do not apply given another choice's value: {choice: (other, value)}
    not_with: dict = field(default_factory=dict)


class Inputs:
    """The release (and the embedding store) a specification reads, loaded once per process."""

    def __init__(self, release: str | None, embeddings: str | None):
        self.release_arg, self.embeddings_arg = release or "", embeddings or ""
        self._release = None

    @property
    def release(self) -> pd.DataFrame:
        if self._release is None:
            from twigma.release import load_release
            self._release = load_release(self.release_arg)
        return self._release

    def window(self, df: pd.DataFrame, window: str) -> pd.DataFrame:
        return df if window == "all" else df[df["created_at"] >= _window_start(window)].reset_index(drop=True)

    def store(self):
        from twigma.embeddings import store
        root = store.folder_for(self.release_arg, self.embeddings_arg)
        mask, X = store.align(self.release, store.read(root, "twigma"))
        return root, mask, X


def _window_start(window: str) -> pd.Timestamp:
    return pd.Timestamp(window[5:], tz="UTC")


def _row(check: dict, estimate: float, estimate_is: str, p_value: float = float("nan")) -> dict:
    return {"claim": check["claim"], "observed": check["observed"], "holds": check["holds"],
            "estimate": float(estimate), "estimate_is": estimate_is, "p_value": float(p_value)}


def _no_rows(what: str, window: str) -> ValueError:
    return ValueError(f"no {what} in window {window!r}: the release ends before it. Remove that value of "
                      "'window' from the grid file (robustness.yml).")


def _run_growth(p: dict, data: Inputs) -> list[dict]:
    from twigma.analysis import claims, overview
    df = data.window(data.release, p["window"])
    if len(df) == 0:
        raise _no_rows("images", p["window"])
    monthly = overview.monthly_counts(df)
    trend = overview.growth_trend(monthly, "n_tweets" if p["count"] == "tweets" else "n_images")
    check = claims.check_c2(trend, alpha=p["alpha"], test=p["test"])
    p_value = trend["p_value"] if p["test"] == "mann-kendall" else trend["loglinear_p_value"]
    return [_row(check, trend["growth_per_year"], "growth factor per year (log-linear fit)", p_value)]


def _run_words(p: dict, data: Inputs) -> list[dict]:
    from twigma.analysis import claims, text
    df = data.window(data.release, p["window"])
    if len(df) == 0:
        raise _no_rows("images", p["window"])
    stop = None if p["stopwords"] == "caption" else text.ENGLISH_STOP_WORDS
    top = text.top_words(df["all_captions"], n=p["top_n"], stopwords=stop)
    check = claims.check_c3(top)
    found = sum(w in set(top["word"]) for w in ("painting", "woman", "man", "hair"))
    return [_row(check, found, "of the 4 words in the top N")]


def _run_themes(p: dict, data: Inputs) -> list[dict]:
    from twigma.analysis import claims, themes
    df = data.window(data.release, p["window"])
    if len(df) == 0:
        raise _no_rows("images", p["window"])
    months = themes.monthly_cluster_counts(df)["n_images"]
    if (months >= p["min_images_per_month"]).sum() < 3:
        raise ValueError(f"fewer than 3 months with at least {p['min_images_per_month']} images in window "
                         f"{p['window']!r}: lower that value of 'min_images_per_month' or drop the window in the "
                         "grid file (robustness.yml).")
    trends = themes.theme_trends(df, alpha=p["alpha"], min_images_per_month=p["min_images_per_month"],
                                 model=p["model"])
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


def _run_nsfw(p: dict, data: Inputs) -> list[dict]:
    from twigma.analysis import claims, nsfw
    threshold = 0.5 if p["threshold"] is None else p["threshold"]
    table = nsfw.nsfw_by_cluster(data.release, threshold=threshold, mostly=float(Fraction(p["mostly"])),
                                 measure=p["measure"])
    check = claims.check_c6(table, score_column=nsfw._score_column(threshold))
    return [_row(check, int(table["mostly_nsfw"].sum()), "clusters counted as mostly NSFW")]


def _subsample(X: np.ndarray, n, seed: int = 0) -> np.ndarray:
    if n == "all" or n >= len(X):
        return X
    idx = np.sort(np.random.default_rng(seed).choice(len(X), int(n), replace=False))
    return np.asarray(X[idx])


def _run_distinctness(p: dict, data: Inputs) -> list[dict]:
    from twigma.analysis import claims, distinctness
    from twigma.embeddings import store
    root, _, X = data.store()
    rows = []
    for name, ref in (("twigma_vs_natural", store.read(root, "natural").vectors),
                      ("twigma_vs_art", store.read(root, "art").vectors)):
        res = distinctness.probe_auc(X, ref, folds=p["folds"], max_per_class=p["max_per_class"], seed=p["seed"])
        rows.append({"comparison": name, "auc": res["auc"], "auc_sd": res["auc_sd"], "folds": p["folds"],
                     "n_per_class": res["n_per_class"]})
    table = pd.DataFrame(rows)
    check = claims.check_c7(table, min_auc=p["min_auc"])
    return [_row(check, table["auc"].min(), "the smaller probe AUC")]


def _run_variability(p: dict, data: Inputs) -> list[dict]:
    from twigma.analysis import claims, variability
    from twigma.embeddings import store
    root, _, X = data.store()
    refs = {s: _subsample(store.read(root, s).vectors, p["reference_n"], p["seed"]) for s in ("natural", "art")}
    if p["twigma_n"] == "matched":
        X = _subsample(X, min(len(r) for r in refs.values()), p["seed"])
    rows = []
    for name, M in {"twigma": X, **refs}.items():
        est, lo, hi = variability.dispersion_ci(M, n_boot=p["n_boot"], level=p["level"], seed=p["seed"])
        rows.append({"source": name, "n": len(M), "dispersion": est, "ci_low": lo, "ci_high": hi})
    table = pd.DataFrame(rows)
    check = claims.check_c8(table)
    v = table.set_index("source")["dispersion"]
    return [_row(check, v["twigma"] - min(v["natural"], v["art"]),
                 "TWIGMA's dispersion minus the lower reference set's")]


def _run_likes(p: dict, data: Inputs) -> list[dict]:
    from twigma.analysis import claims, likes
    from twigma.embeddings import store
    root, mask, X = data.store()
    rel = data.release[mask].reset_index(drop=True)
    natural = _subsample(store.read(root, "natural").vectors, p["reference_n"])
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


# ------------------------------------------------------------------ the grid -----------------

def read_grid(path: str | os.PathLike | None = None) -> dict[str, dict[str, list]]:
    """The grid file as {group: {choice: [values]}}, every value checked; :class:`GridError` otherwise."""
    import yaml

    path = paths.resolve(path, default=GRID)
    if not path.exists():
        raise GridError(f"{path}: no such grid file. Give GRID=<file> or restore robustness.yml from git.")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise GridError(f"{path}: not valid YAML ({exc}).") from exc
    if not isinstance(raw, dict):
        raise GridError(f"{path}: the file must map group names ({', '.join(GROUPS)}) to their choices.")
    grid = {}
    for name, choices in raw.items():
        if name not in GROUPS:
            raise GridError(f"{path}: unknown group {name!r}; the groups are {', '.join(GROUPS)}.")
        group = GROUPS[name]
        if not isinstance(choices, dict):
            raise GridError(f"{path}: group {name!r} must map each choice to a list of values.")
        missing = [c for c in group.choices if c not in choices]
        unknown = [c for c in choices if c not in group.choices]
        if missing or unknown:
            raise GridError(f"{path}: group {name!r} " + "; ".join(
                filter(None, [f"lacks the choices {', '.join(missing)}" if missing else "",
                              f"has choices it does not know: {', '.join(unknown)}" if unknown else ""]))
                + f". Its choices are {', '.join(group.choices)} (list one value to fix a choice).")
        grid[name] = {}
        for c in group.choices:
            values = choices[c] if isinstance(choices[c], list) else [choices[c]]
            if not values:
                raise GridError(f"{path}: group {name!r}, choice {c!r}: give at least one value.")
            parsed = []
            for v in values:
                try:
                    parsed.append(CHOICES[c][0](v))
                except (TypeError, ValueError) as exc:
                    raise GridError(f"{path}: group {name!r}, choice {c!r}: value {v!r} is not valid: {exc}.") from exc
            if len(set(map(str, parsed))) < len(parsed):
                raise GridError(f"{path}: group {name!r}, choice {c!r} lists a value twice.")
            grid[name][c] = parsed
    return grid


def has_embeddings(release: str | None, embeddings: str | None) -> bool:
    """Whether the image groups (C7-C9) can run: a store goes with RELEASE and EMBEDDINGS."""
    return paths.embeddings_folder(release, embeddings) is not None


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


def find(grid: dict, spec_id: str) -> Spec:
    for spec in specifications(grid):
        if spec.id == spec_id:
            return spec
    raise GridError(f"no specification {spec_id!r} in the grid file: it was edited since make listed it. "
                    "Run make robustness again.")


def spec_dir(out: str | os.PathLike | None) -> Path:
    """Where the specifications' files go: ``<OUT>/build/robustness/``."""
    return paths.resolve(out, default=paths.ROOT) / "build" / "robustness"


def write_makefile(target: str | os.PathLike, grid_path=None, release=None, embeddings=None) -> Path:
    """The make fragment that lists the specifications as targets (``$(ROB)/<id>.json``)."""
    grid = read_grid(grid_path)
    specs = specifications(grid, images=has_embeddings(release, embeddings))
    names = lambda ss: " \\\n  ".join(f"$(ROB)/{s.id}.json" for s in ss)  # noqa: E731
    text = ("# Written by `twigma robustness makefile` from the grid file; do not edit (make rewrites it).\n"
            f"ROB_SPECS := {names(specs)}\n"
            f"ROB_IMAGE_SPECS := {names([s for s in specs if GROUPS[s.group].images])}\n")
    return atomic_write(target, lambda tmp: Path(tmp).write_text(text))


def record(spec: Spec, data: Inputs) -> dict:
    """Run one specification on ``data``: its parameters, its words and one row per claim checked."""
    group = GROUPS[spec.group]
    try:
        rows = group.run(spec.values, data)
    except Exception as exc:
        raise RuntimeError(f"specification {spec.id} ({spec.group}: {spec.text}) failed: {exc}") from exc
    return {"spec_id": spec.id, "group": spec.group, "params": spec.values, "specification": spec.text,
            "default": spec.default, "notebook": group.notebook,
            "release": str(paths.release_file(data.release_arg)), "rows": rows}


def run_spec(spec_id: str, grid_path=None, release=None, embeddings=None, out=None,
             inputs: Inputs | None = None) -> Path:
    """Run one specification and write ``<OUT>/build/robustness/<id>.json`` (atomically)."""
    spec = find(read_grid(grid_path), spec_id)
    rec = record(spec, inputs or Inputs(release, embeddings))
    target = spec_dir(out) / f"{spec.id}.json"
    return atomic_write(target, lambda tmp: Path(tmp).write_text(json.dumps(rec, indent=1, default=_json)))


def run_small(grid_path=None, release=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The release-only groups (C2-C6), each choice varied alone (``one_at_a_time``), run here in
    this process without writing anything: what notebook 12 shows when ``make robustness`` has not
    been run. Returns the table and the summary, as :func:`collect` does."""
    specs = specifications(read_grid(grid_path), images=False, one_at_a_time=True)
    data = Inputs(release, None)
    return _tabulate(specs, [record(s, data) for s in specs])


def _json(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    raise TypeError(f"cannot write {type(v).__name__} to JSON")


# ------------------------------------------------------------------ results ------------------

def collect(grid_path=None, release=None, embeddings=None, out=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gather the specifications of the grid into ``results/robustness.csv`` and
    ``results/robustness_summary.csv`` under OUT; return both tables."""
    grid = read_grid(grid_path)
    images = has_embeddings(release, embeddings)
    specs = specifications(grid, images=images)
    folder, records = spec_dir(out), []
    for s in specs:
        f = folder / f"{s.id}.json"
        if not f.exists():
            raise FileNotFoundError(f"{f}: specification {s.id} ({s.group}: {s.text}) has not been run: "
                                    "run `make robustness` (with the same RELEASE, EMBEDDINGS and OUT).")
        records.append(json.loads(f.read_text()))
    skipped = [c for g, grp in GROUPS.items() if g in grid and grp.images and not images for c in grp.claims]
    table, summary = _tabulate(specs, records, not_run={
        c: "not run: needs image embeddings (EMBEDDINGS=<store folder>)" for c in skipped})
    results = paths.resolve(out, default=paths.ROOT) / "results"
    atomic_write(results / "robustness.csv", lambda tmp: table.to_csv(tmp, index=False))
    atomic_write(results / "robustness_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    return table, summary


def _tabulate(specs: list[Spec], records: list[dict], not_run: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    return table, summarise(table, not_run=not_run)


def summarise(table: pd.DataFrame, not_run: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per claim: how many specifications, how often the claim holds, whether it holds
    under the notebooks' defaults, and the verdict.

    ``robust: yes`` when it holds under every specification, ``robust: no`` when under none,
    otherwise ``depends on the specification``; then ``depends_on`` names the choice whose values
    split the verdicts most (the largest difference in the share that holds between its values;
    ties are all named) and ``detail`` gives the share that holds at each of its values.
    """
    from twigma.analysis.claims import CLAIMS

    out = []
    for cid, part in table.groupby("claim", sort=False):
        holds = part["holds"].eq("yes")
        n, k = len(part), int(holds.sum())
        default = part.loc[part["default"].astype(bool), "holds"]
        row = {"claim": cid, "statement": CLAIMS.get(cid, ""), "n_specifications": n, "n_holds": k,
               "share_holds": round(k / n, 4), "holds_by_default": default.iloc[0] if len(default) else "",
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
                    "share_holds": float("nan"), "holds_by_default": "", "verdict": why, "depends_on": "",
                    "detail": ""})
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


# ------------------------------------------------------------------ the curve ----------------

def plot_curve(table: pd.DataFrame, claim: str):
    """Specification curve of one claim (Simonsohn, Simmons and Nelson 2020): the estimate under
    every specification, sorted, marked by whether the claim holds (top), and the choices each
    specification made (bottom: one row per choice value, a mark where the specification used it)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    part = table[table["claim"] == claim].sort_values("estimate", kind="stable").reset_index(drop=True)
    group = GROUPS[part["group"].iloc[0]]
    rows = [(c, v) for c in group.choices for v in part[c].map(value_text).unique() if part[c].map(value_text).nunique() > 1]
    x = np.arange(len(part))
    holds = part["holds"].eq("yes").to_numpy()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.5, 0.18 * len(part) + 3), 2.6 + 0.22 * len(rows)),
                                      sharex=True, height_ratios=[2.2, max(1, 0.22 * len(rows))])
    top.scatter(x[holds], part["estimate"][holds], color="C2", s=18, label="claim holds", zorder=3)
    top.scatter(x[~holds], part["estimate"][~holds], color="C3", s=18, marker="x", label="claim fails", zorder=3)
    default = part["default"].astype(bool).to_numpy()
    top.scatter(x[default], part["estimate"][default], s=90, facecolors="none", edgecolors="black",
                label="notebooks' default", zorder=4)
    top.set(ylabel="estimate", title=f"{claim}: the claim holds in {holds.sum()} of {len(part)} specifications "
                                     f"({holds.mean():.0%})\nestimate: {part['estimate_is'].iloc[0]}")
    top.title.set_fontsize(9)
    top.legend(fontsize=7, loc="best")
    for i, (c, v) in enumerate(rows):
        used = part[c].map(value_text).eq(v).to_numpy()
        bottom.scatter(x[used], np.full(used.sum(), i), s=10, color=np.where(holds[used], "C2", "C3"), marker="s")
    bottom.set_yticks(range(len(rows)), [f"{c} = {v}" for c, v in rows], fontsize=7)
    bottom.set_ylim(len(rows) - 0.5, -0.5)
    bottom.set_xlabel("specification, sorted by the estimate")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.grid(False)
    fig.tight_layout()
    return fig
