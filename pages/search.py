"""Search: the catalog searched as a shopper would, with why each result is there. Type a query,
choose whom to search as (an anonymous visitor or a stored shopper or session), move the
personalisation and words-versus-meaning sliders, narrow by category, brand and price, and open
any result to see the words it matched, its similarity in meaning and the shopper's part."""

import pandas as pd
import streamlit as st

from recdash import shopper
from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.rerank.presets import load_presets
from recdash.rerank.run import reranker
from recdash.search import Filters, SearchSettings
from recdash.search.api import search_as
from recdash.workspace import Workspace
from ui import explain, frame, loaders, models, state
from ui import runs as run_ui
from ui import search as search_ui

frame.ensure_frame()

DEFAULTS = SearchSettings()
ANONYMOUS = "An anonymous visitor"

root = state.workspace_root()
name = loaders.require_dataset(root)
sessions = loaders.load_report(root, name).stats.get("sequences") == "sessions"
who = "session" if sessions else "shopper"
st.title("Search")

query = st.text_input("Search the catalog", key=state.SEARCH_QUERY,
                      placeholder="a product, a brand, a model number... e.g. wireless mouse")
left, right = st.columns(2)
runs = run_ui.finished_runs(root, name)
run_id = None
with left:
    as_whom = st.radio("Search as", [ANONYMOUS, f"A stored {who}"], horizontal=True)
    user = None
    if as_whom != ANONYMOUS:
        if runs.empty:
            st.caption("No trained run on this dataset yet: results follow the query alone. "
                       "Train a model on the Train page to personalise them.")
        else:
            run_id = run_ui.pick_run(runs, help="the run whose score for the shopper is blended in")
            part = st.text_input(f"{who.capitalize()} ID contains", key=state.SEARCH_USER_QUERY)
            matches = shopper.search_users(models.user_ids(root, name), part)
            user = st.selectbox(who.capitalize(), matches) if matches else None
            if not matches:
                st.caption(f"No {who} matches; try another part of an ID.")
with right:
    personal = st.slider("Personalisation", 0.0, 1.0, DEFAULTS.personal, 0.05,
                         disabled=user is None, help="the shopper's share of the score: 0 is "
                         "the query alone; it re-orders the most relevant results only")
    lexical = st.slider("Words ↔ meaning", 0.0, 1.0, DEFAULTS.lexical_weight, 0.05,
                        help="1: exact words only (BM25); 0: meaning only (the text model); "
                             "in between, a weighted sum of the two scores")
    k = st.slider("Results", 5, 50, 20, 5)

with st.expander("Filters and diversity", expanded=False):
    a, b, c = st.columns(3)
    options = search_ui.filter_options(root, name)
    category = a.selectbox("Category", ["All", *options.categories])
    brands = b.multiselect("Brands", list(options.brands))
    price = (None, None)
    if options.price is not None:
        lo, hi = options.price
        chosen = c.slider("Price", lo, hi, (lo, hi))
        price = (chosen[0] if chosen[0] > lo else None, chosen[1] if chosen[1] < hi else None)
    presets = load_presets(Workspace(root))
    preset = st.selectbox("Diversity preset", ["None", *presets],
                          disabled=run_id is None or not presets,
                          help="a preset saved on the Diversity page, applied to the results "
                               "(needs a run: it reads the run's item similarities)")

if not query.strip():
    st.info("Type a query above: a product type, a brand, a model number or a need "
            "(\"something to keep coffee hot\").")
    st.stop()

searcher = search_ui.searcher(root, name, run_id)
history = models.stored_history(root, run_id, user) if user is not None else None
rerank = None
if preset != "None" and run_id is not None:
    rerank = reranker(presets[preset], models.rerank_context(root, run_id))
try:
    result = search_as(searcher, query, user, k=k,
                       settings=SearchSettings(lexical_weight=lexical, personal=personal),
                       filters=Filters(None if category == "All" else category, tuple(brands),
                                       price), rerank=rerank)
except RecdashError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

for note in result.notes:
    st.info(note, icon=":material/info:")
shown = "personalised for " + str(user) if result.personalised else "the query alone"
st.caption(f"{len(result.frame)} results, {shown}, in {1000 * result.seconds:.0f} ms.")
if result.frame.empty:
    st.stop()
table = result.frame[["rank", S.TITLE, S.PRICE, S.CATEGORY, "matched", "score", "relevance",
                      "semantic", "personal"]].copy()
table["matched"] = table["matched"].map(", ".join)
table[S.PRICE] = pd.to_numeric(table[S.PRICE], errors="coerce").map(
    lambda v: "" if pd.isna(v) else f"{v:,.2f}")
for column in ("score", "relevance", "semantic", "personal"):  # text: a static table of floats
    table[column] = table[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")  # shows 4
results, refine = st.columns([3, 1])
results.table(table.set_index("rank"))
with refine:  # what the most relevant candidates hold: where a filter would lead
    for facet, title in ((S.CATEGORY, "Category"), (S.BRAND, "Brand")):
        counts = result.facets.get(facet)
        if counts is not None and len(counts):
            shown = counts.head(8).rename(columns={"value": title})
            if facet == S.CATEGORY:  # a path's last part; the filter above takes the whole
                shown[title] = shown[title].str.split(" > ").str[-1]
            st.caption(f"{title} of the {DEFAULTS.depth} best matches")
            st.dataframe(shown, hide_index=True)

st.subheader("Why this result?")
rows = result.frame.reset_index(drop=True)
pick = st.selectbox("Result", range(len(rows)),
                    format_func=lambda i: f"{i + 1}. {rows.at[i, S.TITLE]}")
row = rows.iloc[pick]
st.markdown(row["highlighted"] or str(row[S.ITEM]))
facts = [f"Words matched: {', '.join(row['matched']) or 'none'}"
         + (f" (BM25 {row['bm25']:.2f})" if row["bm25"] > 0 else ""),
         "Similarity in meaning: " + ("off" if pd.isna(row["semantic"]) else
                                      f"{row['semantic']:.2f} (cosine of the query's and the "
                                      "product's text vectors)"),
         f"Query relevance: {row['relevance']:.2f} of the best match's"]
if result.personalised:
    facts.append("The shopper's part: " + ("the run does not know this product (new to it)"
                                           if pd.isna(row["personal"]) else
                                           f"the run scores it {row['personal']:.3f} after "
                                           f"their history; weight {personal:.2f}"))
st.markdown("\n".join(f"- {f}" for f in facts))
if result.personalised and not pd.isna(row["personal"]):
    try:
        why = explain.quick(root, run_id, history, row[S.ITEM]).reason
        st.info(why, icon=":material/lightbulb:")
    except RecdashError as exc:
        st.caption(f"No explanation of the shopper's part: {exc}")
