"""Sequential rules: what followed the last item in the training sequences.

For every training sequence and every pair of events i ... j that follow within `window` steps,
the rule i -> j gains 1 / gap; the current session's last item's rules score the catalog
(the "SR" baseline of Ludewig & Jannach, UMUAI 2018: last-item co-occurrence with a decay over
the gap). Repeats are kept: if shoppers come back to an item, its rule to itself says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import sparse

from recdash.models.base import Progress, Recommender, TrainData
from recdash.settings import check_types, require


@dataclass(frozen=True)
class RulesConfig:
    """Settings of sequential rules.

    Attributes:
        window: how many later events of a sequence a rule reaches.
    """

    window: int = 10

    def __post_init__(self) -> None:
        check_types(self)
        require(self, "window", self.window >= 1, "1 or more events, e.g. 10")


class SequentialRules(Recommender):
    """score(s, j) = rule(last item of s -> j); items with no rule rank by popularity below
    every item with one."""

    name = "rules"

    def __init__(self, config: RulesConfig = RulesConfig()) -> None:
        super().__init__()
        self.config = config
        self.rules_: sparse.csr_matrix | None = None  # (I, I)

    def _fit(self, data: TrainData, progress: Progress | None) -> None:
        seqs = data.sequences
        which = np.repeat(np.arange(len(seqs)), seqs.lengths)  # (E,) sequence of each event
        rows, cols, vals = [], [], []
        for gap in range(1, self.config.window + 1):
            same = which[gap:] == which[:-gap]  # i and j in one sequence, gap apart
            rows.append(seqs.items[:-gap][same])
            cols.append(seqs.items[gap:][same])
            vals.append(np.full(int(same.sum()), 1.0 / gap, dtype=np.float32))
            if progress:
                progress(gap / self.config.window, f"rules over gaps up to {gap}")
        n = data.n_items
        self.rules_ = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, n), dtype=np.float32)  # duplicates are summed

    def _score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        last = np.array([int(h[-1]) for h in histories], dtype=np.int64)
        scores = self.rules_[last].toarray()
        pop = self.popularity / max(1.0, float(self.popularity.max()))
        return np.where(scores > 0, scores, pop - 1.0).astype(np.float32)
