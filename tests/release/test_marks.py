"""Tests of twigma.release.marks: what a release file says about itself: the synthetic sample's mark, carried inside the file."""
from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twigma.release import load_release, marks
from twigma.release.load import is_synthetic
from twigma.synthetic.release import sample_meta, write_release


@pytest.fixture
def marked(tmp_path, raw_small):
    return write_release(raw_small.head(400), tmp_path / "made" / "twigma_sample.csv.gz", meta=sample_meta(400, 7))


def test_a_renamed_copy_without_its_side_file_stays_synthetic(marked, tmp_path):
    copy = tmp_path / "elsewhere" / "twigma_2024-05.csv.gz"
    copy.parent.mkdir()
    shutil.copyfile(marked, copy)  # the bytes only: no .meta.json beside it
    assert not (tmp_path / "elsewhere" / "twigma_2024-05.csv.gz.meta.json").exists()
    assert is_synthetic(copy)
    assert marks.embedded_meta(copy)["seed"] == 7
    assert load_release(copy, cache_dir=tmp_path / "cache").attrs["synthetic"] is True


def test_a_release_written_without_a_description_is_never_marked(tmp_path, raw_small):
    plain = tmp_path / "twigma_sample.csv.gz"  # even under the sample's own name
    raw_small.head(400).to_csv(plain, index=False, compression="gzip")
    assert marks.gzip_comment(plain) is None and not is_synthetic(plain)
    assert load_release(plain, cache_dir=tmp_path / "cache").attrs["synthetic"] is False
    other = tmp_path / "commented.csv.gz"
    with open(other, "wb") as fh, marks.GzipWithComment(fh, "made by some other tool") as gz:
        gz.write(raw_small.head(5).to_csv(index=False).encode())
    assert marks.gzip_comment(other) == "made by some other tool" and not is_synthetic(other)
    write_release(raw_small.head(400), tmp_path / "unmarked.csv.gz")  # the writer without meta: no mark
    assert not is_synthetic(tmp_path / "unmarked.csv.gz")


def test_every_reader_reads_a_marked_file_as_a_plain_one(marked, tmp_path, raw_small):
    plain = tmp_path / "plain.csv.gz"
    raw_small.head(400).to_csv(plain, index=False, compression="gzip")
    with gzip.open(marked, "rt") as a, gzip.open(plain, "rt") as b:
        assert a.read() == b.read()
    pd.testing.assert_frame_equal(pd.read_csv(marked, dtype=str), pd.read_csv(plain, dtype=str))
    import pyarrow.csv as pacsv

    assert pacsv.read_csv(marked).equals(pacsv.read_csv(plain))
    a = load_release(marked, cache_dir=tmp_path / "c1")
    b = load_release(plain, cache_dir=tmp_path / "c2")
    pd.testing.assert_frame_equal(a, b)


def test_the_same_table_gives_the_same_bytes(tmp_path, raw_small):
    one = write_release(raw_small.head(300), tmp_path / "a.csv.gz", meta=sample_meta(300, 7))
    two = write_release(raw_small.head(300), tmp_path / "b.csv.gz", meta=sample_meta(300, 7))
    assert one.read_bytes() == two.read_bytes()


def test_a_parquet_file_carries_the_mark_in_its_metadata(tmp_path, raw_small):
    table = pa.Table.from_pandas(raw_small.head(50).astype({"id": str, "image_name": str}), preserve_index=False)
    marked = tmp_path / "copy.parquet"
    pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                  marks.PARQUET_KEY: b'{"synthetic": true}'}), marked)
    pq.write_table(table, tmp_path / "real.parquet")
    assert is_synthetic(marked) and not is_synthetic(tmp_path / "real.parquet")
