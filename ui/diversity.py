"""The Diversity page's cached reads: a run's re-ranking context (model and item context, shared
and never changed), its candidate pools (scored once per run), and trade-off curves per method
(computed once per method and similarity)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recdash.rerank import pools as P
from recdash.rerank.run import RunContext, run_context
from recdash.rerank.setting import METHODS, Setting
from recdash.workspace import Workspace

CURVE = {"mmr": [1.0, 0.9, 0.7, 0.5, 0.3, 0.1, 0.0],
         "dpp": [0.99, 0.9, 0.7, 0.5, 0.3, 0.1, 0.0],
         "cap": [10, 3, 2, 1], "calibrate": [0.0, 0.3, 0.5, 0.7, 0.9],
         "novelty": [0.0, 0.3, 0.6, 1.0, 2.0]}


@st.cache_resource(max_entries=2, show_spinner="Loading the run...")
def context(root: str, run_id: str) -> RunContext:
    """The run's model and item context (shared by every session: do not modify)."""
    return run_context(Workspace(root), run_id)


@st.cache_resource(max_entries=2, show_spinner=False)
def pools(root: str, run_id: str, n_users: int) -> P.Pools:
    """Candidate pools of `n_users` test shoppers (scored once; shared, read only)."""
    rc = context(root, run_id)
    bar = st.progress(0.0, text="Scoring the shoppers' candidates once...")
    out = P.build_pools(rc.model, rc.split, n_users,
                        progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
    bar.empty()
    return out


@st.cache_data(max_entries=32, show_spinner="Drawing the trade-off curve...")
def curve(root: str, run_id: str, n_users: int, method: str, similarity: str) -> pd.DataFrame:
    """The trade-off points of `method` (CURVE's strengths) plus the relevance-only point."""
    rc = context(root, run_id)
    settings = [Setting("none", 1.0, similarity)] + [
        Setting(method, float(s), similarity) for s in CURVE.get(method, [])]
    return P.tradeoff(pools(root, run_id, n_users), settings, rc.items, rc.popularity,
                      rc.n_train_users)


@st.cache_data(max_entries=256, show_spinner=False)
def point(root: str, run_id: str, n_users: int, setting: Setting) -> dict:
    """A setting's metrics over the pools (about 0.1-1 s for 1,000 shoppers; cached)."""
    rc = context(root, run_id)
    p = pools(root, run_id, n_users)
    lists = P.apply(p, setting, rc.items)
    return {"method": setting.method, "setting": setting.label(),
            **P.score_lists(p, lists, rc.items, setting.similarity, rc.popularity,
                            rc.n_train_users)}


def method_label(method: str) -> str:
    return METHODS[method][0]
