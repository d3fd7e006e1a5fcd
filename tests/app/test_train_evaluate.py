"""App tests of the Train and Evaluate pages on the demo shop, run headless with AppTest: both
render, a tiny attention ranker started from the Train page trains in the background to the end,
and its metrics and an export appear on the Evaluate page."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from recdash.models.attention.config import AttentionSettings
from recdash.runs import jobs, queue
from recdash.runs.demo import quick_spec
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120  # one script run; the first builds the demo shop
TRAIN_DEADLINE_S = 75  # the tiny run takes ~15 s on a laptop CPU
TINY = {"Epochs": 1, "Max history length": 10, "Layers": 1}



@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace that the first app start fills with the demo shop."""
    root = tmp_path_factory.mktemp("workspace")
    yield root
    for row in queue.rows(Workspace(root)):  # never leave a training process behind
        if row["status"] == "running" and row["pid"]:
            try:
                os.killpg(row["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def test_both_pages_render_before_any_run(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start_app(root, monkeypatch, "pages/train.py")
    assert not at.exception
    assert at.title[0].value == "Train a model"
    assert [b.label for b in at.button] == ["Start", "Quick demo model"]
    assert any(c.value.startswith("Device: ") for c in at.caption)
    assert labelled(at.toggle, "Use the text tower").value is True
    labelled(at.selectbox, "Model").select("ease").run()
    assert not at.exception
    assert "Use the text tower" not in [t.label for t in at.toggle]
    assert "Epochs" not in [n.label for n in at.number_input]
    assert "No job is running or waiting." in [c.value for c in at.caption]

    at.switch_page("pages/evaluate.py").run()
    assert not at.exception
    assert "No finished runs" in at.info[0].value


def test_the_train_page_names_the_gpu_when_torch_sees_one(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "NVIDIA H100")
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda i=0: SimpleNamespace(total_memory=80 * 2**30))
    at = start_app(root, monkeypatch, "pages/train.py")
    assert not at.exception
    device = labelled(at.radio, "Device")
    assert device.options == ["GPU: NVIDIA H100 (80 GiB)", "CPU"] and device.value == "cuda"


def test_a_tiny_run_started_on_train_finishes_and_shows_on_evaluate(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start_app(root, monkeypatch, "pages/train.py")
    for label, value in TINY.items():
        labelled(at.number_input, label).set_value(value)
    labelled(at.select_slider, "Hidden size").set_value(16)
    labelled(at.toggle, "Use the text tower").set_value(False)
    labelled(at.toggle, "Train baselines beside it").set_value(False)  # tested below
    labelled(at.button, "Start").click().run()
    assert not at.exception
    assert "job" in at.toast[0].value

    ws = Workspace(root)
    (job_id,) = jobs.status(ws)["id"]
    spec = jobs.get(ws, job_id).spec
    assert not spec.exclude_seen  # the demo shop's shoppers come back to items
    assert spec.config == AttentionSettings.from_flat({
        "epochs": 1, "max_len": 10, "dim": 16, "n_layers": 1, "max_minutes": 10.0,
        "text": False, "batch_size": 128, "lr": 1e-3, "n_heads": 1, "loss": "auto",
        "patience": 5, "device": "cpu",
        "valid_exclude_seen": False})  # validation ranks as the run is measured
    deadline = time.time() + TRAIN_DEADLINE_S
    while jobs.get(ws, job_id).status in ("queued", "running") and time.time() < deadline:
        at.run()  # the page polls the job like a browser would
        assert not at.exception
        time.sleep(1)
    job = jobs.get(ws, job_id)
    assert job.status == "finished", f"{job.status}: {job.message}"
    at.run()
    assert "No job is running or waiting." in [c.value for c in at.caption]
    finished = at.dataframe[0].value
    assert finished["run"].tolist() == ["attention #1"]
    ndcg = ws.metrics(job.run_id)["all"]["NDCG@10"]
    assert finished["NDCG@10"].iloc[0] == pytest.approx(ndcg)

    run_evaluation(ws, RunSpec("demo", "pop", split="temporal"))  # measured differently
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["run"].tolist() == ["attention #1", "pop #1"]
    assert table["NDCG@10"].iloc[0] == pytest.approx(ndcg)
    assert table["badge"].iloc[0].startswith("LOO·full/")
    assert table["badge"].iloc[1].startswith("temporal·full/")
    assert "measured differently" in at.warning[0].value
    assert len(at.get("plotly_chart")) >= 4
    assert not at.download_button
    labelled(at.button, "Prepare the export").click().run()
    assert not at.exception
    assert at.download_button[0].label == "Download CSV"


def test_the_quick_demo_model_starts_in_the_background_and_cancels(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start_app(root, monkeypatch, "pages/train.py")
    labelled(at.button, "Quick demo model").click().run()
    assert not at.exception
    ws = Workspace(root)
    queue = jobs.status(ws)
    job = jobs.get(ws, queue.loc[queue["model"] == "attention", "id"].iloc[-1])
    assert job.status == "running" and job.spec.model == "attention"
    # The demo shop's shoppers come back to items, so its default keeps seen items.
    assert job.spec == quick_spec("demo", "cpu", exclude_seen=False)
    # Its baselines were queued beside it, measured the same way (the earlier pop run used a
    # temporal split, so it does not count).
    beside = queue[queue["created"] > queue.loc[queue["id"] == job.id, "created"].iloc[0]]
    assert sorted(beside["model"]) == ["ease", "pop"], beside
    assert all((jobs.get(ws, j).spec.split, jobs.get(ws, j).spec.exclude_seen) == ("loo", False)
               for j in beside["id"])
    at.button(key=f"cancel-{job.id}").click().run()  # the baselines have Cancel buttons too
    assert not at.exception
    deadline = time.time() + 30
    while jobs.get(ws, job.id).status == "running" and time.time() < deadline:
        time.sleep(0.5)
        at.run()  # a process stopped before its signal handler was set is noticed here
    assert jobs.get(ws, job.id).status == "cancelled"
    deadline = time.time() + 90
    while jobs.status(ws)["status"].isin(("queued", "running")).any() and \
            time.time() < deadline:  # the baselines beside it finish in seconds
        time.sleep(0.5)
    at.run()
    assert "No job is running or waiting." in [c.value for c in at.caption]
    assert at.expander[-1].label.startswith("Jobs that did not finish")


def test_a_job_that_died_with_an_earlier_studio_shows_as_failed(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(root)
    queue.add(ws, "died-with-the-studio", json.dumps(RunSpec("demo", "pop").to_dict()), "short")
    gone = 2**22 + 1  # above Linux's largest pid: no such process
    queue.update(ws, "died-with-the-studio", status="running", pid=gone, heartbeat=time.time() - 600)
    at = start_app(root, monkeypatch, "pages/train.py")
    assert not at.exception
    assert jobs.get(ws, "died-with-the-studio").status == "failed"
    assert any("ended unexpectedly" in w.value for w in at.warning)


def test_a_cancelled_run_resumes_from_the_train_page(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(root)
    ws.ensure_demo()  # when this test runs alone
    spec = RunSpec.build("demo", "attention", {"epochs": 3, "max_len": 10, "dim": 16,
                                               "n_layers": 1, "text": False, "tune": False},
                         device="cpu")
    job_id = jobs.submit(ws, spec)
    deadline = time.time() + 3 * TRAIN_DEADLINE_S  # three short trainings in all
    while not any(e["kind"] == "epoch" for e in jobs.events(ws, job_id)) \
            and time.time() < deadline:
        time.sleep(0.2)
    jobs.cancel(ws, job_id)
    while jobs.get(ws, job_id).status == "running" and time.time() < deadline:
        time.sleep(0.2)
    run_id = jobs.get(ws, job_id).run_id
    assert jobs.get(ws, job_id).status == "cancelled"

    at = start_app(root, monkeypatch, "pages/train.py")
    resume = [b for b in at.button if b.label == "Resume"]
    assert len(resume) == 1  # only the run that kept a checkpoint
    resume[0].click().run()
    assert not at.exception
    again = jobs.status(ws)["id"].iloc[-1]
    assert again != job_id and jobs.get(ws, again).run_id == run_id
    while jobs.get(ws, again).status in ("queued", "running") and time.time() < deadline:
        time.sleep(0.5)
    assert jobs.get(ws, again).status == "finished", jobs.get(ws, again).message
    at.run()
    assert not at.exception
    assert any(f"then resumed: run {run_id} finished" in s.value for s in at.success)
    assert not [b for b in at.button if b.label == "Resume"]
