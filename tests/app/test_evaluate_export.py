"""App test of the Evaluate page's export on the demo shop: the run picker starts on the best run
by NDCG@10 (the newest of equals), and a preset asking for what the run lacks says what the export
uses instead and still exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from recdash.rerank.presets import save_preset
from recdash.rerank.setting import Setting
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app


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
