"""What a table file really is, and how to open its container safely.

A shop's export is named by whoever saved it, so the bytes decide: `sniff_format` tells a gzip
or zip container, a Parquet file, an Excel .xlsx workbook (a zip holding xl/workbook.xml) and
delimited or JSON text apart, and names the formats recdash refuses (legacy .xls, pickles,
bzip2/xz/zstd, 7-Zip, PDF, SQLite, HTML ...) with how to convert them. Containers are expanded
in a streaming way under two caps, so that a compression bomb is refused before it is built:
the expanded size may not pass `max_bytes`, and once it passes RATIO_FLOOR_BYTES it may not be
more than MAX_RATIO times the compressed size (real CSV gzips expand 3-20 times; a gzip of
zeros expands about 1,000 times). Workbooks are read with openpyxl in read-only mode with cached
values only: no formula is evaluated, no macro run, nothing unpickled.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import zipfile
import zlib
from pathlib import PurePosixPath

from recdash.errors import DataFileError

RATIO_FLOOR_BYTES = 64 * 1024**2  # below this expanded size any ratio is accepted
MAX_RATIO = 100  # above the floor: refuse once the output is this many times the input
_IN_CHUNK = 1024**2  # compressed bytes fed to zlib per call
_OUT_CHUNK = 4 * 1024**2  # expanded bytes produced per call: few calls, bounded peaks
CONTAINERS = ("gzip", "zip")
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
_MAGIC = (  # (leading bytes, format), checked in order
    (b"\x1f\x8b", "gzip"), (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"PAR1", "parquet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"), (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "rar"),
    (b"%PDF", "pdf"), (b"SQLite format 3\x00", "sqlite"), (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"ARROW1", "arrow"))
_CONVERT = "export the table as CSV or Parquet (e.g. df.to_parquet('table.parquet'))"
_RECOMPRESS = "decompress it and upload the file inside, or compress it with gzip (.gz) or zip"
_EXTRACT = "extract the table and upload it, or pack it as .zip or .gz"
_RESAVE = "open it in Excel and save as .xlsx or CSV"
REFUSED = {  # format -> (what it is, how to convert it)
    "xls": ("a legacy Excel 97-2003 workbook (.xls, or another old binary Office file such as a "
            "password-protected workbook)", _RESAVE),
    "pickle": ("a Python pickle", "recdash never unpickles files (loading one can run any "
               "code); " + _CONVERT),
    "bzip2": ("bzip2-compressed", _RECOMPRESS), "xz": ("xz-compressed", _RECOMPRESS),
    "zstd": ("zstd-compressed", _RECOMPRESS), "7z": ("a 7-Zip archive", _EXTRACT),
    "rar": ("a RAR archive", _EXTRACT), "hdf5": ("an HDF5 file", _CONVERT),
    "pdf": ("a PDF document", "recdash cannot read tables from PDFs; " + _CONVERT),
    "sqlite": ("an SQLite database", "export the table as CSV (e.g. sqlite3 -header -csv "
               "shop.db 'select * from orders' > orders.csv)"),
    "arrow": ("an Arrow/Feather file", "save it as Parquet (df.to_parquet) or CSV"),
    "ods": ("an OpenDocument spreadsheet (.ods)", "save it as .xlsx or CSV"),
    "xlsb": ("an Excel binary workbook (.xlsb)", _RESAVE),
    "html": ("a web page (HTML), often a login or error page saved in place of the export",
             "download the export again, or save the table as CSV"),
    "xml": ("an XML document (for instance an Excel 2003 XML spreadsheet)", _RESAVE),
    "binary": ("a binary file of a kind recdash does not know (not text, and not CSV, JSON "
               "lines, Parquet, Excel .xlsx, gzip or zip)", _CONVERT),
}


def bom_encoding(data: bytes) -> str | None:
    """The text encoding a byte-order mark or UTF-16's NUL pattern shows, or None."""
    if data[:3] == b"\xef\xbb\xbf":
        return "utf-8-sig"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    head = data[:4096]
    half = len(head) // 2
    if half < 2:
        return None
    even, odd = head[0:2 * half:2].count(0), head[1:2 * half:2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:  # ASCII text in UTF-16: every other byte NUL
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def sniff_format(data: bytes, name: str = "") -> str:
    """What the bytes are, whatever the name says.

    Args:
        data: the file's bytes (its first 64 KiB are enough, except for zip archives).
        name: the file's name: a hint for text (".json" makes JSON lines of ambiguous text)
            and the only sign of a protocol 0/1 pickle.

    Returns:
        A table format ("csv", "jsonl", "json", "parquet", "xlsx"), a container ("gzip",
        "zip"), or a refused format (a key of REFUSED, e.g. "xls", "pickle", "html").
    """
    suffixes = [s.lower() for s in PurePosixPath(name).suffixes]
    if any(s in _PICKLE_SUFFIXES for s in suffixes) or (
            len(data) > 1 and data[0] == 0x80 and 2 <= data[1] <= 5):
        return "pickle"
    if data[:3] == b"BZh" and data[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bzip2"
    fmt = next((f for magic, f in _MAGIC if data.startswith(magic)), None)
    if fmt == "zip":
        return _zip_kind(data)
    if fmt:
        return fmt
    encoding = bom_encoding(data) or "utf-8"
    head = data[:4096].decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")
    if not encoding.startswith("utf-16") and _binary(data[:4096]):
        return "binary"
    low = head[:64].lower()
    if low.startswith(("<!doctype html", "<html", "<table")):
        return "html"
    if low.startswith("<?xml"):
        return "xml"
    if head.startswith("[") and head[1:].lstrip()[:1] in ("{", "]"):
        return "json"  # an array of objects
    if head.startswith("{"):
        return "jsonl"
    if head and suffixes and suffixes[-1] in (".json", ".jsonl", ".ndjson"):
        return "json" if head.startswith("[") else "jsonl"  # named JSON: say which line is bad
    return "csv"


def _binary(head: bytes) -> bool:
    """Control bytes (text has almost none; a few NULs can slip into an export) in bytes that
    are not UTF-8, or many of them."""
    control = sum(head.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13, 27))
    if control <= 0.02 * len(head):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return True
    return control > 0.1 * len(head)


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            if "mimetype" in names and zf.getinfo("mimetype").file_size < 100 and \
                    zf.read("mimetype").startswith(_ODS):
                return "ods"
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError):
        pass  # unzip() names the corruption or the encryption
    return "zip"


def refuse(fmt: str, file: str) -> DataFileError:
    """The error for a file of a format recdash refuses (a key of REFUSED)."""
    what, fix = REFUSED[fmt]
    if fmt == "html" and file.lower().endswith((".xls", ".xlsx")):  # some shops export so
        what, fix = "a web page (HTML) saved under an Excel name", _RESAVE
    return DataFileError(file, f"this is {what}, not a table recdash can read (detected format: "
                         f"{fmt})", fix, code="unsupported_format")


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n} bytes"


def _over_limit(file: str, what: str, size: int, packed: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DataFileError(
            file, f"{what} expands to more than {_size(max_bytes)}, over the limit",
            "split it into smaller files, or convert it to Parquet", code="decompression_limit")
    if size > RATIO_FLOOR_BYTES and size > MAX_RATIO * max(packed, 1):
        raise DataFileError(
            file, f"{what} expands to more than {_size(size)}, over {MAX_RATIO} times its "
            f"compressed size of {_size(packed)}; recdash stops there, as such files are "
            "usually compression bombs", "if the file is genuine, decompress it yourself and "
            "upload the CSV, convert it to Parquet, or split it", code="decompression_limit")


def check_cells(file: str, what: str, cells: int, packed: int, max_bytes: int) -> None:
    """Refuse a table of `cells` values (a Parquet file's rows x columns, from its metadata)
    under the caps above: each value takes at least 8 bytes once read, and a run-length
    encoded column of one repeated value packs millions of them into a few kB (a bomb)."""
    _over_limit(file, what, cells * 8, packed, max_bytes)


def _corrupt(file: str, what: str, detail: str) -> DataFileError:
    return DataFileError(file, f"{what} is corrupt or truncated ({detail})",
                         "export and compress the file again, or upload it uncompressed",
                         code="corrupt_file")


def gunzip(data: bytes, file: str, max_bytes: int,
           limit: int | None = None) -> tuple[bytes, bool]:
    """Expand gzip data (one or several members) under the size and ratio caps.

    Args:
        data: the gzip file's bytes.
        file: its name, for messages.
        max_bytes: the largest expanded size accepted.
        limit: stop after this many expanded bytes (a preview), or None for all.

    Returns:
        The expanded bytes, and whether they were cut at `limit`.

    Raises:
        DataFileError: "decompression_limit" past a cap, "corrupt_file" for bad gzip data.
    """
    parts, size, view, pos = [], 0, memoryview(data), 0  # joined once: no regrowth copies
    unzipper = zlib.decompressobj(31)  # 31: gzip header and trailer, CRC checked
    while True:
        if unzipper.eof:  # end of a member: another may follow (cat a.gz b.gz)
            pos -= len(unzipper.unused_data)
            if not bytes(view[pos:pos + 2]).strip(b"\x00"):  # gzip's own tolerance: NUL padding
                if bytes(view[pos:]).strip(b"\x00"):
                    raise _corrupt(file, "the gzip data", "stray bytes after its end")
                return b"".join(parts), False
            unzipper = zlib.decompressobj(31)
        feed = unzipper.unconsumed_tail
        if not feed:
            if pos >= len(view):
                raise _corrupt(file, "the gzip data", "it ends before its last block")
            feed, pos = view[pos:pos + _IN_CHUNK], min(pos + _IN_CHUNK, len(view))
        try:
            parts.append(unzipper.decompress(feed, _OUT_CHUNK))
        except zlib.error as exc:
            raise _corrupt(file, "the gzip data", str(exc)) from exc
        size += len(parts[-1])
        if limit is not None and size >= limit:
            return b"".join(parts)[:limit], True
        _over_limit(file, "the gzip data", size, len(data), max_bytes)


def _check_zip(zf: zipfile.ZipFile, file: str, what: str, packed: int, max_bytes: int) -> None:
    """Refuse encrypted or exotic members, and declared sizes past the caps (zipfile never
    expands a member past its declared size, so checking them bounds every read)."""
    for info in zf.infolist():
        if info.flag_bits & 1:
            raise DataFileError(file, f"'{info.filename}' in {what} is password-protected",
                                "remove the password and upload it again", code="encrypted_file")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise DataFileError(file, f"'{info.filename}' in {what} uses a compression method "
                                "recdash does not read", "zip it again with the standard "
                                "(deflate) method, or upload the file itself",
                                code="unsupported_format")
    _over_limit(file, what, sum(i.file_size for i in zf.infolist()), packed, max_bytes)


def unzip(data: bytes, file: str, max_bytes: int,
          limit: int | None = None) -> tuple[str, bytes, bool]:
    """The one file inside a zip archive (macOS and hidden extras ignored), under the caps.

    Returns:
        The member's name, its bytes, and whether they were cut at `limit`.

    Raises:
        DataFileError: a corrupt archive ("corrupt_file"), no file or several in it
            ("empty_file", "archive_members"), an encrypted member, or a cap passed.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith(
                "__MACOSX/") and not PurePosixPath(i.filename).name.startswith(".")]
            if len(members) != 1:
                listed = " (" + ", ".join(i.filename for i in members[:10]) + (
                    ", ...)" if len(members) > 10 else ")") if members else ""
                raise DataFileError(file, f"the zip archive holds {len(members)} files{listed}; "
                                    "recdash reads a zip with exactly one table file",
                                    "upload the table file itself, or zip it alone",
                                    code="archive_members" if members else "empty_file")
            _check_zip(zf, file, "the zip archive", len(data), max_bytes)
            with zf.open(members[0]) as member:
                body = member.read(-1 if limit is None else limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _corrupt(file, "the zip archive", str(exc)) from exc
    cut = limit is not None and len(body) > limit
    return members[0].filename, body[:limit] if cut else body, cut


def xlsx_rows(data: bytes, file: str, max_bytes: int, sheet: str | None = None,
              nrows: int | None = None) -> tuple[list[list[str | None]], list[str]]:
    """The non-empty rows of one sheet of an .xlsx workbook, every cell as text.

    Args:
        data: the workbook's bytes.
        file: its name, for messages.
        max_bytes: the largest total uncompressed size of its parts.
        sheet: the sheet's name; None reads the first sheet that holds any value.
        nrows: read only the header and this many rows (a preview).

    Returns:
        The rows (the first is the header; all as long as the widest, None for empty cells),
        and notes for the analyst (which sheet was read when there are several).

    Raises:
        DataFileError: a corrupt workbook, an unknown sheet, or only empty sheets.
    """
    import openpyxl  # a heavy import, needed only for workbooks

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _check_zip(zf, file, "the workbook", len(data), max_bytes)
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            names = book.sheetnames
            if sheet is not None and sheet not in names:
                raise DataFileError(file, f"the workbook has no sheet '{sheet}'; its sheets are "
                                    + ", ".join(f"'{n}'" for n in names),
                                    "give one of those names", code="sheet_not_found")
            for ws in [book[sheet]] if sheet is not None else book.worksheets:
                rows = _sheet_rows(ws, None if nrows is None else nrows + 1)
                if rows:
                    break
            else:
                raise DataFileError(file, "the workbook's sheets hold no values",
                                    "export the table again with its rows", code="empty_file")
        finally:
            book.close()
    except DataFileError:
        raise
    except Exception as exc:  # openpyxl raises many types (KeyError, ParseError ...) when broken
        raise DataFileError(file, f"not a readable Excel workbook ({exc})", "open it in Excel "
                            "and save it again as .xlsx, or as CSV", code="corrupt_file") from exc
    notes = [f"the workbook has {len(names)} sheets ({', '.join(names)}); read '{ws.title}', "
             "the first that is not empty. To import another, save it alone as CSV or .xlsx"
             ] if sheet is None and len(names) > 1 else []
    return rows, notes


def _sheet_rows(ws, limit: int | None) -> list[list[str | None]]:
    ws.reset_dimensions()  # some writers store a wrong size; read the rows as they are
    rows: list[list[str | None]] = []
    for values in ws.iter_rows(values_only=True):
        cells = [cell_text(v) for v in values]
        if any(c is not None for c in cells):  # empty rows are skipped, as in CSV files
            rows.append(cells)
            if len(rows) == limit:
                break
    width = max((max(i for i, c in enumerate(r) if c is not None) + 1 for r in rows), default=0)
    return [r[:width] + [None] * (width - len(r)) for r in rows]


def cell_text(value: object) -> str | None:
    """A cell's value as the text a CSV export would hold (None for an empty cell)."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel writes them
    if isinstance(value, float):  # an ID 536365 stays "536365", not "536365.0"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.15g}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")  # "2011-10-30 16:17:00"
    return value.isoformat() if isinstance(value, (dt.date, dt.time)) else str(value)
