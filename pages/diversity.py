"""Diversity: tune re-ranking live (MMR, DPP, category caps, calibration, a novelty boost), see
one shopper's list before and after, and watch the accuracy/diversity trade-off over a sample of
shoppers redraw; save the setting as a named preset for exports."""

import pandas as pd
import streamlit as st

from recdash.errors import RecdashError
from recdash.rerank import charts as rcharts
from recdash.rerank.presets import load_presets, save_preset
from recdash.rerank.run import before_after
from recdash.rerank.setting import METHODS, SIMILARITIES, Setting
from recdash.workspace import Workspace
from ui import diversity as D
from ui import frame, loaders, state
from ui import runs as run_ui

frame.ensure_frame()

N_USERS = 1000
NEW = "background-color: rgba(46, 160, 67, 0.25)"

st.title("Diversity")
root = state.workspace_root()
name = loaders.require_dataset(root)
run_id = run_ui.pick_run(run_ui.require_runs(root, name))
rc = D.context(root, run_id)
pools = D.pools(root, run_id, N_USERS)
st.caption(f"Each of {len(pools.users):,} test shoppers' top {pools.candidates.shape[1]} "
           "candidates were scored once; a setting re-ranks them. NDCG@10 and HR@10 count the "
           "shopper's held-out event, as the run's test did.")


@st.fragment
def tune() -> None:
    """The controls and every panel they drive; reruns alone when a control moves."""
    left, middle, right = st.columns(3)
    method = left.selectbox("Method", list(METHODS), format_func=D.method_label, index=1)
    label, meaning, (low, high), default = METHODS[method]
    strength = 1.0
    if method == "cap":
        strength = float(middle.slider("Items per category at most", 1, 10, 2))
    elif method != "none":
        strength = middle.slider(label + " strength", low, high, default, 0.05, help=meaning)
    sims = [s for s in SIMILARITIES if s in rc.items.vectors]
    similarity = right.selectbox("Similarity", sims, format_func=SIMILARITIES.get,
                                 disabled=method not in ("mmr", "dpp"))
    setting = Setting(method, float(strength), similarity)

    now = D.point(root, run_id, N_USERS, setting)
    base = D.point(root, run_id, N_USERS, Setting("none", 1.0, similarity))
    cols = st.columns(5)
    for col, metric in zip(cols, ["NDCG@10", "HR@10", "ILD", "category coverage",
                                  "catalog coverage"]):
        col.metric(metric, f"{now[metric]:.4f}", f"{now[metric] - base[metric]:+.4f}",
                   help="change against relevance order")
    points = D.curve(root, run_id, N_USERS, method, similarity) if method != "none" else \
        pd.DataFrame([base])
    left, right = st.columns(2)
    left.plotly_chart(rcharts.tradeoff_curve(points, now, "ILD", "NDCG@10"), key="curve-ild")
    right.plotly_chart(rcharts.tradeoff_curve(points, now, "catalog coverage", "NDCG@10"),
                       key="curve-cov")

    st.subheader("One shopper, before and after")
    users = pools.users.tolist()
    user = st.selectbox("Shopper", users)
    before, after = before_after(rc, pools, users.index(user), setting)

    def styled(frame: pd.DataFrame):
        return frame.style.hide(axis="index").apply(
            lambda row: [NEW if row["changed"] else ""] * len(row), axis=1)

    left, right = st.columns(2)
    left.markdown("**Relevance order**")
    left.table(styled(before))
    right.markdown(f"**{setting.label()}**")
    right.table(styled(after))

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
