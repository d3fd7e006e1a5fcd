"""Background training jobs: their own processes, one per device, cancel, and crash recovery."""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

from recdash.runs import jobs, queue
from recdash.cli import main
from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.errors import RecdashError
from recdash.runs.spec import RunSpec
from recdash.models.attention.checkpoint import find_checkpoint

TIMEOUT = 120  # seconds a job may take before the test fails instead of hanging
TINY = {"max_len": 10, "dim": 16, "text": False, "batch_size": 32}
ENDLESS = {**TINY, "epochs": 100_000, "patience": 100_000}  # runs until stopped


@pytest.fixture
def ws(workspace):
    """A workspace with a tiny shop: 60 users walking a cycle of 12 items."""
    rng = np.random.default_rng(0)
    rows = [(f"u{u:02d}", f"i{(s + t) % 12:02d}") for u, s in enumerate(rng.integers(12, size=60))
            for t in range(6)]
    ds, report = prepare_dataset("tiny", pd.DataFrame(rows, columns=[S.USER, S.ITEM]))
    assert ds is not None, report.format()
    workspace.save_dataset(ds)
    yield workspace
    for row in queue.rows(workspace):  # never leave a training process behind a failed test
        if row["status"] == "running" and row["pid"]:
            try:
                os.killpg(row["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _spec(model="pop", **settings) -> RunSpec:
    return RunSpec.build("tiny", model, settings, ks=(10,), device="cpu")


def _wait(ws, job_id, until, what: str) -> jobs.Job:
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        job = jobs.get(ws, job_id)
        if until(job):
            return job
        time.sleep(0.1)
    log = jobs.job_dir(ws, job_id) / jobs.LOG
    raise AssertionError(f"job {job_id} never {what} in {TIMEOUT}s: {job}\n"
                         f"{log.read_text()[-3000:] if log.exists() else ''}")


def _ended(ws, job_id) -> jobs.Job:
    return _wait(ws, job_id, lambda j: j.status not in ("queued", "running"), "ended")


def _has_epoch(ws, job_id) -> jobs.Job:
    return _wait(ws, job_id, lambda j: any(e["kind"] == "epoch" for e in jobs.events(ws, j.id)),
                 "reported an epoch")


@pytest.mark.slow
def test_a_job_trains_in_its_own_process_and_records_its_run(ws):
    job_id = jobs.submit(ws, _spec("attention", epochs=3, **TINY))
    job = _ended(ws, job_id)
    assert job.status == "finished", job.message
    assert job.pid != os.getpid() and job.fraction == 1.0 and job.message.startswith("NDCG@10")
    run = ws.runs().set_index("id").loc[job.run_id]
    assert run["status"] == "finished"
    assert 0.0 <= ws.metrics(job.run_id)["all"]["NDCG@10"] <= 1.0
    kinds = [e["kind"] for e in jobs.events(ws, job_id)]
    assert kinds.count("epoch") == 3 and kinds[-1] == "done"
    assert find_checkpoint(ws.run_dir(job.run_id)) is not None
    table = jobs.status(ws)
    assert table[["id", "status", "dataset", "model"]].values.tolist() == [
        [job_id, "finished", "tiny", "attention"]]


@pytest.mark.slow
def test_one_job_per_device_the_next_starts_when_it_ends(ws):
    first, second = jobs.submit(ws, _spec("pop")), jobs.submit(ws, _spec("itemknn"))
    assert jobs.get(ws, first).status == "running"
    assert jobs.get(ws, second).status == "queued"
    # Nobody calls refresh: the first job's process starts the second as it ends.
    a, b = _ended(ws, first), _ended(ws, second)
    assert (a.status, b.status) == ("finished", "finished"), (a.message, b.message)
    assert b.started >= a.finished
    assert set(ws.runs()["status"]) == {"finished"}


def test_queued_jobs_wait_per_device_in_creation_order(workspace):
    for job_id, device in (("g1", "gpu"), ("c1", "cpu"), ("c2", "cpu"), ("g2", "gpu")):
        queue.add(workspace, job_id, "{}", device)
    assert [queue.claim(workspace, d) for d in ("gpu", "cpu", "cpu", "gpu")] == \
        ["g1", "c1", None, None]
    queue.update(workspace, "c1", status="finished")
    assert queue.claim(workspace, "cpu") == "c2"


def test_lanes_keep_baselines_apart_from_long_training():
    assert jobs.lane_of(RunSpec("tiny", "ease")) == "short"
    assert jobs.lane_of(RunSpec("tiny", "pop", device="cuda")) == "short"
    assert jobs.lane_of(RunSpec("tiny", "attention", device="cpu")) == "cpu"
    assert jobs.lane_of(RunSpec("tiny", "attention", device="cuda")) == "gpu"


@pytest.mark.slow
def test_a_baseline_never_waits_behind_a_training_job(ws):
    long = jobs.submit(ws, _spec("attention", epochs=500, patience=500, **TINY))
    _has_epoch(ws, long)
    quick = jobs.submit(ws, _spec("ease"))
    assert _ended(ws, quick).status == "finished"
    assert jobs.get(ws, long).status == "running"  # still training: the baseline did not wait
    jobs.cancel(ws, long)
    assert _ended(ws, long).status == "cancelled"


@pytest.mark.slow
def test_a_queued_job_is_cancelled_at_once(ws):
    first, second = jobs.submit(ws, _spec("pop")), jobs.submit(ws, _spec("pop"))
    assert jobs.get(ws, second).status == "queued"
    job = jobs.cancel(ws, second)
    assert job.status == "cancelled" and job.message == "cancelled before it started"
    assert _ended(ws, first).status == "finished"
    assert jobs.get(ws, second).status == "cancelled" and jobs.get(ws, second).run_id is None


@pytest.mark.slow
def test_cancelling_a_running_job_stops_it_and_keeps_its_checkpoint(ws):
    job_id = jobs.submit(ws, _spec("attention", **ENDLESS))
    _has_epoch(ws, job_id)
    jobs.cancel(ws, job_id)
    job = _ended(ws, job_id)
    assert job.status == "cancelled", job.message
    assert job.message == f"cancelled by the user; its last checkpoint is kept in run {job.run_id}"
    assert find_checkpoint(ws.run_dir(job.run_id), "latest") is not None
    run = ws.runs().set_index("id").loc[job.run_id]
    assert (run["status"], run["message"]) == ("cancelled", job.message)


@pytest.mark.slow
def test_refresh_marks_a_killed_job_failed_and_starts_the_next(ws):
    job_id = jobs.submit(ws, _spec("attention", **ENDLESS))
    queued = jobs.submit(ws, _spec("pop"))
    job = _has_epoch(ws, job_id)
    assert jobs.refresh(ws) == []  # alive: left alone
    os.kill(job.pid, signal.SIGKILL)
    deadline = time.time() + TIMEOUT
    while not (dead := jobs.refresh(ws)) and time.time() < deadline:
        time.sleep(0.1)
    assert dead == [job_id]
    job = jobs.get(ws, job_id)
    assert job.status == "failed"
    assert job.message.startswith("the training process ended unexpectedly (process ")
    assert job.message.endswith(f"; its last checkpoint is kept in run {job.run_id}")
    run = ws.runs().set_index("id").loc[job.run_id]
    assert (run["status"], run["message"]) == ("failed", job.message)
    assert _ended(ws, queued).status == "finished"  # the device was free again


def test_a_job_whose_launcher_died_is_failed_once_its_heartbeat_is_stale(workspace):
    spec = json.dumps({"dataset": "tiny", "model": "pop", "ks": [10]})
    queue.add(workspace, "orphan", spec, "cpu")
    queue.claim(workspace, "cpu")  # claimed, but no process was ever started
    assert jobs.refresh(workspace) == []
    queue.update(workspace, "orphan", heartbeat=time.time() - jobs.STALE_S - 1)
    assert jobs.refresh(workspace) == ["orphan"]
    assert "it never started" in jobs.get(workspace, "orphan").message


def test_events_leave_a_half_written_last_line_for_later(workspace):
    path = jobs.job_dir(workspace, "j1") / jobs.EVENTS
    path.parent.mkdir(parents=True)
    path.write_text('{"kind": "step", "loss": 1.5}\n{"kind": "epoch", "lo')
    assert jobs.events(workspace, "j1") == [{"kind": "step", "loss": 1.5}]
    assert jobs.events(workspace, "j2") == []


def test_submit_refuses_an_unknown_dataset_or_model(ws):
    with pytest.raises(RecdashError, match="no dataset named 'nope'"):
        jobs.submit(ws, RunSpec("nope", "pop"))
    with pytest.raises(RecdashError, match="RunSpec.model = 'bert' is not valid: choose one of"):
        jobs.submit(ws, RunSpec("tiny", "bert"))
    assert jobs.status(ws).empty
    with pytest.raises(RecdashError, match="no job 'x1'"):
        jobs.get(ws, "x1")


@pytest.mark.slow
def test_cli_lists_and_cancels_jobs(ws, capsys):
    first, second = jobs.submit(ws, _spec("pop")), jobs.submit(ws, _spec("pop"))
    assert main(["--workspace", str(ws.root), "jobs", "--cancel", second]) == 0
    assert f"Job {second}: cancelled" in capsys.readouterr().out
    _ended(ws, first)
    assert main(["--workspace", str(ws.root), "jobs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["jobs"]
    assert [(j["id"], j["status"]) for j in listed] == [(first, "finished"),
                                                        (second, "cancelled")]


def test_a_job_outlives_the_process_that_started_it(ws):
    """The studio's process dies (killed while a job trains): the job goes on, and a new
    studio process sees it running, then finished, with its run usable."""
    import subprocess
    import sys

    from tests.conftest import ROOT
    code = ("import sys\nfrom recdash.runs import jobs\nfrom recdash.runs.spec import RunSpec\n"
            "from recdash.workspace import Workspace\n"
            "spec = RunSpec.build('tiny', 'attention', dict(max_len=10, dim=16, text=False, "
            "batch_size=8, epochs=8, patience=99), ks=(10,), device='cpu')\n"
            "print(jobs.submit(Workspace(sys.argv[1]), spec), flush=True)\n"
            "import time; time.sleep(600)\n")
    app = subprocess.Popen([sys.executable, "-c", code, str(ws.root)], cwd=ROOT,
                           stdout=subprocess.PIPE, text=True,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
    job_id = app.stdout.readline().strip()
    _has_epoch(ws, job_id)
    app.send_signal(signal.SIGKILL)  # the "app" dies mid-training
    app.wait()
    jobs.refresh(ws)  # what a restarted studio does first
    assert jobs.get(ws, job_id).status in ("running", "finished")
    job = _ended(ws, job_id)
    assert job.status == "finished", job
    from recdash.runs.load import load_run
    service = load_run(ws, job.run_id)
    assert len(service.recommend_users([service.split.users[0]], k=3)) == 3


def _history(ws, run_id) -> list:
    return json.loads((ws.run_dir(run_id) / "history.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("how", ["killed", "cancelled"])
def test_a_killed_or_cancelled_run_resumes_from_its_checkpoint_and_finishes(ws, how):
    job_id = jobs.submit(ws, _spec("attention", **{**TINY, "epochs": 100, "patience": 100}))
    job = _has_epoch(ws, job_id)
    if how == "killed":
        os.kill(job.pid, signal.SIGKILL)
        deadline = time.time() + TIMEOUT
        while not jobs.refresh(ws) and time.time() < deadline:
            time.sleep(0.1)
    else:
        jobs.cancel(ws, job_id)
    job = _ended(ws, job_id)
    assert job.status == ("failed" if how == "killed" else "cancelled")
    run_id = job.run_id
    from recdash.models.attention.checkpoint import load_checkpoint
    done_before = load_checkpoint(ws.run_dir(run_id), which="latest").state["epoch"]
    assert 1 <= done_before < 100

    again = jobs.resume(ws, run_id)
    with pytest.raises(RecdashError, match="being resumed already|still running"):
        jobs.resume(ws, run_id)
    resumed = _ended(ws, again)
    assert resumed.status == "finished", resumed.message
    assert resumed.run_id == run_id  # the same run continued, no new one
    run = ws.runs().set_index("id").loc[run_id]
    assert run["status"] == "finished" and len(ws.runs()) == 1
    assert ws.metrics(run_id)["all"]["NDCG@10"] > 0
    params = json.loads(run["params"])
    history = _history(ws, run_id)
    assert params["training"]["epochs_run"] == len(history) > done_before  # all epochs kept
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    with pytest.raises(RecdashError, match="finished; there is nothing to resume"):
        jobs.resume(ws, run_id)


def test_runs_that_cannot_resume_say_why(ws):
    job_id = jobs.submit(ws, _spec("pop"))
    assert _ended(ws, job_id).status == "finished"
    run_id = jobs.get(ws, job_id).run_id
    ws.end_run(run_id, "failed", "test", was="finished")
    with pytest.raises(RecdashError, match="keeps no checkpoints"):
        jobs.resume(ws, run_id)
    with pytest.raises(RecdashError, match="no run 'nope'"):
        jobs.resume(ws, "nope")


@pytest.mark.slow
def test_cli_resumes_a_cancelled_run(ws, capsys):
    job_id = jobs.submit(ws, _spec("attention", **{**TINY, "epochs": 100, "patience": 100}))
    _has_epoch(ws, job_id)
    jobs.cancel(ws, job_id)
    run_id = _ended(ws, job_id).run_id
    root = str(ws.root)
    assert main(["--workspace", root, "train", "--resume", run_id, "--epochs", "3"]) == 1
    assert "drop --epochs" in capsys.readouterr().err
    assert main(["--workspace", root, "train", "--resume", run_id, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["run"], out["resumed"], out["dataset"]) == (run_id, True, "tiny")
    run = ws.runs().set_index("id").loc[run_id]
    assert run["status"] == "finished" and ws.metrics(run_id)["all"]["NDCG@10"] > 0
    assert main(["--workspace", root, "train", "--resume", run_id]) == 1
    assert "nothing to resume" in capsys.readouterr().err
