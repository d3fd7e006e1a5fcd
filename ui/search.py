"""The Search page's shared objects: one searcher per dataset and run, built once per server.

The index is loaded from (or built into) the dataset's workspace folder by
`recdash.search.load_or_build`, keyed here by the dataset's creation time so a re-imported
catalog is indexed again; the run that personalises it is the shared loaded run of
`ui.models`. Both are read only: a query never changes them.
"""

from __future__ import annotations

import streamlit as st

from recdash.search import Searcher, load_or_build
from recdash.search.settings import FilterOptions
from recdash.workspace import Workspace
from ui import loaders, models


@st.cache_resource(max_entries=4, show_spinner="Building the search index (once per catalog)...")
def _index(root: str, name: str, created: float):
    return load_or_build(Workspace(root), loaders.load_dataset(root, name))


@st.cache_resource(max_entries=8, show_spinner=False)
def searcher(root: str, name: str, run_id: str | None) -> Searcher:
    """Dataset `name`'s searcher, personalised by `run_id` (None: the query alone). Shared by
    every session: do not modify."""
    index = _index(root, name, loaders.created_at(root, name))
    return Searcher(index, models.load_run(root, run_id) if run_id else None)


def filter_options(root: str, name: str) -> FilterOptions:
    """The dataset's categories, brands and price range for the filters (once per catalog)."""
    return _options(root, name, loaders.created_at(root, name))


@st.cache_resource(max_entries=8, show_spinner=False)
def _options(root: str, name: str, created: float) -> FilterOptions:
    return FilterOptions.of(loaders.load_dataset(root, name).catalog)
