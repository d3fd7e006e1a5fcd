"""Item-kNN: items similar to those in the history, by cosine over co-occurrence.

Two items are similar when the same users interacted with both (Sarwar et al., WWW 2001;
Deshpande & Karypis, TOIS 2004). Only each item's top neighbours are kept, so memory grows with
items x neighbours, not items squared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import sparse

from recdash.models.base import Progress, Recommender, TrainData, history_matrix
from recdash.settings import check_types, require

_DENSE_CELLS = 20_000_000  # cells of one dense similarity block (80 MB of float32)


@dataclass(frozen=True)
class ItemKNNConfig:
    """Settings of item-kNN.

    Attributes:
        neighbors: similar items kept per item.
        shrink: added to the cosine denominator; damps similarities backed by few users.
    """

    neighbors: int = 200
    shrink: float = 0.0

    def __post_init__(self) -> None:
        check_types(self)
        require(self, "neighbors", self.neighbors >= 1, "1 or more items, e.g. 200")
        require(self, "shrink", self.shrink >= 0.0, "0 or more, e.g. 10")


class ItemKNN(Recommender):
    """score(u, j) = sum over history items i of sim(i, j); items with no evidence rank by
    popularity below every item with evidence."""

    name = "itemknn"

    def __init__(self, config: ItemKNNConfig = ItemKNNConfig()) -> None:
        super().__init__()
        self.config = config
        self.sim_: sparse.csr_matrix | None = None

    def _fit(self, data: TrainData, progress: Progress | None) -> None:
        x = history_matrix([data.sequences[u] for u in range(len(data.sequences))],
                           data.n_items).tocsc()  # (N, I) binary
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel()).astype(np.float32)
        n = data.n_items
        k = min(self.config.neighbors, max(n - 1, 1))
        chunk = max(1, _DENSE_CELLS // max(n, 1))
        rows, cols, vals = [], [], []
        xt = x.T.tocsr()
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            block = (xt @ x[:, start:stop]).toarray()  # (I, c) co-occurrence counts
            denom = np.outer(norms, norms[start:stop]) + self.config.shrink
            block = np.divide(block, denom, out=np.zeros_like(block, dtype=np.float32),
                              where=denom > 0)
            block[np.arange(start, stop), np.arange(stop - start)] = 0.0  # no self-similarity
            top = np.argpartition(-block, k - 1, axis=0)[:k] if k < n else \
                np.tile(np.arange(n)[:, None], (1, stop - start))
            val = np.take_along_axis(block, top, axis=0)
            keep = val > 0
            rows.append(top[keep])
            cols.append(np.broadcast_to(np.arange(start, stop), top.shape)[keep])
            vals.append(val[keep])
            if progress:
                progress(stop / n, f"item similarities {stop:,}/{n:,}")
        self.sim_ = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, n), dtype=np.float32)

    def _score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        scores = (history_matrix(histories, self.n_items) @ self.sim_).toarray()
        pop = self.popularity / max(1.0, float(self.popularity.max()))
        return np.where(scores > 0, scores, pop - 1.0).astype(np.float32)
