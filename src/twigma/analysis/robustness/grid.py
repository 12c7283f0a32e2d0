"""The groups of the grid, their specifications, and running one.

:data:`GROUPS` names, for each group of claims of ``robustness.yml``, its claims, the notebook whose
defaults its first values are, its choices, its runner and :func:`effective_values` (the values as
they act on the data), and the values a notebook rejects (``rejected``: run and tabled, never
counted in the vote; :func:`rejected_why`).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from twigma.analysis.robustness import image_claims, release_claims
from twigma.analysis.robustness.choices import Spec
from twigma.analysis.robustness.inputs import Data


@dataclass(frozen=True)
class Group:
    claims: tuple[str, ...]
    notebook: str
    choices: tuple[str, ...]
    run: Callable[[dict, Data], list[dict]]
    images: bool = False
    #: choices that do not apply given another choice's value: {choice: (other, value)}
    not_with: dict = field(default_factory=dict)
    #: the values as they act on the data (default: as given)
    effective: Callable[[dict, Data], dict] | None = None
    #: values a notebook argues against: {choice: {value: why}}; such specifications are not counted
    rejected: dict = field(default_factory=dict)


#: Why notebook 03 does not use the image-level logit (its Method says so).
LOGIT_REJECTED = ("rejected by notebook 03: an image-level logit ignores the month-to-month overdispersion of the "
                  "shares and calls almost any wobble significant at 800,000 images")

GROUPS: dict[str, Group] = {
    "growth": Group(("C2",), "01_growth", ("test", "alpha", "window", "count"), release_claims.run_growth,
                    effective=release_claims.effective_windowed),
    "words": Group(("C3",), "01_growth", ("top_n", "stopwords", "window"), release_claims.run_words,
                   effective=release_claims.effective_windowed),
    "themes": Group(("C4", "C5"), "03_theme_shift", ("model", "alpha", "min_images_per_month", "window"),
                    release_claims.run_themes, effective=release_claims.effective_themes,
                    rejected={"model": {"logit-clustered": LOGIT_REJECTED}}),
    "shift": Group(("C11",), "03_theme_shift", ("alpha", "min_images_per_month", "window"), release_claims.run_shift,
                   effective=release_claims.effective_themes),
    "nsfw": Group(("C6",), "04_nsfw", ("measure", "threshold", "mostly"), release_claims.run_nsfw,
                  not_with={"threshold": ("measure", "twitter-flag")}),
    "distinctness": Group(("C7",), "06_distinctness", ("max_per_class", "folds", "min_auc", "alpha", "seed"),
                          image_claims.run_distinctness, images=True, effective=image_claims.effective_distinctness),
    "variability": Group(("C8",), "07_variability", ("reference_n", "twigma_n", "alpha", "n_boot", "seed"),
                         image_claims.run_variability, images=True, effective=image_claims.effective_variability),
    "likes": Group(("C9",), "08_likes_similarity", ("similarity", "alpha", "reference_n", "window"),
                   image_claims.run_likes, images=True, effective=image_claims.effective_likes),
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
        combos: Iterable[Sequence]
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
    ``estimate``, ``estimate_is``, ``threshold``, ``holds_when``, ``p_value``). A failure names the
    specification."""
    try:
        return GROUPS[spec.group].run(spec.values, data)
    except Exception as exc:
        raise RuntimeError(f"specification {spec.id} ({spec.group}: {spec.text}) failed: {exc}") from exc


def effective_values(spec: Spec, data: Data) -> dict:
    """The specification's values as they act on ``data`` (two specifications with the same effective
    values compute the same thing and are counted once)."""
    group = GROUPS[spec.group]
    return spec.values if group.effective is None else group.effective(spec.values, data)


def rejected_why(group: str, values: dict) -> str:
    """Why a notebook rejects a specification with ``values`` ("" when none does)."""
    for choice, why in GROUPS[group].rejected.items():
        if values.get(choice) in why:
            return why[values[choice]]
    return ""
