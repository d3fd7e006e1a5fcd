"""Session-state keys of the studio, as named constants, and their one-time initialisation.

Every page reads shared choices (which workspace, which dataset) through these keys, so a page
never guesses a string and `app.py` initialises each key exactly once per browser session.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recdash import shopper
from recdash.data import schema as S
from recdash.data.demo import DEMO_NAME
from recdash.workspace import resolve_root

WORKSPACE = "workspace_root"  # absolute path of the workspace folder, as text
DATASET = "dataset"  # name of the selected dataset; also the sidebar picker's widget key
NEXT_DATASET = "next_dataset"  # a dataset to select on the next run (the picker is drawn by then)
NOTICE = "notice"  # a message to show once on the next run, after an action that reruns the app
UPLOAD_ROUND = "upload_round"  # part of the upload widgets' keys; bumping it empties them
IMPORT_FAILURE = "import_failure"  # (upload ids, ValidationReport) of the last refused import
DATASET_PARAM = "dataset"  # the URL's query parameter naming the selected dataset
USER_PARAM = "user"  # the Shopper page's query parameter naming the shopper shown
SEARCH_QUERY = "search_query"  # the Search page's query box
SEARCH_USER_QUERY = "search_user_query"  # the Search page's "ID contains" box
SERVE_READING = "serve_reading"  # the Serve page's last /metrics reading and its time (a rate)


def init_state() -> None:
    """Give every session-state key its default, keeping values the session already has."""
    st.session_state.setdefault(WORKSPACE, str(resolve_root().resolve()))
    # A new browser session opens the dataset its URL names (app.py keeps ?dataset= current).
    st.session_state.setdefault(DATASET, st.query_params.get(DATASET_PARAM) or DEMO_NAME)
    st.session_state.setdefault(NEXT_DATASET, None)
    st.session_state.setdefault(NOTICE, None)
    st.session_state.setdefault(UPLOAD_ROUND, 0)
    st.session_state.setdefault(IMPORT_FAILURE, None)


def workspace_root() -> str:
    """The session's workspace folder (the cache key of every loader).

    Initialises the session first: on a server's first run Streamlit may run a file in `pages/`
    without the frame (its legacy multipage mode), and the page should still draw.
    """
    init_state()
    return st.session_state[WORKSPACE]


def remember_dataset() -> None:
    """Keep the selected dataset in the URL (?dataset=NAME), so a reload, a bookmark or a new
    tab opens the same dataset."""
    name = st.session_state.get(DATASET)
    if name and st.query_params.get(DATASET_PARAM) != name:
        st.query_params[DATASET_PARAM] = name


def selected_dataset(names: list[str]) -> str | None:
    """The selected dataset if it is among `names`, else None.

    Args:
        names: the datasets the workspace holds now.
    """
    name = st.session_state.get(DATASET)
    return name if name in names else None


def keep_valid_selection(names: list[str]) -> None:
    """Point the dataset picker at an existing dataset: the one `select_dataset` asked for, else
    the current one, else the demo, else the oldest. Call it before the picker is drawn.

    Args:
        names: the datasets the workspace holds now (not empty).
    """
    chosen = st.session_state.get(NEXT_DATASET)
    st.session_state[NEXT_DATASET] = None
    if chosen in names:
        st.session_state[DATASET] = chosen
    elif st.session_state.get(DATASET) not in names:
        st.session_state[DATASET] = DEMO_NAME if DEMO_NAME in names else names[0]


def select_dataset(name: str, notice: str | None = None) -> None:
    """Select dataset `name` from the next run on, and show `notice` once then.

    Call `st.rerun()` afterwards: the sidebar picker is already drawn in this run and cannot be
    changed until the next.

    Args:
        name: a stored dataset's name.
        notice: a message for the next run (e.g. "Imported 'shop'").
    """
    st.session_state[NEXT_DATASET] = name
    leave_notice(notice)


def leave_notice(notice: str | None) -> None:
    """Show `notice` once on the next run (see `pop_notice`)."""
    st.session_state[NOTICE] = notice


def pop_notice() -> str | None:
    """The message left for this run by `leave_notice`, once."""
    notice = st.session_state.get(NOTICE)
    st.session_state[NOTICE] = None
    return notice


SHOPPER_EDITS = "shopper_edits"  # (run id, user id) -> that shopper's edited history frame
SHOPPER_QUERY = "shopper_query"  # the Shopper page's "Shopper ID contains" text


def shopper_edits() -> dict:
    """The Shopper page's edited histories, keyed by (run id, user id)."""
    return st.session_state.setdefault(SHOPPER_EDITS, {})


# Edits of a shopper's history are button callbacks: Streamlit runs them before the next script
# run starts, with the widget values the browser sent with the click, so an edit is stored even
# when another widget's rerun (a product search typed just before) interrupts the page.
def chosen_product(catalog: pd.DataFrame, query: str, chosen: object) -> object | None:
    """The product an "Add" click means: the chosen one if the current search lists it; else the
    search's first result (the search was typed just before the click, whose product box still
    showed an earlier list; the browser may then send that box's label, not an ID); None when
    the search finds nothing.

    Args:
        catalog: the dataset's catalog.
        query: the product search as it is now.
        chosen: what the product box sent (an item ID, or a label ending in "(ID)").
    """
    found = shopper.search_products(catalog, query or "")[S.ITEM].tolist()
    if chosen in found:
        return chosen
    text = str(chosen) if chosen is not None else ""
    if text.endswith(")") and "(" in text:
        inner = text[text.rfind("(") + 1:-1]
        if inner in found:
            return inner
    return found[0] if found else None


def add_shopper_event(key: tuple, original: pd.DataFrame, catalog: pd.DataFrame,
                      query_key: str, product_key: str, event_key: str) -> None:
    """Append the chosen product and event type to the shopper's history (a callback)."""
    item = chosen_product(catalog, st.session_state.get(query_key, ""),
                          st.session_state.get(product_key))
    if item is None:
        return
    event = st.session_state.get(event_key) or "purchase"
    edits = shopper_edits()
    edits[key] = shopper.add_event(edits.get(key, original), item, event)


def remove_shopper_event(key: tuple, original: pd.DataFrame, position_key: str) -> None:
    """Remove the chosen event from the shopper's history (a callback)."""
    edits = shopper_edits()
    history = edits.get(key, original)
    position = st.session_state.get(position_key)
    if position is not None and 0 <= position < len(history):
        edits[key] = shopper.remove_event(history, position)


def set_shopper_history(key: tuple, history: pd.DataFrame | None) -> None:
    """Replace the shopper's history (None: forget the edits) (a callback)."""
    edits = shopper_edits()
    if history is None:
        edits.pop(key, None)
    else:
        edits[key] = history
