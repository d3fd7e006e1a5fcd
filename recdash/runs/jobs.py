"""Background training jobs: a queue in the workspace's catalog, one process per running job.

A job is a RunSpec waiting for, or running in, its own process (`python -m recdash.runs.jobs run`)
in a new session, so that it outlives the browser tab that started it and the studio itself. Jobs
wait in lanes (`recdash.runs.queue.LANES`): long training runs one at a time on the GPU and one on
the CPU, and baselines, which fit in seconds, in a lane of their own, so they never wait behind a
ten-minute training job. Within a lane jobs start in creation order, and whoever sees a lane free
starts the next one: `submit`, `refresh`, and a job's process as it ends. The process appends training events as JSON lines to `jobs/<id>/events.jsonl`, keeps its
row's progress and heartbeat current, and stops cleanly on SIGTERM (`cancel`), keeping the last
checkpoint. `refresh` marks jobs whose process died (a crash, a reboot, kill -9) as failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from recdash.errors import RecdashError
from recdash.runs import queue
from recdash.runs.registry import SHORT
from recdash.runs.spec import RunSpec, check_submission
from recdash.workspace import NAME_RULE, Workspace

if TYPE_CHECKING:
    from recdash.models.attention.train import TrainEvent

STATUSES = ("queued", "running", "finished", "failed", "cancelled")
EVENTS, LOG, CANCEL = "events.jsonl", "log.txt", "cancel-requested"
WRITE_EVERY_S = 0.5  # step events and progress rows: at most ~2 writes a second
HEARTBEAT_S = 15.0  # a job's process touches its row this often, whatever it is doing
STALE_S = 120.0  # no heartbeat for this long, and no process of ours: the job died


@dataclass(frozen=True)
class Job:
    """A background job as its catalog row has it.

    Attributes:
        id: the job id (also its folder under `<workspace>/jobs/`).
        spec: what it trains and evaluates.
        status: one of STATUSES.
        device: its lane (`recdash.runs.queue.LANES`): "gpu", "cpu" or "short".
        run_id: its run in the workspace, once the process has created it.
        created, started, finished: Unix times (None until they happen).
        pid: its process id, once started.
        heartbeat: the last time its process reported (Unix time).
        fraction: share of the work done (0..1).
        message: the latest progress message, or how it ended.
    """

    id: str
    spec: RunSpec
    status: str
    device: str
    run_id: str | None
    created: float
    started: float | None
    finished: float | None
    pid: int | None
    heartbeat: float | None
    fraction: float
    message: str


class JobCancelled(BaseException):
    """Raised inside a job's process when the job is cancelled. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` between here and the trainer swallows it."""


def lane_of(spec: RunSpec) -> str:
    """The lane a spec waits in: "short" for quick fits (baselines), else "gpu" for a GPU model
    on CUDA, else "cpu"."""
    if spec.kind.lane == SHORT:
        return "short"
    if not spec.kind.uses_gpu or spec.device == "cpu":
        return "cpu"
    if spec.device.startswith("cuda"):
        return "gpu"
    import torch
    return "gpu" if torch.cuda.is_available() else "cpu"


def job_dir(ws: Workspace, job_id: str) -> Path:
    """The folder of a job's files (events.jsonl, log.txt, a cancel request)."""
    if not isinstance(job_id, str) or not NAME_RULE.fullmatch(job_id):
        raise RecdashError(f"job id {job_id!r} is not valid; list jobs with `recdash jobs`")
    return ws.root / "jobs" / job_id


def submit(ws: Workspace, spec: RunSpec) -> str:
    """Queue a training job and start it at once if its device is free.

    Returns:
        The job id.

    Raises:
        RecdashError: a dataset the workspace lacks (the spec checked its own values when it
            was built), caught here rather than in the job.
    """
    if not isinstance(spec, RunSpec):
        raise RecdashError(f"submit takes a RunSpec, not {type(spec).__name__}")
    check_submission(ws, spec)
    job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{spec.model}-{uuid.uuid4().hex[:6]}"
    job_dir(ws, job_id).mkdir(parents=True)
    queue.add(ws, job_id, json.dumps(spec.to_dict()), lane_of(spec))
    start_next(ws)
    return job_id


def resume(ws: Workspace, run_id: str) -> str:
    """Queue a job that continues a killed or cancelled run from its last checkpoint; the run
    keeps its id, and reads running, then finished (or failed) as a new run would.

    Returns:
        The job id.

    Raises:
        RecdashError: the run cannot be resumed (see `recdash.runs.train.resumable`), or a job
            is resuming it already.
    """
    from recdash.runs.train import resumable

    spec = resumable(ws, run_id)
    if any(r["run_id"] == run_id and r["status"] in ("queued", "running")
           for r in queue.rows(ws)):
        raise RecdashError(f"run {run_id} is being resumed already; follow it with "
                           "`recdash jobs`")
    job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{spec.model}-{uuid.uuid4().hex[:6]}"
    job_dir(ws, job_id).mkdir(parents=True)
    queue.add(ws, job_id, json.dumps(spec.to_dict()), lane_of(spec))
    queue.update(ws, job_id, run_id=run_id, message=f"resumes run {run_id}")
    start_next(ws)
    return job_id


def start_next(ws: Workspace) -> list[str]:
    """Start the oldest queued job of each free lane; returns the ids started."""
    started = []
    for lane in queue.LANES:
        job_id = queue.claim(ws, lane)
        if job_id is not None:
            _launch(ws, job_id)
            started.append(job_id)
    return started


def _launch(ws: Workspace, job_id: str) -> None:
    folder = job_dir(ws, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "recdash.runs.jobs", "run", job_id,
           "--workspace", str(ws.root.resolve())]
    try:
        with open(folder / LOG, "ab") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        queue.update(ws, job_id, status="failed", finished=time.time(),
                      message=f"the training process could not start: {exc}")
        return
    # Reap it when it ends, so that a long-lived studio collects no zombies (a zombie's pid still
    # answers os.kill(pid, 0)).
    threading.Thread(target=proc.wait, name=f"reap-{job_id}", daemon=True).start()
    queue.update(ws, job_id, when="running", pid=proc.pid)


def get(ws: Workspace, job_id: str) -> Job:
    """One job; raises RecdashError for an unknown id."""
    rows = queue.rows(ws, job_id)
    if not rows:
        raise RecdashError(f"no job {job_id!r} in {ws.root}; list jobs with `recdash jobs`")
    row = rows[0]
    return Job(spec=_spec(row.pop("spec")), **row)


def _spec(text: str) -> RunSpec:
    return RunSpec.from_dict(json.loads(text), stored=True)


def status(ws: Workspace) -> pd.DataFrame:
    """All jobs, oldest first, with their spec's dataset and model as columns."""
    rows = queue.rows(ws)
    for row in rows:
        spec = json.loads(row.pop("spec"))
        row["dataset"], row["model"] = spec["dataset"], spec["model"]
    cols = ["id", "status", "device", "dataset", "model", "run_id", "fraction", "message",
            "created", "started", "finished", "pid", "heartbeat"]
    return pd.DataFrame(rows, columns=cols)


def events(ws: Workspace, job_id: str) -> list[dict]:
    """A job's training events (TrainEvent fields plus "time"), oldest first.

    A last line still being written (no newline yet) is left for the next call.
    """
    path = job_dir(ws, job_id) / EVENTS
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines[:-1] if line]  # lines[-1]: unterminated or ""


def cancel(ws: Workspace, job_id: str) -> Job:
    """Cancel a job: a queued one at once; a running one's process is sent SIGTERM, stops at its
    next training step and marks the job cancelled itself, keeping its last checkpoint. A job
    that has ended is left as it is.

    Returns:
        The job as it is now (a running job still reads "running" until its process stops).
    """
    job = get(ws, job_id)  # an unknown id raises here
    if job.status not in ("queued", "running"):
        return job
    if queue.update(ws, job_id, when="queued", status="cancelled", finished=time.time(),
                     message="cancelled before it started"):
        return get(ws, job_id)
    # Running (or just claimed): leave a mark, so that a process that has not yet installed its
    # signal handler, or has no pid on its row yet, still ends up cancelled.
    folder = job_dir(ws, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CANCEL).touch()
    deadline = time.time() + 10
    while (job := get(ws, job_id)).status == "running" and job.pid is None \
            and time.time() < deadline:
        time.sleep(0.1)  # claimed by a scheduler that has not started its process yet
    if job.status == "running" and job.pid and _alive(job.pid, job_id, job.heartbeat):
        os.kill(job.pid, signal.SIGTERM)
    return job


def refresh(ws: Workspace) -> list[str]:
    """Reconcile jobs with their processes after a crash or a restart, then start queued jobs.

    A running job whose process is gone becomes failed (or cancelled, if a cancel was asked),
    and so does its run if that still reads "running".

    Returns:
        The ids of the jobs found dead.
    """
    dead = []
    for row in queue.rows(ws):
        if row["status"] == "running" and not _alive(row["pid"], row["id"], row["heartbeat"]) \
                and _close_dead(ws, row):
            dead.append(row["id"])
    start_next(ws)
    return dead


def _alive(pid: int | None, job_id: str, heartbeat: float | None) -> bool:
    """Whether `pid` is still this job's process (not a zombie, not a reused pid)."""
    fresh = heartbeat is not None and time.time() - heartbeat < STALE_S
    if not pid:
        return fresh  # being launched right now, or its launcher died
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, ended: now reaped
    except ChildProcessError:
        pass  # started by another process (the studio, or the previous job)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: the pid was reused
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return fresh  # no /proc here (macOS): trust the heartbeat
    return state != "Z" and job_id.encode() in cmdline


def _close_dead(ws: Workspace, row: dict) -> bool:
    job_id, run_id = row["id"], row["run_id"]
    if (job_dir(ws, job_id) / CANCEL).exists():
        status, message = "cancelled", "cancelled by the user" + _kept(ws, run_id)
    else:
        why = f"process {row['pid']} is gone" if row["pid"] else "it never started"
        status = "failed"
        message = (f"the training process ended unexpectedly ({why}; its output is in "
                   f"jobs/{job_id}/{LOG})" + _kept(ws, run_id))
    if not queue.update(ws, job_id, when="running", status=status, finished=time.time(),
                         message=message):
        return False  # it ended properly meanwhile
    if run_id:
        ws.end_run(run_id, status, message)
    return True


def _kept(ws: Workspace, run_id: str | None) -> str:
    """How the message ends: where the last checkpoint is, if there is one."""
    if not run_id:
        return "; it had not created its run yet"
    from recdash.models.attention.checkpoint import find_checkpoint

    if find_checkpoint(ws.run_dir(run_id), "latest") is not None:
        return f"; its last checkpoint is kept in run {run_id}"
    return f"; run {run_id} has no checkpoint to resume from"


# The job's own process ---------------------------------------------------------------------
class _JobWorkspace(Workspace):
    """The workspace as a job's process sees it: the run it creates is noted on the job's row
    (run_evaluation names its run only when it returns)."""

    def __init__(self, root: str | Path, job_id: str) -> None:
        super().__init__(root)
        self.job_id = job_id

    def create_run(self, dataset: str, model: str, params: dict, protocol: dict) -> str:
        run_id = super().create_run(dataset, model, params, protocol)
        queue.update(self, self.job_id, run_id=run_id)
        return run_id


class _Reporter:
    """The callbacks of a job's process: events to events.jsonl, progress to the job's row, and
    the cancel request (a SIGTERM sets it) acted on at the next callback, where stopping is safe:
    between training steps, after the last checkpoint."""

    def __init__(self, ws: Workspace, job_id: str) -> None:
        self.ws, self.job_id = ws, job_id
        self.path = job_dir(ws, job_id) / EVENTS
        self.cancelled = False
        self._last_event = self._last_row = 0.0

    def request_cancel(self, signum: int | None = None, frame: object = None) -> None:
        self.cancelled = True

    def check(self) -> None:
        if self.cancelled:
            raise JobCancelled("cancelled by the user")

    def event(self, ev: TrainEvent) -> None:
        self.check()
        now = time.time()
        if ev.kind == "step" and now - self._last_event < WRITE_EVERY_S:
            return
        self._last_event = now
        fields = asdict(ev)
        fields = {k: None if isinstance(v, float) and not math.isfinite(v) else v
                  for k, v in fields.items()}  # NaN is not JSON
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({**fields, "time": now}) + "\n")

    def progress(self, fraction: float, message: str) -> None:
        self.check()
        now = time.time()
        if now - self._last_row < WRITE_EVERY_S:
            return
        self._last_row = now
        queue.update(self.ws, self.job_id, fraction=float(fraction), message=message,
                     heartbeat=now)


def _beat(ws: Workspace, job_id: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            queue.update(ws, job_id, heartbeat=time.time())
        except sqlite3.OperationalError:
            pass  # the catalog stayed locked past its timeout: the next beat tries again


def run_job(root: str | Path, job_id: str) -> int:
    """Run a claimed job in this process, record how it ended, then start the next queued job.

    Returns:
        The process's exit status: 0 finished or cancelled, 1 failed.
    """
    ws = _JobWorkspace(root, job_id)
    reporter = _Reporter(ws, job_id)
    signal.signal(signal.SIGTERM, reporter.request_cancel)
    job = get(ws, job_id)
    if job.status != "running":
        return 0  # cancelled while it was being started
    queue.update(ws, job_id, pid=os.getpid(), heartbeat=time.time())
    if (job_dir(ws, job_id) / CANCEL).exists():
        reporter.cancelled = True
    stop = threading.Event()
    threading.Thread(target=_beat, args=(ws, job_id, stop), daemon=True).start()
    try:
        ended = _run(ws, job, reporter)
    finally:
        stop.set()
    start_next(ws)
    return 1 if ended == "failed" else 0


def _run(ws: _JobWorkspace, job: Job, reporter: _Reporter) -> str:
    from recdash.runs.train import run_evaluation

    try:
        reporter.check()  # a cancel that came before the signal handler
        _, result = run_evaluation(ws, job.spec, progress=reporter.progress,
                                   on_event=reporter.event, run_id=job.run_id)
    except JobCancelled:
        run_id = get(ws, job.id).run_id
        message = "cancelled by the user" + _kept(ws, run_id)
        if run_id:  # run_evaluation recorded it as failed on the way out
            ws.end_run(run_id, "cancelled", message, was="failed")
        queue.update(ws, job.id, status="cancelled", finished=time.time(), message=message)
        return "cancelled"
    except BaseException as exc:  # whatever it is, the row must say how the job ended
        traceback.print_exc()  # into the job's log.txt
        message = str(exc) if isinstance(exc, RecdashError) else \
            (f"{type(exc).__name__}: {exc} (details in jobs/{job.id}/{LOG})")
        queue.update(ws, job.id, status="failed", finished=time.time(), message=message)
        return "failed"
    k = min(job.spec.ks)
    summary = "refit on every event" if result is None else \
        f"NDCG@{k} {result.metrics[f'NDCG@{k}']:.4f}" if f"NDCG@{k}" in result.metrics \
        else "finished"
    queue.update(ws, job.id, status="finished", fraction=1.0, finished=time.time(), message=summary)
    return "finished"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recdash.runs.jobs",
                                     description="Run a queued training job in this process "
                                     "(recdash.runs.jobs.submit starts it; list jobs with "
                                     "`recdash jobs`).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run one claimed job")
    p.add_argument("job_id")
    p.add_argument("--workspace", required=True, help="the workspace folder")
    args = parser.parse_args(argv)
    return run_job(args.workspace, args.job_id)


if __name__ == "__main__":
    sys.exit(main())
