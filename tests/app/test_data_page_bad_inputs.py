"""Bad inputs through the real Data page (AppTest): a workbook is imported, a pickle and a
compression bomb are refused with their messages shown and the workspace left as it was, a
US-dated log is imported with the "Date format" and "Every row is a" controls set, an order
export left at "detect" counts as purchases, and a hostile file name is shown as text.

The engine's side of every case is `tests/data/test_bad_inputs.py`; this file checks what the
page does with it. The workspace holds one dataset ("keep"), so the studio builds no demo shop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recdash.data.dataset import prepare_dataset
from recdash.workspace import Workspace
from tests.app.test_data_page import by_label, open_data_page
from tests.data.bad_inputs import (CATALOG, LOG, LOG_FRAME, MARKER, RETAIL_CSV, US, evil_pickle,
                                   gzip_bomb, log_with, snapshot, xlsx)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace holding the good dataset 'keep'."""
    ws_root = tmp_path / "ws"
    ds, report = prepare_dataset("keep", LOG.encode(), CATALOG.encode())
    assert ds is not None, report.format()
    Workspace(ws_root).save_dataset(ds, source="test")
    return ws_root


def errors_shown(at) -> str:
    return " ".join(e.value for e in at.error)


def test_an_xlsx_upload_is_imported(root, monkeypatch):
    at = open_data_page(root, monkeypatch)
    book = xlsx({"Orders": [LOG_FRAME.columns.tolist(), *LOG_FRAME.values.tolist()]})
    at.file_uploader[0].set_value(("orders.xlsx", book, "application/vnd.ms-excel")).run()
    assert not at.exception
    assert by_label(at.selectbox, "user_id (required)").value == "user_id"
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Imported 'orders': 6 events."
    assert Workspace(root).load_dataset("orders").interactions["user_id"].nunique() == 3


def test_a_pickle_is_refused_with_its_message_and_never_loaded(root, monkeypatch):
    at = open_data_page(root, monkeypatch)
    before = snapshot(root.parent, root)
    at.file_uploader[0].set_value(("events.csv", evil_pickle(4)(root.parent),
                                   "text/csv")).run()
    assert not at.exception
    shown = errors_shown(at)
    assert "events.csv" in shown and "Python pickle" in shown and "never unpickles" in shown
    assert not [b for b in at.button if b.label == "Validate and import"]
    assert not (root.parent / MARKER).exists()
    assert snapshot(root.parent, root) == before


def test_a_gzip_bomb_is_refused_at_import_and_nothing_is_stored(root, monkeypatch):
    at = open_data_page(root, monkeypatch)
    before = snapshot(root.parent, root)
    at.file_uploader[0].set_value(("log.csv.gz", gzip_bomb(), "application/gzip")).run()
    assert not at.exception  # the preview reads the first rows only
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception
    shown = errors_shown(at)
    assert "decompression\\_limit" in shown and "compression bombs" in shown, shown
    assert any(s.value.startswith("The import was refused") for s in at.subheader)
    assert Workspace(root).dataset_names() == ["keep"]
    assert snapshot(root.parent, root) == before


def test_a_us_dated_order_log_with_the_date_format_and_every_row_a_purchase(root, monkeypatch):
    at = open_data_page(root, monkeypatch)
    at.file_uploader[0].set_value(("us orders.csv", log_with("timestamp", US)(root),
                                   "text/csv")).run()
    assert not at.exception
    by_label(at.selectbox, "Date format").select("month-first")
    by_label(at.selectbox, "Every row is a").select("purchase")
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Imported 'us-orders': 6 events."
    ds = Workspace(root).load_dataset("us-orders")
    assert set(ds.interactions["event_type"].astype(str)) == {"purchase"}
    assert str(ds.interactions["timestamp"].min()) == "2011-10-30 16:17:00+00:00"
    assert any("as chosen (date format 'month-first')" in f.message for f in ds.report.findings)


def test_a_hostile_file_name_is_shown_as_text_and_gives_a_safe_dataset_name(root, monkeypatch):
    at = open_data_page(root, monkeypatch)
    at.file_uploader[0].set_value(("<script>alert(1)</script>.csv", LOG.encode(),
                                   "text/csv")).run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "<script>" not in shown and "\\<script\\>" in shown  # Markdown-escaped, not HTML
    assert by_label(at.text_input, "Dataset name").value == "script"
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception, at.exception
    assert Workspace(root).dataset_names() == ["keep", "script"]


def test_an_order_export_counts_as_purchases_unless_the_analyst_says_otherwise(root,
                                                                               monkeypatch):
    at = open_data_page(root, monkeypatch)
    at.file_uploader[0].set_value(("Online Retail.csv", RETAIL_CSV.encode(), "text/csv")).run()
    assert not at.exception
    assert by_label(at.selectbox, "Every row is a").value is None  # detect
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception, at.exception
    events = Workspace(root).load_dataset("Online-Retail").interactions["event_type"]
    assert set(events.astype(str)) == {"purchase"}


def test_a_shoppers_log_is_cut_into_sessions_from_the_page(root, monkeypatch):
    at = open_data_page(root, monkeypatch)
    log = ("user,item,ts\nu1,a,2024-05-01T10:00\nu1,b,2024-05-01T10:10\n"
           "u1,c,2024-05-01T12:00\nu2,a,2024-05-01T09:00\nu2,b,2024-05-01T09:05\n").encode()
    at.file_uploader[0].set_value(("clicks.csv", log, "text/csv")).run()
    assert not at.exception
    by_label(at.toggle, "Cut into sessions").set_value(True).run()
    by_label(at.number_input, "Minutes without an event that end a session").set_value(30).run()
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception, at.exception
    ds = Workspace(root).load_dataset("clicks")
    assert sorted(ds.interactions["user_id"].unique()) == ["u1#1", "u1#2", "u2#1"]
    assert any(m.label == "Sessions" for m in at.metric)
