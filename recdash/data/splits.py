"""Train/validation/test splits for sequential recommendation, and the k-core filter.

Leave-one-out by time (the SASRec/BERT4Rec protocol: last event = test, second-to-last =
validation), a global temporal split at a cutoff (no information from the future leaks into
training, the protocol production systems face) and, for logs of anonymous sessions, a session
split by time (the last days' sessions are the test set, every prefix of a test session is
evaluated against its next event: the protocol of session-based recommendation). A split keeps
every sequence whole once and says, per stage, how much of it is history and which items are the
targets; a stage may list one sequence several times, once per prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.sequences import Sequences
from recdash.errors import RecdashError

SplitKind = Literal["loo", "temporal", "sessions"]
Candidates = Literal["catalog", "interacted"]


def kcore_filter(events: pd.DataFrame, k: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Keep only users and items with at least k events, repeating until both hold.

    Returns:
        (filtered events, counts of what was removed: events, users, items).
    """
    if k <= 1:
        return events, {"events": 0, "users": 0, "items": 0}
    kept = events
    while True:
        item_n = kept[S.ITEM].map(kept[S.ITEM].value_counts())
        user_n = kept[S.USER].map(kept[S.USER].value_counts())
        mask = (item_n >= k) & (user_n >= k)
        if mask.all():
            break
        kept = kept[mask]
    removed = {"events": len(events) - len(kept),
               "users": events[S.USER].nunique() - kept[S.USER].nunique(),
               "items": events[S.ITEM].nunique() - kept[S.ITEM].nunique()}
    return kept, removed


@dataclass(frozen=True)
class Stage:
    """One evaluation stage: for each evaluated row, a sequence, its history cut and targets.

    Attributes:
        users: (U,) indices into Split.users of the sequences evaluated in this stage (a
            sequence appears once per evaluated prefix in the session split).
        cut: (U,) number of the sequence's events (oldest first) that form the history.
        targets: U sequences of target item indices (one per row for leave-one-out and the
            session split).
    """

    users: np.ndarray
    cut: np.ndarray
    targets: Sequences


@dataclass(frozen=True)
class Split:
    """A dataset split into training, validation and test parts.

    Attributes:
        kind: "loo" (leave-one-out by time), "temporal" (global cutoff) or "sessions"
            (whole sessions split by time, every prefix evaluated).
        items: (I,) the shop's item IDs; position = internal index; the ranking candidates.
        users: (N,) the shop's user IDs; position = row in `sequences`.
        sequences: each user's whole event sequence, oldest first.
        train_len: (N,) how many of each user's first events are training data.
        valid: the validation stage; test: the test stage.
        candidates: which items are ranked: the whole catalog, or items with events.
        kcore: the k-core filter applied before splitting (0 = none).
        notes: facts about the split a reader of the results should know.
    """

    kind: SplitKind
    items: np.ndarray
    users: np.ndarray
    sequences: Sequences
    train_len: np.ndarray
    valid: Stage
    test: Stage
    candidates: Candidates = "catalog"
    kcore: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def train(self) -> Sequences:
        """The training part of every user's sequence."""
        return self.sequences.prefix(self.train_len)

    def stage(self, name: str) -> Stage:
        if name not in ("valid", "test"):
            raise ValueError(f"stage must be 'valid' or 'test', not {name!r}")
        return self.valid if name == "valid" else self.test

    def item_index(self) -> pd.Index:
        return pd.Index(self.items)


def _encode(events: pd.DataFrame, items: np.ndarray) -> tuple[np.ndarray, Sequences]:
    """Users and their sequences from events sorted by user then time (as stored)."""
    codes = pd.Index(items).get_indexer(events[S.ITEM])
    raw_users = events[S.USER].to_numpy(dtype=object)
    # Events are grouped by user: a sequence starts wherever the user ID changes.
    starts = np.flatnonzero(np.concatenate([[True], raw_users[1:] != raw_users[:-1]]))
    users = raw_users[starts]
    offsets = np.concatenate([starts, [len(events)]]).astype(np.int64)
    ev = pd.Categorical(events[S.EVENT], categories=S.EVENT_TYPES).codes.astype(np.int8)
    ts = events[S.TIME]
    times = np.where(ts.notna(), ts.to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9, np.nan)
    return users, Sequences(offsets, codes.astype(np.int32), ev, times.astype(np.float64))


def _stage(users: np.ndarray, cut: np.ndarray, seqs: Sequences, n_targets: np.ndarray) -> Stage:
    starts = seqs.offsets[users] + cut
    lengths = n_targets.astype(np.int64)
    take = np.repeat(starts, lengths) + (np.arange(lengths.sum()) - np.repeat(
        np.cumsum(lengths) - lengths, lengths))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    targets = Sequences(offsets, seqs.items[take], seqs.events[take], seqs.times[take])
    return Stage(users.astype(np.int64), cut.astype(np.int64), targets)


def make_split(events: pd.DataFrame, catalog: pd.DataFrame | None = None, kind: SplitKind = "loo",
               *, kcore: int = 0, candidates: Candidates = "catalog",
               test_days: float | None = None, valid_days: float | None = None) -> Split:
    """Split a stored dataset's events.

    Args:
        events: canonical interactions, sorted by user then time (as the workspace stores them).
        catalog: canonical catalog; with candidates="catalog" its items are all ranked.
        kind: "loo": per user, last event = test, second-to-last = validation (users with two
            events have no validation target; users with one are training only). "temporal":
            events after the test cutoff are test targets, those between the validation and
            test cutoffs validation targets; histories are everything before the cutoff.
            "sessions": each sequence is a session, dated by its last event; sessions ending
            after the test cutoff are test sessions, those ending between the validation and
            test cutoffs validation sessions, and only the others are training data. Every
            prefix of a validation or test session is evaluated against its next event.
        kcore: apply a k-core filter first (0 = none).
        candidates: rank the whole catalog ("catalog"), or only items with events ("interacted",
            the convention of published benchmarks).
        test_days, valid_days: temporal and session split windows (default: the last 10% of the
            time range each).

    Returns:
        The Split.
    """
    notes: list[str] = []
    if kcore:
        events, removed = kcore_filter(events, kcore)
        notes.append(f"{kcore}-core filter removed {removed['events']:,} events, "
                     f"{removed['users']:,} users, {removed['items']:,} items")
    if events.empty:
        raise RecdashError("no events left to split; lower the k-core filter")
    if candidates == "catalog" and catalog is not None and not kcore:
        items = pd.Index(catalog[S.ITEM]).union(pd.Index(events[S.ITEM].unique())).sort_values()
    else:
        items = pd.Index(events[S.ITEM].unique()).sort_values()
        candidates = "interacted"
    items = items.to_numpy(dtype=object)
    users, seqs = _encode(events, items)
    n = seqs.lengths
    if kind == "loo":
        return _loo(items, users, seqs, n, candidates, kcore, notes)
    if kind == "temporal":
        return _temporal(items, users, seqs, candidates, kcore, notes, test_days, valid_days)
    if kind == "sessions":
        return _sessions(items, users, seqs, candidates, kcore, notes, test_days, valid_days)
    raise ValueError(f"split kind must be 'loo', 'temporal' or 'sessions', not {kind!r}")


def _loo(items, users, seqs, n, candidates, kcore, notes) -> Split:
    has_test = n >= 2
    has_valid = n >= 3
    train_len = np.where(has_valid, n - 2, np.where(has_test, n - 1, n))
    test_u = np.flatnonzero(has_test)
    valid_u = np.flatnonzero(has_valid)
    test = _stage(test_u, n[test_u] - 1, seqs, np.ones(len(test_u), np.int64))
    valid = _stage(valid_u, n[valid_u] - 2, seqs, np.ones(len(valid_u), np.int64))
    if (~has_test).any():
        notes.append(f"{int((~has_test).sum()):,} users with one event are training only")
    return Split("loo", items, users, seqs, train_len, valid, test, candidates, kcore, tuple(notes))


def _cutoffs(times: np.ndarray, test_days: float | None, valid_days: float | None,
             what: str) -> tuple[float, float]:
    """(validation cutoff, test cutoff) in epoch seconds: the windows' days before the last
    event, or the last 10% of the time range each."""
    if np.isnan(times).all():
        raise RecdashError(f"a {what} split needs timestamps, and this dataset has none; "
                           "use the leave-one-out split (kind='loo' / --split loo)")
    t0, t1 = np.nanmin(times), np.nanmax(times)
    span = t1 - t0
    t_test = t1 - (test_days * 86400 if test_days else 0.1 * span)
    return t_test - (valid_days * 86400 if valid_days else 0.1 * span), t_test


def _temporal(items, users, seqs, candidates, kcore, notes, test_days, valid_days) -> Split:
    times = seqs.times
    t_valid, t_test = _cutoffs(times, test_days, valid_days, "temporal")
    # Per user, events are time-ordered, so the cut is the count of events before a cutoff.
    user_of = np.repeat(np.arange(len(users)), seqs.lengths)
    before_valid = np.bincount(user_of, weights=times < t_valid, minlength=len(users))
    before_test = np.bincount(user_of, weights=times < t_test, minlength=len(users))
    n = seqs.lengths
    train_len = before_valid.astype(np.int64)
    cut_v, cut_t = before_valid.astype(np.int64), before_test.astype(np.int64)
    valid_u = np.flatnonzero((cut_t > cut_v) & (cut_v > 0))
    test_u = np.flatnonzero((n > cut_t) & (cut_t > 0))
    valid = _stage(valid_u, cut_v[valid_u], seqs, (cut_t - cut_v)[valid_u])
    test = _stage(test_u, cut_t[test_u], seqs, (n - cut_t)[test_u])
    stamp = pd.to_datetime([t_valid, t_test], unit="s", utc=True)
    notes.append(f"validation from {stamp[0]:%Y-%m-%d %H:%M}, test from {stamp[1]:%Y-%m-%d %H:%M}"
                 " (UTC); users with no history before a cutoff are not evaluated there")
    return Split("temporal", items, users, seqs, train_len, valid, test, candidates, kcore,
                 tuple(notes))


def _prefixes(rows: np.ndarray, seqs: Sequences) -> Stage:
    """Every prefix of each sequence in `rows` (of two events or more) against its next event:
    cuts 1 .. n-1, one target each."""
    n = seqs.lengths[rows]
    rows = rows[n >= 2]
    n = n[n >= 2]
    per = n - 1
    users = np.repeat(rows, per)
    cut = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per) + 1
    return _stage(users, cut, seqs, np.ones(len(users), np.int64))


def _sessions(items, users, seqs, candidates, kcore, notes, test_days, valid_days) -> Split:
    times = seqs.times
    t_valid, t_test = _cutoffs(times, test_days, valid_days, "session")
    n = seqs.lengths
    ends = np.full(len(n), np.nan)
    has = n > 0
    # A session is dated by its last known time (events are time-ordered within a session).
    last = np.fmax.reduceat(times, seqs.offsets[:-1][has]) if has.any() else np.zeros(0)
    ends[has] = last
    ends = np.where(np.isnan(ends), -np.inf, ends)  # an undated session is training data
    test_s = np.flatnonzero(ends >= t_test)
    valid_s = np.flatnonzero((ends >= t_valid) & (ends < t_test))
    train_len = np.where(ends < t_valid, n, 0).astype(np.int64)
    valid, test = _prefixes(valid_s, seqs), _prefixes(test_s, seqs)
    stamp = pd.to_datetime([t_valid, t_test], unit="s", utc=True)
    notes.append(f"{int((train_len > 0).sum()):,} training sessions; {len(valid_s):,} validation "
                 f"sessions ending from {stamp[0]:%Y-%m-%d %H:%M} and {len(test_s):,} test "
                 f"sessions ending from {stamp[1]:%Y-%m-%d %H:%M} (UTC), every prefix evaluated "
                 "against its next event")
    return Split("sessions", items, users, seqs, train_len, valid, test, candidates, kcore,
                 tuple(notes))


def every_position(split: Split, valid_share: float = 0.1, seed: int = 0) -> Split:
    """A split for training on given sequences and testing elsewhere (on given pairs, see
    `recdash.eval.pairs`): every event of every sequence is training data, except the last event
    of a random `valid_share` of the sequences (of two events or more), which is the validation
    target that early stopping reads. The test stage is empty.
    """
    n = split.sequences.lengths
    held = (np.random.default_rng(seed).random(len(n)) < valid_share) & (n >= 2)
    valid_u = np.flatnonzero(held)
    valid = _stage(valid_u, n[valid_u] - 1, split.sequences, np.ones(len(valid_u), np.int64))
    none = np.zeros(0, np.int64)
    test = _stage(none, none, split.sequences, none)
    note = (f"every event is training data but the last of {len(valid_u):,} sequences "
            f"({valid_share:.0%}, validation)")
    return Split(split.kind, split.items, split.users, split.sequences,
                 np.where(held, n - 1, n), valid, test, split.candidates, split.kcore,
                 (*split.notes, note))


def all_events(split: Split) -> Split:
    """The split for a run refit for use once its settings are chosen: every event of every
    sequence is training data (the held-out ones included) and no stage is left to evaluate."""
    none = np.zeros(0, np.int64)
    empty = _stage(none, none, split.sequences, none)
    return Split(split.kind, split.items, split.users, split.sequences,
                 split.sequences.lengths.astype(np.int64), empty, empty, split.candidates,
                 split.kcore, (*split.notes, "refit on every event: nothing is held out"))
