"""One call that explains a recommendation for the studio, and the global view over shoppers.

`explain_recommendation` takes a history in the shop's terms (a frame of item IDs, event types
and times, as the Shopper page edits it) and one recommended item, and returns everything the
Explain page draws: attention, the SHAP values of the history and of the item's signals, the
counterfactual and the reason line. `quick_explanation` gives the page something to show at once
(attention, and a reason line from leave-one-out, one batch of scores) while SHAP is computed.
`global_drivers` explains the top recommendation of a sample
of shoppers and sums the history attributions by the category and brand of the events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.explain.attention import AttentionView, attention_view
from recdash.explain.counterfactual import Counterfactual, counterfactual, reason_line
from recdash.explain.explanation import Explanation
from recdash.explain.shapley import MAX_PLAYERS, default_evals, explain_history, \
    explain_item_signals, leave_one_out
from recdash.recommend import History, Service

EVENT_NAMES = np.asarray(S.EVENT_TYPES, dtype=object)
GLOBAL_PERMUTATIONS = 5  # per shopper in the view across shoppers (one explanation: 20)


@dataclass(frozen=True)
class Why:
    """Everything known about why one item is recommended to one history.

    Attributes:
        item_id: the item (the shop's ID) and its title.
        title: the item's title.
        history: the encoded history's events: item_id, title, event_type, timestamp, position.
        shap: history attributions (one row).
        item_shap: item-side attributions, or None for a baseline model.
        attention: the attention view, or None for a baseline model.
        counterfactual: the removal that drops the item out of the top-K (None in a
            `quick_explanation`).
        reason: the reason line.
    """

    item_id: object
    title: str
    history: pd.DataFrame
    shap: Explanation
    item_shap: Explanation | None
    attention: AttentionView | None
    counterfactual: Counterfactual | None
    reason: str


def _item_values(service: Service, item_id: object) -> dict[str, object]:
    products = service.dataset.products if service.dataset is not None else None
    if products is None or item_id not in products.index:
        return {}
    row = products.loc[item_id]
    return {"id": item_id, "text": row.get(S.TITLE, ""), "category": row.get(S.CATEGORY, ""),
            "brand": row.get(S.BRAND, ""), "price": row.get(S.PRICE, "")}


@dataclass(frozen=True)
class _Case:
    """One (history, item) pair in the model's terms."""

    target: int
    history: History
    frame: pd.DataFrame  # the encoded events: item_id, title, event_type, timestamp, position
    titles: list[str]
    labels: np.ndarray


def _case(service: Service, history: pd.DataFrame, item_id: object) -> _Case:
    target = service.model.codes_of([item_id])[0]
    if target < 0:
        raise RecdashError(f"item '{item_id}' is not among the model's items; pick one of its "
                           "recommendations")
    encoded, kept = service.encode_frame(history)
    if not len(encoded):
        raise RecdashError("the history has no event the model knows: there is nothing to "
                           "explain (an empty history gets the most popular items)")
    ids = history[S.ITEM].to_numpy(dtype=object)[kept]
    titles = service.title_of(ids)
    labels = EVENT_NAMES[encoded.events]
    frame = pd.DataFrame({S.ITEM: ids, S.TITLE: titles, S.EVENT: labels,
                          S.TIME: history[S.TIME].to_numpy()[kept],
                          "position": np.arange(len(ids))})
    return _Case(int(target), encoded, frame, titles, labels)


def _has_net(service: Service) -> bool:
    return getattr(service.model, "net", None) is not None


def quick_explanation(service: Service, history: pd.DataFrame, item_id: object,
                      max_players: int = MAX_PLAYERS) -> Why:
    """A first explanation in milliseconds: attention, and a reason line from leave-one-out
    (each event's removal, scored in one batch), before SHAP is computed.

    The `shap` field then holds the leave-one-out attributions (algorithm "leave-one-out"; they
    need not add up to the score), and `counterfactual` is None.

    Raises:
        RecdashError: an unknown item, or a history with no event the model knows.
    """
    case = _case(service, history, item_id)
    expl = leave_one_out(service.model, case.history.items, case.history.events,
                         case.history.times, case.target, max_players=max_players,
                         item_id=item_id, event_labels=case.labels)
    h = case.history
    return Why(item_id=item_id, title=service.title_of([item_id])[0], history=case.frame,
               shap=expl, item_shap=None,
               attention=attention_view(service.model, h.items, h.events, h.times)
               if _has_net(service) else None,
               counterfactual=None,
               reason=reason_line(expl, [case.titles[p] for p in expl.positions]))


def explain_recommendation(service: Service, history: pd.DataFrame, item_id: object,
                           k: int = 10, max_evals: int | None = None, seed: int = 0,
                           max_players: int = MAX_PLAYERS,
                           progress: Callable[[float, str], None] | None = None) -> Why:
    """Explain why `item_id` is recommended after `history`: SHAP values of the history and of
    the item's signals, the counterfactual, attention and the reason line.

    Args:
        service: the run's serving path (its model; the dataset names the items).
        history: the shopper's events (item_id, event_type, timestamp), oldest first.
        item_id: the recommended item, as the shop's ID.
        k: the list length the counterfactual must drop the item out of.
        max_evals: model evaluations per SHAP explanation (default: 20 permutations).
        seed: seed of the SHAP permutations.
        max_players: the most recent events taken as players.
        progress: called with (fraction done, message) between the stages.

    Raises:
        RecdashError: an unknown item, or a history with no event the model knows.
    """
    report = progress or (lambda f, m: None)
    model = service.model
    case = _case(service, history, item_id)
    h, target = case.history, case.target
    names = [f"{n + 1}. {t} ({e})" for n, (t, e) in enumerate(zip(case.titles, case.labels))]
    expl = explain_history(model, h.items, h.events, h.times, [target], max_evals=max_evals,
                           seed=seed, max_players=max_players, names=names, item_ids=[item_id],
                           event_labels=case.labels)[0]
    report(0.6, "Computing SHAP values of the product's signals...")
    has_net = _has_net(service)
    item_expl = explain_item_signals(model, h.items, h.events, h.times, target,
                                     max_evals=max_evals, seed=seed, item_id=item_id,
                                     values=_item_values(service, item_id)) if has_net else None
    report(0.8, "Looking for the counterfactual...")
    cf = counterfactual(model, h.items, h.events, h.times, target, expl, k)
    report(1.0, "done")
    return Why(item_id=item_id, title=service.title_of([item_id])[0], history=case.frame,
               shap=expl, item_shap=item_expl,
               attention=attention_view(model, h.items, h.events, h.times) if has_net else None,
               counterfactual=cf,
               reason=reason_line(expl, [case.titles[p] for p in expl.positions], item_expl))


def global_drivers(service: Service, users: Sequence[object],
                   permutations: int = GLOBAL_PERMUTATIONS, seed: int = 0,
                   max_players: int = MAX_PLAYERS,
                   progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """Which categories and brands drive the recommendations, over a sample of shoppers.

    Explains each shopper's top recommendation (from their stored history, as the Shopper page
    shows it) and adds up the history events' SHAP values by the category and by the brand of
    the event's item. Fewer permutations per shopper than a single explanation: the view sums
    many shoppers, so each one's sampling noise averages out.

    Args:
        service: the run's serving path.
        users: the shoppers to explain.
        permutations: forward-and-backward permutations per shopper.
        seed, max_players: as in `explain_history`.
        progress: called with (fraction done, message).

    Returns:
        Columns facet ("category" or "brand"), value, contribution (mean SHAP value per
        explanation), share (of all positive contributions of the facet), events (how many
        history events of that value were players).
    """
    model = service.model
    products = service.dataset.products if service.dataset is not None else pd.DataFrame()
    histories = service.histories_of(users)
    tops, scores = service.top_k(histories, 1)
    rows = []
    for n, (h, top, score) in enumerate(zip(histories, tops[:, 0], scores[:, 0])):
        if len(h) and np.isfinite(score):
            players = min(len(h), max_players)
            expl = explain_history(model, h.items, h.events, h.times, [int(top)],
                                   max_evals=default_evals(players, permutations), seed=seed,
                                   max_players=max_players)[0]
            ids = service.items[np.asarray(expl.data, dtype=np.int64)]
            rows.append(pd.DataFrame({"item": ids, "value": expl.values}))
        if progress:
            progress((n + 1) / len(users), f"explained {n + 1:,} of {len(users):,} shoppers")
    if not rows:
        raise RecdashError("none of the shoppers has a history the model knows")
    found = pd.concat(rows, ignore_index=True)
    out = []
    for facet, column in (("category", S.CATEGORY), ("brand", S.BRAND)):
        if column not in products or products[column].isna().all():
            continue
        found[facet] = products[column].reindex(found["item"]).fillna("(none)").to_numpy()
        g = found.groupby(facet)["value"].agg(["sum", "size"]).reset_index()
        g.columns = ["value", "total", "events"]
        g.insert(0, "facet", facet)
        g["contribution"] = g["total"] / len(rows)
        pos = g["total"].clip(lower=0)
        g["share"] = pos / pos.sum() if pos.sum() > 0 else 0.0
        out.append(g.sort_values("contribution", ascending=False)
                   [["facet", "value", "contribution", "share", "events"]])
    if not out:
        return pd.DataFrame(columns=["facet", "value", "contribution", "share", "events"])
    return pd.concat(out, ignore_index=True)
