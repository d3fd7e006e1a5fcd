"""Shopper: one shopper or session up close. Pick a finished run and a shopper (by ID or from the
lists of interesting shoppers), or a session in a log of sessions, read their history, see the
model's recommendations, and edit the history ("what if they had also bought X?") to watch the
list re-rank."""

import streamlit as st

from recdash import shopper
from recdash.data import schema as S
from ui import explain, frame, loaders, models, state
from ui import runs as run_ui

frame.ensure_frame()

PICK_BY = {"id": "Search by ID", "interesting": "Show me interesting shoppers"}

root = state.workspace_root()
name = loaders.require_dataset(root)
# A log of sessions (anonymous visits) is read session by session; the page speaks of them.
sessions = loaders.load_report(root, name).stats.get("sequences") == "sessions"
who = "session" if sessions else "shopper"
st.title(who.capitalize())
runs = run_ui.require_runs(root, name)
run_id = run_ui.pick_run(runs)
run_ui.warn_if_a_baseline_wins(runs, run_id)
service = models.require_run(root, run_id)
catalog = service.dataset.catalog
products = service.dataset.products  # indexed by item_id, built once per loaded run

how = st.radio(f"Find a {who}", list(PICK_BY), horizontal=True,
               format_func=lambda p: PICK_BY[p].replace("shoppers", f"{who}s"))
if how == "id":
    query = st.text_input(f"{who.capitalize()} ID contains", key=state.SHOPPER_QUERY,
                          placeholder="part of a session ID (a shopper's sessions cut at a "
                          "gap are '<shopper>#1', '#2', ...)" if sessions else "e.g. u00042")
    matches = shopper.search_users(models.user_ids(root, name), query)
else:
    kind = st.selectbox("List", list(shopper.INTERESTING),
                        format_func=lambda k: f"{k}: {shopper.INTERESTING[k]}")
    table = models.interesting_shoppers(root, name, kind)
    matches = table[S.USER].tolist()
    counts = table.set_index(S.USER)
wanted = st.query_params.get(state.USER_PARAM)  # ?user=ID: a link to one shopper
if how == "id" and models.is_shopper(root, name, wanted) and (not query or wanted in matches):
    matches = [wanted] + [u for u in matches if u != wanted]
if not matches:
    st.info(f"No {who} matches; try another part of an ID.")
    st.stop()
user = st.selectbox(who.capitalize(), matches, format_func=(
    str if how == "id" else lambda u: f"{u} ({counts.at[u, 'events']} events, "
                                      f"{counts.at[u, 'purchases']} purchases)"))
if st.query_params.get(state.USER_PARAM) != user:
    st.query_params[state.USER_PARAM] = user  # the address names the shopper shown
original = models.stored_history(root, run_id, user)
key = (run_id, user)
widget = f"{run_id}-{user}"  # widget keys of this shopper's controls


@st.fragment
def what_if() -> None:
    """The history (as edited), the controls that edit it, and its recommendations; only this
    reruns on an edit. Edits happen in the buttons' callbacks, before the fragment draws, so a
    rerun that another widget started at the same moment cannot lose them."""
    history = state.shopper_edits().get(key, original)
    edited = key in state.shopper_edits()

    st.subheader("History")
    note = f" (edited; the stored history has {len(original):,})" if edited else ""
    st.caption(f"{len(history):,} event{'' if len(history) == 1 else 's'}{note}, newest first.")
    shown = shopper.timeline(history, products)
    if edited:  # events beyond the stored history were added here
        shown.insert(0, "edit", ["added" if i >= len(original) else "" for i in range(len(shown))])
    # Plain tables throughout: a styled one costs the server tens of ms per rerun.
    st.dataframe(shown.iloc[::-1], hide_index=True,
                 height=min(35 * max(len(shown), 1) + 40, 300))

    st.subheader("What if...")
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    query = left.text_input("Find a product by title", key=f"product-query-{widget}")
    found = shopper.search_products(catalog, query)
    titles = dict(zip(found[S.ITEM], found[S.TITLE].fillna(found[S.ITEM])))
    left.selectbox("Product", list(titles), format_func=lambda i: f"{titles[i]} ({i})",
                   key=f"product-{widget}")
    middle.selectbox("Event", list(S.EVENT_TYPES), index=S.EVENT_TYPES.index(S.PURCHASE),
                     key=f"event-{widget}")
    right.button("Add to the history", icon=":material/add:", disabled=not titles,
                 on_click=state.add_shopper_event,
                 args=(key, original, catalog, f"product-query-{widget}", f"product-{widget}",
                       f"event-{widget}"))
    if len(history):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        labels = [f"{i + 1}. {t} ({e})" for i, (t, e) in enumerate(zip(
            shopper.timeline(history, products)[S.TITLE].fillna("?"), history[S.EVENT]))]
        left.selectbox("Event to remove", range(len(history)), format_func=labels.__getitem__,
                       index=len(history) - 1, key=f"remove-{widget}")
        right.button("Remove", icon=":material/remove:", on_click=state.remove_shopper_event,
                     args=(key, original, f"remove-{widget}"))
    left, right = st.columns(2)
    left.button("Start from an empty history (new visitor)", icon=":material/person_add:",
                on_click=state.set_shopper_history, args=(key, shopper.empty_history()))
    right.button("Reset edits", icon=":material/undo:", disabled=not edited,
                 on_click=state.set_shopper_history, args=(key, None))

    st.subheader("Recommendations")
    left, right = st.columns([3, 1])
    k = left.slider("Items", 1, 50, 10, key=f"k-{widget}")
    hide_seen = right.toggle("Hide items in the history", service.exclude_seen,
                             key=f"hide-{widget}", help="the run's own setting to begin with: "
                             "logs of sessions and shops that sell again keep them")
    before = models.stored_list(root, run_id, user, k, hide_seen)
    after = models.history_list(root, run_id, history, k, hide_seen) if edited else before
    listed = shopper.diff_recommendations(before, after).rename(columns={"was": "was rank"})
    # A static table: ten rows need no scrolling, and it redraws much faster than a data grid.
    st.table(shopper.list_for_display(listed))
    if edited:
        dropped = shopper.dropped_items(before, after)
        st.caption(f"{(listed['change'] == 'new').sum()} new, {len(dropped)} left the list: "
                   + (", ".join(dropped[S.TITLE].fillna(dropped[S.ITEM]).tolist()) or "none"))

    st.subheader("Why these recommendations?")
    if st.toggle("Explain a recommendation", key=f"explain-on-{widget}",
                 help="SHAP values of the history (as edited above), the counterfactual and "
                      "attention; the Explain page adds a view across shoppers"):
        explain.panel(root, run_id, history, after.head(explain.K), key=f"shopper-{widget}")


what_if()
