"""File containers and formats (`recdash.data.containers`, through `read_table`): the bytes name
the format whatever the file is called, refused formats say how to convert them, gzip and zip
are expanded under caps (a real compression bomb is refused quickly, in bounded memory), and
Excel workbooks are read as text."""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import io
import lzma
import pickle
import sqlite3
import struct
import time
import tracemalloc
import zipfile
import zlib

import pandas as pd
import pytest

from recdash.data import containers as C
from recdash.data import imports
from recdash.data.readers import read_table, sniff_format
from recdash.errors import DataFileError
from tests.data.bad_inputs import xlsx as _xlsx

CSV = b"user,item,ts\nu1,007,1\nu2,B01,2\n"
FRAME = pd.DataFrame({"user": ["u1", "u2"], "item": ["007", "B01"], "ts": ["1", "2"]})




def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buffer.getvalue()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _sqlite(tmp_path) -> bytes:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("create table orders (user text, item text)")
    return path.read_bytes()


def _gzip_bomb(gib: int = 1) -> bytes:
    """A valid gzip of `gib` GiB of zeros (about 1 MB), built without holding the zeros: after a
    full flush each MiB compresses to the same bytes, so one segment is repeated."""
    zero, packer = bytes(1 << 20), zlib.compressobj(9, zlib.DEFLATED, 31)
    first = packer.compress(zero) + packer.flush(zlib.Z_FULL_FLUSH)
    segment = packer.compress(zero) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(1024 * gib):
        crc = zlib.crc32(zero, crc)
    trailer = b"\x03\x00" + struct.pack("<II", crc, (gib << 30) & 0xFFFFFFFF)  # empty last block
    return first + segment * (1024 * gib - 1) + trailer


@pytest.mark.parametrize("make, fmt", [
    (lambda p: gzip.compress(CSV), "gzip"), (lambda p: _zip({"log.csv": CSV}), "zip"),
    (lambda p: _xlsx({"s": [["user"], ["u1"]]}), "xlsx"), (lambda p: _parquet(FRAME), "parquet"),
    (lambda p: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "xls"),
    (lambda p: pickle.dumps(FRAME, protocol=4), "pickle"), (lambda p: bz2.compress(CSV), "bzip2"),
    (lambda p: lzma.compress(CSV), "xz"), (lambda p: b"\x28\xb5\x2f\xfd" + bytes(20), "zstd"),
    (lambda p: b"7z\xbc\xaf\x27\x1c" + bytes(20), "7z"), (lambda p: b"%PDF-1.7\n%\xe2\xe3", "pdf"),
    (_sqlite, "sqlite"), (lambda p: b"\n  <!DOCTYPE html><html><body>Login</body>", "html"),
    (lambda p: CSV.decode().encode("utf-16"), "csv"), (lambda p: CSV, "csv"),
    (lambda p: b'{"user": "u1"}\n{"user": "u2"}\n', "jsonl"),
    (lambda p: b'[\n  {"user": "u1"}\n]', "json"), (lambda p: bytes(range(256)) * 8, "binary"),
])
def test_sniff_format_reads_the_bytes(tmp_path, make, fmt):
    assert sniff_format(make(tmp_path), "table.csv") == fmt


def test_a_pickle_is_known_by_its_name_too():
    assert sniff_format(b"(dp0\nS'a'\n", "model.pkl") == "pickle"  # protocol 0 has no magic


@pytest.mark.parametrize("make, name, words", [
    (lambda p: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "orders.xls",
     ["Excel 97-2003", "save as .xlsx or CSV"]),
    (lambda p: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "orders.csv", ["Excel 97-2003"]),
    (lambda p: pickle.dumps(FRAME, protocol=4), "events.csv",
     ["never unpickles", "CSV or Parquet"]),
    (lambda p: pickle.dumps(FRAME, protocol=2), "events.pkl", ["never unpickles"]),
    (lambda p: b"not even a pickle", "events.pickle", ["never unpickles"]),
    (lambda p: bz2.compress(CSV), "log.csv.bz2", ["bzip2", "gzip"]),
    (lambda p: lzma.compress(CSV), "log.csv.xz", ["xz", "gzip"]),
    (lambda p: b"\x28\xb5\x2f\xfd" + bytes(20), "log.csv.zst", ["zstd"]),
    (lambda p: b"7z\xbc\xaf\x27\x1c" + bytes(20), "log.7z", ["7-Zip", ".zip"]),
    (lambda p: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(200), "report.csv", ["PDF"]),
    (_sqlite, "shop.csv", ["SQLite", "sqlite3 -header -csv"]),
    (lambda p: b"<!doctype html><html><body>Please log in</body></html>", "export.csv",
     ["web page", "download the export again"]),
    (lambda p: gzip.compress(b"<html><body>Error 500</body></html>"), "log.csv.gz", ["HTML"]),
    (lambda p: b"<table><tr><td>user</td></tr></table>", "orders.xls",
     ["HTML) saved under an Excel name", "save as .xlsx or CSV"]),
    (lambda p: _zip({"xl/workbook.bin": b"x", "[Content_Types].xml": b"y"}), "book.xlsb",
     ["Excel binary workbook"]),
    (lambda p: bytes(range(256)) * 8, "blob.csv", ["binary file"]),
])
def test_refused_formats_name_what_the_file_is_and_how_to_convert_it(tmp_path, make, name,
                                                                      words):
    with pytest.raises(DataFileError) as err:
        read_table(make(tmp_path), name)
    text = str(err.value)
    assert err.value.code == "unsupported_format"
    assert name in text and "Fix:" in text and "detected format" in text
    assert all(w in text for w in words), text
    assert "utf-8" not in text and "\\x" not in text  # never a decoding error with a byte dump


def test_a_workbook_or_parquet_file_named_csv_is_read_and_the_note_says_so():
    for data in (_xlsx({"Orders": [["user", "item", "ts"], ["u1", "007", 1], ["u2", "B01", 2]]}),
                 _parquet(FRAME)):
        frame = read_table(data, "orders.csv")
        assert frame.to_dict("list") == FRAME.to_dict("list")
        assert any("whatever its name says" in n for n in frame.attrs["notes"])


def test_xlsx_cells_read_as_the_text_an_export_would_hold():
    data = _xlsx({"Online Retail": [
        ["InvoiceNo", "StockCode", "InvoiceDate", "UnitPrice", "Gift", None],
        [536365, "85123A", dt.datetime(2011, 10, 30, 16, 17), 2.55, True],
        [536366.0, "71053", dt.date(2011, 12, 9), 3.0, False, None],
        [None, None, None, None], [], ["", None]]})  # empty trailing rows and a trailing column
    frame = read_table(data, "retail.xlsx")
    assert list(frame.columns) == ["InvoiceNo", "StockCode", "InvoiceDate", "UnitPrice", "Gift"]
    assert frame["InvoiceNo"].tolist() == ["536365", "536366"]  # no spurious ".0"
    assert frame["InvoiceDate"].tolist() == ["2011-10-30 16:17:00", "2011-12-09 00:00:00"]
    assert frame["UnitPrice"].tolist() == ["2.55", "3"]
    assert frame["Gift"].tolist() == ["TRUE", "FALSE"]
    assert frame.attrs["format"] == "xlsx" and frame.attrs["notes"] == []


def test_xlsx_formulas_are_never_evaluated():
    frame = read_table(_xlsx({"s": [["user", "score"], ["u1", "=1+2"], ["u2", 5]]}), "f.xlsx")
    assert frame["score"].isna().tolist() == [True, False]  # no cached value: empty, not 3


def test_a_workbook_with_several_sheets_reads_the_first_non_empty_one_and_says_so():
    data = _xlsx({"Cover": [], "Orders": [["user", "item"], ["u1", "a"]],
                  "Returns": [["user", "item"], ["u9", "z"]]})
    frame = read_table(data, "shop.xlsx")
    assert frame["user"].tolist() == ["u1"]
    note = " ".join(frame.attrs["notes"])
    assert "3 sheets" in note and "'Orders'" in note and "Returns" in note
    assert read_table(data, "shop.xlsx", sheet="Returns")["user"].tolist() == ["u9"]
    with pytest.raises(DataFileError) as err:
        read_table(data, "shop.xlsx", sheet="Refunds")
    assert err.value.code == "sheet_not_found" and "'Returns'" in str(err.value)


@pytest.mark.parametrize("data, code, words", [
    (_xlsx({"a": [], "b": []}), "empty_file", "hold no values"),
    (_xlsx({"a": [["user", "item"]]}), "empty_file", "no data rows"),
    (_zip({"xl/workbook.xml": b"<not a workbook", "x": b"y"}), "corrupt_file",
     "not a readable Excel workbook"),
])
def test_broken_or_empty_workbooks(data, code, words):
    with pytest.raises(DataFileError) as err:
        read_table(data, "book.xlsx")
    assert err.value.code == code and words in str(err.value)


def test_workbook_parts_are_checked_against_the_size_cap_before_reading():
    data = _xlsx({"s": [["user"], ["u1"]]})
    unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert len(data) < unpacked // 2
    with pytest.raises(DataFileError) as err:
        read_table(data, "book.xlsx", max_bytes=unpacked // 2)
    assert err.value.code == "decompression_limit" and "book.xlsx" in str(err.value)


def test_a_gzip_bomb_is_refused_quickly_in_bounded_memory():
    bomb = _gzip_bomb()  # ~1 MB that expands to 1 GiB
    assert len(bomb) < 2_000_000
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DataFileError) as err:
            read_table(bomb, "events.csv.gz")
        seconds, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.value.code == "decompression_limit"
    assert "events.csv.gz" in str(err.value) and "decompress it yourself" in str(err.value)
    assert seconds < 3 and peak < 300 * 2**20, (seconds, peak / 2**20)  # stops near 100 MiB


def test_gzip_expanded_size_is_capped_by_max_bytes():
    with pytest.raises(DataFileError) as err:
        read_table(gzip.compress(CSV * 1000), "log.csv.gz", max_bytes=10_000)
    assert err.value.code == "decompression_limit" and "over the limit" in str(err.value)


def test_a_real_gzip_csv_of_modest_ratio_is_read():
    rows = b"".join(b"u%d,i%d,%d\n" % (i % 97, i % 1013, i) for i in range(200_000))
    frame = read_table(gzip.compress(b"user,item,ts\n" + rows), "log.csv.gz")
    assert len(frame) == 200_000 and frame["ts"].iloc[-1] == "199999"


@pytest.mark.parametrize("data", [
    gzip.compress(CSV * 500)[:-30],  # truncated
    gzip.compress(CSV * 500)[:40] + bytes(50) + gzip.compress(CSV * 500)[90:],  # damaged
    gzip.compress(CSV) + b"trailing junk",
])
def test_corrupt_or_truncated_gzip(data):
    with pytest.raises(DataFileError) as err:
        read_table(data, "log.csv.gz")
    assert err.value.code == "corrupt_file" and "gzip" in str(err.value)


def test_multi_member_gzip_reads_every_member():
    data = gzip.compress(CSV) + gzip.compress(b"u3,C02,3\n") + bytes(8)  # NUL padding is fine
    assert read_table(data, "log.csv.gz")["user"].tolist() == ["u1", "u2", "u3"]


def test_a_zip_with_one_table_file_is_read():
    for member, body in (("log.csv", CSV), ("log.parquet", _parquet(FRAME)),
                         ("book.xlsx", _xlsx({"s": [["user", "item", "ts"], ["u1", "007", 1],
                                                    ["u2", "B01", 2]]}))):
        data = _zip({member: body, "__MACOSX/._" + member: b"junk", ".DS_Store": b"junk"})
        frame = read_table(data, "export.zip")
        assert frame.to_dict("list") == FRAME.to_dict("list"), member
        assert f"read '{member}' from the zip archive" in frame.attrs["notes"]


@pytest.mark.parametrize("members, code, words", [
    ({"events.csv": CSV, "catalog.csv": CSV}, "archive_members", ["2 files", "events.csv",
                                                                   "catalog.csv"]),
    ({}, "empty_file", ["0 files"]),
    ({"log.csv.gz": gzip.compress(CSV)}, "unsupported_format", ["another gzip"]),
    ({"model.pkl": pickle.dumps(FRAME)}, "unsupported_format", ["never unpickles"]),
])
def test_zips_that_are_not_one_table_file_are_refused(members, code, words):
    with pytest.raises(DataFileError) as err:
        read_table(_zip(members), "export.zip")
    assert err.value.code == code and all(w in str(err.value) for w in words), str(err.value)


def test_an_encrypted_zip_member_is_refused():
    data = bytearray(_zip({"log.csv": CSV}))  # zipfile cannot encrypt: set the flag by hand
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local, central
        data[data.index(signature) + offset] |= 0x1
    with pytest.raises(DataFileError) as err:
        read_table(bytes(data), "export.zip")
    assert err.value.code == "encrypted_file" and "password" in str(err.value)


def test_a_zip_bomb_is_refused_from_its_declared_sizes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("log.csv", "w", force_zip64=True) as member:
            for _ in range(80):  # 80 MiB of zeros, about 80 KB packed
                member.write(bytes(1 << 20))
    start = time.perf_counter()
    with pytest.raises(DataFileError) as err:
        read_table(buffer.getvalue(), "export.zip")
    assert err.value.code == "decompression_limit" and time.perf_counter() - start < 1


def test_previews_of_containers_and_workbooks_read_only_their_first_rows():
    big = b"user_id,item_id\n" + b"".join(b"u%d,a\n" % i for i in range(100_000))
    book = _xlsx({"s": [["user_id", "item_id"]] + [[f"u{i}", "a"] for i in range(300)]})
    for name, data in (("log.zip", _zip({"log.csv": big})), ("log.xlsx", book),
                       ("log.json", b"[" + b",".join(b'{"user_id": "u%d", "item_id": "a"}' % i
                                                     for i in range(50)) + b"]"),
                       ("log.parquet.gz", gzip.compress(_parquet(
                           pd.DataFrame({"user_id": [f"u{i}" for i in range(50)],
                                         "item_id": "a"}))))):
        preview = imports.read_preview(imports.Upload(name, data, "id"))
        assert preview["user_id"].tolist() == [f"u{i}" for i in range(imports.PREVIEW_ROWS)], name


def test_cell_text_matches_a_csv_export():
    assert [C.cell_text(v) for v in (None, "", 7, 7.0, 0.1 + 0.2, 1e20, dt.time(9, 30))] == [
        None, None, "7", "7", "0.3", "1e+20", "09:30:00"]
