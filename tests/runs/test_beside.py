"""Baselines beside a headline model: queued with the same protocol, unless already run."""

from __future__ import annotations

import pandas as pd

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.runs.beside import companions
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation


def _store(ws, name, frame, **kw):
    ds, report = prepare_dataset(name, frame, **kw)
    assert ds is not None, report.format()
    ws.save_dataset(ds)


def test_baselines_beside_the_ranker_follow_its_protocol_and_skip_what_ran(workspace):
    rows = pd.DataFrame({S.USER: [f"u{u}" for u in range(30) for _ in range(4)],
                         S.ITEM: [f"i{(u + t) % 9}" for u in range(30) for t in range(4)]})
    _store(workspace, "shop", rows)
    spec = RunSpec("shop", "attention", split="loo", ks=(10,))
    assert [(s.model, s.split, s.ks) for s in companions(workspace, spec)] == [
        ("pop", "loo", (10,)), ("ease", "loo", (10,))]
    run_evaluation(workspace, RunSpec("shop", "pop", ks=(10,)))
    assert [s.model for s in companions(workspace, spec)] == ["ease"]  # pop ran that way
    other = RunSpec("shop", "attention", ks=(20,))  # measured differently: pop again
    assert [s.model for s in companions(workspace, other)] == ["pop", "ease"]
    assert companions(workspace, RunSpec("shop", "ease")) == []  # only beside a headline model


def test_a_session_log_gets_the_session_baselines(workspace):
    rows = pd.DataFrame({"session_id": [f"s{u}" for u in range(20) for _ in range(3)],
                         S.ITEM: [f"i{(u + t) % 7}" for u in range(20) for t in range(3)]})
    _store(workspace, "visits", rows)
    assert [s.model for s in companions(workspace, RunSpec("visits", "attention"))] == [
        "pop", "rules", "sknn"]
