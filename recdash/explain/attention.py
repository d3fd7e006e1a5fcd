"""What the attention ranker looked at: the last position's attention over the history.

The newest position's hidden state is what scores every item, so its attention row is the one
worth showing: per layer and head, averaged over heads, and attention rollout (Abnar & Zuidema,
"Quantifying Attention Flow in Transformers", ACL 2020), which follows attention through the
layers with the residual connection counted as half of each layer (A' = 0.5 A + 0.5 I, rows
renormalised, multiplied from the first layer up). Attention is the same whichever item is
recommended; the SHAP values (`recdash.explain.shapley`) are per item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recdash.errors import RecdashError


@dataclass(frozen=True)
class AttentionView:
    """The last position's attention over the events the model read.

    Attributes:
        per_head: (layers, heads, T) attention weights of the newest position; rows sum to 1.
        head_mean: (layers, T) the same, averaged over heads.
        rollout: (T,) attention rollout over all layers (sums to 1).
        positions: (T,) indices into the history given of the T events read (the newest
            max_len events, oldest first).
    """

    per_head: np.ndarray
    head_mean: np.ndarray
    rollout: np.ndarray
    positions: np.ndarray


def rollout(maps: list[np.ndarray]) -> np.ndarray:
    """Attention rollout of one sequence.

    Args:
        maps: per layer, (heads, T, T) attention weights (rows: queries).

    Returns:
        (T, T) rolled-out attention: row t is how much position t draws on each input.
    """
    t = maps[0].shape[-1]
    eye = np.eye(t)
    joint = eye
    for layer in maps:
        a = 0.5 * layer.mean(0) + 0.5 * eye
        a = a / a.sum(-1, keepdims=True)
        joint = a @ joint
    return joint


def attention_view(model, items: np.ndarray, events: np.ndarray | None = None,
                   times: np.ndarray | None = None) -> AttentionView:
    """The attention ranker's attention over one history.

    Args:
        model: a fitted `AttentionRanker`.
        items: the history's internal item indices, oldest first (not empty).
        events: matching event codes, or None.
        times: matching epoch seconds, or None.

    Raises:
        RecdashError: the model has no attention (a baseline), or the history is empty.
    """
    if not hasattr(model, "attention"):
        raise RecdashError(f"{type(model).__name__} has no attention weights; pick a run of the "
                           "attention ranker")
    if not len(items):
        raise RecdashError("the history is empty: there is no event to attend to")
    maps = model.attention(items, events, times)  # per layer (H, T, T)
    last = np.stack([m[:, -1, :] for m in maps])  # (L, H, T)
    t = last.shape[-1]
    return AttentionView(per_head=last, head_mean=last.mean(1), rollout=rollout(maps)[-1],
                         positions=np.arange(len(items) - t, len(items)))
