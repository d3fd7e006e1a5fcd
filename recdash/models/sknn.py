"""Session-kNN (V-SKNN): items of the training sessions most similar to the current one.

The current session (or a shopper's recent history) is a vector over items whose weights decay
linearly from its last event back to its first, so the latest clicks count most; its neighbours
are the training sequences with the highest cosine similarity to it, and an item's score is the
summed similarity of the neighbours that hold it (Ludewig & Jannach, "Evaluation of session-based
recommendation algorithms", UMUAI 2018; tuned kNN methods of this family stay competitive with
neural session models: Shehzad & Jannach, ECIR 2024). Among equally similar neighbours the one
stored later wins, so that ties are broken the same way every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import sparse

from recdash.models.base import Progress, Recommender, TrainData, history_matrix
from recdash.settings import check_types, require

_SIM_CELLS = 40_000_000  # query x neighbour cells computed densely at once (160 MB float32)


@dataclass(frozen=True)
class SessionKNNConfig:
    """Settings of session-kNN.

    Attributes:
        neighbors: the most similar training sessions whose items are scored.
        last: only the current session's most recent events form the query.
    """

    neighbors: int = 100
    last: int = 20

    def __post_init__(self) -> None:
        check_types(self)
        require(self, "neighbors", self.neighbors >= 1, "1 or more sessions, e.g. 100")
        require(self, "last", self.last >= 1, "1 or more events, e.g. 20")


class SessionKNN(Recommender):
    """score(s, j) = sum over the k nearest training sessions n that contain j of cos(s, n);
    items with no evidence rank by popularity below every item with evidence."""

    name = "sknn"

    def __init__(self, config: SessionKNNConfig = SessionKNNConfig()) -> None:
        super().__init__()
        self.config = config
        self.sessions_: sparse.csr_matrix | None = None  # (N, I) binary
        self.norms_: np.ndarray | None = None  # (N,) sqrt of each session's distinct items

    def _fit(self, data: TrainData, progress: Progress | None) -> None:
        seqs = data.sequences
        self.sessions_ = history_matrix([seqs[u] for u in range(len(seqs))], data.n_items)
        sizes = np.asarray(self.sessions_.sum(axis=1)).ravel().astype(np.float32)
        self.norms_ = np.sqrt(np.maximum(sizes, 1.0))
        if progress:
            progress(1.0, f"{len(seqs):,} sessions indexed")

    def query(self, histories: Sequence[np.ndarray]) -> sparse.csr_matrix:
        """(B, I) the histories' last events weighted (position p of L, oldest first) by
        (p + 1) / L; an item seen twice keeps its latest weight."""
        rows, cols, vals = [], [], []
        for b, h in enumerate(histories):
            h = np.asarray(h[-self.config.last:], dtype=np.int64)
            w = np.arange(1, len(h) + 1, dtype=np.float32) / max(len(h), 1)
            latest = {int(i): float(x) for i, x in zip(h, w)}  # later positions overwrite
            rows += [b] * len(latest)
            cols += list(latest)
            vals += list(latest.values())
        return sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)),
                                 shape=(len(histories), self.n_items))

    def _score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        n_sessions = self.sessions_.shape[0]
        out = np.zeros((len(histories), self.n_items), dtype=np.float32)
        step = max(1, _SIM_CELLS // max(n_sessions, 1))
        k = min(self.config.neighbors, n_sessions)
        later = np.arange(n_sessions) * 1e-12  # ties: the later stored (float64 to show)
        for lo in range(0, len(histories), step):
            q = self.query(histories[lo:lo + step])  # (b, I)
            qn = np.sqrt(np.asarray(q.multiply(q).sum(axis=1)).ravel()) + 1e-12
            sims = (q @ self.sessions_.T).toarray() / self.norms_[None, :] / qn[:, None]
            ranked = np.where(sims > 0, sims.astype(np.float64) + later[None, :], 0.0)
            top = np.argpartition(-ranked, k - 1, axis=1)[:, :k] if k < n_sessions else \
                np.tile(np.arange(n_sessions), (len(ranked), 1))
            weights = np.take_along_axis(sims, top, axis=1)  # (b, k)
            rows = np.repeat(np.arange(len(top)), top.shape[1])
            near = sparse.csr_matrix((weights.ravel(), (rows, top.ravel())),
                                     shape=(len(top), n_sessions))
            out[lo:lo + step] = (near @ self.sessions_).toarray()
        pop = self.popularity / max(1.0, float(self.popularity.max()))
        return np.where(out > 0, out, pop - 1.0).astype(np.float32)
