"""What the paper states, as numbers: the one place the claims' checks, the robustness grid and the
notebooks' defaults take them from (../shared/spec/paper.md, sections 1, 3 and 4).

A notebook's parameters cell holds literals only (papermill), so it repeats these values as its
defaults; ``tests/analysis/test_paper.py`` checks that every such default equals the value here.
"""
from __future__ import annotations

#: C1: "over 800,000" AI-generated images (abstract).
N_IMAGES = 800_000
#: C1: posted "from January 2021 to March 2023" (first and last month, YYYY-MM).
FIRST_MONTH, LAST_MONTH = "2021-01", "2023-03"
#: C3: the captions' prominent words (authors' demo text).
PROMINENT_WORDS: tuple[str, ...] = ("painting", "woman", "man", "hair")
#: C4: the clusters that "have experienced a steady decline over time" (authors' demo text, "Figure 2").
DECLINING: tuple[int, ...] = (1, 3, 4)
#: C5: the clusters that "showed a consistent increase".
RISING: tuple[int, ...] = (8, 9)
#: C6: how many of the ten clusters are mostly NSFW (an earlier version of the authors' site).
N_MOSTLY_NSFW = 2
#: The release's k-means clusters: k = 10.
N_CLUSTERS = 10
