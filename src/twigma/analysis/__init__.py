"""Analyses of the release, one module per block of the paper.

overview    counts, monthly growth (Figure 1b, claims C1, C2)
text        caption words: tokenising, counts, distinctive words per group (C3, themes)
themes      cluster shares over time and their trend tests (C4, C5)
nsfw        Twitter's flag and the detector score by cluster and month (C6)
engagement  likes, quotes and replies
claims      the paper's claims checked against the tables above
"""
