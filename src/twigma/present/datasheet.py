"""A datasheet for TWIGMA: the questions of Gebru et al., "Datasheets for Datasets" (Communications of the
ACM 64(12), 2021), answered from :mod:`twigma.release.facts` (the same facts as the Croissant file's
Responsible-AI fields) and, where a question asks for a count, from the results of a run.

:func:`measured` reads a run's tables (``results/data_summary.csv`` of notebook 00,
``results/nsfw_agreement.csv`` and ``results/nsfw_by_cluster.csv`` of notebook 04) and
:func:`render` writes the datasheet as Markdown; a number whose table the run did not write is
reported as not measured. The report (``make report``) shows it as a page of the run at hand;
``docs/datasheet.md`` is the datasheet of the embedded sample's run, made with::

    .venv/bin/python -m twigma.present.datasheet --out <run of the sample> --target docs/datasheet.md
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from twigma.files import atomic_write
from twigma.paths import RunLayout
from twigma.release import facts

CITATION = ("Timnit Gebru, Jamie Morgenstern, Briana Vecchione, Jennifer Wortman Vaughan, Hanna Wallach, "
            "Hal Daumé III and Kate Crawford (2021), \"Datasheets for Datasets\", Communications of the ACM "
            "64(12): 86-92")

#: (section, question, facts keys answering it, measured sentence or None). The questions are Gebru et
#: al.'s, some merged or shortened; the sections are theirs.
QUESTIONS: list[tuple[str, str, tuple[str, ...], str | None]] = [
    ("Motivation", "For what purpose was the dataset created?", ("purpose",), None),
    ("Motivation", "Who created the dataset, and on behalf of which entity?", ("creators",), None),
    ("Motivation", "Who funded the creation of the dataset?", ("funding",), None),
    ("Composition", "What do the instances that comprise the dataset represent?", ("instances",), None),
    ("Composition", "How many instances are there in total?", (), "counts"),
    ("Composition", "Does the dataset contain all possible instances or is it a sample?", ("sample",), None),
    ("Composition", "What data does each instance consist of?", ("instance_data",), None),
    ("Composition", "Is there a label or target associated with each instance?", ("labels",), None),
    ("Composition", "Is any information missing from individual instances?", ("missing",), "missing"),
    ("Composition", "Are relationships between individual instances made explicit?", ("relationships",), "tweets"),
    ("Composition", "Are there recommended data splits?", ("splits",), None),
    ("Composition", "Are there any errors, sources of noise, or redundancies in the dataset?", ("noise",), None),
    ("Composition", "Is the dataset self-contained, or does it link to or otherwise rely on external resources?",
     ("external",), None),
    ("Composition", "Does the dataset contain data that might be considered confidential?", ("confidential",), None),
    ("Composition", "Does the dataset contain data that, if viewed directly, might be offensive, insulting, "
                    "threatening, or might otherwise cause anxiety?", ("offensive",), "nsfw"),
    ("Composition", "Does the dataset identify any subpopulations, or is it possible to identify individuals?",
     ("people",), None),
    ("Collection process", "How was the data associated with each instance acquired, and by what mechanisms?",
     ("collection",), None),
    ("Collection process", "If the dataset is a sample from a larger set, what was the sampling strategy?",
     ("sample",), None),
    ("Collection process", "Over what timeframe was the data collected?", ("timeframe",), "period"),
    ("Collection process", "Were any ethical review processes conducted?", ("ethics_review",), None),
    ("Collection process", "Were the individuals in question notified, and did they consent?", ("consent",), None),
    ("Preprocessing, cleaning, labeling", "Was any preprocessing, cleaning or labeling of the data done?",
     ("preprocessing",), None),
    ("Preprocessing, cleaning, labeling", "Was the raw data saved in addition to the preprocessed data?",
     ("raw_kept",), None),
    ("Uses", "Has the dataset been used for any tasks already? What other tasks could it be used for?",
     ("uses_intended",), None),
    ("Uses", "Is there anything about the composition of the dataset or the way it was collected that might "
             "impact future uses?", ("biases", "limitations"), None),
    ("Uses", "Are there tasks for which the dataset should not be used?", ("uses_out_of_scope",), None),
    ("Distribution", "How will the dataset be distributed, and under which licence or terms of use?",
     ("distribution",), None),
    ("Maintenance", "Who will be supporting, hosting and maintaining the dataset? Will it be updated?",
     ("maintenance",), None),
    ("Maintenance", "Is there an erratum?", ("errata",), None),
    ("Maintenance", "If others want to extend, augment, or contribute to the dataset, is there a mechanism?",
     ("contribute",), None),
]


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


@dataclass(frozen=True)
class Measured:
    """What a run measured that the datasheet states (:func:`measured`); None where its table is missing."""

    #: from data_summary.csv: images, tweets, the share of tweets with several images, of images without likes,
    #: of images flagged sensitive (among known flags), the first and last day
    n_images: int | None = None
    n_tweets: int | None = None
    share_tweets_multi_image: float | None = None
    share_likes_missing: float | None = None
    share_possibly_sensitive: float | None = None
    first: str | None = None
    last: str | None = None
    #: from nsfw_agreement.csv: the share of images above the detector's threshold, and the threshold
    share_nsfw_score: float | None = None
    nsfw_threshold: float | None = None
    #: from nsfw_by_cluster.csv: the clusters mostly NSFW, and how many clusters there are
    mostly_nsfw_clusters: tuple[int, ...] | None = None
    n_clusters: int | None = None
    #: from the manifest or the provenance records: whether the release read was synthetic, and its path
    synthetic: bool | None = None
    release: str | None = None


def measured(out: str | os.PathLike | None = None) -> Measured:
    """What the run under ``out`` measured that the datasheet states (a :class:`Measured`; a field is
    None when its table is missing).

    Fields: ``n_images``, ``n_tweets``, ``share_tweets_multi_image``, ``first``, ``last`` and
    ``share_likes_missing`` (from ``data_summary.csv``); ``share_possibly_sensitive`` (Twitter's flag,
    among known flags); ``share_nsfw_score`` and ``nsfw_threshold`` (images whose detector score is
    above the threshold, from ``nsfw_agreement.csv``); ``mostly_nsfw_clusters`` (clusters whose images
    are mostly NSFW, from ``nsfw_by_cluster.csv``); ``synthetic`` and ``release`` (from the manifest
    or the notebooks' provenance records).
    """
    run = RunLayout.published(out)
    got: dict = {}
    summary = _read(run.results / "data_summary.csv")
    if summary is not None:
        v = summary.set_index("metric")["value"]
        for key, cast in (("n_images", int), ("n_tweets", int), ("share_tweets_multi_image", float),
                          ("share_likes_missing", float), ("share_possibly_sensitive", float)):
            if key in v:
                got[key] = cast(float(v[key]))
        for key, metric in (("first", "first_created_at"), ("last", "last_created_at")):
            if metric in v:
                got[key] = str(v[metric])[:10]
    agreement = _read(run.results / "nsfw_agreement.csv")
    if agreement is not None and (agreement["scope"] == "all").any():
        a = agreement[agreement["scope"] == "all"].iloc[0]
        got["share_nsfw_score"] = float((a["both"] + a["score_only"]) / a["n"])
        got["nsfw_threshold"] = float(a["threshold"])
    by_cluster = _read(run.results / "nsfw_by_cluster.csv")
    if by_cluster is not None:
        mostly = by_cluster[by_cluster["mostly_nsfw"].astype(str).str.lower() == "true"]
        got["mostly_nsfw_clusters"] = tuple(int(c) for c in mostly["cluster"])
        got["n_clusters"] = int(len(by_cluster))
    records = []
    if run.manifest.is_file():
        records = list(json.loads(run.manifest.read_text()).get("notebooks", {}).values())
    else:
        records = [json.loads(p.read_text()) for p in sorted(run.records.glob("*.json"))]
    releases = [r.get("release") or {} for r in records]
    if releases:
        got["synthetic"] = any(r.get("synthetic") for r in releases)
        got["release"] = releases[0].get("path")
    return Measured(**got)


NOT_MEASURED = "not measured in this run ({table} is missing: run notebook {nb})"


def _measured_sentence(kind: str, m: Measured) -> str:
    if kind == "counts":
        if m.n_images is None:
            return NOT_MEASURED.format(table="results/data_summary.csv", nb="00_data")
        return (f"{m.n_images:,} images in {m.n_tweets:,} tweets "
                "(the paper: about 800,000 images).")
    if kind == "tweets":
        if m.share_tweets_multi_image is None:
            return NOT_MEASURED.format(table="results/data_summary.csv", nb="00_data")
        return f"{m.share_tweets_multi_image:.1%} of tweets carry more than one image."
    if kind == "missing":
        if m.share_likes_missing is None:
            return NOT_MEASURED.format(table="results/data_summary.csv", nb="00_data")
        return f"the like count is missing for {m.share_likes_missing:.1%} of images."
    if kind == "period":
        if m.first is None:
            return NOT_MEASURED.format(table="results/data_summary.csv", nb="00_data")
        return f"the tweets run from {m.first} to {m.last}."
    if kind == "nsfw":
        parts = []
        if m.share_possibly_sensitive is not None:
            parts.append(f"{m.share_possibly_sensitive:.1%} of images are flagged sensitive by Twitter "
                         "(among known flags)")
        if m.share_nsfw_score is not None:
            parts.append(f"{m.share_nsfw_score:.1%} have a detector score above {m.nsfw_threshold:g} (among "
                         "images whose flag and score are both known)")
        if m.mostly_nsfw_clusters is not None:
            c = m.mostly_nsfw_clusters
            parts.append(f"{len(c)} of the {m.n_clusters} clusters are mostly NSFW"
                         + (f" ({', '.join(map(str, c))})" if c else ""))
        if not parts:
            return NOT_MEASURED.format(table="results/nsfw_agreement.csv", nb="04_nsfw")
        return "; ".join(parts) + "."
    raise ValueError(f"unknown measured sentence {kind!r}")


def render(out: str | os.PathLike | None = None, *, title: str = "Datasheet for TWIGMA") -> str:
    """The datasheet as Markdown, its counts from the run under ``out``."""
    m = measured(out)
    synthetic = m.synthetic
    where = (" on the embedded synthetic sample: those numbers describe the sample's generator, not Twitter"
             if synthetic else f" on the release {m.release}" if m.release else "")
    lines = [f"# {title}", "",
             f"The questions of {CITATION}, answered for the TWIGMA release ({facts.TITLE}; Zenodo record "
             f"[{facts.ZENODO_URL.rsplit('/', 1)[1]}]({facts.ZENODO_URL}), DOI {facts.DOI}, {facts.LICENSE_NAME}).",
             "",
             "The answers are those of the compendium's facts module (`twigma.release.facts`), which also writes "
             "the Responsible-AI fields of the Croissant file (`make croissant`); they say *not known* where the "
             "paper's public material is silent. The lines marked *Measured* were computed by this run"
             + where + ".", ""]
    if synthetic:
        lines += ["> **Synthetic sample.** The measured numbers below come from the synthetic sample, not from "
                  "Twitter; run `make figures RELEASE=...` on the real release for its own.", ""]
    section = None
    for sec, question, keys, kind in QUESTIONS:
        if sec != section:
            lines += [f"## {sec}", ""]
            section = sec
        lines += [f"**{question}**", ""]
        for key in keys:
            value = facts.FACTS[key]
            if isinstance(value, str):
                lines += [value, ""]
            else:
                lines += [f"- {v}" for v in value] + [""]
        if kind:
            lines += [f"*Measured:* {_measured_sentence(kind, m)}", ""]
    lines += ["---", "", "Rendered by `twigma.present.datasheet` from the facts module and this run's results "
              "(`results/data_summary.csv`, `results/nsfw_agreement.csv`, `results/nsfw_by_cluster.csv`); "
              "`make report` shows it as a page of the run's report.", ""]
    return "\n".join(lines)


def write_datasheet(out: str | os.PathLike | None = None, target: str | os.PathLike | None = None) -> Path:
    """Write :func:`render` to ``target`` (default ``<out>/results/datasheet.md``)."""
    target = Path(target) if target else RunLayout.published(out).results / "datasheet.md"
    text = render(out)
    return atomic_write(target, lambda tmp: tmp.write_text(text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m twigma.present.datasheet", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="", help="output root of the run (default: the repository)")
    ap.add_argument("--target", default="", help="file to write (default: OUT/results/datasheet.md)")
    a = ap.parse_args(argv)
    out = str(Path(a.out).resolve()) if a.out else None
    print(f"wrote {write_datasheet(out, str(Path(a.target).resolve()) if a.target else None)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
