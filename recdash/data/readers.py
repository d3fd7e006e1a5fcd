"""Read a user's table file (CSV/TSV with any delimiter, gzip, Parquet, JSON lines) into pandas.

Everything is read as text (IDs stay exactly as the shop wrote them: "007" is not 7); parsing
types is the validator's job. Every failure is a DataFileError naming the file, the row where
known, and the fix.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from recdash.errors import DataFileError

MAX_FILE_BYTES = 2 * 1024**3  # larger files should be split or converted to Parquet first
_SNIFF_BYTES = 64 * 1024

Source = str | Path | bytes | BinaryIO


def _suffixes(name: str) -> list[str]:
    return [s.lower() for s in Path(name).suffixes]


def detect_format(name: str) -> str:
    """'csv', 'parquet' or 'jsonl' from the file name (gzip suffix allowed)."""
    sfx = [s for s in _suffixes(name) if s not in (".gz", ".gzip")]
    last = sfx[-1] if sfx else ""
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
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
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataFileError(name, f"gzip data is corrupt ({exc})",
                                "re-compress the file or upload it uncompressed",
                                code="corrupt_file") from exc
    if not data.strip():
        raise DataFileError(name, "file is empty", "export the table again; it has no rows",
                            code="empty_file")
    return data


def _decode(data: bytes, name: str, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        snippet = data[max(0, exc.start - 20): exc.start + 20]
        raise DataFileError(
            name, f"bytes at line {line} are not valid {encoding} ({snippet!r})",
            "re-save the file as UTF-8, or give its encoding (e.g. encoding='latin-1' / "
            "--encoding latin-1)", row=line, code="undecodable_bytes") from exc


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
               max_bytes: int = MAX_FILE_BYTES) -> pd.DataFrame:
    """Read one table file with every column as text.

    Args:
        source: a path, the file's bytes, or a binary file object (e.g. an upload).
        name: the file name to show in errors and to detect the format from.
        encoding: text encoding of CSV/JSON files; utf-8 with or without BOM by default.
        delimiter: field delimiter; sniffed when None.
        header: whether a delimited file's first line holds column names.
        max_bytes: refuse files larger than this.

    Returns:
        A DataFrame of strings (missing values are NA), with a RangeIndex = 0-based data row.

    Raises:
        DataFileError: unreadable, empty, too large, undecodable or malformed file.
    """
    name = name or (str(source) if isinstance(source, (str, Path)) else "upload")
    display = Path(name).name
    fmt = detect_format(name)
    data = _raw_bytes(source, display, max_bytes)
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataFileError(display, f"not a readable Parquet file ({exc})",
                                "export the table again as Parquet, or as CSV",
                                code="corrupt_file") from exc
        frame = frame.astype("string")
    else:
        enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        text = _decode(data, display, enc)
        frame = _read_text(text, display, fmt, delimiter, header)
    if frame.empty:
        raise DataFileError(display, "file has a header but no data rows",
                            "export the table again with its rows", code="empty_file")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.reset_index(drop=True)


def _read_text(text: str, display: str, fmt: str, delimiter: str | None,
               header: bool) -> pd.DataFrame:
    if fmt == "jsonl":
        try:
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
        except ValueError as exc:
            raise DataFileError(display, f"not valid JSON lines ({exc})",
                                "write one JSON object per line", code="malformed_rows") from exc
        return frame.astype("string")
    sep = delimiter or sniff_delimiter(text)
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype="string", header=0 if header else None,
                           engine="python" if len(sep) > 1 else "c", keep_default_na=False,
                           na_values=[""], skipinitialspace=False)
    except pd.errors.ParserError as exc:
        msg = str(exc)
        row = None
        if "line" in msg:
            digits = [int(t) for t in msg.replace(",", " ").split() if t.isdigit()]
            row = digits[0] if digits else None
        raise DataFileError(display, f"rows do not have the same number of fields ({msg})",
                            f"check the delimiter ({sep!r} was detected) and quote fields that "
                            "contain it", row=row, code="malformed_rows") from exc
