"""The Explain page's and the Shopper page's explanation panel: pick one of a shopper's
recommendations and see, together, the reason line, the counterfactual, the SHAP waterfall of the
history, the item-side attributions and the attention heatmap.

The panel is a fragment: choosing another item reruns it alone. Explanations are cached per
(run, history, item) in `st.cache_data` (a history edit is a new key), and the model comes from
the Shopper page's `st.cache_resource` loader, read and never changed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recdash import shopper
from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.explain import charts
from recdash.explain.summary import Why, explain_recommendation, global_drivers
from ui import models

NAMED = 5  # removed events named in the counterfactual sentence
K = 10  # the list an explanation is about (the counterfactual drops the item out of it)


@st.cache_data(max_entries=64, show_spinner=False)
def why(root: str, run_id: str, history: pd.DataFrame, item_id: str, seed: int = 0) -> Why:
    """The explanation of `item_id` after `history` by run `run_id` (cached)."""
    model, ds, _ = models.load_model(root, run_id)
    return explain_recommendation(model, ds, history, item_id, k=K, seed=seed)


def drivers(root: str, run_id: str, n_users: int, seed: int = 0) -> pd.DataFrame:
    """`global_drivers` over `n_users` shoppers drawn with `seed`, with a progress bar; kept in
    the session (a progress bar cannot live inside an st.cache_data function)."""
    key = ("explain-drivers", root, run_id, n_users, seed)
    if key in st.session_state:
        return st.session_state[key]
    model, ds, _ = models.load_model(root, run_id)
    users = pd.Series(ds.interactions[S.USER].unique()).sample(
        min(n_users, ds.interactions[S.USER].nunique()), random_state=seed).tolist()
    bar = st.progress(0.0, text="Explaining shoppers' top recommendations...")
    table = global_drivers(model, ds, users, seed=seed,
                           progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg))
    bar.empty()
    st.session_state[key] = table
    return table


def _counterfactual_text(w: Why) -> str:
    cf = w.counterfactual
    if not cf.found:
        return (f"No removal of history events drops it out of the top {cf.k}: it is recommended "
                "for the product itself more than for any events.")
    gone = w.history.loc[list(cf.removed)]
    names = "; ".join(f"{t} ({e})" for t, e in zip(gone[S.TITLE][:NAMED], gone[S.EVENT][:NAMED]))
    if len(gone) > NAMED:
        names += f"; and {len(gone) - NAMED} more"
    return (f"Remove {len(cf.removed)} event(s) and it falls from rank {cf.rank_before} to "
            f"{cf.rank_after:.0f}, out of the top {cf.k} (checked by re-ranking): {names}.")


def draw(w: Why) -> None:
    """Reason, counterfactual, SHAP charts and the attention heatmap of one explanation."""
    st.info(w.reason, icon=":material/lightbulb:")
    st.markdown(f"**What if they had not...** {_counterfactual_text(w)}")
    st.caption(f"SHAP values by the Permutation algorithm: {w.shap.n_evals:,} model evaluations "
               f"over the newest {len(w.shap.values)} events, seed {w.shap.seed}. Base value "
               "(every event removed) + the values = the item's score.")
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.shap_waterfall(w.shap), key=f"waterfall-{w.item_id}")
    if w.item_shap is not None:
        right.plotly_chart(charts.shap_bar(w.item_shap), key=f"signals-{w.item_id}")
    if w.attention is not None:
        titles = w.history[S.TITLE].to_numpy()[w.attention.positions].tolist()
        st.plotly_chart(charts.attention_heatmap(w.attention, titles), key=f"attn-{w.item_id}")
        st.caption("Attention is the same for every recommended item (it is where the model "
                   "looked before scoring any item); the SHAP values are this item's.")


@st.fragment
def panel(root: str, run_id: str, history: pd.DataFrame, key: str) -> None:
    """Pick one of the history's recommendations and explain it; reruns alone on a new pick.

    Args:
        root: the workspace folder.
        run_id: a finished run.
        history: the (possibly edited) history frame (shopper.HISTORY_COLUMNS).
        key: a prefix for the widget keys (the page and the shopper).
    """
    model, ds, _ = models.load_model(root, run_id)
    if not len(history):
        st.info("An empty history has nothing to explain: its list is the most popular items.")
        return
    recs = shopper.recommend_for_frame(model, ds, history, K)
    labels = dict(zip(recs["rank"].astype(str) + ". " +
                      recs[S.TITLE].fillna(recs[S.ITEM]).astype(str), recs[S.ITEM]))
    item = labels[st.selectbox("Recommendation to explain", list(labels), key=f"{key}-item")]
    with st.spinner("Computing SHAP values, the counterfactual and attention..."):
        try:
            w = why(root, run_id, history, item)
        except RecdashError as exc:
            st.error(str(exc), icon=":material/error:")
            return
    draw(w)
