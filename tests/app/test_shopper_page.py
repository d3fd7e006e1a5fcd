"""App tests of the Shopper page on the demo shop, run headless with AppTest: it renders with an
item-kNN run, and editing the shopper's history (adding a product, starting from an empty
history) changes the recommendations shown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from recdash.data import schema as S
from recdash.shopper import search_products
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app
from ui import state
from ui.state import chosen_product

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120  # one script run; the first builds the demo shop



def recommended(at: AppTest) -> list[str]:
    """Item IDs of the recommendations table (the page's last st.table)."""
    return at.table[-1].value[S.ITEM].tolist()


@pytest.fixture
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The Shopper page on a fresh workspace holding the demo shop and one item-kNN run."""
    at = start_app(tmp_path, monkeypatch)
    assert not at.exception
    run_evaluation(Workspace(tmp_path), RunSpec("demo", "itemknn"))
    st.cache_data.clear()
    return at.switch_page("pages/shopper.py").run()


def test_the_page_renders_a_shopper_and_their_recommendations(at: AppTest) -> None:
    assert not at.exception
    assert at.title[0].value == "Shopper"
    assert labelled(at.selectbox, "Run").value == "itemknn #1"
    history = at.dataframe[0].value
    assert len(history) and list(history.columns)[:4] == [S.TIME, S.TITLE, S.CATEGORY, S.EVENT]
    assert len(recommended(at)) == 10
    labelled(at.radio, "Find a shopper").set_value("interesting").run()
    labelled(at.selectbox, "List").select("heavy buyers").run()
    assert not at.exception and len(recommended(at)) == 10


def test_editing_the_history_changes_the_recommendations(at: AppTest) -> None:
    original = recommended(at)
    labelled(at.button, "Start from an empty history (new visitor)").click().run()
    assert not at.exception
    assert "0 events (edited; the stored history has" in " ".join(c.value for c in at.caption)
    empty = recommended(at)  # a new visitor gets the best sellers
    assert len(empty) == 10 and empty != original

    labelled(at.text_input, "Find a product by title").input("Face Cream").run()
    labelled(at.button, "Add to the history").click().run()
    assert not at.exception
    assert "1 event (edited; the stored history has" in " ".join(c.value for c in at.caption)
    assert "Face Cream" in at.dataframe[0].value[S.TITLE].iloc[0]  # newest first, on top
    added = recommended(at)
    assert added != empty
    assert "new" in at.table[-1].value["change"].tolist()

    labelled(at.button, "Reset edits").click().run()
    assert not at.exception and recommended(at) == original


def test_an_edit_clicked_while_a_search_reruns_is_kept(at: AppTest) -> None:
    """The product search and the click reach the server together (typed, then Add clicked
    before the results were drawn): the edit is applied in the button's callback, before the
    page redraws, and adds what the search found; nothing is lost."""
    labelled(at.button, "Start from an empty history (new visitor)").click().run()
    labelled(at.selectbox, "Product").select_index(3)
    labelled(at.text_input, "Find a product by title").input("Tea")  # not run yet
    labelled(at.button, "Add to the history").click().run()  # one rerun for both
    assert not at.exception
    history = at.dataframe[0].value
    catalog = Workspace(at.session_state[state.WORKSPACE]).load_dataset("demo").catalog
    assert history[S.ITEM].tolist() == [search_products(catalog, "Tea")[S.ITEM].iloc[0]]


def test_the_add_button_means_the_product_the_search_lists() -> None:
    catalog = pd.DataFrame({S.ITEM: ["p1", "p2", "p3"], S.TITLE: ["Green Tea", "Mug", "Tea Pot"],
                            S.CATEGORY: "c", S.PRICE: 1.0})
    assert chosen_product(catalog, "tea", "p3") == "p3"  # listed: as chosen
    assert chosen_product(catalog, "tea", "Tea Pot (p3)") == "p3"  # a label sent for an ID
    assert chosen_product(catalog, "tea", "p2") == "p1"  # from before the search: its first hit
    assert chosen_product(catalog, "mug", "Helix (p9)") == "p2"
    assert chosen_product(catalog, "kettle", "p1") is None  # nothing found: nothing added


def test_the_address_names_the_shopper_and_opens_them(at: AppTest) -> None:
    shown = labelled(at.selectbox, "Shopper").value
    assert at.query_params["user"] in (shown, [shown])
    other = labelled(at.selectbox, "Shopper").options[5]
    fresh = AppTest.from_file(at._script_path, default_timeout=120)
    fresh.query_params["user"] = other
    fresh.run()
    fresh.switch_page("pages/shopper.py").run()
    assert not fresh.exception
    assert labelled(fresh.selectbox, "Shopper").value == other
