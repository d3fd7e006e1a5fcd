"""Session-state keys of the studio, as named constants, and their one-time initialisation.

Every page reads shared choices (which workspace, which dataset) through these keys, so a page
never guesses a string and `app.py` initialises each key exactly once per browser session.
"""

from __future__ import annotations

import streamlit as st

from recdash.data.demo import DEMO_NAME
from recdash.workspace import resolve_root

WORKSPACE = "workspace_root"  # absolute path of the workspace folder, as text
DATASET = "dataset"  # name of the selected dataset; also the sidebar picker's widget key


def init_state() -> None:
    """Give every session-state key its default, keeping values the session already has."""
    st.session_state.setdefault(WORKSPACE, str(resolve_root().resolve()))
    st.session_state.setdefault(DATASET, DEMO_NAME)


def workspace_root() -> str:
    """The session's workspace folder (the cache key of every loader).

    Initialises the session first: on a server's first run Streamlit may run a file in `pages/`
    without the frame (its legacy multipage mode), and the page should still draw.
    """
    init_state()
    return st.session_state[WORKSPACE]


def selected_dataset(names: list[str]) -> str | None:
    """The selected dataset if it is among `names`, else None.

    Args:
        names: the datasets the workspace holds now.
    """
    name = st.session_state.get(DATASET)
    return name if name in names else None


def keep_valid_selection(names: list[str]) -> None:
    """Point the dataset picker at an existing dataset: the current one, else the demo, else the
    oldest. Call it before the picker is drawn.

    Args:
        names: the datasets the workspace holds now (not empty).
    """
    if st.session_state.get(DATASET) not in names:
        st.session_state[DATASET] = DEMO_NAME if DEMO_NAME in names else names[0]
