"""Croissant 1.1 metadata (MLCommons' JSON-LD for ML datasets, with its Responsible-AI fields) of a release file.

:func:`describe` returns the JSON-LD of one release file; :func:`write_croissant` writes it with
:func:`twigma.files.atomic_write` (``twigma croissant``, ``make croissant``: ``results/croissant.json``
of a run). The description holds:

* the release file as one ``cr:FileObject``: its name, where to find it (``contentUrl``), its SHA-256,
  its size in bytes and its encoding format (``text/csv`` also for a gzipped CSV, which Croissant
  readers such as mlcroissant recognise by its magic bytes; ``application/x-parquet`` for Parquet);
* one ``cr:RecordSet``, ``images``, with one ``cr:Field`` per column of the file (the schema's columns
  in :data:`twigma.release.schema.COLUMNS`, with their meanings as descriptions, then any extra column
  as text); ``id`` and ``image_name`` are ``sc:Text``, never a number;
* the Zenodo record, the DOI, the licence (CC BY 4.0), the citation (BibTeX) and the version;
* the Responsible-AI fields (``rai:``), written from :mod:`twigma.release.facts` and, for the numbers,
  from the release itself (:func:`measured`).

A Croissant reader reads the file's text with its own rules, not the loader's (:func:`reader_notes`
lists where the two differ on the file at hand, and the description says so): mlcroissant 1.1 reads a
CSV with pandas' type guessing and casts each value to its field's type, so, for example, a caption
written as a list literal comes back as the literal, not joined with " | " as :func:`load_release`
joins it. ``typed=True`` describes instead a typed Parquet copy of the loader's table, written beside
the metadata, which any Croissant reader reads exactly as :func:`load_release` returns it.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pandas as pd

from twigma import paths
from twigma.files import atomic_write, sha256
from twigma.release import facts
from twigma.release.load import load_release, provenance
from twigma.release.parse import is_gzip, is_parquet
from twigma.release.schema import COLUMNS

#: Croissant 1.1, and its Responsible-AI vocabulary, whose specification asks for its own conformsTo entry.
CONFORMS_TO = ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"]
#: The JSON-LD context of a Croissant 1.1 file (that of the specification's Appendix 1 with the terms
#: mlcroissant 1.1 expects, so that it reads the file without a "context is not standard" warning).
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sdVersion": "cr:sdVersion",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

#: dtype of :data:`COLUMNS` -> Croissant dataType.
DATA_TYPES = {
    "str": "sc:Text",
    "datetime64[us, UTC]": "sc:DateTime",
    "Int64": "cr:Int64",
    "int8": "cr:Int8",
    "boolean": "sc:Boolean",
    "float32": "cr:Float32",
}
FILE_ID = "release-file"
TYPED_ID = "typed-table"
RECORD_SET = "images"
#: Version of this writer's metadata (``sdVersion``): bump when the description's shape changes.
SD_VERSION = "1.0.0"


def field_id(column: str) -> str:
    """The ``@id`` of a column's field, which is also the key of its value in mlcroissant's records."""
    return f"{RECORD_SET}/{column}"


def _header(path: Path) -> list[str]:
    """The file's column names as written (the loader strips spaces and a byte-order mark)."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    return list(pd.read_csv(path, nrows=0, compression="gzip" if is_gzip(path) else None,
                            encoding="utf-8").columns)


def measured(df: pd.DataFrame) -> dict:
    """Counts of the release at hand that the description states: images, tweets, period, missing likes,
    Twitter's sensitive flag, and images with an NSFW score above 0.5."""
    flag = df["possibly_sensitive"].dropna()
    return {
        "n_images": int(len(df)),
        "n_tweets": int(df["id"].nunique()),
        "first": f"{df['created_at'].min():%Y-%m-%d}",
        "last": f"{df['created_at'].max():%Y-%m-%d}",
        "share_likes_missing": float(df["like_count"].isna().mean()),
        "share_possibly_sensitive": float(flag.astype(bool).mean()) if len(flag) else float("nan"),
        "share_nsfw_score_gt_0_5": float((df["nsfw_score"] > 0.5).mean()),
    }


def _text_columns(path: Path, names: list[str]) -> tuple[pd.DataFrame, bool]:
    """The columns ``names`` as text ("" for missing) and whether the file is Parquet; of a Parquet file
    only the columns stored as text (the others keep their types for a reader too)."""
    if is_parquet(path):
        stored = pd.read_parquet(path, columns=[c for c in names if c in _header(path)])
        text = {c: v.astype("string").fillna("") for c, v in stored.items()
                if pd.api.types.is_string_dtype(v.dtype) or v.dtype == object}
        return pd.DataFrame(text, index=stored.index), True
    cols = {c.strip().lstrip("\ufeff"): c for c in _header(path)}
    raw = pd.read_csv(path, usecols=[cols[c] for c in names if c in cols], dtype=str, keep_default_na=False,
                      compression="gzip" if is_gzip(path) else None, encoding="utf-8")
    raw.columns = [c.strip().lstrip("\ufeff") for c in raw.columns]
    return raw, False


def reader_notes(path: str | os.PathLike, df: pd.DataFrame) -> list[str]:
    """Where a Croissant reader (mlcroissant 1.1) reads this file differently from :func:`load_release`,
    found by looking at the file's text (of a Parquet file, the columns it stores as text).

    Checked: exact duplicate rows (the loader drops them), captions written as list literals (the
    loader joins them with " | ") or empty or missing (the loader gives "", a reader of a CSV gives no
    value), times written without an offset (the loader reads them as UTC, a reader gives a time
    without a zone), booleans a reader casts wrongly (it applies Python's ``bool`` to text, so "0" and
    "false" become True: in a CSV only a column of true/false alone or of 1/0 alone is read right,
    because pandas' type guessing turns it into numbers or booleans first; in Parquet, text booleans
    never are), and, in a CSV, digit-only image names with leading zeros (type guessing makes them
    integers and drops the zeros).
    """
    path = Path(path)
    raw, parquet = _text_columns(path, ["all_captions", "created_at", "possibly_sensitive", "image_name"])
    notes = []
    if is_parquet(path):
        n_raw = len(pd.read_parquet(path, columns=[_header(path)[0]]))
    else:
        n_raw = len(raw)
    if n_raw != len(df):
        notes.append(f"{n_raw - len(df):,} exact duplicate row(s): the loader drops them, a Croissant reader "
                     "keeps them.")
    if "all_captions" in raw:
        cap = raw["all_captions"].str.strip()
        n_list = int((cap.str.startswith("[") & cap.str.endswith("]")).sum())
        if n_list:
            notes.append(f"{n_list:,} caption(s) written as list literals: the loader joins their captions with "
                         "' | ', a Croissant reader returns the literal as written.")
        n_empty = 0 if parquet else int((cap == "").sum())
        if n_empty:
            notes.append(f"{n_empty:,} empty caption(s): the loader gives '', a Croissant reader gives no value.")
    if "created_at" in raw:
        times = raw["created_at"].str.strip()
        n_naive = int((~times.str.contains(r"(?:Z|[+-]\d\d:?\d\d)(?:\s+\d{4})?$", regex=True)).sum())
        if n_naive:
            notes.append(f"{n_naive:,} creation time(s) without a UTC offset: the loader reads them as UTC, a "
                         "Croissant reader returns times without a zone (they are UTC).")
    if "possibly_sensitive" in raw:
        flags = set(raw["possibly_sensitive"].str.strip().str.lower()) - {"", "nan", "na", "none", "null"}
        numbers = {"1", "0", "1.0", "0.0"}
        wrong = (flags - {"true", "1", "1.0"}) if parquet else (
            (flags & numbers and flags - numbers) or flags - numbers - {"true", "false"})
        if wrong:
            notes.append(f"possibly_sensitive is written as text ({', '.join(sorted(flags))}) that a Croissant "
                         "reader casts with Python's bool, so '0' and 'false' read as True.")
    if "image_name" in raw and not parquet:
        names = raw["image_name"].str.strip()
        if names.str.fullmatch(r"\d+").all():
            n_zero = int(names.str.match(r"0\d").sum())
            if n_zero:
                notes.append(f"{n_zero:,} image name(s) with leading zeros: a Croissant reader reads the digits "
                             "as an integer and drops the zeros.")
    return notes


def _release_meta(path: Path) -> tuple[bool, str]:
    meta = provenance(path)
    return bool(meta.get("synthetic", False)), str(meta.get("generator_version", "1"))


def _field(column: str, dtype: str, meaning: str, file_id: str, header_name: str) -> dict:
    return {"@type": "cr:Field", "@id": field_id(column), "name": column, "description": meaning,
            "dataType": DATA_TYPES[dtype],
            "source": {"fileObject": {"@id": file_id}, "extract": {"column": header_name}}}


def _encoding(path: Path) -> str:
    return "application/x-parquet" if is_parquet(path) else "text/csv"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _rai(m: dict, synthetic: bool, notes: list[str]) -> dict:
    mark = " (synthetic sample: the numbers describe the generator, not Twitter)" if synthetic else ""
    missing_here = (f"In this file, like counts are missing for {m['share_likes_missing']:.1%} of the "
                    f"{m['n_images']:,} images{mark}.")
    sensitive_here = (f"In this file, {m['share_possibly_sensitive']:.1%} of images are flagged sensitive by "
                      f"Twitter (among known flags) and {m['share_nsfw_score_gt_0_5']:.1%} have an NSFW score "
                      f"above 0.5{mark}.")
    return {
        "rai:dataCollection": facts.text("collection"),
        "rai:dataCollectionType": facts.items("collection_type"),
        "rai:dataCollectionMissingData": f"{facts.text('missing')} {missing_here}",
        "rai:dataCollectionRawData": facts.text("external"),
        "rai:dataPreprocessingProtocol": facts.items("preprocessing"),
        "rai:dataAnnotationProtocol": facts.text("labels"),
        "rai:machineAnnotationTools": facts.items("annotation_tools"),
        "rai:dataBiases": facts.items("biases"),
        "rai:dataLimitations": facts.items("limitations") + [f"Croissant readers: {n}" for n in notes],
        "rai:personalSensitiveInformation": [f"People: {_lower_first(facts.text('people'))}",
                                             f"Sensitive content: {_lower_first(facts.text('offensive'))} "
                                             + sensitive_here,
                                             f"Confidential data: {_lower_first(facts.text('confidential'))}"],
        "rai:dataUseCases": [f"Intended: {u}" for u in facts.items("uses_intended")]
        + [f"Out of scope: {u}" for u in facts.items("uses_out_of_scope")],
        "rai:dataSocialImpact": facts.text("social_impact"),
        "rai:dataReleaseMaintenancePlan": facts.text("maintenance"),
    }


def describe(release: str | os.PathLike | None = None, *, target: str | os.PathLike | None = None,
             content_url: str | None = None, version: str | None = None, typed: bool = False) -> dict:
    """The Croissant 1.1 JSON-LD (a dict) of a release file.

    Parameters
    ----------
    release : path-like, optional
        The release file (CSV, CSV.gz or Parquet); empty: the embedded synthetic sample. It is loaded
        with :func:`load_release` first, so a file the loader rejects gets no description.
    target : path-like, optional
        Where the JSON-LD will be written: ``contentUrl`` is then the file's path relative to it, which
        mlcroissant reads from the JSON-LD's folder. Without it, the absolute path.
    content_url : str, optional
        Where others can download the file (for example its Zenodo link), used instead of the path.
    version : str, optional
        The release's version (MAJOR.MINOR.PATCH); default: ``4.0.0``, the newest Zenodo version (the
        first with text ids, the only ones the loader accepts), or the generator's for the sample.
    typed : bool
        Describe the loader's typed table (a Parquet copy written beside ``target``, see
        :func:`write_croissant`) as the records' source, with the release file as the file it was
        derived from.
    """
    path = paths.release_file(release)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader's warnings are for the analyses, not the metadata
        df = load_release(path)
    synthetic, generator_version = _release_meta(path)
    notes = [] if typed else reader_notes(path, df)
    m = measured(df)
    files, source_id, names = _file_objects(path, df, synthetic, target=target, content_url=content_url,
                                            typed=typed)
    fields = [_field(c, dtype, meaning, source_id, names[c]) for c, (dtype, meaning) in COLUMNS.items()]
    fields += [_field(c, "str", "a column not in the release's documented schema, read as text", source_id, names[c])
               for c in df.columns if c not in COLUMNS]
    name = "TWIGMA (synthetic sample)" if synthetic else "TWIGMA"
    description = facts.DESCRIPTION
    if synthetic:
        description = ("SYNTHETIC SAMPLE, NOT TWITTER DATA: a seeded synthetic table in the format of the TWIGMA "
                       "release, made by the research compendium's generator to run its notebooks without the "
                       "real release. Every value is made up. The dataset it imitates: " + description)
    doc = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": description,
        "url": facts.ZENODO_URL,
        "sameAs": [facts.DOI_URL, facts.ARXIV_URL],
        "identifier": f"doi:{facts.DOI}",
        "license": facts.LICENSE_URL,
        "creator": [{"@type": "sc:Person", "name": n} for n in facts.CREATORS],
        "publisher": {"@type": "sc:Organization", "name": facts.PUBLISHER},
        "citeAs": facts.CITATION_BIBTEX,
        "version": version or (f"{generator_version}.0.0" if synthetic else facts.NEWEST_VERSION),
        "sdVersion": SD_VERSION,
        "keywords": list(facts.KEYWORDS) + (["synthetic"] if synthetic else []),
        "inLanguage": "en",
        "temporalCoverage": facts.TEMPORAL_COVERAGE,
        "isAccessibleForFree": True,
        "distribution": [{k: v for k, v in f.items() if v is not None} for f in files],
        "recordSet": [{"@type": "cr:RecordSet", "@id": RECORD_SET, "name": RECORD_SET,
                       "description": ("One record per image (a row of the release); a tweet can carry several "
                                       "images, so records that share an id belong to one tweet. This file: "
                                       f"{m['n_images']:,} images in {m['n_tweets']:,} tweets from {m['first']} "
                                       f"to {m['last']}" + (" (synthetic)." if synthetic else ".")),
                       "field": fields}],
        **_rai(m, synthetic, notes),
    }
    return doc


def _file_objects(path: Path, df, synthetic: bool, *, target, content_url, typed: bool):
    """The distribution's FileObjects (the release file; with ``typed`` also the loader's typed table),
    the @id the fields read from, and each column's name in that file."""
    where = Path(target).parent if target else None
    url = content_url or (os.path.relpath(path, where) if where else str(path))
    files = [{"@type": "cr:FileObject", "@id": FILE_ID, "name": path.name,
              "description": ("The release table" + (" (gzip-compressed CSV)" if is_gzip(path) else "")
                              + (": a synthetic sample in the release's format, not Twitter data." if synthetic
                                 else f", as published on Zenodo record {facts.ZENODO_URL}.")),
              "contentUrl": url, "contentSize": f"{path.stat().st_size} B", "encodingFormat": _encoding(path),
              "sha256": sha256(path)}]
    if not typed:
        return files, FILE_ID, {c.strip().lstrip("\ufeff"): c for c in _header(path)}
    typed_path = typed_table_path(target or path)
    files.append({"@type": "cr:FileObject", "@id": TYPED_ID, "name": typed_path.name,
                  "description": (f"The table of {path.name} as twigma's load_release returns it (typed, "
                                  "validated, captions joined with ' | ', times in UTC), as Parquet; "
                                  "derived from the release file."),
                  "contentUrl": typed_path.name, "encodingFormat": "application/x-parquet",
                  "sha256": sha256(typed_path) if typed_path.exists() else None,
                  "contentSize": f"{typed_path.stat().st_size} B" if typed_path.exists() else None})
    return files, TYPED_ID, {c: c for c in df.columns}


def typed_table_path(target: str | os.PathLike) -> Path:
    """Where ``typed=True`` writes the loader's table: beside the metadata, ``<stem>.typed.parquet``."""
    target = Path(target)
    return target.with_name(target.name.split(".")[0] + ".typed.parquet")


def default_target(out: str | os.PathLike | None = None) -> Path:
    """``<out>/results/croissant.json``, next to the run's results."""
    return paths.RunLayout.published(out).results / "croissant.json"


def write_croissant(release: str | os.PathLike | None = None, target: str | os.PathLike | None = None, *,
                    out: str | os.PathLike | None = None, content_url: str | None = None,
                    version: str | None = None, typed: bool = False) -> Path:
    """Write the Croissant JSON-LD of ``release`` to ``target`` (default ``<out>/results/croissant.json``).

    With ``typed``, also write the loader's typed table as Parquet beside it (see :func:`describe`).
    """
    target = Path(target) if target else default_target(out)
    if typed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = load_release(paths.release_file(release))
        df = df.copy()
        df.attrs = {}
        atomic_write(typed_table_path(target), lambda tmp: df.to_parquet(tmp, index=False))
    else:  # a typed copy left by an earlier --typed run would no longer be described
        typed_table_path(target).unlink(missing_ok=True)
    doc = describe(release, target=target, content_url=content_url, version=version, typed=typed)
    return atomic_write(target, lambda tmp: tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n"))
