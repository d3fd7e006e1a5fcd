""""You see this because you bought A and B": the smallest removal of history events that drops a
recommended item out of the top-K, and the reason line derived from the attributions.

The counterfactual is greedy over the SHAP order (the event that raised the score most goes first;
every prefix of that order is scored in one batch) and verified by re-ranking the edited history
through `recdash.recommend.top_k`, the same path the recommendations take. It is small, not provably the
smallest: finding that is a search over subsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recdash.errors import RecdashError
from recdash.explain.explanation import Explanation
from recdash.eval.evaluate import mask_seen_
from recdash.recommend import History, top_k

VERBS = {"purchase": "bought", "cart": "added to your cart", "view": "viewed"}
REASON_SHARE = 0.15  # the top event stands out when it carries this share of the positive push


@dataclass(frozen=True)
class Counterfactual:
    """Which events to remove so that the item leaves the top-K.

    Attributes:
        removed: positions (into the history given) of the events removed, in SHAP order; empty
            when no removal within the players drops the item.
        rank_before: the item's rank with the whole history (1-based).
        rank_after: its rank once `removed` are gone (NaN when `found` is False).
        k: the list length.
        found: whether the removal drops the item out of the top-K, verified by re-ranking.
    """

    removed: tuple[int, ...]
    rank_before: int
    rank_after: float
    k: int
    found: bool


def _ranks(scores: np.ndarray, histories: list[np.ndarray], target: int) -> np.ndarray:
    """(B,) 1-based rank of `target` in each row, the history's items excluded."""
    t = torch.from_numpy(scores.astype(np.float32))
    mask_seen_(t, histories)
    own = t[:, target:target + 1]
    return (t > own).sum(1).numpy() + 1


def counterfactual(model, items: np.ndarray, events: np.ndarray, times: np.ndarray,
                   target: int, expl: Explanation, k: int = 10) -> Counterfactual:
    """The smallest prefix of the SHAP order whose removal drops `target` out of the top-k.

    Args:
        model: a fitted recommender.
        items, events, times: the history (internal indices, codes, epoch seconds).
        target: internal index of a recommended item.
        expl: one row of `explain_history` for this item and history.
        k: the list length.

    Raises:
        RecdashError: `expl` is not one history row.
    """
    if expl.kind != "history" or expl.values.ndim != 1 or expl.positions is None:
        raise RecdashError("pass one row of a history explanation, e.g. explain_history(...)[0]")
    items, events, times = np.asarray(items), np.asarray(events), np.asarray(times, float)
    order = expl.positions[np.argsort(-expl.values, kind="stable")]
    order = order[expl.values[np.argsort(-expl.values, kind="stable")] > 0]  # raisers only
    hist, ev, tm = [items], [events], [times]
    for m in range(1, len(order) + 1):
        keep = np.setdiff1d(np.arange(len(items)), order[:m])
        hist.append(items[keep]), ev.append(events[keep]), tm.append(times[keep])
    ranks = _ranks(model.score(hist, ev, tm), hist, target)
    before = int(ranks[0])
    dropped = np.flatnonzero(ranks[1:] > k)
    if not len(dropped):
        return Counterfactual((), before, float("nan"), k, False)
    m = int(dropped[0]) + 1
    removed = tuple(int(p) for p in order[:m])
    # Verify through the recommendation path itself.
    idx, scores = top_k(model, [History(hist[m], ev[m], tm[m])], k)
    found = target not in set(idx[0][np.isfinite(scores[0])].tolist())
    return Counterfactual(removed, before, float(ranks[m]), k, bool(found))


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def reason_line(history_expl: Explanation, titles: list[str],
                item_expl: Explanation | None = None, max_events: int = 2) -> str:
    """A plain sentence naming what raised the item's score most, from the attributions only.

    Args:
        history_expl: one row of a history explanation (its `events` set).
        titles: the title of each history player, in the explanation's order.
        item_expl: the item-side explanation, used when no history event raised the score.
        max_events: how many events to name at most.
    """
    if history_expl.values.ndim != 1 or history_expl.kind != "history":
        raise RecdashError("pass one row of a history explanation, e.g. expl[0]")
    vals = history_expl.values
    push = vals[vals > 0].sum()
    order = [i for i in np.argsort(-vals, kind="stable")[:max_events] if vals[i] > 0]
    if order:
        events = history_expl.events if history_expl.events is not None \
            else np.full(len(vals), "view", dtype=object)
        named = _join([f"{VERBS.get(str(events[i]), 'viewed')} {titles[i]}" for i in order])
        if vals[order[0]] >= REASON_SHARE * push:
            return f"Because you {named}."
        return (f"Because of your history as a whole (no single event stands out); most of all, "
                f"you {named}.")
    if item_expl is not None and (item_expl.values > 0).any():
        best = int(np.argmax(item_expl.values))
        return (f"Not because of one event in your history: the product itself scores high, "
                f"mostly through its {item_expl.feature_names[best]}.")
    return "No event in your history raises it: it ranks high for shoppers in general."
