"""Concurrent what-if edits on the Shopper page are never lost, in a real browser.

Three browser sessions (one headless Chromium, three contexts) open the Shopper page on three
shoppers. In each, a few letters go into "Find a product by title" and, without waiting for the
rerun that the search starts when the input loses focus, "Add to the history" is clicked; the
clicks follow each other without a wait, the mouse button held 0, 60 and 150 ms (so the search's
rerun has not started, or is running, when the click arrives). Each session must then show a
history one event longer and the list the engine gives for that history (a purchase of the product
found, or of the one the Product box showed when clicked: a warning says so), with no exception
drawn. The failures this guards against: a click swallowed by the search's rerun (caption and list
stay as they were), or one that adds something the list does not reflect.

The run is EASE on the demo shop (the test is about widgets and reruns, not a model); the shoppers
and searches are chosen from the engine's own lists so that every kept edit changes the list.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from recdash import shopper
from recdash.data import schema as S
from recdash.runs.load import load_run
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.browser.harness import (
    PRODUCT_SEARCH,
    Studio,
    add_button_centre,
    arm_edit_watch,
    chromium_browser,
    edit_watch_result,
    open_shopper,
    shopper_state,
    wait_idle,
)

CANDIDATES = ("u00042", "u00420", "u01234", "u00777", "u01999", "u02222", "u00100")
PRODUCT_BOX = "Product"  # the what-if panel's product selectbox: "title (item_id)"
K, HIDE_SEEN, EVENT = 10, True, S.PURCHASE  # the page's defaults: list length, seen, event type
EDIT_TIMEOUT_S, QUIET_S = 30, 8
# How long each session's mouse button stays down: 0 sends the search and the click together; a
# person's ~100 ms lets the search's rerun start (on mousedown, as the input loses focus) before
# the click arrives (on mouseup).
HOLD_MS = (0, 60, 150)


def product_query(title: str) -> str:
    """A few letters a visitor would type for `title`: its first two words."""
    return " ".join(title.split()[:2])


def search_that_changes_the_list(service, user: str) -> tuple[str, str] | None:
    """(query, item): a search typed from the title of one of `user`'s recommendations whose
    first match, once added, changes the list, as the product shown before any search does (so
    that a lost edit cannot pass unseen); None when there is none."""
    original = expected_items(service, user, None)
    catalog = service.dataset.catalog
    if expected_items(service, user, shopper.search_products(catalog, "")[S.ITEM].iloc[0]) \
            == original:
        return None
    titles = catalog.drop_duplicates(S.ITEM).set_index(S.ITEM)[S.TITLE]
    for item in original:
        query = product_query(titles[item])
        first = shopper.search_products(catalog, query)[S.ITEM].iloc[0]
        if expected_items(service, user, first) != original:
            return query, first
    return None


def expected_items(service, user: str, item: str | None) -> tuple[str, ...]:
    """The engine's list for `user`'s history with one more `EVENT` of `item` (None: as is)."""
    history = shopper.history_of(service.dataset.interactions, user)
    if item is not None:
        history = shopper.add_event(history, item, EVENT)
    return tuple(service.recommend_frame(history, K, HIDE_SEEN)[S.ITEM])


def lost_edit(result: dict) -> str:
    """What a lost edit left on the page (from the watch's result)."""
    before, seen = result["before"], result["after"]
    grown = seen["history"] == before["history"] + 1
    changed = seen["list"] != before["list"]
    return (f"the edit was lost ({result['why']}): the history caption went from "
            f"{before['history']} to {seen['history']} events and the list "
            + ("changed" if changed else "stayed as it was")
            + (" (an event the model does not know was added?)" if grown and not changed
               else ""))


@pytest.mark.usefixtures("browser_ready")
def test_simultaneous_search_and_add_in_three_sessions(tmp_path: Path, artifacts: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.ensure_demo()
    run_id, _ = run_evaluation(ws, RunSpec("demo", "ease"))
    service = load_run(ws, run_id)
    edits = {u: e for u in CANDIDATES if (e := search_that_changes_the_list(service, u))}
    assert len(edits) >= len(HOLD_MS), f"too few shoppers whose list an edit changes: {edits}"
    users = list(edits)[:len(HOLD_MS)]
    queries, searched = zip(*(edits[u] for u in users))
    originals = [expected_items(service, u, None) for u in users]

    errors: list[str] = []
    with Studio(ws.root, tmp_path / "streamlit.log") as studio, chromium_browser() as browser:
        pages = [browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
                 for _ in users]
        try:
            for n, (page, user) in enumerate(zip(pages, users)):
                page.on("pageerror", lambda exc, n=n: errors.append(f"session {n}: {exc}"))
                open_shopper(page, studio.url, user)
            spots = [add_button_centre(page) for page in pages]
            shown_before = [page.get_by_role("combobox", name=PRODUCT_BOX, exact=True)
                            .input_value() for page in pages]
            befores = [arm_edit_watch(page, EDIT_TIMEOUT_S, QUIET_S) for page in pages]
            for page, query in zip(pages, queries):
                page.get_by_label(PRODUCT_SEARCH, exact=True).press_sequentially(query)
            for page, (x, y), hold in zip(pages, spots, HOLD_MS):  # no waiting in between
                page.mouse.click(x, y, delay=hold)
            results = [edit_watch_result(page, EDIT_TIMEOUT_S + 10) for page in pages]
            for page in pages:
                wait_idle(page)
            afters = [shopper_state(page) for page in pages]
        finally:  # each session as it ended, for the reader of a failure
            for n, page in enumerate(pages):
                page.screenshot(path=str(artifacts / f"concurrent-edit-{n}.png"), full_page=True)

    spread = max(r["clicked_at_ms"] for r in results) - min(r["clicked_at_ms"] for r in results)
    for n, (user, before, result, after) in enumerate(zip(users, befores, results, afters)):
        where = (f"session {n} ({user}, searched {queries[n]!r}, button held {HOLD_MS[n]} ms, "
                 f"clicks {spread:.0f} ms apart)")
        assert tuple(before["items"]) == originals[n], f"{where}: the list is not the engine's"
        assert before["history"] is not None, f"{where}: no caption states the history length"
        assert not result["lost"], f"{where}: {lost_edit(result)}"
        assert after["history"] == before["history"] + 1, f"{where}: {after['caption']!r}"
        assert after["list"] != before["list"], f"{where}: the list did not change"
        # Which product a click that raced its search adds is the page's choice: the one found,
        # or the one the Product box showed when clicked. Either way the list is that history's.
        shown = re.search(r"\(([^()]+)\)$", shown_before[n])
        added = {searched[n]: "the product found", **(
            {shown.group(1): "the product shown before the search"} if shown else {})}
        lists = {expected_items(service, user, item): what for item, what in added.items()}
        assert tuple(after["items"]) in lists, (
            f"{where}: the list {after['items']} is not the edited history's; with "
            f"{' or '.join(added.values())} added it would be {list(lists)}")
        if lists[tuple(after["items"])] != "the product found":
            warnings.warn(f"{where}: the click added {shown_before[n]!r}, the product shown "
                          "before the search, not the one found", stacklevel=1)
        assert after["exceptions"] == 0, f"{where}: an exception is drawn"
    assert not errors, errors
