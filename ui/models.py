"""The loaded runs the pages share, and the lists they show, computed once per server.

A finished run is loaded once per server (`st.cache_resource`) and shared by every session: one
copy of its model in memory, read and never changed (a what-if edit builds a new history, never a
new model state). Lists and histories are kept the same way, by plain arguments, and shared read
only: a shopper's stored list is scored once however many sessions and reruns show it, and no
rerun pays for copying it out of a cache (`st.cache_data` copies every value it returns). Every
list comes from the serving path, `recdash.recommend.Service`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recdash import shopper
from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.recommend import Service
from recdash.rerank.run import RunContext, run_context
from recdash.runs.load import load_run as _load_run
from recdash.workspace import Workspace
from ui import loaders


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def load_run(root: str, run_id: str) -> Service:
    """Finished run `run_id`, ready to serve (shared by every session: do not modify).

    Raises:
        RecdashError: an unknown or unfinished run.
    """
    return _load_run(Workspace(root), run_id)


def require_run(root: str, run_id: str) -> Service:
    """`load_run`, or an error on the page saying why the run cannot be served (a missing or
    damaged checkpoint, say) and what to do, and the page stops."""
    try:
        return load_run(root, run_id)
    except RecdashError as exc:
        st.error(f"Run {run_id} cannot be loaded: {exc}", icon=":material/error:")
        st.caption("Pick another run above, or train this model again on the Train page.")
        st.stop()


@st.cache_resource(max_entries=4, show_spinner="Preparing re-ranking...")
def rerank_context(root: str, run_id: str) -> RunContext:
    """The run's item context for re-ranking, built on the shared loaded run (read only)."""
    return run_context(load_run(root, run_id), Workspace(root))


@st.cache_resource(max_entries=1024, show_spinner=False)
def stored_list(root: str, run_id: str, user: str, k: int, hide_seen: bool | None
                ) -> pd.DataFrame:
    """A shopper's list from their stored history (RECOMMENDATION_COLUMNS; shared, read only);
    `hide_seen` None follows the run's own rule."""
    return load_run(root, run_id).recommend_frame(stored_history(root, run_id, user), k,
                                                  hide_seen)


@st.cache_resource(max_entries=1024, show_spinner=False)
def history_list(root: str, run_id: str, history: pd.DataFrame, k: int,
                 hide_seen: bool | None) -> pd.DataFrame:
    """The list of an edited history frame (RECOMMENDATION_COLUMNS; shared, read only)."""
    return load_run(root, run_id).recommend_frame(history, k, hide_seen)


@st.cache_resource(max_entries=1024, show_spinner=False)
def stored_history(root: str, run_id: str, user: str) -> pd.DataFrame:
    """A shopper's stored events in the run's dataset, oldest first (shopper.HISTORY_COLUMNS;
    shared, read only)."""
    return shopper.history_of(load_run(root, run_id).dataset.interactions, user)


def is_shopper(root: str, name: str, user: object) -> bool:
    """Whether `user` is a shopper of dataset `name`."""
    return user is not None and user in _user_set(root, name, loaders.created_at(root, name))


@st.cache_resource(max_entries=8, show_spinner=False)
def _user_set(root: str, name: str, created: float) -> frozenset:
    return frozenset(_user_ids(root, name, created))


def user_ids(root: str, name: str) -> list[str]:
    """Every shopper of dataset `name`, sorted (the shopper pickers search these; shared, read
    only)."""
    return _user_ids(root, name, loaders.created_at(root, name))


@st.cache_resource(max_entries=8, show_spinner=False)
def _user_ids(root: str, name: str, created: float) -> list[str]:
    users = loaders.load_dataset(root, name).interactions[S.USER]  # `created`: a replaced
    return sorted(pd.unique(users.astype("string").dropna()).tolist())  # dataset: read again


@st.cache_data(max_entries=16, show_spinner=False)
def interesting_shoppers(root: str, name: str, kind: str, n: int = 50) -> pd.DataFrame:
    """The `kind` list of `recdash.shopper.INTERESTING` for dataset `name` (user_id, events,
    purchases)."""
    return shopper.interesting_shoppers(loaders.load_dataset(root, name).interactions, kind, n)
