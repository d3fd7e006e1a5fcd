"""The shoppers' live events: what the shop posts to `POST /events`, kept durably for the next
training and read back by every request that serves the shopper or session.

One SQLite file per dataset, in the dataset's home folder (it stays there when the dataset is
replaced or renamed), in WAL mode with `synchronous=FULL`: a commit returns only once the
event is on disk, so an acknowledged event survives a kill -9 of the service or a power cut.
Several API workers share the file, which is what makes them stateless: a worker reads a
shopper's events from it on each request, so the next `/recommend` reflects an event whichever
worker took it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError

FILE = "events.sqlite"
MAX_BATCH = 10_000  # events in one POST /events
FOLDED = "events_folded_upto"  # dataset stat: the log's events up to this seq are in the tables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, item_id TEXT NOT NULL,
    event_type TEXT NOT NULL, timestamp REAL, received REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, seq);
"""


@dataclass(frozen=True)
class Event:
    """One event as the shop sends it.

    Attributes:
        user_id: the shopper's or session's ID (pseudonymised already where the dataset is).
        item_id: the product's ID.
        event_type: one of schema.EVENT_TYPES.
        timestamp: epoch seconds, or None (the time it was received is used for order).
    """

    user_id: str
    item_id: str
    event_type: str = S.VIEW
    timestamp: float | None = None


class EventLog:
    """The live event log of one dataset.

    Args:
        folder: the dataset's home folder (`Workspace.dataset_dir(name)`).
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE
        self._lock = threading.Lock()  # one connection, shared by the server's threads
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # fsync at every commit
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as err:
            raise RecdashError(f"the event log {self.path} cannot be opened ({err}). Fix: move "
                               "the damaged file aside; new events start a new log") from err

    @classmethod
    def of(cls, ws, dataset: str) -> "EventLog":
        """The event log of a workspace dataset."""
        return cls(ws.dataset_dir(dataset))

    def append(self, events: Sequence[Event]) -> int:
        """Store events in one transaction; returns the sequence number of the last one.

        Raises:
            RecdashError: more than MAX_BATCH events.
        """
        if len(events) > MAX_BATCH:
            raise RecdashError(f"{len(events):,} events in one request; send at most "
                               f"{MAX_BATCH:,} per call")
        now = time.time()
        rows = [(e.user_id, e.item_id, e.event_type, e.timestamp, now) for e in events]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO events (user_id, item_id, event_type, "
                                     "timestamp, received) VALUES (?, ?, ?, ?, ?)", rows)
                last = self._db.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return int(last)

    def of_user(self, user_id: str, after: int = 0) -> list[tuple[str, str, float]]:
        """A shopper's logged events after sequence number `after` (those before are in the
        dataset's tables already), oldest first: (item_id, event_type, epoch seconds)."""
        with self._lock:
            rows = self._db.execute("SELECT item_id, event_type, COALESCE(timestamp, received) "
                                    "FROM events WHERE user_id = ? AND seq > ? ORDER BY seq",
                                    (user_id, int(after))).fetchall()
        return sorted(rows, key=lambda r: r[2])  # stable: same time keeps arrival order

    def delete_users(self, user_ids: Iterable[str]) -> int:
        """Remove every event of these shoppers; returns how many were removed."""
        ids = list(user_ids)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            n = sum(self._db.execute("DELETE FROM events WHERE user_id = ?", (u,)).rowcount
                    for u in ids)
            self._db.execute("COMMIT")
        return n

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def frame(self, after: int = 0) -> pd.DataFrame:
        """The logged events after sequence number `after` as an interaction table (seq,
        user_id, item_id, event_type, timestamp as UTC datetimes; the time received where the
        shop sent none)."""
        with self._lock:
            frame = pd.read_sql_query(
                "SELECT seq, user_id, item_id, event_type, COALESCE(timestamp, received) AS t "
                "FROM events WHERE seq > ? ORDER BY seq", self._db, params=(int(after),))
        frame[S.TIME] = pd.to_datetime(frame.pop("t"), unit="s", utc=True)
        return frame.rename(columns={"user_id": S.USER, "item_id": S.ITEM,
                                     "event_type": S.EVENT})

    def close(self) -> None:
        with self._lock:
            self._db.close()


def folded_upto(report) -> int:
    """The last logged event a dataset's tables hold (0: none), from its report's stats."""
    return int(report.stats.get(FOLDED, 0) or 0)


def fold_events(ws, dataset: str) -> dict:
    """Add the live events logged since the last fold to the stored dataset, for the next
    training.

    One crash-safe dataset write (`Workspace.save_dataset`) stores the longer log and, in the
    same catalog commit, the last event it holds (stat FOLDED); the log keeps every event, and
    readers skip those up to FOLDED once they serve a dataset that holds them. Killed at any
    moment, the dataset is the old one (and a new fold adds the same events) or the new one.
    Products the catalog lacks are added to it without details, as an import would.

    Returns:
        {"folded": events added, "upto": the last one's seq, "events": the dataset's events}.
    """
    from recdash.data.dataset import Dataset, cross_check
    from recdash.data.report import Finding, ValidationReport
    from recdash.data.validation import summary_stats

    ds = ws.load_dataset(dataset)
    log = EventLog.of(ws, dataset)
    try:
        fresh = log.frame(after=folded_upto(ds.report))
    finally:
        log.close()
    if not len(fresh):
        return {"folded": 0, "upto": folded_upto(ds.report), "events": len(ds.interactions)}
    upto = int(fresh["seq"].max())
    # The log's four columns; any other column of the tables (a value, a session) is unknown.
    new = fresh.drop(columns=["seq"]).reindex(columns=ds.interactions.columns)
    new = new.astype(ds.interactions.dtypes.to_dict())
    events = pd.concat([ds.interactions, new], ignore_index=True)
    events = events.sort_values([S.USER, S.TIME], kind="stable").reset_index(drop=True)
    catalog, _ = cross_check(events, ds.catalog, "events.sqlite", "catalog")
    report = ValidationReport(list(ds.report.findings), dict(ds.report.columns),
                              {**ds.report.stats, **summary_stats(events, catalog),
                               FOLDED: upto})
    report.add(Finding("info", "events_folded", f"{len(new):,} live event(s) from the "
                       f"service's event log were added (up to #{upto})", count=len(new)))
    ws.save_dataset(Dataset(dataset, events, catalog, report), source="event log fold",
                    overwrite=True)
    return {"folded": int(len(new)), "upto": upto, "events": int(len(events))}
