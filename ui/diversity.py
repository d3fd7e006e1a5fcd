"""The Diversity page's cached reads and table marks: a run's re-ranking context (the shared
loaded run and its item context, never changed), its candidate pools (scored once per run),
trade-off curves per method (computed once per method and similarity), and the before/after lists
with the items that entered or left the list marked."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from recdash.charts import fixed
from recdash.data import schema as S
from recdash.rerank import pools as P
from recdash.rerank.run import RunContext
from recdash.rerank.setting import METHODS, ItemContext, Setting
from ui import models

# Each method's strengths on its trade-off curve, least re-ranking first (the relevance-only
# point is added to every curve).
CURVE = {"mmr": [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0],
         "dpp": [0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0],
         "cap": [10, 3, 2, 1], "calibrate": [0.0, 0.3, 0.5, 0.7, 0.9],
         "novelty": [0.0, 0.3, 0.6, 1.0, 2.0]}
# Marks of the before/after lists: the text says it, the colour repeats it.
NEW, LEFT = "new", "left"
MARK = "mark"  # the marks' column
# st.table draws a Styler's colours (not text-decoration): green rows entered, red rows left.
STYLES = {NEW: "background-color: rgba(46, 160, 67, 0.22)",
          LEFT: "background-color: rgba(217, 83, 79, 0.16); color: #8a2b28"}
# (Worded without "relevance order", the left table's heading, which the browser tests find.)
LEGEND = (f"**{NEW}** (green row): brought into the list by the re-ranking. "
          f"**{LEFT}** (red row): in the model's own top list, dropped by the re-ranking.")


def context(root: str, run_id: str) -> RunContext:
    """The run's model and item context (`ui.models.rerank_context`: built once per server on
    the run the other pages share; do not modify)."""
    return models.rerank_context(root, run_id)


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
    settings = [Setting("none", 0.0, similarity)] + [
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


def shown_metrics(items: ItemContext) -> list[str]:
    """The metrics row for this run: intra-list diversity only with a similarity that tells
    items apart, category coverage only with categories (novelty fills the row otherwise)."""
    names = ["NDCG@10", "HR@10"]
    names += ["ILD"] if items.similarities() else []
    names += ["category coverage"] if items.has_categories else []
    names += ["catalog coverage"]
    return names + ["novelty"] * (len(names) < 5)


def value_text(value: float, digits: int = 4) -> str:
    """A metric as the page prints it: fixed digits, never '-0.0000', 'n/a' for NaN."""
    return fixed(value, digits) or "n/a"


def delta_text(value: float, digits: int = 4) -> str | None:
    """A change as st.metric shows it ('+0.0123', '-0.0100', '0.0000'); None for NaN."""
    if value is None or not math.isfinite(value):
        return None
    rounded = round(float(value), digits) + 0.0
    return f"{rounded:.{digits}f}" if rounded == 0 else f"{rounded:+.{digits}f}"


def marked(table: pd.DataFrame, mark: str):
    """One list of `recdash.rerank.run.before_after` as a Styler for st.table.

    Rows whose `changed` is true get `mark` (NEW or LEFT) in the MARK column and its colour;
    columns with no value at all (a catalog without categories or titles) are left out, and
    missing values show as blank rather than '<NA>'.

    Args:
        table: columns rank, item_id, title, category, changed.
        mark: NEW for the re-ranked list, LEFT for the relevance order.
    """
    if mark not in STYLES:
        raise ValueError(f"mark must be {NEW!r} (re-ranked list) or {LEFT!r} (relevance order), "
                         f"got {mark!r}")
    out = table.drop(columns="changed")
    out.insert(1, MARK, table["changed"].map({True: mark, False: ""}))
    text = [c for c in (S.TITLE, S.CATEGORY) if c in out]
    out = out.drop(columns=[c for c in text if out[c].isna().all()])
    text = [c for c in text if c in out]
    out[text] = out[text].astype(object).where(out[text].notna(), "")
    style = STYLES[mark]
    return out.style.hide(axis="index").apply(
        lambda row: [style if row[MARK] else ""] * len(row), axis=1)
