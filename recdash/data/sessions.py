"""Sessions: what each sequence of a dataset is, and cutting shoppers' events into visits.

A log keyed by a session column (anonymous visitors: session_id, visit_id, sid) holds one
sequence per visit; a log keyed by shoppers holds one per shopper, and can be cut into visits at
a gap of inactivity (30 minutes by default, the convention of web analytics). The dataset's
report says which it is (`stats["sequences"]`: "sessions" or "shoppers"), so that the studio and
the protocols can speak of sessions where the data has them.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.report import Finding, ValidationReport

DEFAULT_GAP_MINUTES = 30.0
SESSION_SEP = "#"  # a cut session's ID: "<shopper>#<n>", n = 1, 2, ... in time order
_SESSION_NAMES = {"sessionid", "session", "sid", "visitid", "visit", "sessionkey"}


def keyed_by_session(source_column: str | None) -> bool:
    """Whether the log's sequence column (the one mapped to user_id) names sessions."""
    return source_column is not None and \
        re.sub(r"[\s_\-.:]+", "", str(source_column).lower()) in _SESSION_NAMES


def cut_sessions(events: pd.DataFrame, gap_minutes: float, file: str,
                 report: ValidationReport) -> pd.DataFrame | None:
    """Each shopper's events cut into sessions wherever `gap_minutes` pass without an event.

    Args:
        events: canonical interactions, sorted by user then time.
        gap_minutes: the inactivity that ends a session.
        file: the log's name, for messages.
        report: receives what was done, or the error.

    Returns:
        The events with user_id = "<shopper>#<n>" (sessions numbered in time order per
        shopper), or None (and an error) when the log has no timestamps or the gap is not
        positive.
    """
    if not gap_minutes > 0:
        report.add(Finding("error", "bad_session_gap", f"the session gap {gap_minutes!r} is not "
                           "a positive number of minutes", file=file,
                           fix="give the inactivity that ends a session, e.g. 30"))
        return None
    times = events[S.TIME]
    if times.isna().all():
        report.add(Finding("error", "session_gap_needs_time", "the log has no timestamps, so "
                           "its events cannot be cut into sessions at a gap of inactivity",
                           file=file, column=S.TIME,
                           fix="map a timestamp column, or import without cutting sessions"))
        return None
    users = events[S.USER].to_numpy(dtype=object)
    new_user = np.concatenate([[True], users[1:] != users[:-1]])
    seconds = ((times - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(
        dtype=float, na_value=np.nan)
    gap = np.concatenate([[np.inf], np.diff(seconds)])
    starts = new_user | (gap > 60.0 * gap_minutes)  # an unknown time never cuts (NaN > x)
    # Number the sessions per shopper: a running count of starts, restarted at each shopper.
    count = np.cumsum(starts)
    first = np.maximum.accumulate(np.where(new_user, count, 0))
    number = count - first + 1
    out = events.copy()
    out[S.USER] = pd.array([f"{u}{SESSION_SEP}{n}" for u, n in zip(users, number)],
                           dtype="string")
    shoppers, sessions = int(new_user.sum()), int(starts.sum())
    report.add(Finding("info", "sessions_cut", f"{shoppers:,} shopper(s)' events were cut into "
                       f"{sessions:,} sessions at {gap_minutes:g} minutes without an event; each "
                       f"session is a sequence, named '<shopper>{SESSION_SEP}<n>'", file=file,
                       column=S.USER, count=sessions))
    return out


def sequence_kind(column_lines: list[str], cut: bool) -> str:
    """"sessions" or "shoppers": what each sequence of the dataset is, from how its user_id
    column was read (the report's column lines, "user_id <- 'session_id' (guessed)") and
    whether shoppers were cut into sessions."""
    if cut:
        return "sessions"
    for line in column_lines:
        if line.startswith(f"{S.USER} <- '"):
            return "sessions" if keyed_by_session(line.split("'")[1]) else "shoppers"
    return "shoppers"
