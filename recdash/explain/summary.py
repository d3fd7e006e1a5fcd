"""One call that explains a recommendation for the studio, and the global view over shoppers.

`explain_recommendation` takes a history in the shop's terms (a frame of item IDs, event types
and times, as the Shopper page edits it) and one recommended item, and returns everything the
Explain page draws: attention, the SHAP values of the history and of the item's signals, the
counterfactual and the reason line. `global_drivers` explains the top recommendation of a sample
of shoppers and sums the history attributions by the category and brand of the events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.dataset import Dataset
from recdash.errors import RecdashError
from recdash.explain.attention import AttentionView, attention_view
from recdash.explain.counterfactual import Counterfactual, counterfactual, reason_line
from recdash.explain.explanation import Explanation
from recdash.explain.shapley import MAX_PLAYERS, explain_history, explain_item_signals
from recdash.shopper import encode_history

EVENT_NAMES = np.asarray(S.EVENT_TYPES, dtype=object)


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
        counterfactual: the removal that drops the item out of the top-K.
        reason: the reason line.
    """

    item_id: object
    title: str
    history: pd.DataFrame
    shap: Explanation
    item_shap: Explanation | None
    attention: AttentionView | None
    counterfactual: Counterfactual
    reason: str


def _titles(dataset: Dataset, item_ids: Sequence[object]) -> list[str]:
    cat = dataset.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM)
    titles = cat[S.TITLE] if S.TITLE in cat else pd.Series(dtype=object)
    return [str(titles.get(i)) if pd.notna(titles.get(i)) else str(i) for i in item_ids]


def _item_values(dataset: Dataset, item_id: object) -> dict[str, object]:
    cat = dataset.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM)
    if item_id not in cat.index:
        return {}
    row = cat.loc[item_id]
    return {"id": item_id, "text": row.get(S.TITLE, ""), "category": row.get(S.CATEGORY, ""),
            "brand": row.get(S.BRAND, ""), "price": row.get(S.PRICE, "")}


def explain_recommendation(model, dataset: Dataset, history: pd.DataFrame, item_id: object,
                           k: int = 10, max_evals: int | None = None, seed: int = 0,
                           max_players: int = MAX_PLAYERS) -> Why:
    """Explain why `item_id` is recommended after `history`.

    Args:
        model: a fitted recommender (attention and item-side parts need the attention ranker).
        dataset: the dataset the model was trained on (titles, categories).
        history: the shopper's events (item_id, event_type, timestamp), oldest first.
        item_id: the recommended item, as the shop's ID.
        k: the list length the counterfactual must drop the item out of.
        max_evals: model evaluations per SHAP explanation (default: 20 permutations).
        seed: seed of the SHAP permutations.
        max_players: the most recent events taken as players.

    Raises:
        RecdashError: an unknown item, or a history with no event the model knows.
    """
    target = model.encode_items([item_id])
    if not len(target):
        raise RecdashError(f"item '{item_id}' is not among the model's items; pick one of its "
                           "recommendations")
    target = int(target[0])
    items, events, times, kept = encode_history(model, history[S.ITEM].tolist(),
                                                history[S.EVENT].tolist(),
                                                history[S.TIME].tolist())
    if not len(items):
        raise RecdashError("the history has no event the model knows: there is nothing to "
                           "explain (an empty history gets the most popular items)")
    ids = history[S.ITEM].to_numpy(dtype=object)[kept]
    titles = _titles(dataset, ids)
    labels = EVENT_NAMES[events]
    names = [f"{n + 1}. {t} ({e})" for n, (t, e) in enumerate(zip(titles, labels))]
    expl = explain_history(model, items, events, times, [target], max_evals=max_evals, seed=seed,
                           max_players=max_players, names=names, item_ids=[item_id],
                           event_labels=labels)[0]
    has_net = getattr(model, "net", None) is not None
    item_expl = explain_item_signals(model, items, events, times, target, max_evals=max_evals,
                                     seed=seed, item_id=item_id,
                                     values=_item_values(dataset, item_id)) if has_net else None
    frame = pd.DataFrame({S.ITEM: ids, S.TITLE: titles, S.EVENT: labels,
                          S.TIME: history[S.TIME].to_numpy()[kept],
                          "position": np.arange(len(ids))})
    return Why(item_id=item_id, title=_titles(dataset, [item_id])[0], history=frame, shap=expl,
               item_shap=item_expl,
               attention=attention_view(model, items, events, times) if has_net else None,
               counterfactual=counterfactual(model, items, events, times, target, expl, k),
               reason=reason_line(expl, [titles[p] for p in expl.positions], item_expl))


def global_drivers(model, dataset: Dataset, users: Sequence[object], max_evals: int | None = None,
                   seed: int = 0, max_players: int = MAX_PLAYERS,
                   progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """Which categories and brands drive the recommendations, over a sample of shoppers.

    Explains each shopper's top recommendation and adds up the history events' SHAP values by the
    category and by the brand of the event's item.

    Args:
        model: a fitted recommender.
        dataset: its dataset.
        users: the shoppers to explain (known to the model).
        max_evals, seed, max_players: as in `explain_history`.
        progress: called with (fraction done, message).

    Returns:
        Columns facet ("category" or "brand"), value, contribution (mean SHAP value per
        explanation), share (of all positive contributions of the facet), events (how many
        history events of that value were players).
    """
    cat = dataset.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM)
    rows = []
    for n, user in enumerate(users):
        items, events, times = model.context_of(user)
        if not len(items):
            continue
        top = model.rank([user], [items], [events], [times], k=1)
        target = model.encode_items(top[S.ITEM].tolist())
        expl = explain_history(model, items, events, times, target, max_evals=max_evals,
                               seed=seed, max_players=max_players)[0]
        ids = model._items[np.asarray(expl.data, dtype=np.int64)]
        rows.append(pd.DataFrame({"item": ids, "value": expl.values}))
        if progress:
            progress((n + 1) / len(users), f"explained {n + 1:,} of {len(users):,} shoppers")
    if not rows:
        raise RecdashError("none of the shoppers has a history the model knows")
    found = pd.concat(rows, ignore_index=True)
    out = []
    for facet, column in (("category", S.CATEGORY), ("brand", S.BRAND)):
        if column not in cat:
            continue
        found[facet] = cat[column].reindex(found["item"]).fillna("(none)").to_numpy()
        g = found.groupby(facet)["value"].agg(["sum", "size"]).reset_index()
        g.columns = ["value", "total", "events"]
        g.insert(0, "facet", facet)
        g["contribution"] = g["total"] / len(rows)
        pos = g["total"].clip(lower=0)
        g["share"] = pos / pos.sum() if pos.sum() > 0 else 0.0
        out.append(g.sort_values("contribution", ascending=False)
                   [["facet", "value", "contribution", "share", "events"]])
    return pd.concat(out, ignore_index=True)
