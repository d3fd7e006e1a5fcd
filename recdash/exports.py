"""Tables written for people to open in a spreadsheet: CSV and Excel files that cannot run code.

A spreadsheet runs a cell whose text starts with '=', '+', '-' or '@' (and, in some, a tab or a
carriage return) as a formula: a product title such as `=HYPERLINK("http://x", "sale")` or
`=cmd|' /C calc'!A0` in a shop's catalog would run on the analyst's machine when the export is
opened. As OWASP's "CSV Injection" page recommends, such text cells are prefixed with a single
quote, which spreadsheets show as text; numbers are left alone (a negative price stays a
number). Parquet files are not opened by spreadsheets and keep the text as it is.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MIME = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells cannot be run as spreadsheet formulas."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
        if risky.any():
            out[col] = text.where(~risky, "'" + text)
    return out


def table_bytes(frame: pd.DataFrame, fmt: str, sheet: str = "recommendations") -> bytes:
    """`frame` as the bytes of a CSV (UTF-8), Excel (.xlsx) or Parquet file.

    Args:
        frame: the table.
        fmt: "csv", "xlsx" or "parquet" (see MIME).
        sheet: the Excel sheet's name.

    Raises:
        ValueError: an unknown format.
    """
    if fmt not in MIME:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(MIME)}")
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    elif fmt == "csv":
        # Every field quoted: a carriage return inside a title must not end the row for a
        # reader (pandas quotes fields with '\n' only).
        return neutralise(frame).to_csv(index=False, quoting=csv.QUOTE_ALL).encode("utf-8")
    else:
        safe = neutralise(frame)
        for col in safe.columns:  # Excel cells hold no time zone
            if isinstance(safe[col].dtype, pd.DatetimeTZDtype):
                safe[col] = safe[col].dt.tz_convert("UTC").dt.tz_localize(None)
        safe.to_excel(buffer, index=False, sheet_name=sheet[:31], engine="openpyxl")
    return buffer.getvalue()
