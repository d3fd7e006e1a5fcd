"""Candidate pools, the trade-off, presets and re-ranked exports on the demo shop."""

from __future__ import annotations

import pandas as pd
import pytest

from recdash import runs_view
from recdash.cli import main
from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.eval.evaluate import evaluate
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.rerank import pools as P
from recdash.rerank.presets import get_preset, load_presets, save_preset
from recdash.rerank.run import run_context
from recdash.runs.load import load_run
from recdash.rerank.setting import Setting


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from recdash.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("ws"))
    ws.ensure_demo()
    run_id, _ = run_evaluation(ws, RunSpec("demo", "itemknn"))
    rc = run_context(load_run(ws, run_id), ws)
    return ws, run_id, rc, P.build_pools(rc.model, rc.split, n_users=10**6, n_candidates=300)


def test_relevance_order_over_the_pools_gives_the_full_ranking_metrics(shop) -> None:
    _, _, rc, pools = shop
    lists = P.apply(pools, Setting("none", 1.0), rc.items)
    got = P.score_lists(pools, lists, rc.items, "category", rc.popularity, rc.n_train_users)
    ref = evaluate(rc.model, rc.split, ks=(10,)).metrics
    assert got["NDCG@10"] == pytest.approx(ref["NDCG@10"], abs=1e-9)
    assert got["HR@10"] == pytest.approx(ref["HR@10"], abs=1e-9)


def test_the_tradeoff_moves_the_way_the_methods_promise(shop) -> None:
    _, _, rc, pools = shop
    table = P.tradeoff(pools, [Setting("none", 1.0), Setting("mmr", 0.7), Setting("cap", 1.0),
                               Setting("calibrate", 0.9), Setting("novelty", 2.0)],
                       rc.items, rc.popularity, rc.n_train_users).set_index("method")
    assert table.at["mmr", "ILD"] > table.at["none", "ILD"]
    assert table.at["cap", "category coverage"] == 1.0  # one item per category
    assert table.at["calibrate", "calibration KL"] < table.at["none", "calibration KL"]
    assert table.at["novelty", "novelty"] > table.at["none", "novelty"]
    assert table.at["mmr", "NDCG@10"] <= table.at["none", "NDCG@10"]


def test_presets_are_stored_atomically_and_checked(shop, tmp_path) -> None:
    ws, *_ = shop
    save_preset(ws, "two-per-category", Setting("cap", 2.0))
    save_preset(ws, "varied", Setting("mmr", 0.5, "category"))
    assert get_preset(ws, "varied") == Setting("mmr", 0.5, "category")
    assert set(load_presets(ws)) >= {"two-per-category", "varied"}
    assert not [p for p in ws.root.iterdir() if p.name.startswith(".tmp-")]
    with pytest.raises(RecdashError, match="no re-ranking preset named 'nope'"):
        get_preset(ws, "nope")
    with pytest.raises(RecdashError):
        save_preset(ws, "../escape", Setting())
    with pytest.raises(RecdashError, match="outside"):
        Setting("mmr", 1.5)


def test_an_export_with_a_preset_applies_it(shop, tmp_path, monkeypatch) -> None:
    ws, run_id, _, _ = shop
    save_preset(ws, "two-per-category", Setting("cap", 2.0))
    plain = runs_view.recommendations_for_all(ws, run_id, 10)
    capped = runs_view.recommendations_for_all(ws, run_id, 10, preset="two-per-category")
    per_cat = capped.groupby([S.USER, S.CATEGORY]).size()
    assert per_cat.max() <= 2 and plain.groupby([S.USER, S.CATEGORY]).size().max() > 2
    assert capped.groupby(S.USER)["rank"].apply(lambda r: r.tolist() == list(
        range(1, len(r) + 1))).all()
    monkeypatch.setenv("RECDASH_WORKSPACE", str(ws.root))
    out = tmp_path / "capped.csv"
    assert main(["export", "--run", run_id, "--rerank", "two-per-category", "--out",
                 str(out)]) == 0
    assert pd.read_csv(out).groupby([S.USER, S.CATEGORY]).size().max() <= 2
    user = capped[S.USER].iloc[0]
    assert main(["recommend", "--run", run_id, "--user", str(user), "--rerank",
                 "two-per-category", "--json"]) == 0


def test_a_corrupt_presets_file_names_itself(shop) -> None:
    ws, *_ = shop
    path = ws.root / "presets.json"
    keep = path.read_text() if path.exists() else None
    path.write_text("{not json")
    try:
        with pytest.raises(RecdashError, match="presets.json: not a presets file"):
            load_presets(ws)
    finally:
        if keep is not None:
            path.write_text(keep)
        else:
            path.unlink()
