"""App tests of the Shopper page on the demo shop, run headless with AppTest: it renders with an
item-kNN run, and editing the shopper's history (adding a product, starting from an empty
history) changes the recommendations shown."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from recdash.data import schema as S
from recdash.eval.run import RunSpec, run_evaluation
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app

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
    assert "Edited history: length 0 " in " ".join(c.value for c in at.caption)
    empty = recommended(at)  # a new visitor gets the best sellers
    assert len(empty) == 10 and empty != original

    labelled(at.text_input, "Find a product by title").input("Face Cream").run()
    labelled(at.button, "Add to the history").click().run()
    assert not at.exception
    assert "Edited history: length 1 " in " ".join(c.value for c in at.caption)
    added = recommended(at)
    assert added != empty
    assert "new" in at.table[-1].value["change"].tolist()

    labelled(at.button, "Reset edits").click().run()
    assert not at.exception and recommended(at) == original
