"""Files as shops export them, imported on the Data page in a real browser.

An Excel workbook of a retail order export (US month-first dates, no event column, returns,
prices with a decimal comma) is read and stored with its warnings; a Python pickle saved as
"events.csv" is named and refused, and nothing is stored; a day-first log whose dates fit both
orders is read as the analyst chooses in "Date format". Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from recdash.workspace import Workspace
from tests.browser.harness import Studio, chromium, go_to, open_page, pick, wait_idle

RETAIL = [("536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, "12/1/2010 8:26", "2,55",
           "17850"),
          ("536365", "71053", "WHITE METAL LANTERN", 6, "12/1/2010 8:27", "3,39", "17850"),
          ("C536379", "71053", "WHITE METAL LANTERN", -1, "12/1/2010 9:41", "3,39", "17850"),
          ("536366", "22633", "HAND WARMER UNION JACK", 6, "12/13/2010 8:28", "1,85", "17850"),
          ("536367", "84879", "ASSORTED COLOUR BIRD ORNAMENT", 32, "12/1/2010 8:34", "1,69",
           "13047"),
          ("536368", "22960", "JAM MAKING SET WITH JARS", 6, "12/2/2010 8:34", "4,25", "13047")]


def _upload(page, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(0).set_input_files(str(path))
    wait_idle(page)


def _name_and_import(page, name: str) -> None:
    box = page.get_by_role("textbox", name="Dataset name")
    box.fill(name)
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Validate and import").click()
    wait_idle(page, timeout_s=120)


@pytest.mark.usefixtures("browser_ready")
def test_excel_pickle_and_date_format_on_the_data_page(tmp_path: Path, artifacts: Path) -> None:
    workbook = tmp_path / "orders.xlsx"
    pd.DataFrame(RETAIL, columns=["InvoiceNo", "StockCode", "Description", "Quantity",
                                  "InvoiceDate", "UnitPrice", "CustomerID"]).to_excel(
        workbook, index=False)
    hostile = tmp_path / "events.csv"
    hostile.write_bytes(pickle.dumps({"user_id": ["u1"], "item_id": ["i1"]}))
    dayfirst = tmp_path / "visits.csv"
    dayfirst.write_text("user,item,date\nu1,a,01/02/2024\nu1,b,03/04/2024\nu2,a,05/06/2024\n"
                        "u2,c,07/08/2024\n")
    workspace = tmp_path / "ws"
    with Studio(workspace, tmp_path / "streamlit.log") as studio, \
            chromium(1400, 2600, artifacts / "import-failure.png") as page:
        open_page(page, studio.url, "recdash")
        go_to(page, "Data", "Data")

        _upload(page, workbook)
        page.get_by_text("Check the columns").wait_for()
        _name_and_import(page, "orders")
        page.get_by_text("Imported 'orders'").first.wait_for(timeout=120_000)
        page.get_by_text("returns and cancellations are not interest").first.wait_for()
        page.screenshot(path=str(artifacts / "import-01-excel-orders.png"))
        ds = Workspace(workspace).load_dataset("orders")
        assert set(ds.interactions["event_type"]) == {"purchase"}  # an order export
        assert len(ds.interactions) == 5  # the return was dropped
        first = ds.interactions["timestamp"].min()
        assert (first.month, first.day) == (12, 1)  # month-first, from 12/13/2010
        assert ds.catalog.set_index("item_id").loc["22633", "price"] == pytest.approx(1.85)

        before = sorted(p.relative_to(workspace).as_posix()
                        for p in (workspace / "datasets").rglob("*"))
        _upload(page, hostile)
        page.get_by_text("never unpickles").first.wait_for()
        page.screenshot(path=str(artifacts / "import-02-pickle-refused.png"))
        assert page.get_by_role("button", name="Validate and import").count() == 0
        assert sorted(p.relative_to(workspace).as_posix()
                      for p in (workspace / "datasets").rglob("*")) == before

        _upload(page, dayfirst)
        page.get_by_text("Check the columns").wait_for()
        pick(page, "Date format", "Day first (30/10/2011)")
        _name_and_import(page, "visits")
        page.get_by_text("Imported 'visits'").first.wait_for(timeout=120_000)
        page.screenshot(path=str(artifacts / "import-03-day-first.png"))
        ds = Workspace(workspace).load_dataset("visits")
        first = ds.interactions["timestamp"].min()
        assert (first.year, first.month, first.day) == (2024, 2, 1)  # 01/02 = 1 February
