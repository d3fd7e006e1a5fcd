"""Cached reads for the Shopper page: a finished run's model, loaded once per server, and the
dataset's lists of interesting shoppers.

The model is an `st.cache_resource` entry shared by every session: callers read and score with it
and never change it (a what-if edit builds a new history, never a new model state).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recdash import shopper
from recdash.data.dataset import Dataset
from recdash.data.splits import Split
from recdash.eval.run import load_run
from recdash.models.base import Recommender
from recdash.workspace import Workspace
from ui import loaders


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def load_model(root: str, run_id: str) -> tuple[Recommender, Dataset, Split]:
    """Finished run `run_id`'s model with its dataset and split (shared: do not modify).

    Args:
        root: the workspace folder.
        run_id: a finished run.

    Raises:
        RecdashError: an unknown or unfinished run.
    """
    return load_run(Workspace(root), run_id)


@st.cache_data(max_entries=16, show_spinner=False)
def interesting_shoppers(root: str, name: str, kind: str, n: int = 50) -> pd.DataFrame:
    """The `kind` list of `recdash.shopper.INTERESTING` for dataset `name` (user_id, events,
    purchases)."""
    return shopper.interesting_shoppers(loaders.load_dataset(root, name).interactions, kind, n)
