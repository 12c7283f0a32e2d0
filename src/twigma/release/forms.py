"""The forms of ``image_name`` and the key by which photos and embeddings are matched to rows.

``id`` is strict, since results depend on it (tweets are counted and rehydrated by it): plain
digits only, never a float. ``image_name`` is documented only as "Twitter media id", and only
the image analyses use it (to match photos and embeddings to rows), so it is lenient: any
non-empty token is accepted and its form is recorded in ``df.attrs["image_name_form"]``
(:data:`IMAGE_NAME_FORMS`). A float-formatted ``image_name`` (``1.6e+18``,
``1609459200000000000.0``, a Parquet float column, or digits rounded through a float) has lost
digits: it loads with a warning that images cannot be matched to rows, so notebooks 00-05 still run.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twigma.files import IMAGE_SUFFIX_PATTERN
from twigma.release.schema import ZENODO_RECORD

# --------------------------------------------------------------------------------------
# image_name: what form the release uses, and the key photos and embeddings are matched by
# --------------------------------------------------------------------------------------

#: The forms of ``image_name`` told apart by :func:`image_name_form` (``mixed``: more than one).
IMAGE_NAME_FORMS = {
    "media_id": "Twitter media id, plain digits (the photo's media key is 3_<media id>)",
    "file_code": "the photo's file code, as in https://pbs.twimg.com/media/<file code>.jpg",
    "file_name": "a file name: a media id or file code with an image extension (.jpg, .png, ...)",
    "float": "a media id written as a floating-point number: digits are lost, images cannot be matched",
    "other": "a token of another shape (spaces, slashes, ...)",
}
_FORM_PATTERNS = (  # tried in this order; the first that matches decides
    ("media_id", r"^[0-9]+$"),
    ("float", r"^[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?$|^(?i:[+-]?(?:nan|inf|infinity))$"),
    ("file_name", r"^[^/\\]+" + IMAGE_SUFFIX_PATTERN),
    ("file_code", r"^[A-Za-z0-9_-]+$"),
)
IMAGE_EXTENSION = IMAGE_SUFFIX_PATTERN  # twigma.files.IMAGE_SUFFIXES, as a regular expression
_FLOAT_ADVICE = (
    "the digits a float lost cannot be recovered from this file, so downloaded photos and embeddings "
    "cannot be matched to its rows: the image analyses (notebooks 06 to 09) will find no match. "
    "The release-only notebooks (00 to 05) do not use image_name and run as usual. To match images, "
    f"download the newest version of Zenodo record {ZENODO_RECORD} (https://zenodo.org/records/{ZENODO_RECORD}; "
    "`make data`, see docs/real-data.md) and point RELEASE at it; if you wrote this file yourself, read "
    "image_name as text (pandas: dtype=str) before saving."
)


@dataclass(frozen=True)
class ImageNameForm:
    """What :func:`image_name_form` finds: the ``form`` of the column (a key of
    :data:`IMAGE_NAME_FORMS` or ``mixed``), the number of rows of each form in ``counts``, and
    the first float-formatted row and value (``None`` when there is none)."""

    form: str
    counts: dict
    first_float_row: int | None = None
    first_float_value: str | None = None
    rounded: bool = False  # digits that all went through a float (every one a multiple of 256)

    @property
    def n_float(self) -> int:
        return int(self.counts.get("float", 0))


def image_name_form(names: pd.Series) -> ImageNameForm:
    """The form of a typed ``image_name`` column: ``media_id``, ``file_code``, ``file_name``,
    ``float``, ``other`` or ``mixed``, with counts per form (vectorised; one pass per form).

    A column of 18-19 digit media ids (at least 20 rows) that are all multiples of 256 went
    through a float64 (which keeps 53 bits) and is reported as ``float`` with ``rounded=True``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    s = names.astype("str")
    text = pa.array(s, type=pa.string())
    labels = [label for label, _ in _FORM_PATTERNS] + ["other"]
    code = np.full(len(s), len(labels) - 1, dtype=np.int8)  # index into labels
    left = np.ones(len(s), dtype=bool)
    for i, (label, pattern) in enumerate(_FORM_PATTERNS):
        if label == "media_id":  # the usual case, in one fast pass
            hit = pc.ascii_is_decimal(text).to_numpy(zero_copy_only=False) & (pc.utf8_length(text).to_numpy() > 0)
        else:
            where = np.flatnonzero(left)
            hit = np.zeros(len(s), dtype=bool)
            hit[where] = pc.match_substring_regex(text.take(pa.array(where)), pattern).to_numpy(zero_copy_only=False)
        code[hit & left] = i
        left &= ~hit
        if not left.any():
            break
    rounded = False
    if len(s) >= 20 and (code == 0).all():
        lengths = pc.utf8_length(text)
        # float64 keeps 53 bits: an 18-19 digit id that went through a float is a multiple of 256;
        # n % 256 depends only on the last 8 digits, since 10**8 is a multiple of 256
        def multiples_of_256(t) -> bool:
            return bool((pc.cast(pc.utf8_slice_codeunits(t, -8), pa.int64()).to_numpy() % 256 == 0).all())

        if pc.min(lengths).as_py() >= 18 and pc.max(lengths).as_py() <= 19 and \
                multiples_of_256(text.slice(0, 1000)) and multiples_of_256(text):  # the first rows decide most
            code[:] = labels.index("float")
            rounded = True
    n = np.bincount(code, minlength=len(labels))
    counts = {labels[i]: int(n[i]) for i in np.argsort(labels) if n[i]}
    floats = np.flatnonzero(code == labels.index("float"))
    first_row = int(s.index[floats[0]]) if len(floats) else None
    first_value = str(s.iloc[floats[0]]) if len(floats) else None
    label = next(iter(counts)) if len(counts) == 1 else "mixed"
    return ImageNameForm(label, counts, first_row, first_value, rounded)


def image_keys(names: pd.Series) -> pd.Series:
    """The key each ``image_name`` is matched by: the name without an image extension
    (``FrXy7_aWcAE1a2b.jpg`` -> ``FrXy7_aWcAE1a2b``), else the name itself. Downloaded photos
    are named ``<key>.<ext>`` and embedding ids are file stems, so both compare with this key."""
    return names.astype("str").str.replace(IMAGE_EXTENSION, "", regex=True)


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside the release package, for warnings that point at the caller."""
    import inspect

    package = str(Path(__file__).parent)
    frame, level = inspect.currentframe(), 0
    while frame is not None and str(Path(frame.f_code.co_filename).parent) == package:
        frame, level = frame.f_back, level + 1
    return max(level, 1)


def note_image_name_form(df: pd.DataFrame, path: Path) -> ImageNameForm:
    """Record the form of ``image_name`` in ``df.attrs`` and warn when some of it is float-formatted."""
    info = image_name_form(df["image_name"])
    df.attrs["image_name_form"] = info.form
    df.attrs["image_name_forms"] = dict(info.counts)
    if info.n_float:
        if info.rounded:
            what = ("every image_name is a multiple of 256: the media ids were rounded through a "
                    "floating-point number")
        else:
            share = "every image_name is" if info.form == "float" else \
                f"{info.n_float:,} of {len(df):,} image_name values are"
            what = (f"{share} written as a floating-point number (first at data row {info.first_float_row}: "
                    f"{info.first_float_value!r})")
        warnings.warn(f"{path}, column 'image_name': {what}, so matching images to rows is not "
                      f"possible.\n  What to do: {_FLOAT_ADVICE}",
                      UserWarning, stacklevel=_caller_stacklevel())
    return info


