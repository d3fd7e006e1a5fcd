"""A run's typed spec and the registry of model kinds: built, checked, stored and read back as
itself; wrong values refused where they are typed, naming the field and the fix."""

from __future__ import annotations

import json

import pytest

from recdash.errors import RecdashError, SettingError
from recdash.models.attention.config import AttentionSettings
from recdash.models.ease import EASEConfig
from recdash.models.popularity import PopularityConfig
from recdash.runs.registry import BASELINES, MODELS, SHORT, baseline
from recdash.runs.spec import RunSpec


@pytest.mark.parametrize("model", list(MODELS))
def test_every_kind_round_trips_through_json(model):
    spec = RunSpec(f"shop-{model}", model, split="temporal", ks=(5, 10), exclude_seen=False,
                   kcore=3, device="cpu")
    back = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert back == spec and isinstance(back.config, MODELS[model].config)


def test_settings_override_the_kinds_defaults_and_are_typed():
    spec = RunSpec.build("shop", "attention", {"epochs": 5, "dim": 32, "text": False},
                         device="cpu")
    assert isinstance(spec.config, AttentionSettings)
    assert (spec.config.train.epochs, spec.config.model.dim, spec.config.text) == (5, 32, False)
    assert spec.config.train.device == "cpu"  # the run's device is the training's
    assert RunSpec("shop", "pop-recent").config == PopularityConfig(window_days=30)
    assert RunSpec.build("shop", "ease", {"l2": 200.0}).config == EASEConfig(l2=200.0)
    assert spec.summary() == "dim 32, epochs 5, text off"


@pytest.mark.parametrize("fields, field", [
    ({"model": "bert"}, "RunSpec.model"), ({"split": "random"}, "RunSpec.split"),
    ({"ks": (0, 10)}, "RunSpec.ks"), ({"ks": ()}, "RunSpec.ks"),
    ({"candidates": "all"}, "RunSpec.candidates"), ({"kcore": -1}, "RunSpec.kcore"),
    ({"device": "tpu"}, "RunSpec.device"), ({"exclude_seen": "yes"}, "RunSpec.exclude_seen"),
    ({"config": EASEConfig()}, "RunSpec.config"),  # the attention ranker's spec
])
def test_wrong_values_are_refused_when_the_spec_is_built(fields, field):
    with pytest.raises(SettingError) as caught:
        RunSpec("shop", **{"model": "attention", **fields})
    assert caught.value.field == field
    assert "is not valid:" in str(caught.value)


def test_a_stored_spec_with_an_unknown_or_bad_key_says_which():
    stored = RunSpec("shop", "ease").to_dict()
    with pytest.raises(SettingError, match="RunSpec.colour.*a run has no such setting in run r1"):
        RunSpec.from_dict({**stored, "colour": "red"}, where="run r1")
    with pytest.raises(SettingError, match="EASEConfig.l3.*EASEConfig has no such setting"):
        RunSpec.from_dict({**stored, "config": {"l3": 1.0}})
    with pytest.raises(SettingError, match="EASEConfig.l2"):
        RunSpec.from_dict({**stored, "config": {"l2": -5.0}})
    with pytest.raises(RecdashError, match="names no dataset or model"):
        RunSpec.from_dict({"split": "loo"})


@pytest.mark.parametrize("model", ["ease", "attention"])
def test_a_stored_spec_read_back_ignores_unknown_keys_with_a_warning(model):
    from recdash.settings import StoredSettingWarning

    stored = RunSpec("shop", model).to_dict()
    inner = "l3" if model == "ease" else "train"
    config = ({**stored["config"], "l3": 1.0} if model == "ease" else
              {**stored["config"], "train": {**stored["config"]["train"], "warp": 9}})
    with pytest.warns(StoredSettingWarning) as caught:
        back = RunSpec.from_dict({**stored, "colour": "red", "config": config}, where="run r1",
                                 stored=True)
    assert back == RunSpec("shop", model)
    said = " ".join(str(w.message) for w in caught)
    assert "'colour'" in said and "run r1" in said
    assert ("'l3'" if inner == "l3" else "'warp'") in said
    with pytest.raises(SettingError, match="EASEConfig.l2"):  # a bad value is still refused
        RunSpec.from_dict({**RunSpec("shop", "ease").to_dict(), "config": {"l2": -5.0}},
                          stored=True)


def test_earlier_runs_flat_settings_still_load():
    old = {"dataset": "shop", "model": "attention", "split": "loo", "ks": [10, 20],
           "exclude_seen": True, "candidates": "catalog", "kcore": 0, "device": "auto",
           "settings": {"epochs": 7, "text": False, "max_len": 50}}
    spec = RunSpec.from_dict(old)
    assert (spec.config.train.epochs, spec.config.text, spec.config.model.max_len) == \
        (7, False, 50)
    assert spec.ks == (10, 20)


def test_the_registry_names_every_kind_once_with_its_lane():
    assert "attention" in MODELS and MODELS["attention"].headline
    assert set(BASELINES) == {"pop", "pop-recent", "itemknn", "ease", "sknn", "rules"}
    assert all(MODELS[name].lane == SHORT and not MODELS[name].uses_gpu for name in BASELINES)
    assert type(baseline("ease")).__name__ == "EASE"
    with pytest.raises(SettingError, match="not a baseline"):
        baseline("attention")


def test_the_cli_refuses_a_bad_setting_before_training(tmp_path, capsys):
    from recdash.cli import main

    code = main(["--workspace", str(tmp_path), "train", "--data", "demo", "--lr", "-1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "TrainConfig.lr = -1.0 is not valid" in err and "e.g. 0.001" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
