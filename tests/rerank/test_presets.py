"""Presets in the workspace: version 2 files, and version-1 files (MMR's lambda and the DPP's
theta stored as the strength) read in today's meaning, more strength = more re-ranking."""

from __future__ import annotations

import json

import pytest

from recdash.errors import RecdashError
from recdash.rerank.presets import FILE, VERSION, get_preset, load_presets, save_preset
from recdash.rerank.setting import Setting
from recdash.workspace import Workspace

OLD = {  # a presets.json written before the version field: strength = lambda / theta
    "barely": {"method": "mmr", "strength": 0.95, "similarity": "text", "k": 10},
    "varied": {"method": "dpp", "strength": 0.2, "similarity": "category", "k": 10},
    "plain": {"method": "none", "strength": 1.0, "similarity": "category", "k": 10},
    "two-per-category": {"method": "cap", "strength": 2.0, "similarity": "category", "k": 10},
    "mix": {"method": "calibrate", "strength": 0.7, "similarity": "category", "k": 10},
}


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace(tmp_path)


def test_a_version_1_file_loads_with_strength_one_minus_lambda(ws: Workspace) -> None:
    (ws.root / FILE).write_text(json.dumps(OLD), encoding="utf-8")
    got = load_presets(ws)
    assert got["barely"] == Setting("mmr", 0.05, "text")  # lambda 0.95: barely re-ranked
    assert got["varied"] == Setting("dpp", 0.8, "category")  # theta 0.2: strongly re-ranked
    assert got["varied"].label() == "DPP 0.8"
    # methods whose knob already meant "more = more re-ranking" keep their values
    assert got["two-per-category"] == Setting("cap", 2.0)
    assert got["mix"] == Setting("calibrate", 0.7)
    assert got["plain"].method == "none"


def test_saving_writes_version_2_and_keeps_the_migrated_presets(ws: Workspace) -> None:
    (ws.root / FILE).write_text(json.dumps(OLD), encoding="utf-8")
    save_preset(ws, "new", Setting("mmr", 0.3, "category"))
    raw = json.loads((ws.root / FILE).read_text(encoding="utf-8"))
    assert raw["version"] == VERSION == 2
    assert raw["presets"]["barely"]["strength"] == pytest.approx(0.05)
    assert raw["presets"]["new"]["strength"] == 0.3
    # read again, nothing is migrated twice
    assert get_preset(ws, "barely") == Setting("mmr", 0.05, "text")
    assert get_preset(ws, "new") == Setting("mmr", 0.3, "category")


def test_a_preset_called_version_in_an_old_file_is_still_a_preset(ws: Workspace) -> None:
    old = {"version": {"method": "mmr", "strength": 0.7, "similarity": "category", "k": 10}}
    (ws.root / FILE).write_text(json.dumps(old), encoding="utf-8")
    assert load_presets(ws)["version"].strength == pytest.approx(0.3)


def test_a_file_from_a_newer_recdash_says_to_upgrade(ws: Workspace) -> None:
    (ws.root / FILE).write_text(json.dumps({"version": 99, "presets": {}}), encoding="utf-8")
    with pytest.raises(RecdashError, match="newer recdash.*upgrade"):
        load_presets(ws)
    (ws.root / FILE).write_text(json.dumps({"version": 2, "presets": []}), encoding="utf-8")
    with pytest.raises(RecdashError, match="not a presets file"):
        load_presets(ws)
