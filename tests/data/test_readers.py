"""File readers: every format, any delimiter, gzip, and the errors for unreadable files."""

from __future__ import annotations

import gzip

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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


def _fails(content: bytes, name: str = "bad.csv", **kwargs) -> DataFileError:
    with pytest.raises(DataFileError) as err:
        read_table(content, name, **kwargs)
    assert name in str(err.value) and "Fix:" in str(err.value)
    return err.value


@pytest.mark.parametrize("header, shown", [
    (b"user,item,ts,item", "'item' (column 2) and 'item' (column 4)"),
    (b"user,Item,ts,item", "'Item' (column 2) and 'item' (column 4)"),
    (b"user, item ,ts,item", "'item' (column 2) and 'item' (column 4)"),
])
def test_a_header_naming_a_column_twice_is_refused(header, shown):
    err = _fails(header + b"\nu1,a,1,b\n")
    assert err.code == "duplicate_columns" and shown in err.problem
    assert "rename one of them" in err.fix and err.column in ("item", "Item")


def test_duplicate_names_are_refused_in_json_lines_too():
    err = _fails(b'{"user": "u1", "Item": "a", "item": "b"}\n', "log.jsonl")
    assert err.code == "duplicate_columns" and "(column 3)" in err.problem


def test_an_unnamed_column_is_named_and_an_empty_one_dropped_with_notes():
    frame = read_table(b",user,item,\n0,u1,a,\n1,u2,b,\n", "saved_index.csv")
    assert list(frame.columns) == ["unnamed_1", "user", "item"]
    notes = " ".join(frame.attrs["notes"])
    assert "column 1 has no name" in notes and "'unnamed_1'" in notes
    assert "column 4 has no name and no values; it was dropped" in notes


def test_a_trailing_delimiter_on_every_data_line_is_refused_not_shifted():
    err = _fails(b"user;item;ts\nu1;a;1;\nu2;b;2;\nu3;c;3;\n")
    assert err.code == "field_count" and err.row == 2
    assert "line 2 has 4 fields, line 3 has 4 fields, line 4 has 4 fields; the header has 3" \
        in err.problem
    assert "remove the trailing delimiter ';' at the end of each line" in err.fix


def test_a_line_with_more_fields_than_the_header_is_refused():
    err = _fails(b"user,item,ts\nu1,a,1\nu2,b,2\nu3,c,3,extra\n")
    assert err.code == "field_count" and err.row == 4
    assert "line 4 has 4 fields; the header has 3" in err.problem
    assert "quote values that contain the delimiter ','" in err.fix


def test_a_long_line_far_into_the_file_names_its_line():
    body = b"".join(b"u%d,a,%d\n" % (i, i) for i in range(20_000))  # past the checked head
    err = _fails(b"user,item,ts\n" + body + b"u,b,1,extra\n")
    assert err.code == "field_count" and "line 20002 has 4 fields; the header has 3" in err.problem


def test_short_lines_are_filled_with_empty_values_and_noted():
    frame = read_table(b"user,item,ts\nu1,a,1\nu2,b\n", "short.csv")
    assert frame["ts"].isna().tolist() == [False, True]
    assert "the first is line 3, with 2 of 3" in " ".join(frame.attrs["notes"])


def test_quoted_fields_with_delimiters_and_newlines_still_read():
    frame = read_table(b'user,title,ts\nu1,"Toys, games\nand more",1\nu2,"say ""hi""",2\n', "q.csv")
    assert frame["title"].tolist() == ["Toys, games\nand more", 'say "hi"']
    assert frame.attrs["notes"] == []


def test_a_quoted_newline_across_the_checked_head_adds_no_note():
    head = b"user,title,ts\n" + b"u,t,1\n" * ((64 * 1024 - 40) // 6)  # 64 KiB are checked
    data = head + b'u,"quoted\n' + b"x\n" * 40 + b'end",1\n' + b"u,t,2\n"
    frame = read_table(data, "q.csv")
    assert frame.attrs["notes"] == [] and frame["title"].iloc[-2].startswith("quoted\n")


def test_an_unclosed_quote_is_named():
    err = _fails(b'user,title\nu1,"fine"\nu2,"never closed\nu3,x\n')
    assert err.code == "malformed_rows" and "data row 2 is never closed" in err.problem


@pytest.mark.parametrize("content, code, words, row", [
    (b'{"user": "u1"}\n{"user": "u2"}\n{"user": "u3" "item": "a"}\n', "invalid_json",
     "line 3 is not valid JSON: Expecting ',' delimiter", 3),
    (b'{"user": "u1"}\n["u2", "a"]\n', "json_not_object", "line 2 holds an array", 2),
    (b'{"user": "u1"}\n\n{"user": "u2"},\n', "invalid_json", "line 3 is not valid JSON", 3),
    (b'{\n  "user": "u1",\n  "item": "a"\n}\n', "invalid_json", "one JSON document", 1),
    (b'[{"user": "u1"}, 7]', "json_not_object", "item 2 of the JSON array is a number", None),
])
def test_bad_json_names_the_line(content, code, words, row):
    err = _fails(content, "log.jsonl")
    assert err.code == code and words in err.problem and err.row == row, err.problem


def test_json_arrays_nested_values_and_numbers_read_as_text():
    frame = read_table(b'[{"user": "u1", "order": 536365, "tags": {"a": [1, 2]}, "ok": true},\n'
                       b' {"user": "u2", "price": 2.5}]', "log.json")
    assert frame["order"].tolist()[0] == "536365" and frame["order"].isna().tolist()[1]
    assert frame["tags"].tolist()[0] == '{"a": [1, 2]}'
    assert frame["ok"].tolist()[0] == "true" and frame["price"].tolist()[1] == "2.5"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le", "utf-8-sig"])
def test_utf16_and_bom_files_are_decoded(encoding):
    text = "user\titem\nu1\tcafé\n"
    data = text.encode("utf-16-le" if encoding == "utf-16-le" else encoding)  # le: no BOM
    frame = read_table(data, "export.txt")
    assert list(frame.columns) == ["user", "item"] and frame["item"].tolist() == ["café"]


def test_invalid_utf8_names_the_line_without_a_byte_dump():
    err = _fails(b"user,item\nu1,a\nu2,caf\xe9 cr\xe8me\n")
    assert err.code == "undecodable_bytes" and err.row == 3
    assert "byte 0xE9 at line 3" in err.problem and "caf" in err.problem
    assert "\\x" not in str(err) and "encoding='cp1252'" in err.fix


def test_nul_bytes_in_a_utf8_file_reach_the_validator():
    frame = read_table(b"user,item\nu1,a\x00b\nu2,c\n", "nul.csv")
    assert frame["item"].tolist() == ["a\x00b", "c"]


@pytest.mark.parametrize("content", [b"   \n\n\t\n", b"\xef\xbb\xbf", b"\xff\xfe",
                                     b"\xef\xbb\xbf\n\n", gzip.compress(b"")])
def test_blank_and_bom_only_files_are_empty(content):
    for name in ("blank.csv", "blank.jsonl", "blank.parquet", "blank.xlsx"):
        assert _fails(content, name).code == "empty_file", name


@pytest.mark.parametrize("name, words", [("log.parquet", "like a Parquet file"),
                                         ("log.xlsx", "like an Excel workbook")])
def test_text_under_a_binary_format_name_is_a_broken_export(name, words):
    err = _fails(b"user,item\nu1,a\n", name)
    assert err.code == "corrupt_file" and words in err.problem and "holds text" in err.problem


def test_parquet_integers_with_gaps_stay_integers(tmp_path):
    path = tmp_path / "log.parquet"  # as Spark or DuckDB write it: no pandas metadata
    pq.write_table(pa.table({"item": pa.array([536365, None], pa.int64())}), path)
    assert read_table(path)["item"].tolist()[0] == "536365"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_is_read_and_said(codec):
    data = "user\titem\nü1\ta\n".encode(codec)
    frame = read_table(data, "export.txt")
    assert frame["user"].tolist() == ["ü1"]
    assert any("UTF-16" in note for note in frame.attrs["notes"])
