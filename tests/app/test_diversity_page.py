"""App test of the Diversity page on the demo shop: it renders the trade-off for an item-kNN run,
moving the MMR slider changes the shopper's list, and a preset saved there is stored and offered
by the Evaluate page's export."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from recdash.eval.run import RunSpec, run_evaluation
from recdash.rerank.presets import load_presets
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app



def test_the_diversity_page_reranks_live_and_saves_a_preset(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    at = start_app(tmp_path, monkeypatch)
    run_evaluation(Workspace(tmp_path), RunSpec("demo", "itemknn"))
    st.cache_data.clear()
    at = at.switch_page("pages/diversity.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Diversity"
    assert len(at.get("plotly_chart")) == 2
    after = at.table[-1].value
    strength = labelled(at.slider, "MMR strength")
    strength.set_value(1.0).run()
    assert not at.exception
    relevance = at.table[-1].value
    assert relevance["item_id"].tolist() == at.table[0].value["item_id"].tolist()  # lam=1
    strength.set_value(0.0).run()
    diverse = at.table[-1].value
    assert diverse["item_id"].tolist() != relevance["item_id"].tolist()
    assert diverse["category"].nunique() > relevance["category"].nunique()
    assert len(after)
    labelled(at.text_input, "Save this setting as a preset").input("varied")
    at.button[0].click().run()
    assert not at.exception
    stored = load_presets(Workspace(tmp_path))
    assert stored["varied"].method == "mmr" and stored["varied"].strength == 0.0
    at.switch_page("pages/evaluate.py").run()
    assert "varied" in labelled(at.selectbox, "Diversity preset").options
