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
shift                 C11        03           alpha, min_images_per_month, window
nsfw                  C6         04_nsfw      measure, threshold, mostly
distinctness          C7         06           max_per_class, folds, min_auc, alpha, seed
variability           C8         07           reference_n, twigma_n, alpha, n_boot, seed
likes                 C9         08           similarity, alpha, reference_n, window
====================  =========  ===========  =====================================================

Each claim's row carries the estimate its verdict is decided on (C2: Kendall's tau under the
Mann-Kendall test, the log-linear slope under the log-linear one), the decision threshold and how
the estimate must compare with it. A specification a notebook rejects (the image-level logit of
C4/C5, which 03 argues against) is run and tabled but not counted; specifications identical in effect
on the data (a cap of 20,000 and of 5,000 images per class, when 3,000 are available) are counted
once.

The package's modules, bottom up: :mod:`~twigma.analysis.robustness.choices` (the choices and how
their values are read, :class:`Spec`), :mod:`~twigma.analysis.robustness.inputs` (what a
specification reads; a claim's row), :mod:`~twigma.analysis.robustness.release_claims` and
:mod:`~twigma.analysis.robustness.image_claims` (the runners), :mod:`~twigma.analysis.robustness.grid`
(the groups, the specifications of a grid, running one), :mod:`~twigma.analysis.robustness.text`
(the words) and :mod:`~twigma.analysis.robustness.tables` (the table and its summary). Reading the
grid file, the make fragment, the specifications' files and collecting them are
:mod:`twigma.run.grid_runs`; the curves are drawn by :func:`twigma.present.robustness_figure.robustness_curve`.
This module gathers the public names.
"""
from __future__ import annotations

from twigma.analysis.robustness.choices import CHOICES, Spec, value_text
from twigma.analysis.robustness.grid import GROUPS, Group, effective_values, rejected_why, run_group, specifications
from twigma.analysis.robustness.inputs import Data, in_window
from twigma.analysis.robustness.release_claims import DECLINING, RISING
from twigma.analysis.robustness.tables import (
    LEAD_COLUMNS,
    SUMMARY_COLUMNS,
    TAIL_COLUMNS,
    VERDICT_DEPENDS,
    VERDICT_NO,
    VERDICT_NONE,
    VERDICT_YES,
    decisive_choice,
    statuses,
    summarise,
    tabulate,
)
from twigma.analysis.robustness.text import effect_words

__all__ = ["CHOICES", "DECLINING", "GROUPS", "LEAD_COLUMNS", "RISING", "SUMMARY_COLUMNS", "TAIL_COLUMNS",
           "VERDICT_DEPENDS", "VERDICT_NO", "VERDICT_NONE", "VERDICT_YES", "Data", "Group", "Spec",
           "decisive_choice", "effect_words", "effective_values", "in_window", "rejected_why", "run_group",
           "specifications", "statuses", "summarise", "tabulate", "value_text"]
