"""The TWIGMA release table: its schema, a validating loader and a typed Parquet cache.

The release (Zenodo record 8031785) is one row per image. :func:`load_release` reads a CSV, CSV.gz or
Parquet file in that format, checks every column, converts it to compact types and caches the typed
table as Parquet under ``data/interim/`` so that later reads skip the CSV parse. Bad input raises
:class:`ReleaseError`, whose message names the file, the column, the first offending row and what to do.

The modules, in the order data flows through them:

- :mod:`~twigma.release.schema`: the columns, their types and meanings, :class:`ReleaseError`.
- :mod:`~twigma.release.forms`: the forms of ``image_name`` and the key photos are matched by.
- :mod:`~twigma.release.sniff`: what a file is before parsing: its encoding, a web page, a repeated column.
- :mod:`~twigma.release.dates`: creation times: other formats named, impossible dates refused, and
  :func:`study_period`, the count and range of dates outside the paper's period.
- :mod:`~twigma.release.parse`: the reference parser, one checked parser per column, :func:`validate`.
- :mod:`~twigma.release.fast`: the certified pyarrow fast path for CSV and CSV.gz.
- :mod:`~twigma.release.load`: :func:`load_release`, the typed cache, :func:`data_dictionary`.

``id`` is strict, since results depend on it (tweets are counted and rehydrated by it): plain digits only,
never a float. ``image_name`` is documented only as "Twitter media id", and only the image analyses use
it, so it is lenient: any non-empty token is accepted and its form is recorded in
``df.attrs["image_name_form"]``. A float-formatted ``image_name`` has lost digits: it loads with a
warning that images cannot be matched to rows, so notebooks 00-05 still run.
"""
from twigma.release.dates import StudyPeriod, study_period
from twigma.release.forms import IMAGE_NAME_FORMS, ImageNameForm, image_keys, image_name_form
from twigma.release.load import cache_path, data_dictionary, is_synthetic, load_release, provenance
from twigma.release.parse import read_raw, validate
from twigma.release.schema import (
    CAPTION_SEPARATOR,
    COLUMNS,
    COUNT_COLUMNS,
    N_CLUSTERS,
    REQUIRED,
    SCHEMA_VERSION,
    ZENODO_RECORD,
    CacheInfo,
    ReleaseError,
)

__all__ = ["CAPTION_SEPARATOR", "COLUMNS", "COUNT_COLUMNS", "IMAGE_NAME_FORMS", "N_CLUSTERS", "REQUIRED",
           "SCHEMA_VERSION", "ZENODO_RECORD", "CacheInfo", "StudyPeriod", "ImageNameForm", "ReleaseError", "cache_path",
           "data_dictionary", "image_keys", "image_name_form", "is_synthetic", "load_release", "provenance",
           "read_raw", "study_period", "validate"]
