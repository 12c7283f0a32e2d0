"""The claims decided on image embeddings (C7-C9), one runner per group of the grid.

As in :mod:`twigma.analysis.robustness.release_claims`: each ``run_*`` calls the notebooks' analysis
functions and claim checks under one specification's values, and each ``effective_*`` gives the values
as they act on this store (a sample of 20,000 per class from 3,000 available is all 3,000, as is one
of 5,000), so that specifications identical in effect are counted once.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from twigma.analysis.robustness import inputs
from twigma.analysis.robustness.choices import window_start
from twigma.analysis.robustness.inputs import Data, claim_row, effective_n, effective_window, no_rows

REFERENCES = ("natural", "art")


def effective_distinctness(p: dict, data: Data) -> dict:
    """``max_per_class`` as the images per class each probe uses (min of the two sets and the cap)."""
    _, X = data.twigma()
    per_class = [min(len(X), len(data.reference(s)), p["max_per_class"]) for s in REFERENCES]
    return {**p, "max_per_class": "/".join(str(n) for n in per_class)}




def run_distinctness(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, distinctness
    mask, X = data.twigma()
    tweets = data.release.loc[mask, "id"].astype(str).to_numpy()
    table = distinctness.probe_table(X, tweets, {s: data.reference(s) for s in REFERENCES},
                                     folds=p["folds"], max_per_class=p["max_per_class"], seed=p["seed"],
                                     alpha=p["alpha"])
    check = claims.check_c7(table, min_auc=p["min_auc"])
    return [claim_row(check, table["ci_low"].min(), "the smaller lower bound of the two probe AUCs' 1 - alpha "
                      "intervals (tweets resampled; AUC, no unit)", p["min_auc"], "at least")]


def effective_variability(p: dict, data: Data) -> dict:
    """``reference_n`` as the images drawn from each reference set, ``twigma_n`` as TWIGMA's."""
    _, X = data.twigma()
    refs = [effective_n(p["reference_n"], len(data.reference(s))) for s in REFERENCES]
    tw = len(X) if p["twigma_n"] == "all" else min(len(X), min(refs))
    return {**p, "reference_n": "/".join(map(str, refs)), "twigma_n": tw}


def run_variability(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, variability
    mask, X = data.twigma()
    tweets = data.release.loc[mask, "id"].astype(str).to_numpy()
    refs = {s: inputs.subsample(data.reference(s), p["reference_n"], p["seed"]) for s in REFERENCES}
    themes = data.release.loc[mask, "label_10_cluster"].to_numpy()
    if p["twigma_n"] == "matched":
        keep = inputs.subsample_rows(len(X), min(len(r) for r in refs.values()), p["seed"])
        X, tweets, themes = np.asarray(X[keep]), tweets[keep], themes[keep]
    sets = {"twigma": X, **refs}
    by_source, whole = variability.compare_sources(sets, groups={"twigma": tweets}, n_boot=p["n_boot"],
                                                   alpha=p["alpha"], seed=p["seed"])
    _, within = variability.theme_matched(sets, tweets, themes, n_boot=p["n_boot"], alpha=p["alpha"], seed=p["seed"])
    differences = pd.concat([within, whole], ignore_index=True)
    check = claims.check_c8(by_source, differences)
    by = "within themes" if (differences["matching"] == "within themes").any() else "whole sets"
    return [claim_row(check, differences.loc[differences["matching"] == by, "ci_high"].max(),
                      f"upper end of the 1 - alpha interval of TWIGMA's dispersion minus a reference set's, {by} "
                      "(the larger of the two; mean cosine distance)", 0.0, "below")]


def _likes_rows(p: dict, data: Data):
    mask, _ = data.twigma()
    rel = data.release[mask].reset_index(drop=True)
    keep = np.ones(len(rel), bool) if p["window"] == "all" else (rel["created_at"] >= window_start(p["window"])).to_numpy()
    return rel, keep


def effective_likes(p: dict, data: Data) -> dict:
    """``reference_n`` as the natural images compared with, the window as it acts on the images with embeddings."""
    rel, _ = _likes_rows(p, data)
    return {**p, "reference_n": effective_n(p["reference_n"], len(data.reference("natural"))),
            "window": effective_window(rel["created_at"], p["window"])}


def run_likes(p: dict, data: Data) -> list[dict]:
    from twigma.analysis import claims, likes
    if inputs.empty_column(data.release, "like_count"):
        return [inputs.untestable_row("C9", "like_count", "change in log(1 + likes) per SD of similarity", 0.0,
                                      "below")]
    _, X = data.twigma()
    rel, keep = _likes_rows(p, data)
    natural = inputs.subsample(data.reference("natural"), p["reference_n"])
    sim = likes.similarity_to_reference(X, natural, k=10)
    if not keep.any():
        raise no_rows("images with embeddings", p["window"])
    frame = likes.model_frame(rel[keep].reset_index(drop=True), sim[p["similarity"]].to_numpy()[keep])
    fit = likes.likes_regression(frame, alpha=p["alpha"])
    check = claims.check_c9(fit, alpha=p["alpha"])
    return [claim_row(check, fit.estimate, "change in log(1 + likes) per SD of similarity", 0.0, "below",
                      max(fit.p_value, fit.p_value_cluster))]
