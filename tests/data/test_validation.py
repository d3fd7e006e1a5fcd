"""Validation: one small bad file per error (message checked, nothing stored), and warnings."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from recdash import cli
from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset

CATALOG = "item_id,title,category,brand,price\np1,Red Mug,Home > Kitchen > Mugs,Acme,9.99\n" \
          "p2,Blue Mug,Home > Kitchen > Mugs,Acme,$12.50\np3,Tea,Grocery > Tea,Leafy,4\n"


def _snapshot(root):
    # Lock files (recdash.locks: flock files named after the dataset) are not stored data.
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if "catalog.sqlite" not in p.name and p.relative_to(root).parts[0] != "locks")
    with sqlite3.connect(root / "catalog.sqlite") as db:
        rows = db.execute("SELECT name, stats FROM datasets ORDER BY name").fetchall()
    return files, rows


@pytest.fixture
def stored(workspace, tmp_path):
    """A workspace that already holds one dataset, and its snapshot."""
    good = tmp_path / "good.csv"
    good.write_text("user_id,item_id,timestamp\nu1,p1,1700000000\nu1,p2,1700000100\n")
    assert cli.main(["--workspace", str(workspace.root), "import", "--interactions", str(good),
                     "--name", "existing"]) == 0
    return workspace, _snapshot(workspace.root)


BAD_FILES = {
    "missing_column": ("visitor,when\nu1,2024-01-01\n", "required column(s) item_id not found"),
    "unparseable_timestamps": ("user_id,item_id,timestamp\nu1,p1,2024-01-01T10:00:00Z\n"
                               "u1,p2,yesterday\nu2,p1,31/02/2024 99:00\n",
                               "2 timestamp(s) could not be read"),
    "empty_file": ("", "file is empty"),
    "undecodable_bytes": (b"user_id,item_id\nu1,caf\xe9\n", "not valid utf-8"),
    "unknown_event_types": ("user_id,item_id,event\nu1,p1,view\nu1,p2,refund\n",
                            "'refund' are not view, cart or purchase"),
    "mixed_timestamp_formats": ("user_id,item_id,timestamp\nu1,p1,10/30/2011 10:00\n"
                                "u1,p2,30/10/2011 11:00\nu2,p1,2011-10-30T10:00:00Z\n",
                                "mixes 3 formats"),
}


@pytest.mark.parametrize("code", sorted(BAD_FILES))
def test_each_error_blocks_import_and_stores_nothing(stored, tmp_path, capsys, code):
    workspace, before = stored
    content, words = BAD_FILES[code]
    bad = tmp_path / f"{code}.csv"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    rc = cli.main(["--workspace", str(workspace.root), "import", "--interactions", str(bad),
                   "--name", "newdata"])
    out = capsys.readouterr().out
    assert rc == 1
    assert f"ERROR {code}" in out and words in out and "Fix:" in out and bad.name in out
    assert _snapshot(workspace.root) == before


def test_duplicate_catalog_ids_with_different_data_block(stored, tmp_path, capsys):
    workspace, before = stored
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id\nu1,p1\nu1,p2\n")
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CATALOG + "p1,Red Mug XL,Home > Kitchen > Mugs,Acme,11.99\n")
    rc = cli.main(["--workspace", str(workspace.root), "import", "--interactions", str(events),
                   "--catalog", str(catalog), "--name", "newdata"])
    out = capsys.readouterr().out
    assert rc == 1 and "ERROR duplicate_item_ids" in out and "Red Mug XL" in out
    assert _snapshot(workspace.root) == before


def _events(text: str) -> pd.DataFrame:
    from io import StringIO
    return pd.read_csv(StringIO(text), dtype=str)


def test_warnings_explain_themselves_with_counts_and_examples():
    events = _events(
        "user_id,item_id,timestamp,event_type\n"
        "u1,p1,2024-01-01T10:00:00Z,view\n"
        "u1,p1,2024-01-01T10:00:00Z,view\n"      # exact duplicate
        "u1,p2,2024-01-01T10:05:00Z,view\n"
        "u1,p3,2024-01-01T10:05:00Z,cart\n"      # same time as previous event of u1
        "u2,p9,2024-01-02T08:00:00Z,purchase\n"  # p9 is not in the catalog; u2 has one event
    )
    catalog = _events(CATALOG + "p4,,Home,Acme,3\n")  # p4 has no text
    ds, report = prepare_dataset("w", events, catalog)
    assert ds is not None and report.ok
    found = {f.code: f for f in report.warnings}
    assert set(found) >= {"duplicate_events", "timestamp_collisions", "items_missing_from_catalog",
                          "items_without_text", "single_event_users"}
    assert found["duplicate_events"].count == 1 and len(ds.interactions) == 4
    assert found["timestamp_collisions"].count == 2
    assert found["items_missing_from_catalog"].examples[0][S.ITEM] == "p9"
    assert found["items_without_text"].count == 1
    assert found["single_event_users"].examples[0][S.USER] == "u2"
    assert "p9" in set(ds.catalog[S.ITEM])  # kept, shown by ID
    assert ds.catalog.set_index(S.ITEM).loc["p2", S.PRICE] == pytest.approx(12.5)


def test_long_sequences_and_kcore_loss_warn(monkeypatch):
    from recdash.data import validation
    monkeypatch.setattr(validation, "LONG_SEQUENCE", 5)
    rows = [("u1", f"p{i % 4}") for i in range(8)] + [("u2", "p0"), ("u2", "p1"), ("u3", "p9")]
    events = pd.DataFrame(rows, columns=[S.USER, S.ITEM])
    ds, report = prepare_dataset("k", events, kcore=2)
    codes = report.codes("warning")
    assert "long_sequences" in codes and "kcore_loss" in codes
    assert "u3" not in set(ds.interactions[S.USER])
    assert "no_timestamps" in report.codes("info")


@pytest.mark.parametrize("values, unit", [
    (["1700000000", "1700000100"], "epoch seconds"),
    (["1700000000000", "1700000100000"], "epoch milliseconds"),
    (["2023-11-14T22:13:20Z", "2023-11-14 22:15:00+00:00"], "ISO 8601"),
])
def test_timestamp_formats_are_detected_and_reported(values, unit):
    events = pd.DataFrame({"visitorid": ["u1", "u1"], "itemid": ["a", "b"], "ts": values})
    ds, report = prepare_dataset("t", events)
    assert ds.interactions[S.TIME].iloc[0] == pd.Timestamp("2023-11-14T22:13:20Z")
    fmt = next(f for f in report.notes if f.code == "timestamp_format")
    assert unit in fmt.message


def test_column_guessing_says_what_it_guessed_and_mapping_wins():
    events = pd.DataFrame({"visitorid": ["u1"], "productId": ["a"], "session_id": ["s"],
                           "action": ["addtocart"]})
    ds, report = prepare_dataset("g", events)
    lines = report.columns["interactions"]
    assert "user_id <- 'visitorid' (guessed)" in lines
    assert "item_id <- 'productId' (guessed)" in lines
    assert ds.interactions[S.EVENT].iloc[0] == S.CART
    ds2, _ = prepare_dataset("g", events, mapping=S.ColumnMapping({"user_id": "session_id"}))
    assert ds2.interactions[S.USER].iloc[0] == "s"


def test_shop_event_labels_are_mapped():
    events = pd.DataFrame({"user_id": ["u", "u"], "item_id": ["a", "b"],
                           "event_type": ["seen", "bought"]})
    ds, report = prepare_dataset("e", events, mapping=S.ColumnMapping(
        events={"seen": "view", "bought": "purchase"}))
    assert report.ok and list(ds.interactions[S.EVENT]) == [S.VIEW, S.PURCHASE]


def test_sequences_keep_file_order_among_equal_or_missing_times():
    events = pd.DataFrame({"user_id": ["u2", "u1", "u2", "u1"], "item_id": ["x", "a", "y", "b"]})
    ds, _ = prepare_dataset("o", events)
    assert ds.interactions[S.ITEM].tolist() == ["a", "b", "x", "y"]


RETAIL = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom
C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-2,12/1/2010 9:41,2.55,13047,United Kingdom
536380,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,12/13/2010 9:41,2.95,13047,United Kingdom
536381,22633,HAND WARMER UNION JACK,0,12/13/2010 9:45,1.85,13047,France
536382,71053,WHITE METAL LANTERN,1,12/14/2010 10:00,3.39,,United Kingdom
"""


def test_an_online_retail_export_imports_with_returns_dropped_and_titles_in_the_catalog(tmp_path):
    path = tmp_path / "online_retail.csv"
    path.write_text(RETAIL)
    ds, report = prepare_dataset("retail", path)
    assert ds is not None and report.ok, report.format()
    lines = report.columns["online_retail.csv"]
    for line in ("user_id <- 'CustomerID' (guessed)", "item_id <- 'StockCode' (guessed)",
                 "timestamp <- 'InvoiceDate' (guessed)", "quantity <- 'Quantity' (guessed)",
                 "title <- 'Description' (guessed, for the catalog)",
                 "price <- 'UnitPrice' (guessed, for the catalog)"):
        assert line in lines
    assert "not used: InvoiceNo, Country" in lines
    found = {f.code: f for f in report.findings}
    assert "month-first" in found["timestamp_format"].message
    assert found["returns_dropped"].count == 1 and "returns and cancellations" in \
        found["returns_dropped"].message and found["returns_dropped"].examples[0]["row"] == 5
    assert found["zero_quantity"].count == 1
    assert "order export" in found["no_event_type"].message
    assert "catalog_from_log" in found and "missing_catalog_columns" not in found
    events = ds.interactions
    assert list(events.columns) == list(S.INTERACTION_STORED) and len(events) == 5
    assert set(events[S.EVENT]) == {S.PURCHASE} and events[S.VALUE].tolist()[0] == 32.0
    assert events[S.TIME].min() == pd.Timestamp("2010-12-01 08:26", tz="UTC")
    items = ds.catalog.set_index(S.ITEM)
    assert items.loc["84879", S.TITLE] == "ASSORTED COLOUR BIRD ORNAMENT"
    assert items.loc["85123A", S.PRICE] == pytest.approx(2.95)  # the latest of equally frequent


def test_the_log_completes_a_catalog_lacking_fields():
    events = _events(RETAIL)
    catalog = pd.DataFrame({"item_id": ["85123A", "71053"], "category": ["Home", "Home"]})
    ds, report = prepare_dataset("r", events, catalog)
    assert report.ok
    missing = next(f for f in report.warnings if f.code == "missing_catalog_columns")
    assert "description" in missing.message and "brand" in missing.message
    assert "price" not in missing.column and "title" not in missing.column  # the log has them
    items = ds.catalog.set_index(S.ITEM)
    assert items.loc["71053", S.TITLE] == "WHITE METAL LANTERN"
    assert items.loc["71053", S.CATEGORY] == "Home" and items.loc["84879", S.PRICE] == 1.69
    assert any(f.code == "catalog_from_log" and "title" in f.message for f in report.notes)


def test_a_catalog_missing_optional_columns_says_what_is_off():
    events = _events("user_id,item_id\nu1,p1\nu1,p2\n")
    ds, report = prepare_dataset("m", events, _events("item_id,title\np1,Mug\np2,Tea\n"))
    warning = next(f for f in report.warnings if f.code == "missing_catalog_columns")
    assert warning.column == "description, category, brand, price"
    assert "no price: price filters and price features are off" in warning.message
    assert "--catalog-map description=YourColumn" in warning.text("cli")
    assert "Check the columns" in warning.text("studio")


def test_ga4_and_shopify_column_names_are_understood():
    ga4 = pd.DataFrame({"event_timestamp": ["1700000000000000", "1700000100000000"],
                        "event_name": ["view_item", "add_to_cart"],
                        "user_pseudo_id": ["123.456", "123.456"], "item_id": ["SKU1", "SKU2"]})
    ds, report = prepare_dataset("ga4", ga4)
    assert report.ok and "epoch microseconds" in " ".join(f.message for f in report.notes)
    assert ds.interactions[S.EVENT].tolist() == [S.VIEW, S.CART]
    shop = pd.DataFrame({"Name": ["#1001", "#1002"], "Email": ["ann@shop.com", "bob@shop.com"],
                         "Created at": ["2023-10-30 16:17:05 +0100"] * 2,
                         "Lineitem quantity": ["1", "2"], "Lineitem name": ["Mug", "Tea"],
                         "Lineitem price": ["9.99", "4.50"], "Lineitem sku": ["M1", "T1"]})
    ds, report = prepare_dataset("shopify", shop)
    error = report.errors[0]
    assert ds is None and error.code == "missing_column" and "e-mail" in error.message
    ds, report = prepare_dataset("shopify", shop, mapping=S.ColumnMapping({S.USER: "Email"}))
    assert report.ok and "email_user_ids" in report.codes("warning")
    assert ds.catalog.set_index(S.ITEM).loc["T1", S.TITLE] == "Tea"
    assert ds.interactions[S.TIME].iloc[0] == pd.Timestamp("2023-10-30 15:17:05", tz="UTC")


def test_time_format_and_default_event_options():
    events = _events("user_id,item_id,when\nu1,p1,01/02/2024\nu1,p2,03/02/2024\n")
    ds, report = prepare_dataset("t", events, mapping=S.ColumnMapping({S.TIME: "when"}),
                                 time_format="day-first", default_event="purchases")
    assert report.ok and ds.interactions[S.TIME].iloc[0] == pd.Timestamp("2024-02-01", tz="UTC")
    assert set(ds.interactions[S.EVENT]) == {S.PURCHASE}
    for option, code, words in (({"time_format": "weekly"}, "bad_time_format", "'weekly'"),
                                ({"default_event": "refund"}, "bad_default_event", "'refund'")):
        ds, report = prepare_dataset("t", events, **option)
        assert ds is None and report.errors[0].code == code and words in report.errors[0].message


def test_ids_lose_control_characters_and_blank_text_counts_as_missing():
    events = pd.DataFrame({"user_id": ["u\x001", "u1", "\u200b"], "item_id": ["p1", "p2", "p1"]})
    catalog = pd.DataFrame({"item_id": ["p1", "p2"], "title": ["   ", "Tea"],
                            "description": ["\u00a0", None], "category": ["Food//Tea", "Food"],
                            "brand": ["b", "b"], "price": ["1,50 €", "2,00 €"]})
    ds, report = prepare_dataset("i", events, catalog)
    assert report.ok
    assert ds.interactions[S.USER].tolist() == ["u1", "u1"]
    codes = report.codes()
    assert {"control_characters_in_ids", "missing_ids", "items_without_text",
            "malformed_categories"} <= set(codes)
    items = ds.catalog.set_index(S.ITEM)
    assert items.loc["p1", S.CATEGORY] == "Food > Tea" and items.loc["p2", S.PRICE] == 2.0


def test_findings_carry_a_hint_per_surface_and_old_reports_still_load():
    from recdash.data.report import ValidationReport

    _, report = prepare_dataset("s", _events("visitor,when\nu1,2024-01-01\n"))
    error = report.errors[0]
    assert "--map item_id=YourColumn" in error.text("cli")
    studio = error.text("studio")
    assert "under 'Check the columns' above" in studio and "--map" not in studio
    assert "ColumnMapping(interactions=" in error.text("python")
    assert "Check the columns" in report.format(surface="studio")
    data = report.to_dict(surface="studio")
    assert data["findings"][0]["how"]["cli"] == "--map item_id=YourColumn"
    assert "Check the columns" in data["findings"][0]["hint"]
    assert ValidationReport.from_dict(data).errors[0] == error
    old = {"ok": False, "findings": [{"severity": "error", "code": "missing_column",
                                      "message": "m", "file": "f", "fix": "x", "count": 0,
                                      "column": None, "examples": [], "retired": 1}, {}]}
    loaded = ValidationReport.from_dict(old)
    assert loaded.errors[0].how == {} and loaded.errors[0].text() == "f: m. Fix: x"
    assert ValidationReport.from_dict({}).ok
