"""The release's schema: its columns and their types, and the error a bad release raises.

Typed columns (see :data:`COLUMNS`):

========================  ==========================  =========================================
column                    dtype                       meaning
========================  ==========================  =========================================
id                        str (digits)                tweet id (19 digits for 2021-2023)
image_name                str (any non-empty token)   the image's name: its media id, photo file code or file name
created_at                datetime64[us, UTC]         tweet creation time
like_count                Int64 (nullable)            likes, week of 29 May 2023; NA = deleted
quote_count               Int64 (nullable)            quotes, same week
reply_count               Int64 (nullable)            replies, same week
all_captions              str                         BLIP caption(s); a list literal is joined by " | " here
label_10_cluster          int8                        k-means cluster (k = 10), 1..10
possibly_sensitive        boolean (nullable)          Twitter's sensitive-media flag
nsfw_score                float32                     CLIP-based NSFW detector score, [0, 1]
UMAP_dim_1, UMAP_dim_2    float32                     2-D UMAP of the CLIP image embeddings
========================  ==========================  =========================================
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twigma.errors import UserError

#: Bump when the typed schema or the validation changes: old caches are then ignored.
SCHEMA_VERSION = 3  # 2: image_name accepts any non-empty token; 3: tweet ids and dates are checked for range

#: column -> (dtype after loading, meaning). The order is the release's.
COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("str", "tweet id, a string of digits (never a float)"),
    "image_name": ("str", "name of the image: its Twitter media id, photo file code or file name (any non-empty token)"),
    "created_at": ("datetime64[us, UTC]", "tweet creation time, UTC"),
    "like_count": ("Int64", "likes in the week of 29 May 2023; missing when the tweet was deleted"),
    "quote_count": ("Int64", "quotes in the week of 29 May 2023; missing when the tweet was deleted"),
    "reply_count": ("Int64", "replies in the week of 29 May 2023; missing when the tweet was deleted"),
    "all_captions": ("str", "BLIP caption(s) of the image. That a row may hold several captions is our reading of "
                            "the plural name (not documented); where a row holds them as a list literal, this "
                            "loader joins them with ' | ' (our choice, not the release's). In the results tables, "
                            "a caption or name that a spreadsheet would read as a formula (starting with =, +, -, @, "
                            "a tab or a carriage return) is written with a leading single quote (OWASP's "
                            "CSV-injection advice)"),
    "label_10_cluster": ("int8", "k-means cluster (k = 10) of the CLIP ViT-L/14 image embedding, 1..10"),
    "possibly_sensitive": ("boolean", "Twitter's sensitive-media flag"),
    "nsfw_score": ("float32", "CLIP-based NSFW detector score in [0, 1]"),
    "UMAP_dim_1": ("float32", "first coordinate of the 2-D UMAP of the CLIP image embeddings"),
    "UMAP_dim_2": ("float32", "second coordinate of the 2-D UMAP of the CLIP image embeddings"),
}
REQUIRED = list(COLUMNS)
COUNT_COLUMNS = ["like_count", "quote_count", "reply_count"]
N_CLUSTERS = 10
CAPTION_SEPARATOR = " | "

ZENODO_RECORD = "8031785"
FLOAT_ID_ADVICE = (
    "Versions of the TWIGMA release before May 2024 stored the tweet id column as a floating-point "
    "number, which loses digits (a 19-digit id cannot be held exactly by a float). The newest version "
    f"of Zenodo record {ZENODO_RECORD} (May 2024) fixed this: download it again "
    f"(https://zenodo.org/records/{ZENODO_RECORD}; see docs/real-data.md) and point RELEASE at the new "
    "file. If you wrote this file yourself, read the ids as text (pandas: dtype=str) before saving."
)


#: Twitter's first tweet was sent on 21 March 2006: no tweet of any release is older.
TWITTER_FIRST_TWEET = "2006-03-21"
#: The release's engagement counts were re-collected in the week of 29 May 2023 (Monday to Sunday):
#: no tweet of the release can be younger than the end of that week.
COLLECTED_BY = "2023-06-05"
#: The period the paper studies, January 2021 to March 2023 (end exclusive): dates outside it are
#: reported by ``twigma validate`` (:func:`twigma.release.period.study_period`), not refused.
STUDY_START, STUDY_END = "2021-01-01", "2023-04-01"
#: The largest tweet id: ids are signed 64-bit integers (the X API accepts ``^[0-9]{1,19}$``).
MAX_TWEET_ID = 2 ** 63 - 1


def _is_parquet_file(file: str) -> bool:
    """Whether the named file is Parquet (its magic, else its suffix): rows are then not CSV lines."""
    try:
        with open(file, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return str(file).lower().endswith((".parquet", ".pq"))


class ReleaseError(UserError, ValueError):
    """A release file that cannot be used as it is.

    Attributes name the ``file``, the ``column`` and the first offending ``row`` (0-based data
    row; the file line is ``row + 2`` for a CSV with a header, and a Parquet file has no lines)
    where they apply.
    """

    def __init__(self, file, problem: str, *, column: str | None = None, row: int | None = None,
                 value=None, advice: str = ""):
        self.file = str(file)
        self.column = column
        self.row = row
        self.value = value
        self.problem = problem
        self.advice = advice
        where = [f"{self.file}"]
        if column is not None:
            where.append(f"column '{column}'")
        if row is not None:
            where.append(f"data row {row} (row {row} of the Parquet table)" if _is_parquet_file(self.file)
                         else f"data row {row} (line {row + 2} of a CSV with a header)")
        msg = ", ".join(where) + f": {problem}"
        if value is not None:
            msg += f" (value: {value!r})"
        if advice:
            msg += f"\n  What to do: {advice}"
        super().__init__(msg)


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    hit: bool


