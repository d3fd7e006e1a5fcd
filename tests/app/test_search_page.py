"""App tests of the Search page on the demo shop, headless with AppTest: a query finds what it
names, a misspelt one is corrected and said, searching as a shopper personalises the order and
explains a result, filters narrow the results, and an empty query asks for one."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from recdash.data import schema as S
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app


def results(at: AppTest) -> list[str]:
    return at.table[-1].value[S.TITLE].tolist()


@pytest.fixture
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The Search page on a fresh workspace with the demo shop and one item-kNN run."""
    at = start_app(tmp_path, monkeypatch)
    assert not at.exception
    run_evaluation(Workspace(tmp_path), RunSpec("demo", "itemknn"))
    return at.switch_page("pages/search.py").run()


def test_an_empty_query_asks_for_one(at: AppTest) -> None:
    assert not at.exception and at.title[0].value == "Search"
    assert any("Type a query" in i.value for i in at.info)
    assert not at.table


def test_a_query_finds_what_it_names_and_corrects_typos(at: AppTest) -> None:
    labelled(at.text_input, "Search the catalog").input("wireless mouse").run()
    assert not at.exception
    titles = results(at)
    assert len(titles) == 20 and all("Mouse" in t for t in titles[:10])
    labelled(at.text_input, "Search the catalog").input("wireles mouse").run()
    assert any("'wireles'" in i.value and "'wireless'" in i.value for i in at.info)
    assert all("Wireless Mouse" in t for t in results(at)[:5])  # the meaning differs a little
    # the result's explanation names the words it matched, highlighted in its title
    assert "**Mouse**" in " ".join(m.value for m in at.markdown)


def test_searching_as_a_shopper_personalises_and_explains(at: AppTest) -> None:
    labelled(at.text_input, "Search the catalog").input("black").run()
    anonymous = results(at)
    labelled(at.radio, "Search as").set_value("A stored shopper").run()
    labelled(at.slider, "Personalisation").set_value(0.6).run()
    assert not at.exception
    assert "personalised for" in " ".join(c.value for c in at.caption)
    assert results(at) != anonymous
    assert any("The shopper's part" in m.value for m in at.markdown)
    labelled(at.slider, "Personalisation").set_value(0.0).run()
    assert results(at) == anonymous


def test_filters_narrow_the_results(at: AppTest) -> None:
    labelled(at.text_input, "Search the catalog").input("black").run()
    category = labelled(at.selectbox, "Category")
    wanted = next(o for o in category.options if o.startswith("Electronics"))
    category.set_value(wanted).run()
    assert not at.exception
    assert set(at.table[-1].value[S.CATEGORY]) == {wanted}
