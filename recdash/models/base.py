"""The recommender interface every model implements, baselines and the attention ranker alike.

A model is fitted on a split's training data and then scores item candidates for any histories.
Inside, items are internal indices; at the edges (`recommend`) they are the shop's own IDs.
Unknown users and items degrade gracefully: unknown items in a history are ignored, and an
empty history gets the most popular items (the LensKit habit: degrade, never crash). Turning
scores into lists for shoppers (top-k, seen items, the shop's IDs) is `recdash.recommend`'s job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.sequences import Sequences
from recdash.errors import NotFittedError
from recdash.progress import Progress



@dataclass(frozen=True)
class TrainData:
    """What a model learns from.

    Attributes:
        items: (I,) the shop's item IDs; position = internal index.
        users: (N,) the shop's user IDs, one per sequence.
        sequences: each user's training events, oldest first.
        catalog: the canonical catalog (content-based models use it), or None.
        split: the split the data came from (models that validate during training use it).
    """

    items: np.ndarray
    users: np.ndarray
    sequences: Sequences
    catalog: pd.DataFrame | None = None
    split: object | None = None

    @property
    def n_items(self) -> int:
        return len(self.items)

    @classmethod
    def from_split(cls, split, catalog: pd.DataFrame | None = None) -> "TrainData":
        return cls(split.items, split.users, split.train(), catalog, split)


class Recommender(ABC):
    """Fit once, then score any histories (`recdash.recommend` turns scores into lists)."""

    name: ClassVar[str] = "model"

    def __init__(self) -> None:
        self._items: np.ndarray | None = None
        self._users: pd.Index | None = None
        self._train: Sequences | None = None
        self._popularity: np.ndarray | None = None
        self._index: pd.Index | None = None

    # Subclasses implement these two ------------------------------------------------------
    @abstractmethod
    def _fit(self, data: TrainData, progress: Progress | None) -> None:
        """Learn from data (items, sequences and catalog are set on self already)."""

    @abstractmethod
    def _score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(B, I) float32 scores for B non-empty histories of internal item indices."""

    # The interface ----------------------------------------------------------------------
    def fit(self, data: TrainData, progress: Progress | None = None) -> "Recommender":
        self._items = np.asarray(data.items, dtype=object)
        self._index = None
        self._users = pd.Index(data.users)
        self._train = data.sequences
        counts = np.bincount(data.sequences.items, minlength=data.n_items).astype(np.float32)
        self._popularity = counts
        self._fit(data, progress)
        return self

    @property
    def fitted(self) -> bool:
        return self._items is not None

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self._items)

    @property
    def popularity(self) -> np.ndarray:
        """(I,) training interaction counts per item."""
        self._check_fitted()
        return self._popularity

    def _check_fitted(self) -> None:
        if self._items is None:
            raise NotFittedError(f"{type(self).__name__} isn't fitted; call fit(train_data) first")

    def score(self, histories: Sequence[np.ndarray], events: Sequence[np.ndarray] | None = None,
              times: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """(B, I) float32 scores; an empty history gets normalised popularity.

        Args:
            histories: B arrays of internal item indices, oldest first.
            events: matching event type codes (models that read them use them), or None.
            times: matching epoch seconds (NaN = unknown), or None.
        """
        self._check_fitted()
        out = np.empty((len(histories), self.n_items), dtype=np.float32)
        nonempty = [i for i, h in enumerate(histories) if len(h)]
        if len(nonempty) < len(histories):
            out[:] = self._popularity / max(1.0, float(self._popularity.max()))
        if nonempty:
            pick = (lambda xs: [xs[i] for i in nonempty] if xs is not None else None)
            out[nonempty] = self._score_context(pick(histories), pick(events), pick(times))
        return out

    def _score_context(self, histories: Sequence[np.ndarray],
                       events: Sequence[np.ndarray] | None,
                       times: Sequence[np.ndarray] | None) -> np.ndarray:
        """Scores using event types and times too; models that read only items ignore them."""
        return self._score(histories)

    @property
    def item_ids(self) -> np.ndarray:
        """(I,) the shop's item IDs; position = internal index."""
        self._check_fitted()
        return self._items

    @property
    def user_index(self) -> pd.Index:
        """The training users' IDs (position = their training sequence)."""
        self._check_fitted()
        return self._users

    @property
    def item_index(self) -> pd.Index:
        """The item IDs as an index (built once, then reused: 43k items take ~100 ms)."""
        self._check_fitted()
        if self._index is None or len(self._index) != len(self._items):
            self._index = pd.Index(self._items, dtype=object)
        return self._index

    def codes_of(self, item_ids: Sequence[object]) -> np.ndarray:
        """Internal index of each shop item ID, -1 where the model does not know it."""
        return self.item_index.get_indexer(pd.Index(list(item_ids), dtype=object))

    def encode_items(self, item_ids: Sequence[object]) -> np.ndarray:
        """Internal indices of shop item IDs; unknown IDs are dropped."""
        codes = self.codes_of(item_ids)
        return codes[codes >= 0].astype(np.int32)

    def score_targets(self, histories: Sequence[np.ndarray], events: Sequence[np.ndarray],
                      times: Sequence[np.ndarray], targets: np.ndarray) -> np.ndarray:
        """(B, R) float64 scores of `targets` (internal indices) after each history, as `score`
        gives them. Models that can score a few items without the whole catalog override it."""
        return self.score(histories, events, times)[:, np.asarray(targets)].astype(np.float64)

    def history_of(self, user_id: object) -> np.ndarray:
        """A known user's training history (internal indices); empty for unknown users."""
        self._check_fitted()
        pos = self._users.get_indexer([user_id])[0]
        return self._train[pos] if pos >= 0 else np.zeros(0, dtype=np.int32)

    def context_of(self, user_id: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A known user's training (items, event codes, times); empty arrays for unknown users."""
        self._check_fitted()
        pos = self._users.get_indexer([user_id])[0]
        if pos < 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0)
        lo, hi = self._train.offsets[pos], self._train.offsets[pos + 1]
        return self._train.items[lo:hi], self._train.events[lo:hi], self._train.times[lo:hi]


def history_matrix(histories: Sequence[np.ndarray], n_items: int):
    """(B, I) binary scipy CSR matrix of the histories (repeats count once)."""
    from scipy import sparse

    lengths = [len(h) for h in histories]
    rows = np.repeat(np.arange(len(histories)), lengths)
    cols = np.concatenate(list(histories)) if sum(lengths) else np.zeros(0, np.int32)
    mat = sparse.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)),
                            shape=(len(histories), n_items))
    mat.data[:] = 1.0  # duplicates were summed
    return mat
