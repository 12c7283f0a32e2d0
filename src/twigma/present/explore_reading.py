"""What notebook 10 says of its map, its example selection, its image search and its theme tracker:
small typed results (frozen dataclasses) whose fields the notebook's sentences hold."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class MapSummary:
    """What notebook 10 says of the map (:func:`map_summary`)."""

    largest: str  #: the largest cluster (label)
    largest_share: float
    smallest: str
    smallest_share: float
    compact: str  #: the cluster with the smallest spread
    compact_spread: float  #: mean of the standard deviations of x and y, in UMAP units
    diffuse: str
    diffuse_spread: float
    last_months: tuple[str, str]  #: the first and the last of the table's last three months


def map_summary(table: pd.DataFrame) -> MapSummary:
    """What notebook 10 says of the map (:class:`MapSummary`): the largest and smallest cluster with
    their shares of the images, the most compact and most diffuse with their spreads, the last three
    months. ``table``: :func:`map_points` (every image) or :func:`map_table` (the same numbers)."""
    sizes = table["cluster"].value_counts(normalize=True)
    spread = table.groupby("cluster", observed=True)[["x", "y"]].std().mean(axis=1)
    months = sorted(str(v) for v in table["month"].unique())
    return MapSummary(largest=sizes.index[0], largest_share=float(sizes.iloc[0]), smallest=sizes.index[-1],
                      smallest_share=float(sizes.iloc[-1]), compact=str(spread.idxmin()),
                      compact_spread=float(spread.min()), diffuse=str(spread.idxmax()),
                      diffuse_spread=float(spread.max()),
                      last_months=(months[max(0, len(months) - 3)], months[-1]))


@dataclass(frozen=True)
class SelectionSummary:
    """What notebook 10 says of a selection (:func:`selection_summary`)."""

    n: int  #: rows
    likes_max: float  #: NaN with no row
    likes_min: float
    n_nsfw: int  #: rows with an NSFW score above the cut-off
    nsfw_above: float  #: the cut-off
    images: int  #: images of the rows' tweets (the rows themselves without an ``images`` column)


def selection_summary(selection: pd.DataFrame, nsfw_above: float = 0.5) -> SelectionSummary:
    """Of a :func:`selection_table` or :func:`most_liked_tweets`: its rows, their likes' range, how many
    have an NSFW score above ``nsfw_above`` and how many images they hold."""
    likes = selection["likes"]
    images = int(selection["images"].sum()) if "images" in selection else int(len(selection))
    return SelectionSummary(n=int(len(selection)), likes_max=float(likes.max()) if len(likes) else float("nan"),
                            likes_min=float(likes.min()) if len(likes) else float("nan"),
                            n_nsfw=int(selection["nsfw_score"].gt(nsfw_above).sum()), nsfw_above=float(nsfw_above),
                            images=images)


def same_cluster_share(hits: pd.DataFrame) -> float:
    """Of an image search's results (the query image first): the share of its neighbours that are
    in the query image's cluster."""
    return float((hits["cluster"].iloc[1:] == hits["cluster"].iloc[0]).mean())


@dataclass(frozen=True)
class TrackReading:
    """What notebook 10 says of a theme tracker's result (:func:`track_reading`)."""

    estimated: bool  #: a trend was fitted (else ``note`` says why not)
    flat: bool  #: the trend is not significant at the tracker's alpha
    likes_higher: bool  #: matching images have more log(1 + likes) than the others of the same months
    likes_diff: float  #: the absolute difference in mean log(1 + likes)
    top_cluster: int  #: the cluster where the matching captions concentrate most
    top_share: float  #: the matching share within it
    top_lift: float  #: that share over the overall share


def track_reading(tracked) -> TrackReading:
    """A :class:`TrackReading` of :func:`twigma.analysis.track.track`'s result."""
    tr = tracked.trend.iloc[0]
    top = tracked.clusters.sort_values("share", ascending=False).iloc[0]
    diff = float(tr["log1p_likes_diff_same_months"])
    return TrackReading(estimated=bool(pd.notna(tr["slope"])), flat=tr["direction"] == "flat",
                        likes_higher=bool(diff > 0), likes_diff=abs(diff), top_cluster=int(top["cluster"]),
                        top_share=float(top["share"]), top_lift=float(top["lift"]))
