"""The Train and Evaluate pages' Streamlit glue: the device, the live jobs panel and the export.

Training runs in background jobs (`recdash.runs.jobs`), so the pages never wait for it: the jobs panel
is a fragment that redraws itself every two seconds from the workspace, whichever process or
browser tab started the job. Exports are scored once per run and kept in the run's folder by
`recdash.runs_view`; the file handed to the browser is cached here.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from recdash import charts, runs_view
from recdash.errors import RecdashError
from recdash.runs import jobs
from recdash.runs.load import run_row
from recdash.runs.spec import RunSpec
from recdash.runs.train import resumable
from recdash.workspace import Workspace

ACTIVE = ("queued", "running")
LANE_NAMES = {"gpu": "GPU", "cpu": "CPU training", "short": "quick-model"}
ENDED_SHOWN = 5  # failed or cancelled jobs listed under the finished runs


@st.cache_data(max_entries=1, show_spinner=False)
def gpu() -> tuple[str, float] | None:
    """The first CUDA GPU's name and memory in GiB, or None when torch sees no GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0), torch.cuda.get_device_properties(0).total_memory / 2**30


def duration(seconds: float | None) -> str:
    """'1 h 05 min', '3 min 20 s' or '45 s'; '?' when unknown."""
    if seconds is None or math.isnan(seconds):
        return "?"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def submit(root: str, spec: RunSpec) -> None:
    """Queue a training job and say so in a toast (the jobs panel below shows how it goes), or
    why it was refused."""
    ws = Workspace(root)
    try:
        job_id = jobs.submit(ws, spec)
    except RecdashError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    status = jobs.get(ws, job_id).status
    st.toast(f"{spec.kind.label}: job {job_id} {'started' if status == 'running' else status}; "
             "follow it under Training jobs.", icon=":material/check:")


def _job_card(ws: Workspace, job: pd.Series, queue: pd.DataFrame) -> None:
    """One queued or running job: status, progress, curves and a Cancel button."""
    with st.container(border=True):
        head, button = st.columns([5, 1], vertical_alignment="center")
        color = "blue" if job["status"] == "running" else "gray"
        head.markdown(f"**{job['model']}** on `{job['dataset']}` :{color}-badge[{job['status']}] "
                      f":violet-badge[{LANE_NAMES.get(job['device'], job['device'])}]")
        if button.button("Cancel", key=f"cancel-{job['id']}", icon=":material/cancel:"):
            jobs.cancel(ws, job["id"])
            st.toast("Cancelling: the job stops at its next step and keeps its last checkpoint.")
        if job["status"] == "queued":
            ahead = queue[(queue["device"] == job["device"]) & queue["status"].isin(ACTIVE)
                          & (queue["created"] < job["created"])]
            st.info(f"Queued: it starts when the {len(ahead)} job(s) before it in the "
                    f"{LANE_NAMES.get(job['device'], job['device'])} queue have finished.",
                    icon=":material/schedule:")
            return
        st.progress(min(max(float(job["fraction"]), 0.0), 1.0), text=job["message"] or "starting")
        events = jobs.events(ws, job["id"])
        if not events:
            return  # a baseline, or the ranker before its first step
        now = runs_view.progress_summary(events)
        epoch, speed, eta, best = st.columns(4)
        epoch.metric("Epochs done", f"{now['epoch']}/{now['epochs']}")
        speed.metric("Items/s", f"{now['items_per_s'] or 0:,.0f}")
        eta.metric("ETA", duration(now["eta_s"]))
        best.metric("Best NDCG@10", "-" if now["best_ndcg"] is None else f"{now['best_ndcg']:.4f}")
        left, right = st.columns(2)
        left.plotly_chart(charts.training_loss(events), key=f"loss-{job['id']}")
        right.plotly_chart(charts.validation_ndcg(events), key=f"ndcg-{job['id']}")


def _finished_runs(runs: pd.DataFrame) -> None:
    """Finished runs with their headline metrics and protocol badges, newest first."""
    cols = ["run", "model", "settings", *runs_view.HEADLINE, "badge", "seconds", "created"]
    st.dataframe(runs.reindex(columns=cols).iloc[::-1], hide_index=True, column_config={
        **{m: st.column_config.NumberColumn(format="%.4f") for m in runs_view.HEADLINE},
        "badge": st.column_config.TextColumn("protocol", help="how the metrics were measured: "
                                             "split, ranking over how many items, seen items "
                                             "excluded or included"),
        "seconds": st.column_config.NumberColumn("time (s)", format="%.0f"),
        "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm z"),
    })
    for badge, label in dict(zip(runs["badge"], runs["protocol"])).items():
        if badge:
            st.caption(f"`{badge}`: {label}")


@st.fragment(run_every=2)
def jobs_panel(root: str, dataset: str) -> None:
    """Live view of training: every queued and running job, then the dataset's finished runs
    and its jobs that failed or were cancelled. Redraws itself every two seconds, reconciling
    the jobs with their processes first (`recdash.runs.jobs.refresh`).

    Args:
        root: the workspace folder.
        dataset: the selected dataset.
    """
    ws = Workspace(root)
    # On page load and every redraw: a job whose process died (with an earlier studio, or
    # killed before it could record its end) reads failed or cancelled, and queued jobs start.
    jobs.refresh(ws)
    queue = jobs.status(ws)
    active = queue[queue["status"].isin(ACTIVE)]
    st.subheader("Training jobs")
    if active.empty:
        st.caption("No job is running or waiting.")
    for _, job in active.iterrows():
        _job_card(ws, job, queue)

    st.subheader(f"Finished runs on {dataset}")
    runs = runs_view.runs_table(ws, dataset)
    if runs.empty:
        st.caption("None yet: start a model above.")
    else:
        _finished_runs(runs)
    ended = queue[(queue["dataset"] == dataset)
                  & queue["status"].isin(("failed", "cancelled"))].tail(ENDED_SHOWN)
    if not ended.empty:
        with st.expander(f"Jobs that did not finish ({len(ended)} most recent)",
                         expanded=True):
            resuming = set(active["run_id"].dropna())
            for _, job in ended.iloc[::-1].iterrows():
                _ended_job(ws, job, resuming)


def _ended_job(ws: Workspace, job: pd.Series, resuming: set[str]) -> None:
    """A failed or cancelled job: how it ended, and a Resume button when its run can continue
    from its last checkpoint."""
    text, button = st.columns([5, 1], vertical_alignment="center")
    run_id = job["run_id"] if isinstance(job["run_id"], str) else None
    try:
        status = run_row(ws, run_id)["status"] if run_id else None
    except RecdashError:  # the run was deleted with its dataset
        run_id = status = None
    if status == "finished":
        text.success(f"**{job['model']}** job {job['status']}, then resumed: run {run_id} "
                     "finished.", icon=":material/check:")
        return
    text.warning(f"**{job['model']}** job {job['status']}: {job['message']}",
                 icon=":material/warning:")
    if run_id is None or run_id in resuming:
        return
    try:
        resumable(ws, run_id)
    except RecdashError:
        return  # resumed and finished since, or nothing to resume from
    if button.button("Resume", key=f"resume-{job['id']}", icon=":material/replay:",
                     help=f"continue run {run_id} from its last checkpoint, with its settings"):
        try:
            jobs.resume(ws, run_id)
        except RecdashError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        st.toast(f"Resuming run {run_id}: follow it under Training jobs (the panel redraws "
                 "itself in two seconds).", icon=":material/check:")


def prepare_export(root: str, run_id: str, k: int, preset: str | None = None) -> None:
    """Score every user of a run with a progress bar (kept in the run's folder afterwards)."""
    bar = st.progress(0.0, text="Loading the model...")
    try:
        runs_view.recommendations_for_all(
            Workspace(root), run_id, k,
            progress=lambda done, message: bar.progress(min(max(done, 0.0), 1.0), text=message),
            preset=preset)
    except RecdashError as exc:
        st.error(str(exc), icon=":material/error:")
    bar.empty()


@st.cache_data(max_entries=2, show_spinner="Writing the file...")
def export_file(root: str, run_id: str, fmt: str, k: int, preset: str | None = None) -> bytes:
    """A run's recommendations for every user as CSV or Parquet bytes (see `prepare_export`)."""
    return runs_view.export_recommendations(Workspace(root), run_id, fmt, k, preset=preset)


@st.fragment(run_every=2)
def first_models_panel(root: str, dataset: str) -> None:
    """On Home: the dataset's models training right now (the first start's quick model and
    baselines), with progress, until none is left; then where to look."""
    ws = Workspace(root)
    queue = jobs.status(ws)
    active = queue[(queue["dataset"] == dataset) & queue["status"].isin(ACTIVE)]
    if active.empty:
        return
    with st.container(border=True):
        st.markdown(f"**Training models on {dataset}** (in the background: browse meanwhile)")
        for _, job in active.iterrows():
            label = job["model"] if job["status"] == "running" else f"{job['model']} (queued)"
            st.progress(min(max(float(job["fraction"]), 0.0), 1.0),
                        text=f"{label}: {job['message'] or 'starting'}")
        done = len(runs_view.runs_table(ws, dataset))
        st.caption(f"{done} finished run(s) so far: the Shopper, Explain and Diversity pages "
                   "can use them already.")
