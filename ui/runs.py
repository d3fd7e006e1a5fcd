"""The run picker shared by the pages that read one finished run (Shopper, Explain, Diversity):
the dataset's finished runs or a pointer to the Train page, and a selectbox of runs, newest first,
preset to the newest run of the headline model (the attention ranker)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recdash import runs_view
from recdash.runs import jobs
from recdash.runs.registry import MODELS
from recdash.workspace import Workspace

RUNS_TTL_S = 3  # a run finished by a background job shows up within this long


@st.cache_data(ttl=RUNS_TTL_S, max_entries=16, show_spinner=False)
def finished_runs(root: str, name: str) -> pd.DataFrame:
    """The finished runs on dataset `name` (`runs_view.runs_table`), re-read every few seconds."""
    return runs_view.runs_table(Workspace(root), name)


def require_runs(root: str, name: str) -> pd.DataFrame:
    """The finished runs on dataset `name`; with none, say so, link to Train and stop the page."""
    runs = finished_runs(root, name)
    if runs.empty:
        st.info(f"No finished runs on **{name}** yet.")
        st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
        queue = jobs.status(Workspace(root))
        if ((queue["dataset"] == name) & queue["status"].isin(("queued", "running"))).any():
            _wait_for_a_run(root, name)
        st.stop()
    return runs


@st.fragment(run_every=RUNS_TTL_S)
def _wait_for_a_run(root: str, name: str) -> None:
    """While models train on the dataset: say so, and redraw the page when the first run
    finishes (the first start's baselines take seconds)."""
    st.caption("Models are training on this dataset: this page opens by itself when the first "
               "one finishes.")
    if not finished_runs(root, name).empty:
        st.rerun()


def pick_run(runs: pd.DataFrame, help: str | None = None) -> str:
    """A "Run" selectbox (newest first, the newest run of the headline model preselected); its
    run id."""
    newest = runs["run"].tolist()[::-1]
    headline = [n for n, kind in MODELS.items() if kind.headline]
    main = runs.loc[runs["model"].isin(headline), "run"].tolist()
    run = st.selectbox("Run", newest, index=newest.index(main[-1]) if main else 0, help=help)
    return runs.loc[runs["run"] == run, "run_id"].iloc[0]


def warn_if_a_baseline_wins(runs: pd.DataFrame, run_id: str) -> None:
    """Under the run picker: when the chosen run is the headline model's and a baseline beats
    it on this data (`runs_view.verdict`), say so."""
    said = runs_view.verdict(runs)
    model = runs.loc[runs["run_id"] == run_id, "model"]
    if said and said[0] == "loses" and len(model) and MODELS[model.iloc[0]].headline:
        st.warning(said[1], icon=":material/balance:")
