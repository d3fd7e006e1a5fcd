"""Training for use: a measured run refit on every event (held-out ones included), the run that
says it is one, the export's default run, and the protocol defaults a dataset gets."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from recdash import runs_view as rv
from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.errors import RecdashError
from recdash.runs.defaults import protocol_defaults
from recdash.runs.load import load_run
from recdash.runs.spec import RunSpec
from recdash.runs.train import refit_spec, run_evaluation
from tests.test_cli import run as cli


def _shop(ws, name="shop", users=30, steps=5):
    rows = pd.DataFrame({S.USER: [f"u{u}" for u in range(users) for _ in range(steps)],
                         S.ITEM: [f"i{(u + t) % 9}" for u in range(users) for t in range(steps)],
                         S.TIME: [f"2026-03-{1 + t:02d}T10:00:00Z" for _ in range(users)
                                  for t in range(steps)]})
    ds, report = prepare_dataset(name, rows)
    assert ds is not None, report.format()
    ws.save_dataset(ds)
    return len(rows)


def test_a_refit_trains_on_every_event_has_no_figures_and_becomes_the_export_default(
        workspace):
    n_events = _shop(workspace)
    source, result = run_evaluation(workspace, RunSpec.build(
        "shop", "attention", {"epochs": 3, "dim": 16, "text": False}, ks=(5, 10)))
    assert result.metrics["NDCG@10"] >= 0.0
    stored = workspace.metrics(source)
    assert set(stored["validation"]) >= {"NDCG@10", "HR@10", "MRR@10"}  # kept for choosing
    measured = load_run(workspace, source).model
    assert len(measured._train.items) == n_events - 2 * 30  # leave-one-out held two each

    spec = refit_spec(workspace, source)
    best = json.loads(workspace.runs().set_index("id").loc[source, "params"])["training"][
        "best_epoch"]
    assert spec.refit_of == source and spec.config.train.epochs == max(1, math.ceil(best))
    assert spec.summary().startswith(f"refit of {source} on every event")
    refit, none = run_evaluation(workspace, spec)
    assert none is None and workspace.metrics(refit) == {}
    model = load_run(workspace, refit).model
    assert len(model._train.items) == n_events  # the held-out events trained too
    assert not np.array_equal(model.score([np.array([0, 1])]),
                              measured.score([np.array([0, 1])]))

    runs = rv.runs_table(workspace, "shop")
    row = runs.set_index("run_id").loc[refit]
    assert row["refit_of"] == source and math.isnan(row["validation"])
    assert rv.best_run(runs) == row["run"]  # the best run on validation, refit for use
    with pytest.raises(RecdashError, match="already a refit on every event"):
        refit_spec(workspace, refit)


def test_the_best_run_is_chosen_on_validation_not_on_the_test_stage():
    runs = pd.DataFrame({"run": ["pop #1", "ease #1"], "run_id": ["p", "e"],
                         "validation": [0.30, 0.20], "NDCG@10": [0.10, 0.40],
                         "refit_of": ["", ""]})
    assert rv.best_run(runs) == "pop #1"
    runs["validation"] = np.nan  # runs measured before validation was kept: the test stage
    assert rv.best_run(runs) == "ease #1"
    only20 = pd.DataFrame({"run": ["a", "b"], "run_id": ["a", "b"], "validation": np.nan,
                           "NDCG@20": [0.5, 0.2], "refit_of": ""})
    assert rv.ranking_metric(only20.columns) == "NDCG@20" and rv.best_run(only20) == "a"


def test_refit_from_the_command_line_names_its_source(tmp_path):
    ws = tmp_path / "ws"
    from recdash.workspace import Workspace

    _shop(Workspace(ws))
    out = cli("evaluate", "--data", "shop", "--model", "ease", "--k", "5", "--json", ws=ws)
    assert out.returncode == 0, out.stderr
    assert "loo split, seen items excluded (each shopper's last event is tested" in out.stderr
    source = json.loads(out.stdout)["run"]
    out = cli("refit", source, "--json", ws=ws)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["refit_of"] == source
    again = cli("refit", json.loads(out.stdout)["run"], ws=ws)
    assert again.returncode != 0 and "already a refit" in again.stderr


@pytest.mark.parametrize("stats, split, exclude, why", [
    ({"sequences": "sessions", "first_event": "2026-01-01", "repeat_share": 0.2}, "sessions",
     False, "a log of sessions"),
    ({"sequences": "sessions", "repeat_share": 0.2}, "loo", False, "without timestamps"),
    ({"sequences": "shoppers", "rebuy_share": 0.35, "repeat_share": 0.4}, "loo", False,
     "shoppers buy again: 35% of purchases"),
    ({"sequences": "shoppers", "rebuy_share": 0.05, "repeat_share": 0.4}, "loo", True,
     "5% of purchases repeat"),
    ({"sequences": "shoppers", "repeat_share": 0.0}, "loo", True, "no purchases"),
    ({"sequences": "shoppers", "rebuy_share": 0.05, "last_repeat_share": 0.47}, "loo", False,
     "47% of their last events return to an item already in their history"),
    ({"sequences": "shoppers", "rebuy_share": 0.35, "last_repeat_share": 0.02}, "loo", True,
     "2% of last events return to a seen item"),
])
def test_protocol_defaults_follow_sessions_and_repeat_purchases(stats, split, exclude, why):
    chosen = protocol_defaults(stats)
    assert (chosen.split, chosen.exclude_seen) == (split, exclude)
    assert why in chosen.why


def test_repeat_purchases_are_measured_at_import(workspace):
    rows = pd.DataFrame({S.USER: ["a", "a", "a", "b", "b"], S.ITEM: ["x", "y", "x", "x", "z"],
                         S.EVENT: ["purchase", "view", "purchase", "view", "purchase"]})
    ds, report = prepare_dataset("r", rows)
    assert ds is not None, report.format()
    assert report.stats["rebuy_share"] == pytest.approx(1 / 3)  # a bought x again
    assert report.stats["repeat_share"] == pytest.approx(1 / 3)  # 1 of the 3 later events
    assert report.stats["last_repeat_share"] == pytest.approx(1 / 2)  # a's last: x again


def test_tuning_tries_a_few_settings_on_validation_keeps_the_best_and_the_refit_follows(
        workspace, monkeypatch):
    from recdash.models.attention import ranker

    n_events = _shop(workspace, "small", users=60, steps=6)
    monkeypatch.setattr(ranker, "TUNE_EVENTS", (10, n_events))  # this tiny log counts as small
    monkeypatch.setattr(ranker, "TUNE_TRIALS", ({"dropout": 0.5}, {"max_len": 3, "lr": 3e-3}))
    run, result = run_evaluation(workspace, RunSpec.build(
        "small", "attention", {"epochs": 2, "dim": 16, "text": False}, ks=(10,)))
    trained = json.loads(workspace.runs().set_index("id").loc[run, "params"])["training"]
    tried = trained["trials"]
    assert [t["settings"] for t in tried] == [{}, {"dropout": 0.5}, {"max_len": 3, "lr": 3e-3}]
    best = max(tried, key=lambda t: t["valid_ndcg"])
    assert trained["chosen"] == best["settings"]
    assert trained["best_ndcg"] == pytest.approx(best["valid_ndcg"])
    run_dir = workspace.run_dir(run)
    assert not (run_dir / ranker.TUNE_DIR).exists()  # the trials' folders are cleaned up
    served = load_run(workspace, run).model  # the chosen trial's checkpoint, in the run's folder
    assert served.model_config.max_len == best["settings"].get("max_len", 200)
    spec = refit_spec(workspace, run)
    assert spec.config.train.tune is False
    assert spec.config.model.max_len == best["settings"].get("max_len", 200)
    assert spec.config.model.dropout == best["settings"].get("dropout", 0.2)
    # Switched off, or on a log outside the sizes tuning is for, one setting trains.
    run, _ = run_evaluation(workspace, RunSpec.build(
        "small", "attention", {"epochs": 1, "dim": 16, "text": False, "tune": False}, ks=(10,)))
    assert json.loads(workspace.runs().set_index("id").loc[run, "params"])["training"][
        "trials"] == []


def test_under_a_time_limit_the_best_trial_trains_on_from_where_it_stopped(workspace,
                                                                           monkeypatch):
    from recdash.models.attention import ranker

    n_events = _shop(workspace, "timed", users=60, steps=6)
    monkeypatch.setattr(ranker, "TUNE_EVENTS", (10, n_events))
    monkeypatch.setattr(ranker, "TUNE_TRIALS", ({"dropout": 0.5},))
    # 0.05 minutes a trial (a few epochs), then the best goes on with what is left of 0.2.
    run, _ = run_evaluation(workspace, RunSpec.build(
        "timed", "attention", {"epochs": 500, "dim": 16, "text": False, "max_minutes": 0.2,
                               "batch_size": 8, "patience": 500}, ks=(10,)))
    trained = json.loads(workspace.runs().set_index("id").loc[run, "params"])["training"]
    (tried_epochs,) = {t["best_epoch"] for t in trained["trials"]
                       if t["settings"] == trained["chosen"]}
    assert trained["stopped"] == "time limit"
    assert trained["epochs_run"] > tried_epochs  # it went on past where its trial stopped
    assert len(json.loads((workspace.run_dir(run) / "history.json").read_text())) >= 2
