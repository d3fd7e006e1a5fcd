"""Evaluate: compare the selected dataset's finished runs side by side (metrics with their
protocol badges, bar charts, segments, accuracy against coverage or novelty) and export a run's
recommendations for every shopper."""

import streamlit as st

from recdash import charts, runs_view
from recdash.errors import RecdashError
from recdash.runs.train import refit_spec
from recdash.rerank.presets import load_presets
from recdash.rerank.setting import adapt
from recdash.workspace import Workspace
from ui import diversity as D
from ui import frame, loaders, state
from ui import jobs as job_ui
from ui import runs as run_ui

frame.ensure_frame()

DEFAULT_BARS = ("NDCG@10", "HR@10", "Recall@50", "Coverage@10")
MAX_DEFAULT_RUNS = 8  # the newest runs compared when the page opens
FORMATS = {"csv": "CSV", "xlsx": "Excel", "parquet": "Parquet"}


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
said = runs_view.verdict(runs)
if said is not None:
    (st.warning if said[0] == "loses" else st.success)(
        said[1], icon=":material/balance:" if said[0] == "loses" else ":material/check:")
if shown["badge"].nunique() > 1:
    st.warning("These runs were measured differently (see the protocol column): compare their "
               "numbers with care.", icon=":material/warning:")
# One list length at a time, accuracy and beyond-accuracy metrics in two tables: every metric
# at every k in one table would not fit the page's width.
# Session protocols are read at 20 (P@20, MRR@20), the others at 10.
usual_k = 20 if shown["badge"].str.startswith(("sessions", "pairs")).any() else 10
cutoffs = sorted({int(k) for m in accuracy + beyond if (k := m.partition("@")[2]).isdigit()})
at_k = st.radio("Metrics at list length", cutoffs, format_func=lambda k: f"@{k}",
                index=cutoffs.index(usual_k) if usual_k in cutoffs else 0, horizontal=True) \
    if cutoffs else None
chooser = runs_view.ranking_metric(accuracy)
for names, front, chosen_by in ((accuracy, ["run", "badge"], True), (beyond, ["run"], False)):
    names = [m for m in names if m.partition("@")[2] in ("", str(at_k))]
    if chosen_by and shown["validation"].notna().any():
        names = names + ["validation"]  # what choosing between runs reads
    st.dataframe(charts.zero_rounded(shown[front + names]), hide_index=True, width="stretch",
                 column_config={"run": st.column_config.TextColumn(pinned=True),
                                "badge": st.column_config.TextColumn("protocol"),
                                **{m: st.column_config.NumberColumn(format="%.4f")
                                   for m in names},
                                "validation": st.column_config.NumberColumn(
                                    f"{chooser} (validation)", format="%.4f",
                                    help="on the validation stage: the export's run is chosen "
                                         "by it, never by a test figure")})
for badge, label in dict(zip(shown["badge"], shown["protocol"])).items():
    if badge:
        st.caption(f"`{badge}`: {label}")
names = dict(zip(runs["run_id"], runs["run"]))
for run_name, source in zip(shown["run"], shown["refit_of"]):
    if source:
        st.caption(f"**{run_name}** is {names.get(source, source)} refit on every event, the "
                   "held-out ones included: it has no figures of its own; "
                   f"{names.get(source, source)}'s measure it.")
with st.expander("Models and settings of these runs"):
    st.dataframe(shown[["run", "model", "settings"]], hide_index=True, width="stretch")

if not shown.empty:
    picked = st.multiselect("Charts", accuracy + beyond,
                            default=[m for m in DEFAULT_BARS if m in accuracy + beyond])
    grid = st.columns(2)
    for i, metric in enumerate(picked):
        grid[i % 2].plotly_chart(charts.metric_bars(shown, metric), key=f"bars-{metric}")

    st.subheader("By segment")
    st.caption("Warm and cold users: more than 5 or at most 5 events in their history (for "
               "session protocols: in the prefix read). Head, tail and cold items: the test item "
               "is among the 20% most popular, the rest, or unseen in training.")
    long = runs_view.metric_long_table(ws, name, shown["run_id"].tolist())
    metric = st.selectbox("Metric", accuracy, index=accuracy.index("NDCG@10")
                          if "NDCG@10" in accuracy else 0)
    segments = runs_view.segment_table(long, metric)
    users = runs_view.segment_users(long)
    # The table takes the page's width: six segment columns do not fit beside the chart.
    st.dataframe(charts.zero_rounded(segments), width="stretch", column_config={
        s: st.column_config.NumberColumn(f"{s} ({users[s]:,})" if s in users else s,
                                         format="%.4f") for s in segments.columns})
    st.plotly_chart(charts.segment_bars(segments, metric))

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
newest = runs["run"].tolist()[::-1]
run = left.selectbox("Run", newest, index=newest.index(runs_view.best_run(runs)),
                     help="starts on the best run on validation (the newest of equals), or "
                          "its refit on every event where it has one")
k = middle.number_input("Items per shopper", 1, 1000, 10)
fmt = right.radio("Format", list(FORMATS), format_func=FORMATS.get, horizontal=True)
stored = load_presets(ws)
preset = last.selectbox("Diversity preset", [None, *sorted(stored)],
                        format_func=lambda p: f"{p} ({stored[p].label()})" if p else "(none)",
                        help="re-rank each shopper's top candidates with a preset saved on "
                             "the Diversity page")
run_id = runs.loc[runs["run"] == run, "run_id"].iloc[0]
if preset is not None:
    _, change = adapt(stored[preset], D.context(root, run_id).items)
    if change:
        st.info(f"Preset **{preset}** on {run}: {change}.", icon=":material/info:")
chosen = runs.loc[runs["run_id"] == run_id].iloc[0]
if not chosen["refit_of"] and not (runs["refit_of"] == run_id).any() and st.button(
        "Refit on every event", icon=":material/restart_alt:",
        help="train this run's settings again on every event, the held-out ones included "
             "(the attention ranker for as many epochs as its best validation took), for "
             "exports and the API; the refit starts as the export's run once it finishes"):
    try:
        job_ui.submit(root, refit_spec(ws, run_id))
    except RecdashError as exc:
        st.error(str(exc), icon=":material/error:")
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
