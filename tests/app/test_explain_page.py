"""App tests of explanations on the demo shop: the Explain page renders a reason, the
counterfactual and the charts for a quick attention run, explains a sample of shoppers, and the
Shopper page's panel explains the edited history."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app

QUICK = {"epochs": 1, "max_len": 30, "dim": 16, "n_layers": 1, "text": False}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace holding the demo shop and one quick attention run."""
    at = start_app(tmp_path, monkeypatch)
    assert not at.exception
    run_evaluation(Workspace(tmp_path), RunSpec.build("demo", "attention", QUICK))
    st.cache_data.clear()
    return tmp_path



def test_the_explain_page_explains_a_recommendation(root: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    at = start_app(root, monkeypatch, page="pages/explain.py")
    assert not at.exception, at.exception
    assert at.title[0].value == "Explain recommendations"
    reason = at.info[0].value
    assert reason.startswith(("Because", "Not because", "No event")), reason
    assert any("What if they had not" in m.value for m in at.markdown)
    assert any("model evaluations" in c.value for c in at.caption)
    item = labelled(at.selectbox, "Recommendation to explain")
    item.select(item.options[3]).run()
    assert not at.exception and at.info[0].value  # another item, another explanation
    at.button[0].click().run()  # explain the sample
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) >= 4  # waterfall, signals, attention, category, brand


def test_the_shopper_page_panel_explains_the_edited_history(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start_app(root, monkeypatch, page="pages/shopper.py")
    labelled(at.toggle, "Explain a recommendation").set_value(True).run()
    assert not at.exception, at.exception
    first = at.info[0].value
    labelled(at.button, "Start from an empty history (new visitor)").click().run()
    assert not at.exception
    assert any("empty history has nothing to explain" in i.value for i in at.info)
    assert first
