"""Read a user's table file into pandas: CSV/TSV with any delimiter, JSON lines or a JSON array,
Parquet, Excel .xlsx, each possibly inside gzip or a one-file zip.

Everything is read as text (IDs stay exactly as the shop wrote them: "007" is not 7); parsing
types is the validator's job. The bytes decide the format (`containers.sniff_format`), so a
workbook saved under a .csv name is still read and a pickle is never opened. Every failure is a
DataFileError naming the file, the line or row where known, and the fix; what the reader did on
its own (which sheet it read, an unnamed column it named) is listed in `frame.attrs["notes"]`.
Delimited text is read here; JSON text is turned into columns by `recdash.data.jsonlines`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from recdash.data import containers as C
from recdash.data.containers import sniff_format
from recdash.data.jsonlines import read_json
from recdash.errors import DataFileError

MAX_FILE_BYTES = 2 * 1024**3  # larger files should be split or converted to Parquet first
PREVIEW_BYTES = 256 * 1024  # a preview (nrows) decodes at most this much text
_SNIFF_BYTES = 64 * 1024  # text sniffed for the delimiter and checked for field counts
_WHOLE = ("parquet", "xlsx", "json")  # formats that cannot be read from their first bytes
_KINDS = {"parquet": "a Parquet file", "xlsx": "an Excel workbook"}  # binary table formats
_BOMS = b"\xef\xbb\xbf\xff\xfe"  # the bytes of UTF-8 and UTF-16 byte-order marks
_SEP_HINT = re.compile(r"sep=([^\r\n])(\r?\n|\r)")  # Excel's first line naming the delimiter

Source = str | Path | bytes | BinaryIO


def detect_format(name: str) -> str:
    """'csv', 'parquet', 'jsonl' or 'xlsx' from the file name alone (gzip suffix allowed)."""
    sfx = [s.lower() for s in Path(name).suffixes if s.lower() not in (".gz", ".gzip")]
    last = sfx[-1] if sfx else ""
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if last in (".xlsx", ".xlsm"):
        return "xlsx"
    return "csv"  # .csv, .tsv, .txt, .dat and anything else delimited


def _raw_bytes(source: Source, name: str, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise DataFileError(name, "file not found", "check the path", code="file_not_found")
        size = path.stat().st_size
        if size > max_bytes:
            raise DataFileError(name, f"file is {size / 1e9:.1f} GB, over the {max_bytes / 1e9:.1f}"
                                " GB limit", "split it into parts or convert it to Parquet",
                                code="file_too_large")
        data = path.read_bytes()
    else:
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DataFileError(name, f"file is over the {max_bytes / 1e9:.1f} GB limit",
                            "split it into parts or convert it to Parquet", code="file_too_large")
    return data


def _unwrap(data: bytes, display: str, name: str, max_bytes: int,
            limit: int | None) -> tuple[str, bytes, bool, list[str]]:
    """The table format and bytes inside any container, whether they were cut at `limit`
    (text only), and notes on what was found."""
    fmt, cut, notes = sniff_format(data, name), False, []
    if fmt in C.CONTAINERS:
        for lim in (limit, None):  # a workbook, Parquet or JSON array is needed whole
            if fmt == "gzip":
                inner_name = re.sub(r"\.gz(ip)?$", "", name, flags=re.I)
                body, cut = C.gunzip(data, display, max_bytes, lim)
            else:
                inner_name, body, cut = C.unzip(data, display, max_bytes, lim)
            inner = sniff_format(body, inner_name)
            if not (cut and inner in _WHOLE):
                break
        if inner in C.CONTAINERS:
            raise DataFileError(display, f"the {fmt} file holds another {inner} archive",
                                "upload the table file inside", code="unsupported_format")
        if fmt == "zip":
            notes.append(f"read '{inner_name}' from the zip archive")
        fmt, data, name = inner, body, inner_name
    elif limit is not None and fmt not in _WHOLE and len(data) > limit:
        data, cut = data[:limit], True
    if fmt in C.REFUSED:
        raise C.refuse(fmt, display)
    hinted = detect_format(name)
    if fmt in _KINDS and hinted != fmt:
        notes.append(f"'{Path(name).name}' is {_KINDS[fmt]} whatever its name says; it was "
                     "read as one")
    elif hinted in _KINDS and fmt not in _KINDS and data.lstrip(_BOMS).strip(b" \t\r\n\x00"):
        raise DataFileError(display, f"the file is named like {_KINDS[hinted]} but holds text",
                            "export the table again, or name the file for what it is (e.g. "
                            ".csv)", code="corrupt_file")
    return fmt, data, cut, notes


def _decode(data: bytes, display: str, encoding: str, cut: bool) -> str:
    given = encoding.lower().replace("_", "-")
    enc = C.bom_encoding(data) or ("utf-8-sig" if given in ("utf-8", "utf8") else encoding)
    try:
        if not cut:
            return data.decode(enc)
        text = codecs.getincrementaldecoder(enc)().decode(data, final=False)
        return text[: text.rfind("\n") + 1] or text  # whole lines only
    except LookupError as exc:
        raise DataFileError(display, f"'{encoding}' is not an encoding Python knows",
                            "give one such as 'utf-8', 'cp1252' or 'latin-1'",
                            code="unknown_encoding") from exc
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        near = data[start: start + 80].split(b"\n")[0].decode("utf-8", errors="replace")
        raise DataFileError(
            display, f"byte 0x{data[exc.start]:02X} at line {line} is not valid "
            f"{enc.replace('-sig', '')} text (the line reads '{near.strip()}')",
            "re-save the file as UTF-8 (Excel: 'CSV UTF-8'), or give its encoding (e.g. "
            "encoding='cp1252' or 'latin-1' / --encoding cp1252)", row=line,
            code="undecodable_bytes") from exc


def sniff_delimiter(text: str) -> str:
    """The field delimiter of a delimited text (tab, comma, semicolon, pipe, or '::')."""
    head = text[:_SNIFF_BYTES]
    first = head.splitlines()[0] if head else ""
    if "::" in first:
        return "::"
    try:
        return csv.Sniffer().sniff(head, delimiters="\t,;|").delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in "\t,;|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_table(source: Source, name: str | None = None, *, encoding: str = "utf-8",
               delimiter: str | None = None, header: bool = True,
               max_bytes: int = MAX_FILE_BYTES, sheet: str | None = None,
               nrows: int | None = None) -> pd.DataFrame:
    """Read one table file with every column as text.

    Args:
        source: a path, the file's bytes, or a binary file object (e.g. an upload).
        name: the file name to show in errors; a hint for text formats (the bytes decide).
        encoding: text encoding of CSV/JSON files; utf-8 with or without BOM by default (a
            UTF-16 or UTF-8 byte-order mark, or UTF-16's NUL pattern, overrides it).
        delimiter: field delimiter; sniffed when None.
        header: whether the first line (or row of a sheet) holds column names.
        max_bytes: refuse files, and expanded gzip/zip contents, larger than this.
        sheet: the sheet of an .xlsx workbook to read; the first non-empty one when None.
        nrows: read only this many data rows (a preview): compressed text is expanded, and
            text decoded, only as far as PREVIEW_BYTES.

    Returns:
        A DataFrame of strings (missing values are NA), with a RangeIndex = 0-based data row;
        `attrs["format"]` is the format read and `attrs["notes"]` lists, in words, what the
        reader did on its own (to show the analyst as notes).

    Raises:
        DataFileError: unreadable, empty, too large, undecodable, refused or malformed file.
    """
    name = name or (str(source) if isinstance(source, (str, Path)) else "upload")
    display = Path(name).name
    data = _raw_bytes(source, display, max_bytes)
    fmt, data, cut, notes = _unwrap(data, display, name, max_bytes,
                                    PREVIEW_BYTES if nrows else None)
    if fmt == "parquet":
        frame = _read_parquet(data, display, nrows, max_bytes)
    elif fmt == "xlsx":
        rows, sheet_notes = C.xlsx_rows(data, display, max_bytes, sheet, nrows)
        notes += sheet_notes
        frame = pd.DataFrame(rows[1:] if header else rows, columns=range(len(rows[0])),
                             dtype="string")
        frame.columns = rows[0] if header else frame.columns
    else:
        text = _decode(data, display, encoding, cut)
        if (C.bom_encoding(data) or "").startswith("utf-16"):
            notes.append("the file is UTF-16 text (as Excel's 'Unicode Text' writes it); it was "
                         "read as such")
        if not text.strip():
            raise DataFileError(display, "file is empty", "export the table again; it has no "
                                "rows", code="empty_file")
        frame = (_read_delimited(text, display, delimiter, header, nrows, notes) if fmt == "csv"
                 else read_json(text, display, fmt, nrows))
    frame = _tidy_columns(frame, display, header, notes).reset_index(drop=True)
    if frame.empty:
        raise DataFileError(display, "file has a header but no data rows" if fmt == "csv" else
                            "file has no data rows", "export the table again with its rows",
                            code="empty_file")
    frame = frame.head(nrows) if nrows else frame
    frame.attrs.update(format=fmt, notes=notes)
    return frame


def _read_parquet(data: bytes, display: str, nrows: int | None,
                  max_bytes: int) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise _not_parquet(display, exc) from exc
    meta = file.metadata  # checked before anything is expanded
    C.check_cells(display, "the Parquet file", meta.num_rows * meta.num_columns, len(data),
                  max_bytes)
    try:
        table = (next(file.iter_batches(batch_size=nrows), None) if nrows else file.read())
        # integer_object_nulls: an int column with gaps stays "536365", not "536365.0"
        frame = (table.to_pandas(integer_object_nulls=True) if table is not None
                 else pd.DataFrame())
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise _not_parquet(display, exc) from exc
    for pos, dtype in enumerate(frame.dtypes):
        if dtype.kind == "f":
            frame.isetitem(pos, _float_text(frame.iloc[:, pos]))
    return frame.astype("string")


def _not_parquet(display: str, exc: Exception) -> DataFileError:
    return DataFileError(display, f"not a readable Parquet file ({exc})",
                         "export the table again as Parquet, or as CSV", code="corrupt_file")


def _float_text(values: pd.Series) -> pd.Series:
    """A float column as text, whole numbers without ".0" (as `containers.cell_text` writes a
    workbook's numbers): a pandas-written Parquet file stores an ID column with gaps as
    floats, and its 17850.0 must match the 17850 of a CSV catalog."""
    whole = (values.abs() < 1e15) & (values == values.round())  # False for NaN and inf
    ints = values.where(whole, 0).astype("int64").astype("string")
    return values.astype("string").where(~whole, ints)


def _tidy_columns(frame: pd.DataFrame, display: str, header: bool,
                  notes: list[str]) -> pd.DataFrame:
    """Strip names; refuse a name given twice; name or drop columns without one."""
    # a workbook's empty header cell is NaN once pandas holds it: an unnamed column, not "nan"
    names = [("" if c is None or (not isinstance(c, str) and pd.isna(c)) else str(c)).strip()
             for c in frame.columns]
    if not header:
        frame.columns = names
        return frame
    seen: dict[str, list[int]] = {}
    for pos, col in enumerate(names, 1):
        if col:
            seen.setdefault(col.casefold(), []).append(pos)
    twice = [ps for ps in seen.values() if len(ps) > 1]
    if twice:
        shown = "; ".join(" and ".join(f"'{names[p - 1]}' (column {p})" for p in ps)
                          for ps in twice[:3])
        raise DataFileError(display, f"the header names the same column more than once: {shown}",
                            "rename one of them (names are compared ignoring case and spaces)",
                            column=names[twice[0][0] - 1], code="duplicate_columns")
    keep = []
    for i, col in enumerate(names):
        if not col and frame.iloc[:, i].isna().all():
            notes.append(f"column {i + 1} has no name and no values; it was dropped")
            continue
        if not col:
            names[i] = f"unnamed_{i + 1}"
            notes.append(f"column {i + 1} has no name; it was named '{names[i]}' (name it in "
                         "the file to map it)")
        keep.append(i)
    frame.columns = names
    return frame.iloc[:, keep] if len(keep) < len(names) else frame


def _read_delimited(text: str, display: str, delimiter: str | None, header: bool,
                    nrows: int | None, notes: list[str]) -> pd.DataFrame:
    hint = _SEP_HINT.match(text)
    if hint:  # Excel's "sep=;" line: left blank (skipped) so that line numbers stay right
        text = hint.group(2) + text[hint.end():]
        delimiter = delimiter or hint.group(1)
        notes.append(f"the first line '{hint.group(0).strip()}' (Excel's delimiter hint) gave "
                     "the delimiter; it was skipped")
    sep = delimiter or sniff_delimiter(text)
    names = _check_fields(text, sep, display, notes) if header else None
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype="string",
                            header=0 if header else None, index_col=False, nrows=nrows,
                            engine="python" if len(sep) > 1 else "c", keep_default_na=False,
                            na_values=[""], skipinitialspace=False)
    except pd.errors.EmptyDataError as exc:
        raise DataFileError(display, "file is empty", "export the table again; it has no rows",
                            code="empty_file") from exc
    except pd.errors.ParserError as exc:
        raise _parser_error(str(exc), display, sep, header) from exc
    if names is not None and len(names) == frame.shape[1]:
        frame.columns = names  # as written: pandas would rename 'item' twice to 'item.1'
    return frame


def _records(head: str, sep: str):
    """(1-based first line, fields) of each record of a delimited text."""
    if len(sep) > 1:  # '::' files have no quoting
        for line_no, line in enumerate(head.split("\n"), 1):
            line = line.rstrip("\r")
            yield line_no, line.split(sep) if line else []
        return
    reader, last = csv.reader(io.StringIO(head), delimiter=sep), 0
    for fields in reader:
        yield last + 1, fields
        last = reader.line_num


def _check_fields(text: str, sep: str, display: str, notes: list[str]) -> list[str] | None:
    """The header's names; refuse data lines with more fields than the header in the head.

    pandas would take the first column as the index when every line has one more field, and
    silently shift every value one column; later long lines are pandas' own ParserError.
    """
    head, names, longer, shorter = text[:_SNIFF_BYTES], None, [], None
    try:
        records = [(line, fields) for line, fields in _records(head, sep) if fields]
    except csv.Error:
        return None  # e.g. a huge field: pandas decides
    if len(text) > len(head):
        records = records[:-1]  # cut: the last record may be partial (a newline in quotes)
    for line, fields in records:  # blank lines are skipped above, as pandas does
        if names is None:
            names = fields
        elif len(fields) > len(names):
            longer.append((line, fields))
            if len(longer) == 3:
                break
        elif len(fields) < len(names) and shorter is None:
            shorter = (line, len(fields))
    if names is None:
        return None
    width = len(names)
    if longer:
        said = ", ".join(f"line {line} has {len(f)} fields" for line, f in longer)
        trailing = all(len(f) == width + 1 and not f[-1].strip() for _, f in longer)
        fix = (f"remove the trailing delimiter {sep!r} at the end of each line, or add a column "
               "name to the header" if trailing else _long_fix(sep))
        if width == 1:  # a title or note above the table is taken as its header
            fix = (f"if line {records[0][0]} is a title or a note above the table, delete the "
                   "lines above the header; else " + fix)
        raise DataFileError(display, f"{said}; the header has {width}", fix, row=longer[0][0],
                            code="field_count")
    if shorter:
        notes.append(f"some lines have fewer fields than the header (the first is line "
                     f"{shorter[0]}, with {shorter[1]} of {width}); their missing fields are "
                     "empty")
    return names


def _long_fix(sep: str) -> str:
    return (f"quote values that contain the delimiter {sep!r}, or remove the extra delimiters "
            f"(check that {sep!r} is the file's delimiter)")


def _parser_error(msg: str, display: str, sep: str, header: bool) -> DataFileError:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if found:
        width, line, saw = (int(g) for g in found.groups())
        return DataFileError(display, f"line {line} has {saw} fields; the "
                             f"{'header has' if header else 'lines before it have'} {width}",
                             _long_fix(sep), row=line, code="field_count")
    found = re.search(r"EOF inside string starting at row (\d+)", msg)
    if found:
        row = int(found.group(1)) + (0 if header else 1)
        return DataFileError(display, f"a quoted value in data row {row} is never closed (a "
                             "\" without its closing quote)", "close the quote, or write a "
                             "quote inside a quoted value as two (\"\")", row=row,
                             code="malformed_rows")
    return DataFileError(display, f"rows do not have the same number of fields ({msg.strip()})",
                         f"check the delimiter ({sep!r} was detected) and quote fields that "
                         "contain it", code="malformed_rows")
