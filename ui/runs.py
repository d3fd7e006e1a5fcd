"""The run picker shared by the pages that read one finished run (Shopper, Explain, Diversity):
the dataset's finished runs or a pointer to the Train page, and a selectbox of runs, newest first,
preset to the newest attention-ranker run."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recdash import runs_view
from recdash.workspace import Workspace


def require_runs(root: str, name: str) -> pd.DataFrame:
    """The finished runs on dataset `name`; with none, say so, link to Train and stop the page."""
    runs = runs_view.runs_table(Workspace(root), name)
    if runs.empty:
        st.info(f"No finished runs on **{name}** yet.")
        st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
        st.stop()
    return runs


def pick_run(runs: pd.DataFrame, help: str | None = None) -> str:
    """A "Run" selectbox (newest first, the newest attention run preselected); its run id."""
    newest = runs["run"].tolist()[::-1]
    attention = runs.loc[runs["model"] == "attention", "run"].tolist()
    run = st.selectbox("Run", newest, index=newest.index(attention[-1]) if attention else 0,
                       help=help)
    return runs.loc[runs["run"] == run, "run_id"].iloc[0]
