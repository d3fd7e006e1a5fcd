"""Shopper: one shopper up close. Pick a finished run and a shopper (by ID or from the lists of
interesting shoppers), read their history, see the model's recommendations, and edit the history
("what if they had also bought X?") to watch the list re-rank."""

import pandas as pd
import streamlit as st

from recdash import shopper
from recdash.data import schema as S
from recdash.data.dataset import Dataset
from recdash.models.base import Recommender
from ui import explain, frame, loaders, models, state
from ui import runs as run_ui

frame.ensure_frame()

PICK_BY = {"id": "Search by ID", "interesting": "Show me interesting shoppers"}
CHANGE_COLOURS = {"new": "background-color: rgba(46, 160, 67, 0.25)"}

st.title("Shopper")
root = state.workspace_root()
name = loaders.require_dataset(root)
run_id = run_ui.pick_run(run_ui.require_runs(root, name))
model, ds, _ = models.load_model(root, run_id)

how = st.radio("Find a shopper", list(PICK_BY), format_func=PICK_BY.get, horizontal=True)
if how == "id":
    query = st.text_input("Shopper ID contains", placeholder="e.g. u00042")
    matches = shopper.search_users(ds.interactions[S.USER].unique(), query)
else:
    kind = st.selectbox("List", list(shopper.INTERESTING),
                        format_func=lambda k: f"{k}: {shopper.INTERESTING[k]}")
    table = models.interesting_shoppers(root, name, kind)
    matches = table[S.USER].tolist()
    counts = table.set_index(S.USER)
if not matches:
    st.info("No shopper matches; try another part of an ID.")
    st.stop()
user = st.selectbox("Shopper", matches, format_func=(
    str if how == "id" else lambda u: f"{u} ({counts.at[u, 'events']} events, "
                                      f"{counts.at[u, 'purchases']} purchases)"))

original = shopper.history_of(ds.interactions, user)
st.subheader("History")
st.caption(f"{len(original):,} events, newest last.")
st.dataframe(shopper.timeline(original, ds.catalog), hide_index=True)


@st.fragment
def what_if(model: Recommender, ds: Dataset, run_id: str, user: str,
            original: pd.DataFrame) -> None:
    """The editable history and the recommendations it gets; only this reruns on an edit."""
    edits = state.shopper_edits()
    key = (run_id, user)
    history = edits.get(key, original)

    st.subheader("What if...")
    left, middle, right = st.columns([3, 1, 1])
    query = left.text_input("Find a product by title", key=f"product-query-{run_id}-{user}")
    products = shopper.search_products(ds.catalog, query)
    titles = dict(zip(products[S.ITEM], products[S.TITLE].fillna(products[S.ITEM])))
    item = left.selectbox("Product", list(titles), format_func=lambda i: f"{titles[i]} ({i})",
                          key=f"product-{run_id}-{user}")
    event = middle.selectbox("Event", list(S.EVENT_TYPES), index=S.EVENT_TYPES.index(S.PURCHASE))
    if right.button("Add to the history", icon=":material/add:", disabled=item is None):
        edits[key] = history = shopper.add_event(history, item, event)
    if len(history):
        left, right = st.columns([4, 1])
        labels = [f"{i + 1}. {t} ({e})" for i, (t, e) in enumerate(zip(
            shopper.timeline(history, ds.catalog)[S.TITLE].fillna("?"), history[S.EVENT]))]
        gone = left.selectbox("Event to remove", range(len(history)), format_func=labels.__getitem__,
                              index=len(history) - 1, key=f"remove-{run_id}-{user}")
        if right.button("Remove", icon=":material/remove:"):
            edits[key] = history = shopper.remove_event(history, gone)
    left, right = st.columns(2)
    if left.button("Start from an empty history (new visitor)", icon=":material/person_add:"):
        edits[key] = history = shopper.empty_history()
    if right.button("Reset edits", icon=":material/undo:", disabled=key not in edits):
        edits.pop(key, None)
        history = original

    edited = key in edits
    if edited:
        st.caption(f"Edited history: length {len(history):,} (the original: {len(original):,}).")
        st.dataframe(shopper.timeline(history, ds.catalog), hide_index=True)

    st.subheader("Recommendations")
    left, right = st.columns([3, 1])
    k = left.slider("Items", 1, 50, 10)
    hide_seen = right.toggle("Hide items in the history", True)
    before = shopper.recommend_for_frame(model, ds, original, k, hide_seen)
    after = shopper.recommend_for_frame(model, ds, history, k, hide_seen) if edited else before
    shown = shopper.diff_recommendations(before, after).rename(columns={"was": "was rank"})
    # A static table: ten rows need no scrolling, and it redraws much faster than a data grid.
    st.table(shown.style.hide(axis="index")
             .apply(lambda row: [CHANGE_COLOURS.get(row["change"], "")] * len(row), axis=1)
             .format({"score": "{:.4f}", "price": "{:.2f}", "was rank": "{:.0f}"}, na_rep=""))
    if edited:
        dropped = shopper.dropped_items(before, after)
        st.caption(f"{(shown['change'] == 'new').sum()} new, {len(dropped)} left the list: "
                   + (", ".join(dropped[S.TITLE].fillna(dropped[S.ITEM]).tolist()) or "none"))

    st.subheader("Why these recommendations?")
    if st.toggle("Explain a recommendation", key=f"explain-on-{run_id}-{user}",
                 help="SHAP values of the history (as edited above), the counterfactual and "
                      "attention; the Explain page adds a view across shoppers"):
        explain.panel(root, run_id, history, key=f"shopper-{run_id}-{user}")


what_if(model, ds, run_id, user, original)

