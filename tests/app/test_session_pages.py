"""App tests on a log of anonymous sessions: the Train page proposes the session protocol, the
Shopper page opens sessions, and Evaluate reads session metrics at 20, names a refit and queues
one."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.runs import jobs
from recdash.runs.spec import RunSpec
from recdash.runs.train import refit_spec, run_evaluation
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app
from ui.runs import RUNS_TTL_S


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 sessions on 30 days walking a 12-item cycle, with a rules run and a pop run measured
    by the session protocol."""
    root = tmp_path_factory.mktemp("workspace")
    rng = np.random.default_rng(0)
    rows = [(f"visit{s:02d}", f"i{(start + t) % 12:02d}",
             pd.Timestamp("2026-02-01", tz="UTC") + pd.Timedelta(hours=12 * s, minutes=t))
            for s, start in enumerate(rng.integers(12, size=60)) for t in range(4)]
    ds, report = prepare_dataset("visits", pd.DataFrame(rows, columns=["session_id", "item",
                                                                       "time"]))
    assert ds is not None, report.format()
    ws = Workspace(root)
    ws.save_dataset(ds)
    for model in ("rules", "pop"):
        run_evaluation(ws, RunSpec("visits", model, split="sessions", exclude_seen=False))
    return root


def _open(root, monkeypatch, page):
    at = start_app(root, monkeypatch, page)
    assert not at.exception, at.exception
    return at


def test_train_proposes_the_session_protocol_with_repeats_kept(root, monkeypatch):
    at = _open(root, monkeypatch, "pages/train.py")
    split = labelled(at.radio, "Test on")
    assert split.value == "sessions"
    assert "a log of sessions" in split.help
    assert labelled(at.toggle, "Keep items already in the history (buy again)").value is True


def test_the_shopper_page_opens_a_session(root, monkeypatch):
    at = _open(root, monkeypatch, "pages/shopper.py")
    assert at.title[0].value == "Session"
    assert labelled(at.radio, "Find a session").options == ["Search by ID",
                                                           "Show me interesting sessions"]
    labelled(at.text_input, "Session ID contains").input("visit05").run()
    assert not at.exception, at.exception
    assert labelled(at.selectbox, "Session").value == "visit05"
    assert labelled(at.toggle, "Hide items in the history").value is False  # the run's own
    assert len(at.table[0].value) == 10  # its recommendations


def test_evaluate_reads_sessions_at_20_names_a_refit_and_queues_one(root, monkeypatch):
    at = _open(root, monkeypatch, "pages/evaluate.py")
    assert labelled(at.radio, "Metrics at list length").value == 20
    table = at.dataframe[0].value
    assert "MRR@20" in table.columns and table["validation"].notna().all()
    assert any("sessions split by time, every prefix against its next item" in c.value
               for c in at.caption)
    ws = Workspace(root)
    runs = ws.runs("visits")
    rules = runs.loc[runs["model"] == "rules", "id"].iloc[0]
    picker = labelled(at.selectbox, "Run")
    assert picker.value == "rules #1"  # the best on validation
    labelled(at.button, "Refit on every event").click().run()
    assert not at.exception, at.exception
    queued = [jobs.get(ws, j).spec for j in jobs.status(ws)["id"]]
    assert [(s.model, s.refit_of) for s in queued] == [("rules", rules)]
    deadline = time.time() + 120
    while jobs.status(ws)["status"].isin(("queued", "running")).any() and \
            time.time() < deadline:
        time.sleep(0.5)
    time.sleep(RUNS_TTL_S + 0.2)
    at.run()
    assert any("rules #2** is rules #1 refit on every event" in c.value for c in at.caption)
    assert labelled(at.selectbox, "Run").value == "rules #2"  # the export uses the refit
    assert not [b for b in at.button if b.label == "Refit on every event"]


def test_refit_spec_keeps_the_protocol(root):
    ws = Workspace(root)
    runs = ws.runs("visits")
    spec = refit_spec(ws, runs.loc[runs["model"] == "pop", "id"].iloc[0])
    assert (spec.split, spec.exclude_seen) == ("sessions", False)


def test_the_profile_says_how_the_log_is_measured(root, monkeypatch):
    at = start_app(root, monkeypatch)  # Home: the selected dataset's headline
    assert not at.exception, at.exception
    assert labelled(at.metric, "Sessions").value == "60"
    assert any(c.value.startswith("How models are measured here by default: a log of sessions")
               for c in at.caption)
