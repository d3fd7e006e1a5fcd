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
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if "catalog.sqlite" not in p.name)
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
