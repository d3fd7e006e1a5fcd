"""App test of the Diversity page on the demo shop: it renders the trade-off for an item-kNN run,
moving the MMR slider changes the shopper's list (more strength, more change), the items that
entered and left the list are marked apart, a preset saved there is stored and offered by the
Evaluate page's export, and a shop without categories shows no category tools or metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.rerank.presets import load_presets
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app
from ui import diversity as D


def test_the_diversity_page_reranks_live_and_saves_a_preset(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    at = start_app(tmp_path, monkeypatch)
    run_evaluation(Workspace(tmp_path), RunSpec("demo", "itemknn"))
    st.cache_data.clear()
    at = at.switch_page("pages/diversity.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Diversity"
    assert len(at.get("plotly_chart")) == 2
    strength = labelled(at.slider, "MMR strength")
    assert strength.value == pytest.approx(0.3)  # the default re-ranks a little
    strength.set_value(0.0).run()
    assert not at.exception
    relevance = at.table[-1].value
    assert relevance["item_id"].tolist() == at.table[0].value["item_id"].tolist()  # 0: none
    assert (relevance[D.MARK] == "").all()
    strength.set_value(1.0).run()
    before, diverse = at.table[0].value, at.table[-1].value
    assert diverse["item_id"].tolist() != relevance["item_id"].tolist()
    assert diverse["category"].nunique() > relevance["category"].nunique()
    # items that entered the list are "new", items that left the other list are "left"
    added = ~diverse["item_id"].isin(before["item_id"])
    dropped = ~before["item_id"].isin(diverse["item_id"])
    assert added.any() and (diverse[D.MARK] == np.where(added, D.NEW, "")).all()
    assert (before[D.MARK] == np.where(dropped, D.LEFT, "")).all()
    assert any(c.value.startswith(D.LEGEND) for c in at.caption)
    assert all("-0.0000" not in m.value and m.delta != "-0.0000" for m in at.metric)
    labelled(at.text_input, "Save this setting as a preset").input("varied")
    at.button[0].click().run()
    assert not at.exception
    stored = load_presets(Workspace(tmp_path))
    assert stored["varied"].method == "mmr" and stored["varied"].strength == 1.0
    at.switch_page("pages/evaluate.py").run()
    options = labelled(at.selectbox, "Diversity preset").options
    assert "varied (MMR 1)" in options


def without_categories(ws: Workspace) -> None:
    """Store 'nocat': the demo shop with the catalog's category column dropped."""
    ws.ensure_demo()
    demo = ws.load_dataset("demo")
    ds, report = prepare_dataset("nocat", demo.interactions,
                                 demo.catalog.drop(columns=[S.CATEGORY]))
    assert ds is not None, report.format()
    ws.save_dataset(ds)


def test_a_shop_without_categories_hides_the_category_tools(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    ws = Workspace(tmp_path)
    without_categories(ws)
    run_evaluation(ws, RunSpec("nocat", "itemknn"))  # no item vectors, no text: no similarity
    at = start_app(tmp_path, monkeypatch)
    labelled(at.selectbox, "Dataset").select("nocat").run()
    at.switch_page("pages/diversity.py").run()
    assert not at.exception, at.exception
    method = labelled(at.selectbox, "Method")
    assert method.options == ["Relevance only", "Novelty boost"]
    assert method.value == "novelty"
    assert not [s for s in at.selectbox if s.label == "Similarity"]
    assert [m.label for m in at.metric] == ["NDCG@10", "HR@10", "catalog coverage", "novelty"]
    for table in at.table:
        frame = table.value
        assert S.CATEGORY not in frame and "<NA>" not in frame.to_string()
    assert any("no categories" in c.value for c in at.caption)


def test_marks_of_added_and_dropped_items_look_different() -> None:
    table = pd.DataFrame({"rank": [1, 2], S.ITEM: ["a", "b"], S.TITLE: ["Mug", pd.NA],
                          S.CATEGORY: pd.array([pd.NA, pd.NA], dtype="string"),
                          "changed": [False, True]})
    left, new = D.marked(table, D.LEFT), D.marked(table, D.NEW)
    assert left.data[D.MARK].tolist() == ["", D.LEFT] and new.data[D.MARK].tolist() == ["", D.NEW]
    assert S.CATEGORY not in left.data  # a column with no value at all is left out
    left_html, new_html = left.to_html(), new.to_html()
    assert "rgba(217, 83, 79" in left_html and "rgba(217, 83, 79" not in new_html  # red rows
    assert "rgba(46, 160, 67" in new_html and "rgba(46, 160, 67" not in left_html  # green rows
    assert "<NA>" not in left_html and "&lt;NA&gt;" not in left_html
    with pytest.raises(ValueError, match="mark must be"):
        D.marked(table, "changed")
