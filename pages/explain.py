"""Explain: why a shopper sees a recommendation (reason line, counterfactual, SHAP of the history
and of the item's signals, attention), and which categories and brands drive recommendations
across many shoppers."""

import streamlit as st

from recdash import shopper
from recdash.explain import charts
from ui import explain, frame, loaders, models, state
from ui import runs as run_ui

frame.ensure_frame()

st.title("Explain recommendations")
root = state.workspace_root()
name = loaders.require_dataset(root)
run_id = run_ui.pick_run(run_ui.require_runs(root, name), help=(
    "attention weights and item-side attributions need the attention ranker; SHAP over the "
    "history works for every model"))
models.require_run(root, run_id)
left, right = st.columns([1, 2])
query = left.text_input("Shopper ID contains", placeholder="e.g. u00042")
matches = shopper.search_users(models.user_ids(root, name), query)
if not matches:
    st.info("No shopper matches; try another part of an ID.")
    st.stop()
user = right.selectbox("Shopper", matches)
history = models.stored_history(root, run_id, user)
# The list the Shopper page shows: the run's own rule for items already in the history.
recs = models.stored_list(root, run_id, user, explain.K, None)
edits = state.shopper_edits().get((run_id, user))
if edits is not None and st.toggle("Use the history as edited on the Shopper page", True):
    history = edits
    recs = models.history_list(root, run_id, history, explain.K, None)
st.caption(f"{len(history):,} events in the history.")

explain.panel(root, run_id, history, recs, key=f"explain-{run_id}-{user}")

st.divider()
st.header("Across shoppers")
st.caption("Explains the top recommendation of a sample of shoppers and adds up the history "
           "events' SHAP values by the events' category and brand.")
left, right = st.columns([1, 3])
n_users = left.select_slider("Shoppers", [50, 100, 200, 500], 100)
if right.button("Explain the sample", icon=":material/insights:") or \
        st.session_state.get(f"drivers-{run_id}") == n_users:
    st.session_state[f"drivers-{run_id}"] = n_users
    table = explain.drivers(root, run_id, n_users)
    left, right = st.columns(2)
    for column, facet in ((left, "category"), (right, "brand")):
        if (table["facet"] == facet).any():
            column.plotly_chart(charts.global_summary(table, facet), key=f"global-{facet}")
