"""Runs as comparison tables, the export of a run's recommendations, and the charts drawn from
them, on a workspace with two finished runs of a tiny shop."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from recdash import charts
from recdash import runs_view as rv
from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.errors import RecdashError
from recdash.eval.protocol import Protocol
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace

N_USERS, N_ITEMS, K = 40, 12, 5


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A tiny shop (40 users walking 6 steps of a 12-item cycle) with a pop and an itemknn run,
    and a third run still running."""
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    rng = np.random.default_rng(0)
    rows = [(f"u{u:02d}", f"i{(s + t) % N_ITEMS:02d}", f"2025-03-01T{t:02d}:00:00Z")
            for u, s in enumerate(rng.integers(N_ITEMS, size=N_USERS)) for t in range(6)]
    catalog = pd.DataFrame({S.ITEM: [f"i{i:02d}" for i in range(N_ITEMS)],
                            S.TITLE: [f"Product {i}" for i in range(N_ITEMS)],
                            S.CATEGORY: ["A" if i % 2 else "B" for i in range(N_ITEMS)]})
    ds, report = prepare_dataset("tiny", pd.DataFrame(rows, columns=[S.USER, S.ITEM, S.TIME]),
                                 catalog)
    assert ds is not None, report.format()
    ws.save_dataset(ds)
    for model in ("pop", "itemknn"):
        run_evaluation(ws, RunSpec("tiny", model, ks=(5, 10)))
    ws.create_run("tiny", "ease", {"spec": {}}, {})  # started, never finished
    return ws


def test_runs_table_has_one_row_per_finished_run_with_metrics_and_badges(ws):
    table = rv.runs_table(ws, "tiny")
    assert table["run"].tolist() == ["pop #1", "itemknn #1"]
    assert list(table.columns[:len(rv.RUN_COLUMNS)]) == list(rv.RUN_COLUMNS)
    stored = ws.runs("tiny").set_index("id")
    for row in table.itertuples(index=False):
        protocol = Protocol.from_dict(json.loads(stored.at[row.run_id, "protocol"]))
        assert row.badge == protocol.badge() and row.protocol == protocol.label()
        assert row.settings == "defaults" and row.seconds >= 0
        for name, value in ws.metrics(row.run_id)["all"].items():
            assert table.set_index("run_id").at[row.run_id, name] == value
    every = rv.runs_table(ws, "tiny", statuses=None)
    assert every["run"].tolist() == ["pop #1", "itemknn #1", "ease #1"]
    assert every["badge"].iloc[-1] == "" and every["status"].iloc[-1] == "running"
    assert rv.runs_table(ws, "no-such-dataset").empty


def test_metric_names_split_accuracy_from_beyond_accuracy_in_k_order(ws):
    accuracy, beyond = rv.metric_names(rv.runs_table(ws, "tiny"))
    assert accuracy == ["HR@5", "HR@10", "MRR@5", "MRR@10", "NDCG@5", "NDCG@10", "Recall@5",
                        "Recall@10"]
    assert "Coverage@10" in beyond and "Novelty@5" in beyond and not set(accuracy) & set(beyond)


def test_long_and_segment_tables_match_the_stored_metrics(ws):
    table = rv.runs_table(ws, "tiny")
    long = rv.metric_long_table(ws, "tiny", table["run_id"].tolist()[::-1])
    assert list(long.columns) == list(rv.LONG_COLUMNS)
    assert list(dict.fromkeys(long["run"])) == ["itemknn #1", "pop #1"]
    wide = rv.segment_table(long, "NDCG@10")
    assert wide.index.tolist() == ["itemknn #1", "pop #1"]
    assert list(wide.columns) == [s for s in rv.SEGMENTS if s in wide.columns]
    for run_id, run in zip(table["run_id"], table["run"]):
        for segment, values in ws.metrics(run_id).items():
            if segment == rv.VALIDATION:  # the validation stage's figures, not a segment
                assert "NDCG@10" in values and segment not in wide.columns
            elif "NDCG@10" in values:  # None: a segment without users (NaN)
                expected = np.nan if values["NDCG@10"] is None else values["NDCG@10"]
                assert wide.at[run, segment] == pytest.approx(expected, nan_ok=True)
    users = rv.segment_users(long)
    assert users["warm users"] + users.get("cold users", 0) == N_USERS
    assert rv.metric_long_table(ws, "tiny", ["unknown-run"]).empty


def test_settings_summary_names_only_what_differs_from_the_defaults():
    # An earlier run's flat settings read like today's typed spec (its explicit full softmax
    # differs from today's default, "auto").
    params = {"spec": {"dataset": "tiny", "model": "attention", "split": "temporal",
                       "candidates": "catalog",
                       "settings": {"epochs": 5, "dim": 64, "text": False, "loss": "full"}}}
    assert rv.settings_summary(json.dumps(params)) == \
        "epochs 5, loss full, text off, temporal split"
    typed = RunSpec.build("tiny", "attention", {"epochs": 5, "text": False}, split="temporal")
    assert rv.settings_summary(json.dumps({"spec": typed.to_dict()})) == \
        "epochs 5, text off, temporal split"
    assert rv.settings_summary(json.dumps({"spec": RunSpec("tiny", "ease").to_dict()})) == \
        "defaults"
    assert rv.settings_summary(json.dumps({"spec": {"dataset": "x", "model": "gone"}})) \
        .startswith("?")


def test_progress_summary_reads_the_latest_event():
    events = [{"kind": "step", "epoch": 0, "epochs": 3, "step": 1, "steps_per_epoch": 2,
               "loss": 2.0, "valid_ndcg": None, "best_ndcg": None, "items_per_s": 10.0,
               "eta_s": 50.0},
              {"kind": "epoch", "epoch": 1, "epochs": 3, "step": 0, "steps_per_epoch": 2,
               "loss": 1.5, "valid_ndcg": 0.2, "best_ndcg": 0.2, "items_per_s": 12.0,
               "eta_s": 20.0}]
    assert rv.progress_summary(events) == {"epoch": 1, "epochs": 3, "items_per_s": 12.0,
                                           "eta_s": 20.0, "loss": 1.5, "best_ndcg": 0.2}
    assert rv.progress_summary([])["epoch"] is None


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_export_has_one_row_per_user_and_rank_with_shop_ids_and_titles(ws, fmt):
    run_id = rv.runs_table(ws, "tiny").set_index("run")["run_id"]["itemknn #1"]
    data = rv.export_recommendations(ws, run_id, fmt, k=K)
    read = {"csv": pd.read_csv, "xlsx": pd.read_excel, "parquet": pd.read_parquet}[fmt]
    recs = read(io.BytesIO(data))
    assert list(recs.columns) == list(rv.EXPORT_COLUMNS)
    assert len(recs) == N_USERS * K
    assert recs.groupby(S.USER)["rank"].apply(list).map(lambda r: r == list(range(1, K + 1))).all()
    titles = ws.load_dataset("tiny").catalog.set_index(S.ITEM)[S.TITLE]
    assert (recs[S.TITLE] == recs[S.ITEM].map(titles)).all()  # shop IDs, with their titles
    assert (recs.groupby(S.USER)["score"].diff().dropna() <= 0).all()
    events = ws.load_dataset("tiny").interactions
    seen = set(zip(events[S.USER], events[S.ITEM]))
    assert not any((u, i) in seen for u, i in zip(recs[S.USER], recs[S.ITEM]))  # whole history
    assert rv.has_export(ws, run_id, K)


def test_an_export_is_scored_once_per_run(ws, monkeypatch):
    run_id = rv.runs_table(ws, "tiny")["run_id"].iloc[0]
    first = rv.recommendations_for_all(ws, run_id, k=3)
    monkeypatch.setattr("recdash.runs.load.load_run", lambda *a, **k: pytest.fail("scored twice"))
    pd.testing.assert_frame_equal(rv.recommendations_for_all(ws, run_id, k=3), first)


def test_export_refuses_bad_requests_saying_what_to_do(ws):
    run_ids = rv.runs_table(ws, "tiny", statuses=None)["run_id"]
    with pytest.raises(RecdashError, match="choose one of csv, parquet, xlsx"):
        rv.export_recommendations(ws, run_ids.iloc[0], "xls")
    with pytest.raises(RecdashError, match="1 to 1,000"):
        rv.export_recommendations(ws, run_ids.iloc[0], "csv", k=0)
    with pytest.raises(RecdashError, match="not finished"):
        rv.export_recommendations(ws, run_ids.iloc[-1], "csv")


def test_run_charts_draw_one_mark_per_run(ws):
    table = rv.runs_table(ws, "tiny")
    bars = charts.metric_bars(table, "NDCG@10")
    assert list(bars.data[0].x) == ["pop #1", "itemknn #1"]
    assert list(bars.data[0].y) == table["NDCG@10"].tolist()
    scatter = charts.tradeoff_scatter(table, "Coverage@10", "NDCG@10")
    assert [t.name for t in scatter.data] == ["pop", "itemknn"]
    segments = rv.segment_table(rv.metric_long_table(ws, "tiny"), "HR@10")
    assert [t.name for t in charts.segment_bars(segments, "HR@10").data] == ["pop #1",
                                                                             "itemknn #1"]
    with pytest.raises(ValueError, match="missing|columns run, badge, Nope@10"):
        charts.metric_bars(table, "Nope@10")


def test_training_curves_follow_the_events():
    step = {"kind": "step", "epochs": 2, "steps_per_epoch": 4, "valid_ndcg": None}
    events = [{**step, "epoch": 0, "step": 2, "loss": 3.0},
              {**step, "epoch": 1, "step": 0, "loss": 2.0, "kind": "epoch", "valid_ndcg": 0.1},
              {**step, "epoch": 1, "step": 2, "loss": 1.0},
              {**step, "epoch": 2, "step": 0, "loss": None, "kind": "done", "valid_ndcg": None}]
    loss = charts.training_loss(events)
    assert list(loss.data[0].x) == [0.5, 1.0, 1.5] and list(loss.data[0].y) == [3.0, 2.0, 1.0]
    ndcg = charts.validation_ndcg(events)
    assert list(ndcg.data[0].x) == [1.0] and list(ndcg.data[0].y) == [0.1]
    assert not charts.validation_ndcg(events[:1]).data  # before the first validation


def _table(rows):
    return pd.DataFrame(rows, columns=["run", "model", "badge", "NDCG@10"])


def test_the_verdict_says_plainly_when_a_baseline_wins():
    runs = _table([("pop #1", "pop", "LOO", 0.0173), ("ease #1", "ease", "LOO", 0.0171),
                   ("attention #1", "attention", "LOO", 0.0170),
                   ("itemknn #1", "itemknn", "temporal", 0.5)])  # measured differently
    kind, text = rv.verdict(runs)
    assert kind == "loses"
    assert text.startswith("The attention ranker does not beat Best sellers on this data")
    assert "NDCG@10 0.0173 (2% higher)" in text and "0.0170" in text
    runs.loc[2, "NDCG@10"] = 0.0200
    kind, text = rv.verdict(runs)
    assert kind == "wins" and "0.0200 against 0.0173 for Best sellers (pop #1), +16%" in text
    assert rv.verdict(runs[runs["model"] != "attention"]) is None  # nothing to compare
    assert rv.verdict(runs[runs["badge"] == "temporal"]) is None
