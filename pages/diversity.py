"""Diversity: tune re-ranking live (MMR, DPP, category caps, calibration, a novelty boost), see
one shopper's list before and after (drawn first: one shopper is scored in milliseconds), and
watch the accuracy/diversity trade-off over a sample of shoppers redraw (their candidates are
scored once per run, with a progress bar); save the setting as a named preset for exports."""

import pandas as pd
import streamlit as st

from recdash import shopper
from recdash.errors import RecdashError
from recdash.rerank import charts as rcharts
from recdash.rerank.presets import load_presets, save_preset
from recdash.rerank.run import before_after
from recdash.rerank.setting import METHODS, SIMILARITIES, Setting
from recdash.workspace import Workspace
from ui import diversity as D
from ui import frame, loaders, models, state
from ui import runs as run_ui

frame.ensure_frame()

N_USERS = 1000

st.title("Diversity")
root = state.workspace_root()
name = loaders.require_dataset(root)
run_id = run_ui.pick_run(run_ui.require_runs(root, name))
models.require_run(root, run_id)
rc = D.context(root, run_id)
if not rc.items.has_categories:
    st.caption("This shop's catalog has no categories, so the category cap, calibration, "
               "category similarity and category coverage are left out.")


@st.fragment
def tune() -> None:
    """The controls and every panel they drive; reruns alone when a control moves."""
    methods = rc.items.methods()
    sims = rc.items.similarities()
    left, middle, right = st.columns(3)
    first = "mmr" if "mmr" in methods else methods[min(1, len(methods) - 1)]
    method = left.selectbox("Method", methods, format_func=D.method_label,
                            index=methods.index(first))
    label, meaning, (low, high), default = METHODS[method]
    strength = 0.0
    if method == "cap":
        strength = float(middle.slider("Items per category at most", 1, 10, 2,
                                       help=meaning))
    elif method != "none":
        strength = middle.slider(label + " strength", low, high, default, 0.05, help=meaning)
    if sims:
        similarity = right.selectbox("Similarity", sims, format_func=SIMILARITIES.get,
                                     disabled=method not in ("mmr", "dpp"))
    else:
        # MMR and DPP are not offered; the metrics read the (uniform) category vectors.
        similarity = "category"
        right.caption("No item similarity for this run: its model has no item vectors, no "
                      "title embeddings are cached and the catalog has no categories.")
    setting = Setting(method, float(strength), similarity)

    st.subheader("One shopper, before and after")
    left, right = st.columns([1, 2])
    query = left.text_input("Shopper ID contains", placeholder="e.g. u00042",
                            key=f"diversity-query-{run_id}")
    users = shopper.search_users(models.user_ids(root, name), query)
    if not users:
        st.info("No shopper matches; try another part of an ID.")
        return
    user = right.selectbox("Shopper", users)
    before, after = before_after(rc, user, setting)
    st.caption(D.LEGEND + " Both lists come from the shopper's whole history, as on the "
               "Shopper page.")
    left, right = st.columns(2)
    left.markdown("**Relevance order**")
    left.table(D.marked(before, D.LEFT), width="stretch")
    right.markdown(f"**{setting.label()}**")
    right.table(D.marked(after, D.NEW), width="stretch")

    st.subheader(f"Across {N_USERS:,} shoppers")
    pools = D.pools(root, run_id, N_USERS)  # scored once per run, with a progress bar
    st.caption(f"Each of {len(pools.users):,} test shoppers' top {pools.candidates.shape[1]} "
               "candidates were scored once; a setting re-ranks them. NDCG@10 and HR@10 count "
               "the shopper's held-out event, as the run's test did.")
    now = D.point(root, run_id, N_USERS, setting)
    base = D.point(root, run_id, N_USERS, Setting("none", 0.0, similarity))
    shown = D.shown_metrics(rc.items)
    for col, metric in zip(st.columns(len(shown)), shown):
        change = D.delta_text(now[metric] - base[metric])
        col.metric(metric, D.value_text(now[metric]), change,
                   delta_color="off" if change == D.delta_text(0.0) else "normal",
                   help="change against relevance order")
    points = D.curve(root, run_id, N_USERS, method, similarity) if method != "none" else \
        pd.DataFrame([base])
    x = "ILD" if sims else "novelty"
    left, right = st.columns(2)
    left.plotly_chart(rcharts.tradeoff_curve(points, now, x, "NDCG@10"), key="curve-ild")
    right.plotly_chart(rcharts.tradeoff_curve(points, now, "catalog coverage", "NDCG@10"),
                       key="curve-cov")

    with st.form("save-preset"):
        preset = st.text_input("Save this setting as a preset", placeholder="e.g. varied-home")
        if st.form_submit_button("Save preset", icon=":material/save:"):
            try:
                save_preset(Workspace(root), preset.strip(), setting)
            except RecdashError as exc:
                st.error(str(exc))
            else:
                st.success(f"Saved '{preset.strip()}': {setting.label()}. Exports and "
                           f"`recdash recommend --rerank {preset.strip()}` can apply it.")
    stored = load_presets(Workspace(root))
    if stored:
        st.caption("Stored presets: " + ", ".join(f"**{k}** ({v.label()})"
                                                   for k, v in stored.items()))


tune()
