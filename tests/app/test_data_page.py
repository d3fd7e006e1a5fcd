"""App tests of the Data page: profile of the selected dataset, import from uploads, rename and
delete (the import engine itself: tests/data/test_imports.py).

The uploads go through AppTest's `file_uploader`, so the page is driven as an analyst would:
choose files, correct the mapping, press "Validate and import". After its first run, an AppTest runs
the page file without the frame (Streamlit's legacy `pages/` mode: no sidebar), so these tests
read the selected dataset from the page's header, and one test checks the frame's part (the
sidebar picker follows the page's choice) on a first run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from recdash.data import schema as S
from recdash.workspace import Workspace
from tests.app.test_app import APP, TIMEOUT_S, metrics, start_app, tiny_shop
from ui import state

PAGE = "pages/data.py"

# 12 events of 3 shoppers; the shop's own column names, and a label ("wish") that only appears
# after the preview's first 10 rows.
EVENTS_CSV = b"""visitor,product,when,action
v1,p1,2025-03-01T10:00:00Z,view
v1,p2,2025-03-01T10:01:00Z,view
v1,p2,2025-03-01T10:02:00Z,basket
v1,p2,2025-03-01T10:03:00Z,buy
v2,p1,2025-03-02T09:00:00Z,view
v2,p3,2025-03-02T09:01:00Z,view
v2,p1,2025-03-02T09:02:00Z,buy
v3,p3,2025-03-03T12:00:00Z,view
v3,p2,2025-03-03T12:01:00Z,view
v3,p1,2025-03-03T12:02:00Z,view
v3,p3,2025-03-03T12:03:00Z,view
v3,p4,2025-03-03T12:04:00Z,wish
"""
CATALOG_CSV = b"""sku,name,section,cost
p1,Blue mug,Home > Kitchen,5.50
p2,Green tea,Food > Tea,3.20
p3,Teapot,Home > Kitchen,19.90
p4,Tea towel,Home > Textiles,4.00
"""


def open_data_page(root: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = start_app(root, monkeypatch)
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def by_label(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert len(found) == 1, f"expected one widget '{label}', found {[w.label for w in widgets]}"
    return found[0]


def selected(at: AppTest) -> str:
    """The dataset the page shows."""
    shown = [h.value for h in at.header if h.value.startswith("Dataset: ")]
    assert len(shown) == 1, shown
    return shown[0].removeprefix("Dataset: ")


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def stored_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "datasets").iterdir())


def test_demo_shop_shows_its_report_and_profile(tmp_path, monkeypatch):
    at = open_data_page(tmp_path, monkeypatch)
    assert [h.value for h in at.header] == ["Import a dataset", "Dataset: demo"]
    assert at.success[0].value.startswith("Validation passed")
    titles = chart_titles(at)
    assert len(titles) == 6
    for start in ("Events per day", "Event funnel", "Popularity long tail", "Events per user",
                  "Cold start", "Category mix"):
        assert any(t.startswith(start) for t in titles), (start, titles)
    assert any("200 MB" in c.value and "server.maxUploadSize" in c.value for c in at.caption)
    assert any("demo shop" in c.value and "recdash demo" in c.value for c in at.caption)


def test_bad_upload_shows_its_errors_and_stores_nothing(tmp_path, monkeypatch):
    at = open_data_page(tmp_path, monkeypatch)
    before = stored_files(tmp_path)
    at.file_uploader[0].set_value(("no-items.csv", b"user,when\nu1,2025-01-01\nu2,2025-01-02\n",
                                   "text/csv")).run()
    assert by_label(at.selectbox, "item_id (required)").value is None  # nothing looks like it
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("missing\\_column" in e and "item\\_id" in e and "Fix:" in e for e in errors)
    assert any(s.value.startswith("The import was refused") for s in at.subheader)
    assert Workspace(tmp_path).dataset_names() == ["demo"]
    assert stored_files(tmp_path) == before


def test_unreadable_upload_says_which_file_and_why(tmp_path, monkeypatch):
    at = open_data_page(tmp_path, monkeypatch)
    at.file_uploader[0].set_value(("log.parquet", b"not parquet at all", "application/x")).run()
    assert not at.exception
    assert "log.parquet" in at.error[0].value and "Parquet" in at.error[0].value
    assert not [b for b in at.button if b.label == "Validate and import"]


def test_good_upload_with_corrected_mapping_imports_and_is_selected(tmp_path, monkeypatch):
    at = open_data_page(tmp_path, monkeypatch)
    at.file_uploader[0].set_value(("March shop.csv", EVENTS_CSV, "text/csv"))
    at.file_uploader[1].set_value(("products.csv", CATALOG_CSV, "text/csv")).run()
    assert not at.exception
    # The guesses: visitor, product and action are synonyms; 'when' and 'section' are not.
    assert by_label(at.selectbox, "user_id (required)").value == "visitor"
    assert by_label(at.selectbox, "event_type").value == "action"
    assert by_label(at.selectbox, "timestamp").value is None
    assert by_label(at.selectbox, "title").value == "name"
    assert by_label(at.text_input, "Dataset name").value == "March-shop"
    by_label(at.selectbox, "timestamp").select("when")
    by_label(at.selectbox, "category").select("section")
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception
    # 'wish' was not in the preview: the refused import names it, and the page asks about it.
    assert any("unknown\\_event\\_types" in e.value for e in at.error)
    assert not Workspace(tmp_path).has_dataset("March-shop")
    by_label(at.selectbox, "'wish' means").select("cart")
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Imported 'March-shop': 12 events."
    assert selected(at) == "March-shop"
    assert at.file_uploader[0].value is None  # the upload boxes start empty again
    ds = Workspace(tmp_path).load_dataset("March-shop")
    # basket and wish (mapped by hand) are carts, buy is a purchase
    assert ds.interactions[S.EVENT].value_counts().to_dict() == {"view": 8, "cart": 2,
                                                                  "purchase": 2}
    assert ds.interactions[S.TIME].notna().all()
    assert ds.catalog.set_index(S.ITEM)[S.CATEGORY]["p2"] == "Food > Tea"
    assert len(chart_titles(at)) == 6


def test_a_field_left_empty_is_not_imported(tmp_path, monkeypatch):
    at = open_data_page(tmp_path, monkeypatch)
    log = b"user_id,item_id,event_type,rating\nu1,a,view,x\nu1,b,view,y\nu2,a,view,z\n"
    at.file_uploader[0].set_value(("ratings.csv", log, "text/csv")).run()
    assert by_label(at.selectbox, "value").value == "rating"
    by_label(at.selectbox, "value").select_index(0)  # "(not in the file)"
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception
    stored = Workspace(tmp_path).load_dataset("ratings").interactions
    assert S.VALUE not in stored.columns  # 'rating' would have been read (and found unreadable)


def test_rename_and_delete_need_confirmation(tmp_path, monkeypatch):
    monkeypatch.setenv("RECDASH_WORKSPACE", str(tmp_path))
    tiny_shop("shop-a", 3)
    tiny_shop("shop-b", 2)
    run_id = Workspace(tmp_path).create_run("shop-a", "popularity", {}, {})
    at = open_data_page(tmp_path, monkeypatch)
    assert selected(at) == "shop-a"

    by_label(at.text_input, "New name").input("shop-b")
    by_label(at.button, "Rename").click().run()  # not confirmed
    assert at.warning[-1].value == "Tick the box to confirm the rename."
    assert Workspace(tmp_path).dataset_names() == ["shop-a", "shop-b"]
    by_label(at.checkbox, "Rename 'shop-a'; its runs and queued jobs follow it").check()
    by_label(at.button, "Rename").click().run()  # confirmed, but the name is taken
    assert any("a dataset named 'shop-b' exists" in e.value for e in at.error)
    by_label(at.text_input, "New name").input("shop-c")
    by_label(at.button, "Rename").click().run()
    assert not at.exception
    assert Workspace(tmp_path).dataset_names() == ["shop-c", "shop-b"]
    assert Workspace(tmp_path).runs("shop-c")["id"].tolist() == [run_id]
    assert at.success[0].value == "Renamed 'shop-a' to 'shop-c'."
    assert selected(at) == "shop-c"

    by_label(at.button, "Delete").click().run()  # not confirmed
    assert at.warning[-1].value == "Tick the box to confirm the deletion."
    assert Workspace(tmp_path).has_dataset("shop-c")
    by_label(at.checkbox, "I understand: delete 'shop-c' for good").check()
    by_label(at.button, "Delete").click().run()
    assert not at.exception
    assert Workspace(tmp_path).dataset_names() == ["shop-b"]
    assert Workspace(tmp_path).runs().empty
    assert stored_files(tmp_path) == [Workspace(tmp_path).dataset_dir("shop-b").name]
    assert at.success[0].value == "Deleted 'shop-c'."
    assert selected(at) == "shop-b"


def test_the_frame_selects_what_the_data_page_chose(tmp_path, monkeypatch):
    monkeypatch.setenv("RECDASH_WORKSPACE", str(tmp_path))
    tiny_shop("shop-a", 3)
    tiny_shop("shop-b", 2)
    at = start_app(tmp_path, monkeypatch)
    assert at.sidebar.selectbox[0].value == "shop-a"
    # Only an AppTest's first run goes through the frame (see the module docstring), so a fresh
    # one starts with what an import or a rename leaves in the session.
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.session_state[state.DATASET] = "shop-a"
    at.session_state[state.NEXT_DATASET] = "shop-b"
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "shop-b"
    assert metrics(at)["Shoppers"] == "2"
    assert at.session_state[state.NEXT_DATASET] is None  # used once
