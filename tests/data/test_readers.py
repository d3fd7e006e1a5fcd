"""File readers: every format, any delimiter, gzip, and the errors for unreadable files."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from recdash.data.readers import read_table, sniff_delimiter
from recdash.errors import DataFileError

ROWS = pd.DataFrame({"user": ["u1", "u2"], "item": ["007", "B01"], "ts": ["1", "2"]})


@pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
def test_delimited_files_with_any_delimiter(tmp_path, sep):
    path = tmp_path / "log.csv"
    ROWS.to_csv(path, sep=sep, index=False)
    frame = read_table(path)
    assert list(frame.columns) == ["user", "item", "ts"]
    assert frame["item"].tolist() == ["007", "B01"]  # IDs stay text: "007" is not 7


def test_gzip_parquet_and_json_lines(tmp_path):
    gz = tmp_path / "log.tsv.gz"
    gz.write_bytes(gzip.compress(ROWS.to_csv(sep="\t", index=False).encode()))
    pq = tmp_path / "log.parquet"
    ROWS.to_parquet(pq)
    jl = tmp_path / "log.jsonl"
    ROWS.to_json(jl, orient="records", lines=True)
    for path in (gz, pq, jl):
        assert read_table(path)["user"].tolist() == ["u1", "u2"], path.name


def test_bytes_upload_is_read_by_its_name():
    data = ROWS.to_csv(index=False).encode()
    assert len(read_table(data, "upload.csv")) == 2


def test_double_colon_files():
    assert sniff_delimiter("1::Toy Story (1995)::Animation\n") == "::"


@pytest.mark.parametrize("content, code, words", [
    (b"", "empty_file", "file is empty"),
    (b"user,item\n", "empty_file", "no data rows"),
    (b"user,item\nu1,caf\xe9\n", "undecodable_bytes", "line 2"),
    (b"\x1f\x8b\x08garbage", "corrupt_file", "gzip"),
])
def test_unreadable_files_name_file_problem_and_fix(tmp_path, content, code, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as err:
        read_table(path)
    assert err.value.code == code
    assert "bad.csv" in str(err.value) and words in str(err.value)
    assert "Fix:" in str(err.value)


def test_latin1_reads_when_told(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("user,item\nu1,café\n".encode("latin-1"))
    assert read_table(path, encoding="latin-1")["item"][0] == "café"


def test_size_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"user,item\n" + b"u,i\n" * 100)
    with pytest.raises(DataFileError, match="limit"):
        read_table(path, max_bytes=100)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataFileError, match="Parquet"):
        read_table(path)
