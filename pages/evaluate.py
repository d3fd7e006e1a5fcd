"""Evaluate: compare the selected dataset's finished runs side by side (metrics with their
protocol badges, bar charts, segments, accuracy against coverage or novelty) and export a run's
recommendations for every shopper."""

import streamlit as st

from recdash import charts, runs_view
from recdash.rerank.presets import load_presets
from recdash.workspace import Workspace
from ui import frame, loaders, state
from ui import jobs as job_ui
from ui import runs as run_ui

frame.ensure_frame()

DEFAULT_BARS = ("NDCG@10", "HR@10", "Recall@50", "Coverage@10")
MAX_DEFAULT_RUNS = 8  # the newest runs compared when the page opens
FORMATS = {"csv": "CSV", "parquet": "Parquet"}

st.title("Evaluate and compare runs")
root = state.workspace_root()
name = loaders.require_dataset(root)
ws = Workspace(root)
runs = run_ui.require_runs(root, name)

chosen = st.multiselect("Runs to compare", runs["run"].tolist(),
                        default=runs["run"].tail(MAX_DEFAULT_RUNS).tolist())
shown = runs[runs["run"].isin(chosen)]
accuracy, beyond = runs_view.metric_names(shown)

st.subheader("Metrics")
if shown["badge"].nunique() > 1:
    st.warning("These runs were measured differently (see the protocol column): compare their "
               "numbers with care.", icon=":material/warning:")
columns = ["run", "model", "settings", "badge", *accuracy, *beyond]
st.dataframe(shown[columns], hide_index=True, column_config={
    "badge": st.column_config.TextColumn("protocol"),
    **{m: st.column_config.NumberColumn(format="%.4f") for m in accuracy + beyond}})
for badge, label in dict(zip(shown["badge"], shown["protocol"])).items():
    st.caption(f"`{badge}`: {label}")

if not shown.empty:
    picked = st.multiselect("Charts", accuracy + beyond,
                            default=[m for m in DEFAULT_BARS if m in accuracy + beyond])
    grid = st.columns(2)
    for i, metric in enumerate(picked):
        grid[i % 2].plotly_chart(charts.metric_bars(shown, metric), key=f"bars-{metric}")

    st.subheader("By segment")
    st.caption("Warm and cold users: more than 5 or at most 5 events in their history. Head, "
               "tail and cold items: the test item is among the 20% most popular, the rest, or "
               "unseen in training.")
    long = runs_view.metric_long_table(ws, name, shown["run_id"].tolist())
    metric = st.selectbox("Metric", accuracy, index=accuracy.index("NDCG@10")
                          if "NDCG@10" in accuracy else 0)
    segments = runs_view.segment_table(long, metric)
    users = runs_view.segment_users(long)
    left, right = st.columns([2, 3])
    left.dataframe(segments, column_config={
        s: st.column_config.NumberColumn(f"{s} ({users[s]:,})" if s in users else s,
                                         format="%.4f") for s in segments.columns})
    right.plotly_chart(charts.segment_bars(segments, metric))

    st.subheader("Accuracy against coverage and novelty")
    left, right = st.columns(2)
    x = left.selectbox("Horizontal axis", beyond, index=beyond.index("Coverage@10")
                       if "Coverage@10" in beyond else 0)
    y = right.selectbox("Vertical axis", accuracy, index=accuracy.index("NDCG@10")
                        if "NDCG@10" in accuracy else 0)
    st.plotly_chart(charts.tradeoff_scatter(shown, x, y))

st.subheader("Export recommendations")
st.caption("Top items for every shopper of the dataset, from their whole history, with your "
           "shop's item IDs and titles.")
left, middle, right, last = st.columns(4)
run = left.selectbox("Run", runs["run"].tolist()[::-1])
k = middle.number_input("Items per shopper", 1, 1000, 10)
fmt = right.radio("Format", list(FORMATS), format_func=FORMATS.get, horizontal=True)
presets = [None, *sorted(load_presets(ws))]
preset = last.selectbox("Diversity preset", presets, format_func=lambda p: p or "(none)",
                        help="re-rank each shopper's top candidates with a preset saved on "
                             "the Diversity page")
run_id = runs.loc[runs["run"] == run, "run_id"].iloc[0]
if not runs_view.has_export(ws, run_id, k, preset) and st.button(
        "Prepare the export", icon=":material/calculate:",
        help="scores every shopper once; the result is kept with the run"):
    job_ui.prepare_export(root, run_id, k, preset)
if runs_view.has_export(ws, run_id, k, preset):
    suffix = f"-{preset}" if preset else ""
    st.download_button(
        f"Download {FORMATS[fmt]}", job_ui.export_file(root, run_id, fmt, k, preset),
        file_name=f"{name}-{run_id}-top{k}{suffix}.{fmt}", mime=runs_view.EXPORT_FORMATS[fmt],
        icon=":material/download:", type="primary", on_click="ignore")
