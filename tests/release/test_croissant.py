"""Tests of twigma.release.croissant: croissant 1.1 metadata (MLCommons' JSON-LD for ML datasets, with its Responsible-AI fields) of a release file."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from support.croissant_files import _run_tables, dataset, loaded, mlc, write

from twigma import paths
from twigma.release import COLUMNS, ReleaseError, croissant


@pytest.fixture
def raw(raw_small):
    """The first 300 images of the 3,000-image release (conftest's raw, smaller): mlcroissant reads a file
    record by record, and the quirks below sit in the first rows or repeat every few rows."""
    return raw_small.iloc[:300].copy()


def issues(target):
    ds = dataset(target)
    return ds.metadata.ctx.issues


def records(target) -> pd.DataFrame:
    """mlcroissant's records as a table: field ids without the record set's prefix, text decoded."""
    rows = list(dataset(target).records(record_set=croissant.RECORD_SET))
    out = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        out[key.split("/", 1)[1]] = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in out.items()})


def _same(x, y) -> bool:
    """load_release's value x and mlcroissant's y: missing both, or equal and both text or both not text."""
    if pd.isna(x):
        return y is None
    return y is not None and isinstance(x, str) == isinstance(y, str) and x == y


def differences(ref: pd.DataFrame, recs: pd.DataFrame) -> dict[str, list]:
    """Per column, the first rows where mlcroissant's value is not load_release's (missing = None)."""
    assert len(recs) == len(ref), f"{len(recs)} records, {len(ref)} rows"
    bad = {}
    for col in ref.columns:
        a, b = ref[col].tolist(), recs[col].tolist()
        rows = [(i, x, y) for i, (x, y) in enumerate(zip(a, b)) if not _same(x, y)]
        if rows:
            bad[col] = rows[:5]
    return bad


def assert_same_as_loader(release_path, target):
    ref, recs = loaded(release_path), records(target)
    assert list(recs.columns) == list(ref.columns)
    assert differences(ref, recs) == {}
    assert recs["id"].map(type).eq(str).all() and (recs["id"] == ref["id"]).all()  # exact digits, as text


def _mixed(raw, column, values):
    raw[column] = raw[column].astype(object)
    for i, v in enumerate(values):
        raw.loc[i, column] = v
    return raw


def quirky(raw):
    """The quirks of the loader's tests that mlcroissant reads exactly as load_release does."""
    raw = _mixed(raw, "created_at", ["2022-11-03T16:22:10+02:00", "2022-11-03T14:22:10Z",
                                     "2022-11-03 14:22:10.123456-05:30", "2022-11-03T14:22:10.5Z",
                                     "2022-11-03 14:22:10+00:00", "Wed Oct 10 20:19:24 +0000 2018"])
    raw = _mixed(raw, "like_count", [None, None, "", "12.0", "007"])
    raw = _mixed(raw, "reply_count", ["nan", "NULL", "None", "3"])
    raw = _mixed(raw, "nsfw_score", [" 0.5", "0.25 ", "1e-3", "NaN"])
    raw = _mixed(raw, "UMAP_dim_1", ["1e-3", "-2.5E+01", "+3.5", ".5"])
    raw = raw.assign(possibly_sensitive=np.resize(["1", "0", "", "0"], len(raw)),
                     label_10_cluster=raw["label_10_cluster"].astype(float),
                     image_name=raw["image_name"] + ".jpg", note="x", score2=1.5)
    return raw.reset_index().rename(columns={"index": "Unnamed: 0"})  # a written index, which the loader drops


DIVERGING = {
    # quirk: (edit of the raw table, note's words, column, what mlcroissant returns for row 0)
    "list-literal captions": (lambda raw: _mixed(raw, "all_captions", ["['a painting of a cat', 'a cat on a table']"]),
                              "list literals", "all_captions", "['a painting of a cat', 'a cat on a table']"),
    "empty caption": (lambda raw: _mixed(raw, "all_captions", [""]), "empty caption", "all_captions", None),
    "times without an offset": (lambda raw: raw.assign(created_at=raw["created_at"].str.slice(0, 19)),
                                "without a UTC offset", "created_at", "naive"),
    "booleans 1/0 and words mixed": (lambda raw: raw.assign(possibly_sensitive=np.resize(
        ["0", "True", "false", "1"], len(raw))), "Python's bool", "possibly_sensitive", True),
    "image names with leading zeros": (lambda raw: _mixed(raw, "image_name", ["0001"]), "leading zeros",
                                       "image_name", "1"),
}


def test_the_sample_description_validates_and_says_what_the_file_is(small_release_file, tmp_path):
    target = write(small_release_file, tmp_path)
    doc = json.loads(target.read_text())
    found = issues(target)
    assert not found.errors, found.report()
    # the only warning: the date the record was first published, which the paper's material does not give
    assert [w for w in found.warnings if "datePublished" not in w] == []
    assert doc["conformsTo"] == ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"]
    assert dataset(target).metadata.ctx.is_v1_1()
    assert doc["@context"]["rai"] == "http://mlcommons.org/croissant/RAI/"
    assert "synthetic" in doc["name"].lower() and doc["description"].startswith("SYNTHETIC SAMPLE")
    (file,) = doc["distribution"]
    assert file["@type"] == "cr:FileObject" and file["encodingFormat"] == "text/csv"
    assert file["sha256"] == hashlib.sha256(open(small_release_file, "rb").read()).hexdigest()
    assert file["contentSize"] == f"{small_release_file.stat().st_size} B"
    assert (target.parent / file["contentUrl"]).resolve() == small_release_file.resolve()
    (rs,) = doc["recordSet"]
    fields = {f["name"]: f for f in rs["field"]}
    assert list(fields) == list(COLUMNS)
    for name, (_, meaning) in COLUMNS.items():
        assert fields[name]["description"] == meaning
        assert fields[name]["source"] == {"fileObject": {"@id": "release-file"}, "extract": {"column": name}}
    assert fields["id"]["dataType"] == fields["image_name"]["dataType"] == "sc:Text"
    assert {f["dataType"] for f in rs["field"]} <= set(croissant.DATA_TYPES.values())
    assert doc["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"
    assert doc["url"] == "https://zenodo.org/records/8031785"
    assert "https://doi.org/10.5281/zenodo.8031785" in doc["sameAs"]
    assert "10.5281/zenodo.8031785" in doc["citeAs"] and "chen2023twigma" in doc["citeAs"]


def test_a_real_release_is_not_called_synthetic(raw, tmp_path):
    path = tmp_path / "twigma_release.csv.gz"  # no .meta.json sidecar: not made by the generator
    raw.to_csv(path, index=False, compression="gzip")
    doc = json.loads(write(path, tmp_path, content_url="https://zenodo.org/records/8031785/files/x.csv.gz")
                     .read_text())
    assert doc["name"] == "TWIGMA" and "SYNTHETIC" not in doc["description"] and doc["version"] == "4.0.0"
    assert doc["distribution"][0]["contentUrl"] == "https://zenodo.org/records/8031785/files/x.csv.gz"
    assert "gzip" in doc["distribution"][0]["description"]


def test_a_release_the_loader_rejects_gets_no_description(raw, tmp_path):
    raw["id"] = raw["id"].astype(float)
    path = tmp_path / "bad.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(ReleaseError, match="id"):
        write(path, tmp_path)
    assert not (tmp_path / "meta" / "croissant.json").exists()


def test_records_of_the_embedded_sample_equal_load_release(tmp_path):
    if not paths.SAMPLE_RELEASE.exists():
        pytest.skip("the embedded sample is made by `make sample` (make test runs it first)")
    assert_same_as_loader(paths.SAMPLE_RELEASE, write(None, tmp_path))


@pytest.mark.parametrize("name,kw", [("q.csv", {}), ("q.csv.gz", {"compression": "gzip"})])
def test_records_of_a_quirky_release_equal_load_release(raw, tmp_path, name, kw):
    path = tmp_path / name
    quirky(raw).to_csv(path, index=False, **kw)
    target = write(path, tmp_path)
    assert not issues(target).errors
    assert croissant.reader_notes(path, loaded(path)) == []
    fields = [f["name"] for f in json.loads(target.read_text())["recordSet"][0]["field"]]
    assert fields == [*COLUMNS, "note", "score2"]  # extra columns as text; the written index left out
    assert_same_as_loader(path, target)


def test_booleans_spelt_true_false_read_right(raw, tmp_path):
    path = tmp_path / "b.csv"
    raw.assign(possibly_sensitive=np.resize(["true", "False", "TRUE", ""], len(raw))).to_csv(path, index=False)
    assert_same_as_loader(path, write(path, tmp_path))


def test_records_of_a_parquet_release_equal_load_release(raw, tmp_path):
    path = tmp_path / "r.parquet"
    raw.to_parquet(path, index=False)
    target = write(path, tmp_path)
    assert json.loads(target.read_text())["distribution"][0]["encodingFormat"] == "application/x-parquet"
    assert_same_as_loader(path, target)


@pytest.mark.parametrize("quirk", list(DIVERGING))
def test_quirks_mlcroissant_reads_differently_are_noted_and_typed_reads_right(raw, tmp_path, quirk):
    edit, words, column, got = DIVERGING[quirk]
    path = tmp_path / "d.csv.gz"
    edit(raw).to_csv(path, index=False, compression="gzip")
    ref = loaded(path)
    notes = croissant.reader_notes(path, ref)
    assert len(notes) == 1 and words in notes[0], notes
    target = write(path, tmp_path)
    assert any(words in n for n in json.loads(target.read_text())["rai:dataLimitations"])
    recs = records(target)
    bad = differences(ref, recs)
    assert list(bad) == [column]
    value = recs[column].iloc[0]
    if got == "naive":  # the same wall time, without its zone: the release's times are UTC
        assert value.tzinfo is None and value.tz_localize("UTC") == ref[column].iloc[0]
    else:
        assert value == got and ref[column].iloc[0] != got
    typed = write(path, tmp_path, typed=True)
    doc = json.loads(typed.read_text())
    assert [f["@id"] for f in doc["distribution"]] == ["release-file", "typed-table"]
    assert not issues(typed).errors
    assert_same_as_loader(path, typed)


def test_text_columns_of_a_parquet_release_are_noted_and_typed_reads_right(raw, tmp_path):
    path = tmp_path / "t.parquet"
    edited = _mixed(raw, "all_captions", ["['a painting of a cat', 'a cat on a table']"])
    edited = edited.assign(possibly_sensitive=np.resize(["True", "False"], len(raw)))  # stored as text
    edited.to_parquet(path, index=False)
    ref = loaded(path)
    notes = croissant.reader_notes(path, ref)
    assert len(notes) == 2 and "list literals" in notes[0] and "Python's bool" in notes[1], notes
    recs = records(write(path, tmp_path))
    assert sorted(differences(ref, recs)) == ["all_captions", "possibly_sensitive"]
    assert recs["possibly_sensitive"].eq(True).all()  # bool("False") is True
    assert_same_as_loader(path, write(path, tmp_path, typed=True))


def test_exact_duplicates_are_kept_by_mlcroissant_and_noted(raw, tmp_path):
    path = tmp_path / "dup.csv"
    pd.concat([raw, raw.iloc[[5, 6]]], ignore_index=True).to_csv(path, index=False)
    ref = loaded(path)
    (note,) = croissant.reader_notes(path, ref)
    assert note.startswith("2 exact duplicate row(s)")
    assert len(records(write(path, tmp_path))) == len(ref) + 2
    assert_same_as_loader(path, write(path, tmp_path, typed=True))


def test_twigma_croissant_writes_results_croissant_json_listed_in_the_manifest(small_release_file, tmp_path):
    run = [sys.executable, "-m", "twigma"]
    out = subprocess.run([*run, "croissant", "--release", str(small_release_file), "--out", str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout
    target = tmp_path / "results" / "croissant.json"
    assert f"wrote {target}" in out and "12 fields" in out
    subprocess.run([*run, "provenance", "--out", str(tmp_path)], capture_output=True, check=True)
    manifest = json.loads((tmp_path / "results" / "provenance.json").read_text())
    entry = manifest["files"]["results/croissant.json"]
    assert entry["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert not issues(target).errors


def test_the_datasheet_of_a_run_without_tables_says_not_measured(tmp_path):
    from twigma.present import datasheet

    text = datasheet.render(tmp_path)
    assert "not measured in this run (results/data_summary.csv is missing: run notebook 00_data)" in text
    assert "not measured in this run (results/nsfw_agreement.csv is missing: run notebook 04_nsfw)" in text


def test_docs_datasheet_is_the_datasheet_of_the_embedded_samples_run(tmp_path):
    from twigma.present import datasheet

    if not paths.SAMPLE_RELEASE.exists():
        pytest.skip("the embedded sample is made by `make sample` (make test runs it first)")
    run = _run_tables(loaded(paths.SAMPLE_RELEASE), tmp_path / "run", synthetic=True)
    expected = datasheet.render(run)
    assert "Synthetic sample" in expected
    assert (paths.ROOT / "docs" / "datasheet.md").read_text() == expected, (
        "docs/datasheet.md is out of date: run the sample (make figures) and "
        "`.venv/bin/python -m twigma.present.datasheet --out <run> --target docs/datasheet.md`")


def test_a_description_with_a_download_link_reads_a_local_copy_through_a_mapping(raw, tmp_path):
    """A description meant for others points at Zenodo; mlcroissant then reads a local copy offline."""
    path = tmp_path / "twigma.csv.gz"
    raw.to_csv(path, index=False, compression="gzip")
    target = write(path, tmp_path, content_url="https://zenodo.org/records/8031785/files/twigma.csv.gz")
    ds = mlc.Dataset(jsonld=str(target), mapping={croissant.FILE_ID: str(path)})
    got = [r["images/id"].decode() for r in ds.records(record_set=croissant.RECORD_SET)]
    assert got == loaded(path)["id"].tolist()
