"""Who and what counts as cold, warm, head or tail: the one place these definitions live.

Every report that splits users or items by how much is known about them (evaluation segments,
the dataset profile, the long-tail chart) reads them here, so "cold user" means the same on every
page. Cold users follow the usual cold-start reading (Schein et al., SIGIR 2002): too few events
to learn a taste from; the head is the short head of the popularity curve (Abdollahpouri et al.,
RecSys 2017: the most popular 20% of items).
"""

from __future__ import annotations

import numpy as np

COLD_USER_MAX_EVENTS = 5  # a user with at most this many (history) events counts as cold
HEAD_SHARE = 0.2  # the most popular 20% of the items with events are the "head"
SEGMENTS = ("all", "warm users", "cold users", "head items", "tail items", "cold items")
VALIDATION = "validation"  # a run's validation-stage accuracy, stored beside its segments


def cold_users(lengths: np.ndarray) -> np.ndarray:
    """(U,) bool: which users, with these numbers of events, are cold."""
    return np.asarray(lengths) <= COLD_USER_MAX_EVENTS


def head_items(counts: np.ndarray) -> np.ndarray:
    """(I,) bool: the head items, from each item's event count (the most popular HEAD_SHARE of
    the items with events; at least one)."""
    counts = np.asarray(counts)
    order = np.argsort(-counts, kind="stable")
    head = np.zeros(len(counts), dtype=bool)
    head[order[: max(1, int(round(HEAD_SHARE * (counts > 0).sum())))]] = True
    return head & (counts > 0)
