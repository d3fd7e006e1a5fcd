"""Home: what recdash is, the workspace's datasets, and an overview of the selected dataset
(headline numbers, its validation report, and charts of activity, funnel and popularity)."""

import streamlit as st

from recdash.runs import jobs
from recdash.workspace import Workspace
from ui import frame, loaders, state
from ui import jobs as job_ui
from ui.report import show_headline, show_report

frame.ensure_frame()

WELCOME = """
recdash helps you find out what your shoppers want next. It reads your shop's interaction log
(views, add-to-carts, purchases) and product catalog, checks them, and trains an attention-based
recommender that looks at the order of a shopper's events, next to simple baselines, so you can
see how much better it does and why it recommends what it does.

The pages in order: **Data** (bring your files), **Train** (models run in the background),
**Evaluate** (compare runs, export), **Shopper** (one shopper's list, what-if edits), **Explain**
(why an item is recommended), **Search** (the catalog as a shopper searches it), **Diversity**
(re-rank for variety and see what it costs), **Serve** (the HTTP API for the shop's website).

To get you going, the workspace starts with the **demo shop**: a synthetic store with about
2,500 shoppers, 3,000 products and six months of events. Pick a dataset in the sidebar.
"""

root = state.workspace_root()
table = loaders.dataset_table(root)

st.title("Welcome to recdash")
name = state.selected_dataset(table["name"].tolist())
if name is not None:
    queue = jobs.status(Workspace(root))
    if ((queue["dataset"] == name) & queue["status"].isin(job_ui.ACTIVE)).any():
        job_ui.first_models_panel(root, name)
st.markdown(WELCOME)

st.subheader("Datasets in this workspace")
st.dataframe(table, hide_index=True, column_config={
    "users": st.column_config.NumberColumn(format="localized"),
    "items": st.column_config.NumberColumn(format="localized", help="products in the catalog"),
    "events": st.column_config.NumberColumn(format="localized"),
    "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm z"),
})

if name is None:
    st.info("The workspace has no dataset yet.")
    st.stop()

st.header(f"Dataset: {name}")
report = loaders.load_report(root, name)
show_headline(report.stats)

st.subheader("Validation report")
show_report(report)

st.subheader("Activity")
over_time, funnel, long_tail = loaders.overview_figures(root, name)
st.plotly_chart(over_time)
left, right = st.columns(2)
left.plotly_chart(funnel)
right.plotly_chart(long_tail)
