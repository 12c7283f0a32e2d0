"""What is known about the TWIGMA release: the one source of the facts that its Croissant
metadata (:mod:`twigma.release.croissant`) and its datasheet (:mod:`twigma.present.datasheet`) state.

Every statement comes from the team's specification (``shared/spec/paper.md``), which tags each one
[V] (read in a public source about the paper or its data), [I] (inferred) or [P] (this compendium's
choice where the paper is silent). Where the public material says nothing, the text says "not known"
rather than guessing. Numbers measured on a release are never written here: the Croissant writer
computes them from the release it describes, the datasheet reads them from the run's results.
"""
from __future__ import annotations

from twigma.release.schema import ZENODO_RECORD

NOT_KNOWN = "Not known: the paper's public material does not say."

TITLE = "TWIGMA: A dataset of AI-Generated Images with Metadata From Twitter"
CREATORS = ("Yiqun Chen", "James Zou")
DOI = f"10.5281/zenodo.{ZENODO_RECORD}"
ZENODO_URL = f"https://zenodo.org/records/{ZENODO_RECORD}"
DOI_URL = f"https://doi.org/{DOI}"
ARXIV_URL = "https://arxiv.org/abs/2306.08310"
LICENSE_URL = "https://spdx.org/licenses/CC-BY-4.0.html"
LICENSE_NAME = "CC BY 4.0"
PUBLISHER = "Zenodo"
#: The newest (fourth) version of the Zenodo record, May 2024, the first whose ``id`` column keeps every
#: digit, written as MAJOR.MINOR.PATCH for Croissant (Zenodo does not name it so).
NEWEST_VERSION = "4.0.0"
KEYWORDS = ("AI-generated images", "generative AI", "Twitter", "social media", "CLIP", "BLIP captions",
            "NSFW", "image metadata")
TEMPORAL_COVERAGE = "2021-01/2023-03"

CITATION_BIBTEX = (
    "@inproceedings{chen2023twigma,\n"
    f"  title = {{{TITLE}}},\n"
    "  author = {Chen, Yiqun and Zou, James},\n"
    "  booktitle = {Advances in Neural Information Processing Systems (NeurIPS 2023), "
    "Datasets and Benchmarks Track},\n"
    "  year = {2023},\n"
    "  eprint = {2306.08310},\n"
    "  archivePrefix = {arXiv}\n"
    "}\n"
    "@dataset{chen2023twigma_data,\n"
    f"  title = {{{TITLE}}},\n"
    "  author = {Chen, Yiqun and Zou, James},\n"
    "  publisher = {Zenodo},\n"
    "  year = {2023},\n"
    f"  doi = {{{DOI}}},\n"
    f"  url = {{{ZENODO_URL}}}\n"
    "}"
)

DESCRIPTION = (
    "TWIGMA is a table of about 800,000 AI-generated images "
    "posted on Twitter from January 2021 to March 2023, one row per image, with the tweet id, the image's "
    "name, the tweet's creation time, its likes, quotes and replies (re-collected in the week of 29 May "
    "2023), a BLIP caption, a k-means cluster (k = 10) and a 2-D UMAP of the CLIP ViT-L/14 image "
    "embeddings, Twitter's sensitive-media flag and a CLIP-based NSFW score. No images, tweet text or user "
    "data are released: content must be retrieved by tweet id under X's developer terms."
)

#: One entry per topic; the Croissant RAI fields and the datasheet's answers are built from these.
FACTS: dict[str, str | tuple[str, ...]] = {
    "purpose": (
        "To study AI-generated images shared on social media at scale: how their themes change over time, "
        "how much of them is NSFW, how they differ from natural images and human artwork, and how their "
        "similarity to natural images relates to engagement (the paper's abstract)."),
    "creators": "Yiqun Chen and James Zou, the authors of the NeurIPS 2023 paper.",
    "funding": NOT_KNOWN,
    "instances": (
        "Each row is one AI-generated image posted in a tweet; a tweet can carry several images, so rows "
        "that share a tweet id belong to one tweet."),
    "sample": (
        "A collection of tweets with AI-generated images found by the authors, not every such tweet: the "
        "curation flow (the paper's Figure 1a) ends at about 800,000 images. The exact queries, accounts "
        "and filters used are not known here."),
    "instance_data": (
        "Metadata only: tweet id, image name (Twitter media id), creation time, likes, quotes and replies, "
        "BLIP caption(s), cluster label, Twitter's sensitive-media flag, NSFW score and UMAP coordinates. "
        "Not released: images, CLIP embeddings, tweet text, retweet counts, hashtags, generator names, and "
        "the natural-image and artwork comparison sets."),
    "labels": (
        "No target label. The cluster label, caption, NSFW score and UMAP coordinates are model outputs "
        "(machine annotations), not human labels."),
    "missing": (
        "Likes, quotes and replies are missing for tweets deleted by the week of 29 May 2023, when they "
        "were re-collected. Versions of the release before May 2024 stored the tweet id as a "
        "floating-point number, which lost digits."),
    "relationships": "Images of one tweet share its id; no other relation between rows is given.",
    "splits": "None: the release is not split into training and test sets.",
    "noise": (
        "Captions, clusters and NSFW scores are model outputs and carry the models' errors. Engagement is "
        "a single snapshot taken in the week of 29 May 2023. Whether the table has duplicate images "
        "(the same picture posted in several tweets) is not known."),
    "external": (
        "Not self-contained: the images and tweets stay on Twitter (X) and must be retrieved by tweet id "
        "under X's developer terms; deleted or protected tweets can no longer be retrieved."),
    "confidential": (
        "No private data is known to be included: the rows describe public tweets. No raw Twitter content "
        "(images, tweet text, user data) is released."),
    "offensive": (
        "Yes. No NSFW filtering was applied: a substantial share of the images is flagged sensitive by "
        "Twitter and by the CLIP-based detector, and an earlier version of the authors' site said two of "
        "the ten clusters are mostly NSFW."),
    "people": (
        "Not directly, but each tweet id links to a public tweet and through it to the account that posted "
        "it, so the table is pseudonymous, not anonymous. Whether images depict real, identifiable people is "
        "not known. No demographic attribute of users or depicted people is given."),
    "collection": (
        "Tweets posted on Twitter from January 2021 to March 2023 that carry AI-generated images were "
        "collected by the authors; how (the Twitter API or otherwise), with which queries and by what rule "
        "an image was judged AI-generated is not known here. Likes, quotes and replies were re-collected "
        "in the week of 29 May 2023."),
    "collection_type": ("Others: collected from Twitter; the method is not known here.",),
    "timeframe": (
        "Tweets from January 2021 to March 2023; engagement re-collected in the week of 29 May 2023; when "
        "the tweets themselves were collected is not known."),
    "ethics_review": NOT_KNOWN,
    "consent": (
        "Not known whether the posting users were notified or consented; the data are public tweets, "
        "referred to by id only."),
    "preprocessing": (
        "Captions generated with BLIP (Li et al. 2022; variant not known).",
        "Image embeddings with CLIP ViT-L/14, most likely OpenAI's weights (inferred); the embeddings are "
        "not released.",
        "k-means clustering (k = 10) of the image embeddings; clusters numbered 1 to 10.",
        "A 2-D UMAP of the image embeddings; its parameters are not known.",
        "An NSFW score from a CLIP-based detector, most likely LAION's CLIP-based NSFW detector (inferred).",
        "No NSFW filtering.",
        "May 2024: the id column was fixed (earlier versions stored it as a float, losing digits)."),
    "annotation_tools": (
        "BLIP (Li et al. 2022) for the captions; variant not known.",
        "CLIP ViT-L/14 image embeddings, most likely OpenAI's weights (inferred), for the clusters and the UMAP.",
        "k-means (k = 10) for the clusters; UMAP (parameters not known) for the 2-D coordinates.",
        "A CLIP-based NSFW detector, most likely LAION's (inferred), for the NSFW score."),
    "raw_kept": (
        "The raw tweets and images are not part of the release; whether the authors keep them is not "
        "known."),
    "uses_intended": (
        "Research on AI-generated images shared on social media: their growth, themes over time, NSFW "
        "content and engagement (the paper's analyses, which this compendium reproduces).",
        "Comparing AI-generated images with natural images and human artwork once the images are "
        "retrieved and embedded (the paper's distinctness, variability and likes analyses).",
        "Finding human images that may have inspired AI-generated ones by similarity search (the paper's "
        "first version)."),
    "uses_out_of_scope": (
        "Identifying, profiling or targeting the users who posted the tweets (this compendium's advice; "
        "the authors' own statement of out-of-scope uses is not known here).",
        "Using the NSFW score or the sensitive flag as ground truth of content safety: both are noisy "
        "signals (this compendium's advice).",
        "Drawing conclusions about all AI-generated images or all of Twitter: the collection's selection "
        "is not known (this compendium's advice)."),
    "biases": (
        "Selection: only tweets the authors' collection found; its queries and filters are not known, so "
        "which generators, languages and communities are covered is not known.",
        "Platform: Twitter users who share AI-generated images are not a random sample of users or of "
        "AI-generated images.",
        "Engagement is one snapshot (week of 29 May 2023): older tweets had longer to gather likes "
        "(inferred), and deleted tweets have none, which need not be at random.",
        "Sensitive content is concentrated in a few clusters, so shares computed over all images mix "
        "very different kinds of content."),
    "limitations": (
        "Metadata only: no images, tweet text or embeddings; analyses of the images need them retrieved "
        "by tweet id, and deleted tweets are gone.",
        "Releases before May 2024 stored ids as floats, which lost digits: use the newest version.",
        "Captions, clusters, NSFW scores and UMAP coordinates are model outputs whose exact models and "
        "parameters are partly not known.",
        "The release's file name, size and row count are not documented."),
    "social_impact": (
        "Documents how AI-generated images spread on a large social platform, including NSFW content; "
        "linking rows to public tweets could expose users to unwanted attention. No assessment by the "
        "authors is known here."),
    "distribution": (
        f"On Zenodo, record {ZENODO_RECORD} (DOI {DOI}), under {LICENSE_NAME}; four versions so far, the "
        "newest from May 2024. Twitter content retrieved by id falls under X's developer terms, not the "
        "release's licence."),
    "maintenance": (
        f"The authors publish versions on Zenodo record {ZENODO_RECORD}; the newest (May 2024) fixed the id "
        "column. No maintenance plan, update schedule or contact procedure beyond the Zenodo record and "
        "the paper is known here. Tweets deleted after May 2023 stay in the table."),
    "errata": "The May 2024 version fixed the id column; no other erratum is known here.",
    "contribute": NOT_KNOWN,
}


def text(key: str) -> str:
    """A fact as one paragraph (a list of statements joined into sentences)."""
    value = FACTS[key]
    return value if isinstance(value, str) else " ".join(value)


def items(key: str) -> list[str]:
    """A fact as a list of statements."""
    value = FACTS[key]
    return [value] if isinstance(value, str) else list(value)
