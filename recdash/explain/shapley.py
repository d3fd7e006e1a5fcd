"""Shapley values of a recommendation's score, by the `shap` library's Permutation explainer.

Two games, each with a proper masker and the algorithm named (shap.Explainer would switch to the
exact algorithm by itself for ten players or fewer):

- **History events** (any recommender): the players are the shopper's most recent events (at
  most `max_players`; older ones stay in place); a removed event is dropped from the sequence,
  so the value of a coalition is the item's score after the other events. Several items of one
  shopper are explained together, on the same permutations.
- **Item-side signals** (the attention ranker): the players are the signals summed into the
  item's vector (ID embedding, text, category, brand, price band); a removed signal is left out of
  the sum before the item tower's norm, and the user's side is fixed.

The Permutation algorithm walks each random permutation forwards and backwards, so every
permutation's contributions add up to score(all) - score(none) exactly: base value + sum of the
values equals the model's score (the efficiency property, checked in the tests). It costs
`max_evals` model evaluations, rounded down to whole permutations of 2 * players + 1 each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from recdash.errors import RecdashError
from recdash.explain.explanation import Explanation

ALGORITHM = "permutation"
DEFAULT_PERMUTATIONS = 20  # forward-and-backward walks per explanation
MAX_PLAYERS = 50  # the most recent events taken as players; older events stay in place
CHUNK = 256  # histories per scoring call
SIGNAL_NAMES = {"id": "ID embedding (learnt from events)", "text": "title text",
                "category": "category", "brand": "brand", "price": "price band"}


def target_scores(model, histories: Sequence[np.ndarray], events: Sequence[np.ndarray],
                  times: Sequence[np.ndarray], targets: np.ndarray) -> np.ndarray:
    """(B, R) the model's scores of `targets` (internal indices) after each history, in chunks.

    `Recommender.score_targets`: the attention ranker scores only the targets (not the whole
    catalog) and gives an empty history 0, the network's own output, so the base value stays on
    the network's scale. (`score` serves an empty history the popularity list instead, a number
    on another scale: as the base value it would put a jump of nearly the whole score on
    whichever event a permutation adds first.)
    """
    out = np.empty((len(histories), len(targets)), dtype=np.float64)
    for lo in range(0, len(histories), CHUNK):
        sl = slice(lo, lo + CHUNK)
        out[sl] = model.score_targets(histories[sl], events[sl], times[sl], targets)
    return out


def _permutation(game: Callable[[np.ndarray], np.ndarray], n_players: int, max_evals: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Run shap's Permutation explainer on a game over `n_players` binary players.

    Returns:
        ((players, outputs) values, (outputs,) base values, evaluations spent).
    """
    import shap

    need = 2 * n_players + 1
    if max_evals < need:
        raise RecdashError(f"max_evals={max_evals} is below one permutation ({need} evaluations "
                           f"for {n_players} players); raise it to at least {need}")
    masker = shap.maskers.Independent(np.zeros((1, n_players)), max_samples=1)
    state = np.random.get_state()  # shap seeds numpy's global generator: put it back after
    try:
        explainer = shap.explainers.Permutation(game, masker, seed=seed)
        result = explainer(np.ones((1, n_players)), max_evals=max_evals, batch_size=need,
                           silent=True)
    finally:
        np.random.set_state(state)
    values = np.asarray(result.values[0], dtype=np.float64).reshape(n_players, -1)
    base = np.asarray(result.base_values[0], dtype=np.float64).reshape(-1)
    return values, base, (max_evals // need) * need


def default_evals(n_players: int, permutations: int = DEFAULT_PERMUTATIONS) -> int:
    """Model evaluations for `permutations` forward-and-backward walks."""
    return permutations * (2 * n_players + 1)


def explain_history(model, items: np.ndarray, events: np.ndarray, times: np.ndarray,
                    targets: Sequence[int], *, max_evals: int | None = None, seed: int = 0,
                    max_players: int = MAX_PLAYERS,
                    names: Sequence[str] | None = None, item_ids: Sequence[object] | None = None,
                    event_labels: Sequence[str] | None = None) -> Explanation:
    """Shapley values of history events for the scores of one or more items.

    Args:
        model: a fitted recommender.
        items: the history's internal item indices, oldest first (not empty).
        events: matching event codes.
        times: matching epoch seconds (NaN where unknown).
        targets: internal indices of the items to explain (rows of the result).
        max_evals: model evaluations per explanation (default: 20 permutations).
        seed: seed of the permutations.
        max_players: the most recent events that are players (the model's max_len at most).
        names: a readable name per history event (default: the item index).
        item_ids: the shop's ID per target (default: the index).
        event_labels: an event type name per history event.

    Returns:
        An Explanation of shape (len(targets), players).
    """
    items, events, times = np.asarray(items), np.asarray(events), np.asarray(times, float)
    if not len(items):
        raise RecdashError("the history is empty: there is no event to attribute the score to")
    cfg = getattr(getattr(model, "net", None), "cfg", None)
    window = len(items) if cfg is None else min(len(items), cfg.max_len)
    lo = len(items) - window  # events before the model's window change nothing: left out
    first = len(items) - min(window, max_players)  # players: the newest events
    players = np.arange(first, len(items))
    targets = np.asarray(targets, dtype=np.int64)

    def game(masks: np.ndarray) -> np.ndarray:
        keep = masks.astype(bool)
        hist, ev, tm = [], [], []
        for row in keep:
            idx = np.concatenate([np.arange(lo, first), players[row]])
            hist.append(items[idx]), ev.append(events[idx]), tm.append(times[idx])
        return target_scores(model, hist, ev, tm, targets)

    n = len(players)
    evals = max_evals if max_evals is not None else default_evals(n)
    values, base, spent = _permutation(game, n, evals, seed)
    rows = len(targets)
    name = np.asarray(names, dtype=object)[players] if names is not None else players
    return Explanation(
        values=values.T, base_values=base,
        data=np.broadcast_to(items[players].astype(object), (rows, n)),
        feature_names=np.broadcast_to(np.asarray(name, dtype=object), (rows, n)),
        item_id=np.asarray(list(item_ids) if item_ids is not None else targets, dtype=object),
        kind="history", algorithm=ALGORITHM, n_evals=spent, seed=seed, positions=players,
        events=None if event_labels is None else np.asarray(event_labels, dtype=object)[players])


def leave_one_out(model, items: np.ndarray, events: np.ndarray, times: np.ndarray,
                  target: int, *, max_players: int = MAX_PLAYERS, item_id: object | None = None,
                  event_labels: Sequence[str] | None = None) -> Explanation:
    """Each player event's leave-one-out effect on one item's score: score(history) minus
    score(history without that event), all scored in one batch (players + 1 evaluations).

    A quick first attribution (occlusion): unlike SHAP values these need not add up to the
    score, and events that only matter together get none of it. The base value is the score with
    every player removed, as in `explain_history`.

    Returns:
        An Explanation of shape (players,), algorithm "leave-one-out".
    """
    items, events, times = np.asarray(items), np.asarray(events), np.asarray(times, float)
    if not len(items):
        raise RecdashError("the history is empty: there is no event to attribute the score to")
    cfg = getattr(getattr(model, "net", None), "cfg", None)
    window = len(items) if cfg is None else min(len(items), cfg.max_len)
    lo = len(items) - window
    players = np.arange(len(items) - min(window, max_players), len(items))
    keep = [np.arange(lo, len(items))] + [np.setdiff1d(np.arange(lo, len(items)), [p])
                                          for p in players]
    keep.append(np.arange(lo, players[0]))  # every player removed: the base value
    scores = target_scores(model, [items[k] for k in keep], [events[k] for k in keep],
                           [times[k] for k in keep], np.array([target]))[:, 0]
    labels = None if event_labels is None else np.asarray(event_labels, dtype=object)[players]
    return Explanation(values=scores[0] - scores[1:-1], base_values=scores[-1],
                       data=items[players].astype(object), feature_names=players.astype(object),
                       item_id=item_id if item_id is not None else target, kind="history",
                       algorithm="leave-one-out", n_evals=len(keep), seed=0, positions=players,
                       events=labels)


@torch.inference_mode()
def explain_item_signals(model, items: np.ndarray, events: np.ndarray, times: np.ndarray,
                         target: int, *, max_evals: int | None = None, seed: int = 0,
                         item_id: object | None = None,
                         values: dict[str, object] | None = None) -> Explanation:
    """Shapley values of the item-side signals for one item's score (attention ranker only).

    Args:
        model: a fitted `AttentionRanker`.
        items, events, times: the shopper's history (the user side, held fixed).
        target: internal index of the item.
        max_evals: model evaluations (default: 20 permutations).
        seed: seed of the permutations.
        item_id: the shop's ID of the item.
        values: signal name -> the item's value of it (its category, brand, ...), for `data`.

    Returns:
        An Explanation of shape (signals,).
    """
    net = getattr(model, "net", None)
    if net is None:
        raise RecdashError(f"{type(model).__name__} has no item-side signals; pick a run of the "
                           "attention ranker")
    if not len(items):
        raise RecdashError("the history is empty: the item-side explanation needs a shopper")
    hidden = model.user_vectors([np.asarray(items)], [np.asarray(events)],
                                [np.asarray(times, float)])[0]  # (d,)
    idx = torch.tensor([target + 1], device=model.device)  # the tower counts from 1
    parts = {k: v[0] for k, v in net.items.parts(idx).items()}
    names = list(parts)
    stack = torch.stack([parts[k] for k in names])  # (P, d)

    def game(masks: np.ndarray) -> np.ndarray:
        m = torch.as_tensor(masks, dtype=stack.dtype, device=stack.device)  # (S, P)
        vectors = net.items.norm(m @ stack)  # (S, d)
        return (vectors @ hidden).double().cpu().numpy()[:, None]

    n = len(names)
    evals = max_evals if max_evals is not None else default_evals(n)
    vals, base, spent = _permutation(game, n, evals, seed)
    shown = values or {}
    return Explanation(
        values=vals[:, 0], base_values=base[0],
        data=np.asarray([shown.get(k, "") for k in names], dtype=object),
        feature_names=np.asarray([SIGNAL_NAMES[k] for k in names], dtype=object),
        item_id=item_id if item_id is not None else target, kind="item", algorithm=ALGORITHM,
        n_evals=spent, seed=seed)
