"""Aggregations run where the data are: DuckDB over the release's typed Parquet cache.

At DiffusionDB's scale (14 million rows) a pandas copy of the whole table in every notebook kernel
costs gigabytes and minutes; most analyses need only a small table of counts (per month, per
cluster, per distinct caption). This module asks DuckDB for those tables straight from the typed
Parquet copy that :func:`~twigma.release.load_release` writes on the first load (validation happens
there, once), reading only the columns a query names, streaming, in bounded memory, and returns
small pandas tables to the existing analysis functions, which are unchanged.

Why DuckDB: an embedded, widely used and actively maintained analytical engine (MIT) that reads
Parquet with column projection, runs group-bys out of core under a memory limit, uses as many
threads as it is given and returns pandas/Arrow tables; no server, one wheel. (Polars' lazy frames
would do as well; pyarrow compute lacks a count-distinct group-by over a file without loading it.)

The results equal those of the pandas path exactly (tests/test_scale.py):

* :func:`monthly_counts` is :func:`twigma.analysis.overview.monthly_counts`;
* :func:`caption_counts` lists each distinct caption (missing ones as ``""``, as
  :func:`twigma.analysis.text.term_counts` reads them) with its number of images, optionally per
  group column; :func:`twigma.analysis.text.caption_term_counts` turns it into
  :func:`~twigma.analysis.text.term_counts`' table (each distinct caption tokenised once, as there).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from twigma import paths
from twigma.release.load import cache_path, load_release
from twigma.release.schema import COLUMNS

#: Memory DuckDB may use per query (it spills to its temporary folder beyond it).
MEMORY_LIMIT = os.environ.get("TWIGMA_DUCKDB_MEMORY", "2GB")


def typed_cache(path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """The typed Parquet copy of the release at ``path``, made by :func:`load_release` first when it
    is not there yet (the first load parses, validates and caches the whole file)."""
    p = paths.release_file(path)
    root = paths.resolve(cache_dir) if cache_dir else paths.cache_root()
    cpath = cache_path(p, root) if p.exists() and p.is_file() else None
    if cpath is None or not cpath.exists():
        load_release(path, cache_dir=cache_dir, columns=["label_10_cluster"])  # raises ReleaseError for a bad file
        cpath = cache_path(p, root)
    return cpath


def connect(threads: int | None = None, memory_limit: str = MEMORY_LIMIT):
    """A DuckDB connection with bounded memory (timestamps are read as UTC: without the ICU
    extension DuckDB casts a TIMESTAMPTZ to its UTC wall time) (``threads``: default all cores)."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": memory_limit,
                                 **({"threads": int(threads)} if threads else {})})
    con.execute("SET enable_progress_bar = false")  # no bar in the notebooks' outputs
    return con


def sql(query: str, path: str | os.PathLike | None = None, cache_dir=None, params: list | None = None,
        con=None) -> pd.DataFrame:
    """Run ``query`` with the table ``release`` bound to the typed cache of ``path``; a pandas table."""
    own = con is None
    con = con or connect()
    try:
        src = str(typed_cache(path, cache_dir)).replace("'", "''")
        con.execute(f"CREATE OR REPLACE TEMP VIEW release AS SELECT * FROM read_parquet('{src}')")
        return con.execute(query, params or []).df()
    finally:
        if own:
            con.close()


def monthly_counts(path: str | os.PathLike | None = None, cache_dir=None) -> pd.DataFrame:
    """:func:`twigma.analysis.overview.monthly_counts` on the engine: tweets (distinct ids) and images
    per calendar month (UTC), every month between the first and the last, zeros where none."""
    out = sql("SELECT strftime(CAST(created_at AS TIMESTAMP), '%Y-%m') AS month, count(DISTINCT id) AS n_tweets, "
              "count(*) AS n_images FROM release GROUP BY 1 ORDER BY 1", path, cache_dir)
    out = out.set_index("month")
    full = pd.period_range(out.index.min(), out.index.max(), freq="M").strftime("%Y-%m")
    out = out.reindex(full, fill_value=0).rename_axis("month").reset_index()
    return out.astype({"n_tweets": "int64", "n_images": "int64"})


def caption_counts(path: str | os.PathLike | None = None, by: str | None = None, cache_dir=None) -> pd.DataFrame:
    """Each distinct caption with its number of images (``n``), per value of the column ``by`` when
    given; missing captions are counted as ``""``. Sorted by caption (and group)."""
    if by is not None and by not in COLUMNS:
        raise ValueError(f"caption_counts(by={by!r}): not a release column.")
    key = f', "{by}"' if by else ""
    return sql(f'SELECT coalesce(all_captions, \'\') AS caption{key}, count(*) AS n FROM release '
               f'GROUP BY ALL ORDER BY caption{key}', path, cache_dir)
