"""Popularity baselines: most interacted items overall, or within a recent time window.

The floor every personalised model must clear, and the fallback for users with no history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from recdash.models.base import Progress, Recommender, TrainData
from recdash.settings import check_types, require


@dataclass(frozen=True)
class PopularityConfig:
    """Settings of the popularity baseline.

    Attributes:
        window_days: count only events in the last `window_days` of the training data
            (None = all time). Needs timestamps; without them the last `window_share` of each
            user's events is used instead.
        window_share: share of each user's most recent events counted when there are no times.
    """

    window_days: float | None = None
    window_share: float = 0.2

    def __post_init__(self) -> None:
        check_types(self)
        require(self, "window_days", self.window_days is None or self.window_days > 0,
                "None (all time) or a number of days above 0, e.g. 30")
        require(self, "window_share", 0.0 < self.window_share <= 1.0,
                "above 0 and at most 1, e.g. 0.2")


class Popularity(Recommender):
    """Scores every item by its (recent) training interaction count; same list for everyone."""

    name = "pop"

    def __init__(self, config: PopularityConfig = PopularityConfig()) -> None:
        super().__init__()
        self.config = config
        self.scores_: np.ndarray | None = None

    def _fit(self, data: TrainData, progress: Progress | None) -> None:
        seqs = data.sequences
        if self.config.window_days is None:
            counts = self.popularity.copy()
        elif not np.isnan(seqs.times).all():
            recent = seqs.times >= np.nanmax(seqs.times) - self.config.window_days * 86400
            counts = np.bincount(seqs.items[recent], minlength=data.n_items)
        else:
            # Position from the end of each user's sequence stands in for time.
            lengths = seqs.lengths
            from_end = np.repeat(seqs.offsets[1:], lengths) - np.arange(len(seqs.items))
            recent = from_end <= np.ceil(np.repeat(lengths, lengths) * self.config.window_share)
            counts = np.bincount(seqs.items[recent], minlength=data.n_items)
        # All-time counts break ties among items with equal recent counts.
        pop = self.popularity
        self.scores_ = (counts + pop / (pop.max() + 1.0)).astype(np.float32)

    def score(self, histories: Sequence[np.ndarray], events=None, times=None) -> np.ndarray:
        """The same (recent) popularity for every history, empty ones included."""
        self._check_fitted()
        return self._score(histories)

    def _score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return np.broadcast_to(self.scores_, (len(histories), len(self.scores_))).copy()
