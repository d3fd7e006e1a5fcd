"""The job queue's rows in the workspace catalog: add, update, read and claim jobs.

The SQL behind `recdash.runs.jobs` (whose scheduling rules live there). A job waits in one lane
(the `device` column): "gpu" and "cpu" for long training, one job at a time each, and "short"
for baselines, which fit in seconds and never wait behind a long job. Claiming is one
transaction, so two processes never start two jobs in the same lane.
"""

from __future__ import annotations

import time

from recdash.workspace import Workspace

LANES = ("gpu", "cpu", "short")

JOB_FIELDS = ("status", "run_id", "started", "finished", "pid", "heartbeat", "fraction",
              "message")


def add(ws: Workspace, job_id: str, spec: str, lane: str) -> None:
    """Queue a job: spec is the RunSpec as JSON, lane one of LANES."""
    with ws.connect() as db:
        db.execute("INSERT INTO jobs (id, spec, device, status, created) "
                   "VALUES (?, ?, ?, 'queued', ?)", (job_id, spec, lane, time.time()))


def update(ws: Workspace, job_id: str, when: str | None = None, **values) -> bool:
    """Set a job's fields (status, pid, ...); with `when`, only if its status is that one.

    Returns whether the row changed (False: unknown job, or its status was not `when`).
    """
    unknown = set(values) - set(JOB_FIELDS)
    if unknown:
        raise ValueError(f"jobs have no field(s) {sorted(unknown)}")
    sets = ", ".join(f"{k} = ?" for k in values)
    query = f"UPDATE jobs SET {sets} WHERE id = ?" + (" AND status = ?" if when else "")
    with ws.connect() as db:
        cur = db.execute(query, (*values.values(), job_id, *([when] if when else [])))
        return cur.rowcount > 0


def rows(ws: Workspace, job_id: str | None = None) -> list[dict]:
    """Job rows as dicts, oldest first (queue order); one job's when job_id is given."""
    query = "SELECT * FROM jobs" + (" WHERE id = ?" if job_id else "") + \
        " ORDER BY created, rowid"
    with ws.connect() as db:
        cur = db.execute(query, (job_id,) if job_id else ())
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def claim(ws: Workspace, lane: str) -> str | None:
    """Mark the oldest queued job of `lane` running, unless one is running there already.

    One transaction, so two processes never start two jobs in the same lane. Returns the
    claimed job's id, or None.
    """
    with ws.connect() as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            busy = db.execute("SELECT 1 FROM jobs WHERE device = ? AND status = 'running'",
                              (lane,)).fetchone()
            row = None if busy else db.execute(
                "SELECT id FROM jobs WHERE device = ? AND status = 'queued' "
                "ORDER BY created, rowid LIMIT 1", (lane,)).fetchone()
            if row is not None:
                now = time.time()
                db.execute("UPDATE jobs SET status = 'running', started = ?, heartbeat = ? "
                           "WHERE id = ?", (now, now, row[0]))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return row[0] if row is not None else None
