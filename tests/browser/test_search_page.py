"""The Search page in a real browser: type a query and press Enter, see results that match it;
search again as a stored shopper and see the list personalised; open why a result is there.
Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from pathlib import Path

import pytest

from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.browser.harness import (Studio, chromium, open_page, search_for, table_column,
                                   wait_idle)


@pytest.mark.usefixtures("browser_ready")
def test_search_anonymously_then_as_a_shopper(tmp_path: Path, artifacts: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.ensure_demo()
    run_evaluation(ws, RunSpec("demo", "itemknn"))
    with Studio(ws.root, tmp_path / "streamlit.log") as studio, \
            chromium(1400, 2000, artifacts / "search-failure.png") as page:
        open_page(page, studio.url + "/search", "Search")
        page.get_by_text("Type a query").first.wait_for()
        # The first query embeds the catalog and builds its index (once per catalog).
        marks = search_for(page, "wireles mouse", timeout_s=300)  # a typo: corrected, said
        assert marks["shown"] > 0
        titles = table_column(page, "title", static=True, filled=True)
        assert len(titles) == 20 and all("Mouse" in t for t in titles[:10])
        page.get_by_text("searched for 'wireless' instead").first.wait_for()
        page.get_by_text("the query alone").first.wait_for()
        page.screenshot(path=str(artifacts / "11-search.png"))

        page.get_by_text("A stored shopper", exact=True).click()
        page.get_by_text("personalised for").first.wait_for(timeout=60_000)
        wait_idle(page)
        assert page.get_by_text("The shopper's part").count() >= 1
        assert len(table_column(page, "title", static=True, filled=True)) == 20
        page.screenshot(path=str(artifacts / "12-search-as-a-shopper.png"), full_page=True)
