"""The Explain page's and the Shopper page's explanation panel: pick one of a shopper's
recommendations and see the reason line and the attention at once, then the SHAP waterfall of the
history, the item-side attributions and the counterfactual as soon as they are computed.

The panel is a fragment: choosing another item reruns it alone. Nothing slow happens before the
first draw: the list comes from the page (scored once), the quick explanation (attention and a
leave-one-out reason line, one batch of scores) is drawn first, then the SHAP stage runs with a
progress bar. Full explanations are kept per (run, history, item) in a store shared by the
server's sessions (an `st.cache_resource` LRU: a progress bar cannot live inside an
`st.cache_data` function).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import pandas as pd
import streamlit as st

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.explain import charts
from recdash.explain.summary import Why, explain_recommendation, global_drivers, \
    quick_explanation
from ui import models

NAMED = 5  # removed events named in the counterfactual sentence
K = 10  # the list an explanation is about (the counterfactual drops the item out of it)
STORED = 256  # full explanations kept per server


class _Store:
    """A small thread-safe LRU of computed explanations (read-only values)."""

    def __init__(self, size: int) -> None:
        self.size, self.lock, self.items = size, threading.Lock(), OrderedDict()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
            return self.items.get(key)

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


@st.cache_resource(show_spinner=False)
def _store() -> _Store:
    return _Store(STORED)


def _warm() -> None:
    import gc

    import numpy as np
    import shap

    # A game with one output per row and column, as the real ones (history events x items):
    # shap compiles its multi-output path on first use, which takes seconds.
    masker = shap.maskers.Independent(np.zeros((1, 2)), max_samples=1)
    shap.explainers.Permutation(lambda m: m.astype(float), masker, seed=0)(
        np.ones((1, 2)), max_evals=10, silent=True)
    # What is loaded by now (torch, shap, plotly, Streamlit) lives as long as the server: keep
    # it out of every later garbage collection, which would otherwise walk ~350k objects.
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import shap and run one tiny explanation in the background, once per server: the first
    SHAP panel would otherwise wait ~2-5 s for them."""
    thread = threading.Thread(target=_warm, name="recdash-shap-warm-up", daemon=True)
    thread.start()
    return thread


def _history_key(history: pd.DataFrame) -> str:
    text = pd.util.hash_pandas_object(history.astype(str), index=False).to_numpy().tobytes()
    return hashlib.sha1(text).hexdigest()


@st.cache_data(max_entries=256, show_spinner=False)
def quick(root: str, run_id: str, history: pd.DataFrame, item_id: str) -> Why:
    """The quick explanation of `item_id` after `history` (milliseconds; cached)."""
    return quick_explanation(models.load_run(root, run_id), history, item_id)


def why(root: str, run_id: str, history: pd.DataFrame, item_id: str, seed: int = 0) -> Why:
    """The full explanation, from the server's store or computed now with a progress bar."""
    key = (root, run_id, _history_key(history), item_id, seed)
    found = _store().get(key)
    if found is not None:
        return found
    bar = st.progress(0.0, text="Computing SHAP values of the history...")
    w = explain_recommendation(models.load_run(root, run_id), history, item_id, k=K,
                               seed=seed, progress=lambda f, m: bar.progress(min(f, 1.0), m))
    bar.empty()
    _store().put(key, w)
    return w


def drivers(root: str, run_id: str, n_users: int, seed: int = 0) -> pd.DataFrame:
    """`global_drivers` over `n_users` shoppers drawn with `seed`, with a progress bar; kept in
    the server's store."""
    key = ("explain-drivers", root, run_id, n_users, seed)
    found = _store().get(key)
    if found is not None:
        return found
    service = models.load_run(root, run_id)
    users = pd.Series(models.user_ids(root, service.dataset.name)).sample(
        min(n_users, len(models.user_ids(root, service.dataset.name))),
        random_state=seed).tolist()
    bar = st.progress(0.0, text="Explaining shoppers' top recommendations...")
    table = global_drivers(service, users, seed=seed,
                           progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg))
    bar.empty()
    _store().put(key, table)
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


def draw_attention(w: Why) -> None:
    """The attention heatmap of an explanation (quick or full), if the model has attention."""
    if w.attention is None:
        return
    titles = w.history[S.TITLE].to_numpy()[w.attention.positions].tolist()
    st.plotly_chart(charts.attention_heatmap(w.attention, titles), key=f"attn-{w.item_id}")
    st.caption("Attention is the same for every recommended item (it is where the model "
               "looked before scoring any item); the SHAP values are this item's.")


def draw_shap(w: Why) -> None:
    """Counterfactual and SHAP charts of a full explanation."""
    st.markdown(f"**What if they had not...** {_counterfactual_text(w)}")
    st.caption(f"SHAP values by the Permutation algorithm: {w.shap.n_evals:,} model evaluations "
               f"over the newest {len(w.shap.values)} events, seed {w.shap.seed}. Base value "
               "(every event removed) + the values = the item's score.")
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.shap_waterfall(w.shap), key=f"waterfall-{w.item_id}")
    if w.item_shap is not None:
        right.plotly_chart(charts.shap_bar(w.item_shap), key=f"signals-{w.item_id}")


@st.fragment
def panel(root: str, run_id: str, history: pd.DataFrame, recs: pd.DataFrame, key: str) -> None:
    """Pick one of the history's recommendations and explain it; reruns alone on a new pick.

    Args:
        root: the workspace folder.
        run_id: a finished run.
        history: the (possibly edited) history frame (shopper.HISTORY_COLUMNS).
        recs: its list as the page shows it (`Service.recommend_frame`), scored once.
        key: a prefix for the widget keys (the page and the shopper).
    """
    if not len(history):
        st.info("An empty history has nothing to explain: its list is the most popular items.")
        return
    if recs.empty:
        st.info("This history has no recommendations to explain.")
        return
    labels = dict(zip(recs["rank"].astype(str) + ". " +
                      recs[S.TITLE].fillna(recs[S.ITEM]).astype(str), recs[S.ITEM]))
    item = labels[st.selectbox("Recommendation to explain", list(labels), key=f"{key}-item")]
    try:
        first = quick(root, run_id, history, item)
    except RecdashError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    reason = st.empty()
    reason.info(first.reason + " *(first estimate: each event removed in turn; SHAP below)*",
                icon=":material/lightbulb:")
    draw_attention(first)
    try:
        w = why(root, run_id, history, item)
    except RecdashError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    reason.info(w.reason, icon=":material/lightbulb:")
    draw_shap(w)
