"""Train: start the attention ranker or a baseline on the selected dataset as a background job,
watch it train (progress, loss and validation NDCG@10, live), cancel it, and see finished runs."""

import streamlit as st

from recdash.data.demo import DEMO_NAME
from recdash.errors import RecdashError
from recdash.models.attention.config import AttentionSettings
from recdash.runs.beside import companions
from recdash.runs.defaults import protocol_defaults
from recdash.runs.demo import QUICK_SETTINGS, quick_spec
from recdash.runs.registry import MODELS
from recdash.runs.spec import CANDIDATES, SPLITS, RunSpec
from recdash.workspace import Workspace
from ui import frame, loaders, state
from ui import jobs as job_ui

frame.ensure_frame()

st.title("Train a model")
root = state.workspace_root()
name = loaders.require_dataset(root)
st.caption(f"Dataset: **{name}** (pick another in the sidebar). Training runs in the background: "
           "leave this page or close the browser, and come back later.")

model = st.selectbox("Model", list(MODELS), format_func=lambda m: MODELS[m].label)
kind = MODELS[model]
st.caption(kind.description)

settings: dict = {}
if kind.config is AttentionSettings:
    left, middle, right = st.columns(3)
    settings["epochs"] = left.number_input(
        "Epochs", 1, 1000, 30, help="passes over the shoppers at most; training stops earlier "
        "once validation NDCG@10 stops improving")
    settings["max_len"] = middle.number_input(
        "Max history length", 5, 1000, 100, help="the most recent events read per shopper")
    settings["dim"] = right.select_slider("Hidden size", [16, 32, 64, 128, 256], 64)
    settings["n_layers"] = left.number_input("Layers", 1, 8, 2, help="transformer blocks")
    settings["max_minutes"] = middle.number_input(
        "Max minutes", 0.0, 1440.0, 10.0, step=1.0, help="stop training after this long; the "
        "best model so far is kept (0 = no limit)")
    settings["text"] = right.toggle(
        "Use the text tower", True, help="describe products by their titles and descriptions "
        "(a sentence model encodes them once per dataset)")
    settings["tune"] = left.toggle(
        "Try other settings too", True, help="on a log of 2,000 to 100,000 training events, "
        "also train a higher dropout, a higher learning rate at half the width and a history "
        "of 20, sharing half of the minutes; the best on validation trains on for the rest")

with st.expander("Advanced"):
    if kind.config is AttentionSettings:
        left, middle, right = st.columns(3)
        settings["batch_size"] = left.select_slider("Batch size", [32, 64, 128, 256, 512], 128)
        settings["lr"] = middle.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
                                              1e-3)
        settings["n_heads"] = right.select_slider("Attention heads", [1, 2, 4, 8], 1)
        settings["loss"] = left.radio(
            "Loss", ["auto", "full", "sampled"], horizontal=True, help="full softmax over the "
            "whole catalog, or sampled softmax (for catalogs of tens of thousands of items and "
            "more); auto picks full up to 10,000 items on a CPU and 100,000 on a GPU")
        if settings["loss"] == "sampled":
            settings["n_negatives"] = middle.number_input("Negatives per step", 100, 100_000, 3000)
        settings["patience"] = right.number_input(
            "Patience", 1, 100, 5, help="epochs without a better validation NDCG@10 before "
            "training stops")
    usual = protocol_defaults(loaders.load_report(root, name).stats)
    split = st.radio("Test on", list(SPLITS), format_func=SPLITS.get, horizontal=True,
                     index=list(SPLITS).index(usual.split), help=f"the default here: {usual.why}")
    candidates = st.radio("Rank", list(CANDIDATES), format_func=CANDIDATES.get, horizontal=True)
    keep_seen = st.toggle("Keep items already in the history (buy again)",
                          not usual.exclude_seen, help=f"the default here: {usual.why}")

gpu = job_ui.gpu()
device = "cpu"
if not kind.uses_gpu:
    st.caption("Device: CPU (the baselines do not use a GPU).")
elif gpu is None:
    st.caption("Device: CPU")
else:
    device = st.radio("Device", ["cuda", "cpu"], horizontal=True, format_func=lambda d: (
        f"GPU: {gpu[0]} ({gpu[1]:.0f} GiB)" if d == "cuda" else "CPU"))

beside = kind.headline and st.toggle(
    "Train baselines beside it", True, help="best sellers and EASE (for a session log: best "
    "sellers, sequential rules and session k-NN), measured the same way, unless they have run "
    "already: Evaluate and Shopper then say plainly whether the ranker beats them")


def submit(build) -> None:
    """Build the spec (its values are checked here, on the page) and queue the job, with its
    baselines when asked."""
    try:
        spec = build()
    except RecdashError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    job_ui.submit(root, spec)
    if beside:
        for twin in companions(Workspace(root), spec):
            job_ui.submit(root, twin)


start, quick = st.columns(2)
if start.button("Start", type="primary", icon=":material/play_arrow:", width="stretch"):
    submit(lambda: RunSpec.build(name, model, settings, split=split, candidates=candidates,
                                 exclude_seen=not keep_seen, device=device))
if name == DEMO_NAME and quick.button(
        "Quick demo model", icon=":material/bolt:", width="stretch",
        help=f"the attention ranker with small settings ({QUICK_SETTINGS['epochs']} epochs, "
             f"history {QUICK_SETTINGS['max_len']}, hidden size {QUICK_SETTINGS['dim']}): "
             "about a minute on a laptop CPU for the demo shop"):
    submit(lambda: quick_spec(name, device if kind.uses_gpu else "auto", split=split,
                              candidates=candidates, exclude_seen=not keep_seen))

job_ui.jobs_panel(root, name)  # also marks jobs that died with an earlier studio failed
