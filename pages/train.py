"""Train: start the attention ranker or a baseline on the selected dataset as a background job,
watch it train (progress, loss and validation NDCG@10, live), cancel it, and see finished runs."""

import streamlit as st

from recdash.eval.run import RunSpec
from ui import frame, loaders, state
from ui import jobs as job_ui

frame.ensure_frame()

MODELS = {  # the attention ranker first, then the baselines, strongest first
    "attention": ("Attention ranker", (
        "A transformer that reads the order of a shopper's views, carts and purchases, and "
        "knows products by text, category, brand and price.")),
    "ease": ("EASE", ("A linear item-to-item model solved in closed form: a strong, quick "
                      "baseline for catalogs up to a few tens of thousands of items.")),
    "itemknn": ("Item k-NN", ("Recommends items that shoppers often pair with the shopper's "
                              "own items (cosine similarity).")),
    "pop-recent": ("Recent best sellers", ("The most popular items of the last 30 days, the "
                                           "same for everyone.")),
    "pop": ("Best sellers", "The most popular items of all time, the same for everyone."),
}
# About a minute on a laptop CPU for the demo shop (25 s once its text embeddings are cached).
QUICK_DEMO = {"epochs": 5, "max_len": 50, "dim": 32, "n_layers": 2, "text": True,
              "max_minutes": 3.0}
SPLITS = {"loo": "last event of each shopper (leave-one-out)",
          "temporal": "last days of the log (temporal)"}
CANDIDATES = {"catalog": "every catalog item", "interacted": "items with events only"}

st.title("Train a model")
root = state.workspace_root()
name = loaders.require_dataset(root)
st.caption(f"Dataset: **{name}** (pick another in the sidebar). Training runs in the background: "
           "leave this page or close the browser, and come back later.")

model = st.selectbox("Model", list(MODELS), format_func=lambda m: MODELS[m][0])
st.caption(MODELS[model][1])

settings: dict = {}
if model == "attention":
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

with st.expander("Advanced"):
    if model == "attention":
        left, middle, right = st.columns(3)
        settings["batch_size"] = left.select_slider("Batch size", [32, 64, 128, 256, 512], 128)
        settings["lr"] = middle.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
                                              1e-3)
        settings["n_heads"] = right.select_slider("Attention heads", [1, 2, 4, 8], 1)
        settings["loss"] = left.radio(
            "Loss", ["full", "sampled"], horizontal=True, help="full softmax over the catalog, "
            "or sampled softmax for catalogs of hundreds of thousands of items")
        if settings["loss"] == "sampled":
            settings["n_negatives"] = middle.number_input("Negatives per step", 100, 100_000, 3000)
        settings["patience"] = right.number_input(
            "Patience", 1, 100, 5, help="epochs without a better validation NDCG@10 before "
            "training stops")
    split = st.radio("Test on", list(SPLITS), format_func=SPLITS.get, horizontal=True)
    candidates = st.radio("Rank", list(CANDIDATES), format_func=CANDIDATES.get, horizontal=True)

gpu = job_ui.gpu()
device = "cpu"
if model != "attention":
    st.caption("Device: CPU (the baselines do not use a GPU).")
elif gpu is None:
    st.caption("Device: CPU")
else:
    device = st.radio("Device", ["cuda", "cpu"], horizontal=True, format_func=lambda d: (
        f"GPU: {gpu[0]} ({gpu[1]:.0f} GiB)" if d == "cuda" else "CPU"))

start, quick = st.columns(2)
if start.button("Start", type="primary", icon=":material/play_arrow:", width="stretch"):
    job_ui.submit(root, RunSpec(name, model, split=split, candidates=candidates,
                                device=device, settings=settings))
if quick.button("Quick demo model", icon=":material/bolt:", width="stretch",
                help="the attention ranker with small settings (5 epochs, history 50, hidden "
                     "size 32): about a minute on a laptop CPU for the demo shop"):
    job_ui.submit(root, RunSpec(name, "attention", split=split, candidates=candidates,
                                device=device if model == "attention" else "auto",
                                settings=QUICK_DEMO))

job_ui.jobs_panel(root, name)  # also marks jobs that died with an earlier studio failed
