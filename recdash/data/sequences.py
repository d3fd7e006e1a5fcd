"""Per-user event sequences stored flat (one array of events + offsets), as models consume them.

A million users' histories as Python lists cost gigabytes; flat NumPy arrays with offsets (the
CSR layout) cost a few bytes per event and slice without copying.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sequences:
    """Variable-length sequences of item indices, with their event types and times.

    Attributes:
        offsets: (n + 1,) int64; sequence u is items[offsets[u]:offsets[u + 1]].
        items: (E,) int32 internal item indices, oldest first within a sequence.
        events: (E,) int8 event type codes (index into schema.EVENT_TYPES).
        times: (E,) float64 epoch seconds, NaN where the data has no timestamps.
    """

    offsets: np.ndarray
    items: np.ndarray
    events: np.ndarray
    times: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, u: int) -> np.ndarray:
        return self.items[self.offsets[u]: self.offsets[u + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_lists(cls, seqs: list[list[int]] | list[np.ndarray]) -> "Sequences":
        """Sequences from plain lists (event types 0, no times); handy for tests and what-ifs."""
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        items = (np.concatenate([np.asarray(s, dtype=np.int32) for s in seqs])
                 if len(seqs) and offsets[-1] else np.zeros(0, dtype=np.int32))
        return cls(offsets, items, np.zeros(len(items), np.int8), np.full(len(items), np.nan))

    def prefix(self, lengths: np.ndarray) -> "Sequences":
        """The first lengths[u] events of each sequence u (e.g. the training part of a split)."""
        lengths = np.minimum(np.asarray(lengths, dtype=np.int64), self.lengths)
        starts = self.offsets[:-1]
        take = np.repeat(starts, lengths) + _ranges(lengths)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Sequences(offsets, self.items[take], self.events[take], self.times[take])

    def select(self, rows: np.ndarray, lengths: np.ndarray | None = None) -> list[np.ndarray]:
        """Item arrays of the given sequences, each cut to lengths[i] events when given."""
        return self.select_context(rows, lengths)[0]

    def select_context(self, rows: np.ndarray, lengths: np.ndarray | None = None
                       ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """(items, event codes, times) of the given sequences, cut to lengths[i] when given."""
        items, events, times = [], [], []
        for i, u in enumerate(rows):
            start, end = self.offsets[u], self.offsets[u + 1]
            if lengths is not None:
                end = min(end, start + int(lengths[i]))
            items.append(self.items[start:end])
            events.append(self.events[start:end])
            times.append(self.times[start:end])
        return items, events, times


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """Concatenated aranges: [0..l0), [0..l1), ... without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - lengths, lengths)
