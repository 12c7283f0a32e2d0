"""The grid's choices: how each value is read and checked, and how it reads in a specification.

:data:`CHOICES` maps every choice a group may list to its parser (a value of the grid file to a
checked value, or a ValueError saying what a value must be) and to its words; :class:`Spec` is one
specification (a group and one value per choice); :func:`value_text` writes a value for tables.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from twigma.analysis.inference import MIN_RESAMPLES


def window(v) -> str:
    """``all``, or ``from-YYYY`` / ``from-YYYY-MM``: the images posted from then on."""
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


def window_start(window_value: str) -> pd.Timestamp:
    """The first instant (UTC) of a ``from-...`` window."""
    return pd.Timestamp(window_value[5:], tz="UTC")


def fraction(v) -> str:
    f = Fraction(str(v).strip()).limit_denominator(1000)
    if not 0 < f < 1:
        raise ValueError("a share between 0 and 1, such as 1/2 or 2/3")
    return str(f)


def unit_interval(v) -> float:
    f = float(v)
    if not 0 < f < 1:
        raise ValueError("a number between 0 and 1")
    return f


def count_or_all(v) -> int | str:
    if str(v).strip() == "all":
        return "all"
    n = int(v)
    if n < 2:
        raise ValueError("a whole number of at least 2, or 'all'")
    return n


def positive_int(v) -> int:
    n = int(v)
    if n < 1 or n != float(v):
        raise ValueError("a whole number of at least 1")
    return n


def resamples(v) -> int:
    """A number of bootstrap replicates: at least :data:`twigma.analysis.inference.MIN_RESAMPLES`
    (a 99% percentile interval of 200 replicates would be read off its 1st and 199th values)."""
    n = positive_int(v)
    if n < MIN_RESAMPLES:
        raise ValueError(f"at least {MIN_RESAMPLES} bootstrap replicates (the compendium's fewest)")
    return n


def one_of(*allowed: str) -> Callable:
    def parse(v):
        if str(v) not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return str(v)
    return parse


#: Every choice a group may list: how its values are read, and how a value reads in a specification.
CHOICES: dict[str, tuple[Callable, Callable[[Any], str]]] = {
    "test": (one_of("mann-kendall", "log-linear"), lambda v: f"{v} test"),
    "alpha": (unit_interval, lambda v: f"alpha {v:g}"),
    "window": (window, lambda v: "all months" if v == "all" else f"months from {v[5:]}"),
    "count": (one_of("tweets", "images"), lambda v: f"monthly {v}"),
    "top_n": (positive_int, lambda v: f"top {v} words"),
    "stopwords": (one_of("caption", "english"),
                  lambda v: "English + BLIP stop words" if v == "caption" else "English stop words only"),
    "model": (one_of("quasi-binomial", "logit-clustered", "mann-kendall"),
              lambda v: {"quasi-binomial": "quasi-binomial GLM", "logit-clustered": "image logit, SE by tweet",
                         "mann-kendall": "Mann-Kendall on shares"}[v]),
    "min_images_per_month": (positive_int, lambda v: f"months with >= {v} images"),
    "measure": (one_of("detector", "twitter-flag"), lambda v: "detector" if v == "detector" else "Twitter's flag"),
    "threshold": (unit_interval, lambda v: f"score > {v:g}"),
    "mostly": (fraction, lambda v: f"mostly = more than {v}"),
    "max_per_class": (positive_int, lambda v: f"probe on <= {v:,} per class"),
    "folds": (positive_int, lambda v: f"{v}-fold CV"),
    "min_auc": (unit_interval, lambda v: f"AUC >= {v:g}"),
    "seed": (int, lambda v: f"seed {v}"),
    "reference_n": (count_or_all, lambda v: "all reference images" if v == "all" else f"{v:,} reference images"),
    "twigma_n": (one_of("all", "matched"),
                 lambda v: "all TWIGMA images" if v == "all" else "TWIGMA subsampled to the reference size"),
    "n_boot": (resamples, lambda v: f"{v} bootstrap replicates"),
    "similarity": (one_of("max_sim", "mean_top10_sim"),
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


def value_text(v) -> str:
    """A choice's value as text: 20 (not 20.0), 0.05, 2/3, "n/a" where the choice does not apply."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)
