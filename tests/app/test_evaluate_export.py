"""App test of the Evaluate page's export on the demo shop: the run picker starts on the best run
by NDCG@10 (the newest of equals), and a preset asking for what the run lacks says what the export
uses instead and still exports."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recdash.rerank.presets import save_preset
from recdash.rerank.setting import Setting
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app
from ui.runs import RUNS_TTL_S


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shop with item-kNN twice (equal figures), then popularity (newest, worst)."""
    root = tmp_path_factory.mktemp("workspace")
    ws = Workspace(root)
    ws.ensure_demo()
    for model in ("itemknn", "itemknn", "pop"):
        run_evaluation(ws, RunSpec("demo", model))
    save_preset(ws, "varied", Setting("mmr", 0.5, "model"))  # item-kNN has no item vectors
    return root


def test_the_export_starts_on_the_best_run_the_newest_of_equals(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start_app(root, monkeypatch, "pages/evaluate.py")
    assert not at.exception, at.exception
    picker = labelled(at.selectbox, "Run")
    assert picker.options == ["pop #1", "itemknn #2", "itemknn #1"]  # newest first
    assert picker.value == "itemknn #2"


def test_a_preset_the_run_cannot_follow_says_what_is_used_and_exports(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start_app(root, monkeypatch, "pages/evaluate.py")
    labelled(at.selectbox, "Diversity preset").select("varied").run()
    assert not at.exception, at.exception
    (note,) = [i.value for i in at.info]
    assert "no item vectors" in note and "'same category' instead" in note
    labelled(at.button, "Prepare the export").click().run()
    assert not at.exception, at.exception
    assert not at.error, at.error[0].value
    assert at.download_button[0].label == "Download CSV"


def test_the_page_says_plainly_when_a_baseline_beats_the_attention_ranker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(tmp_path)
    ws.ensure_demo()
    pop_id, pop = run_evaluation(ws, RunSpec("demo", "pop"))
    # An attention run measured the same way that learnt less than best sellers (stored as a
    # run would be; training one is not what this test is about).
    run = ws.create_run("demo", "attention", {"spec": RunSpec("demo", "attention").to_dict()},
                        {})
    ws.set_run_protocol(run, pop.protocol.to_dict())
    ws.finish_run(run, {"all": {k: v * 0.9 for k, v in pop.metrics.items()}})
    at = start_app(tmp_path, monkeypatch, "pages/evaluate.py")
    assert not at.exception, at.exception
    said = [w.value for w in at.warning]
    assert any(w.startswith("The attention ranker does not beat Best sellers on this data")
               for w in said), said
    shopper = start_app(tmp_path, monkeypatch, "pages/shopper.py")
    assert not shopper.exception, shopper.exception
    assert any("does not beat Best sellers" in w.value for w in shopper.warning)
    # That run has no checkpoint: the page says so instead of failing.
    assert any(e.value.startswith(f"Run {run} cannot be loaded") for e in shopper.error)
    ws.finish_run(run, {"all": {k: v * 1.2 for k, v in pop.metrics.items()}})
    time.sleep(RUNS_TTL_S + 0.2)  # the page re-reads the runs this often
    at.run()
    assert any("beats every baseline measured the same way" in s.value for s in at.success)
