"""A run's settings as one typed object: `RunSpec`.

The Train page and the CLI build a RunSpec; it is checked as it is built (every field, and the
model's own settings), so a wrong value is an error where it was typed, never a dead background
job. It is stored as JSON with the job and the run (`to_dict`) and read back as itself
(`from_dict`), which also reads the flat "settings" dict that earlier runs stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from recdash.errors import RecdashError, SettingError
from recdash.models.attention.config import DEVICES, AttentionSettings
from recdash.runs.registry import ModelKind, model_kind
from recdash.settings import check_types, require, unknown_keys

SPLITS = {"loo": "last event of each shopper (leave-one-out)",
          "temporal": "last days of the log (temporal)",
          "sessions": "last days' sessions, every prefix (sessions)"}
CANDIDATES = {"catalog": "every catalog item", "interacted": "items with events only"}
_FIELDS = ("dataset", "model", "split", "ks", "exclude_seen", "candidates", "kcore", "device",
           "refit_of")


@dataclass(frozen=True)
class RunSpec:
    """What to train and evaluate, and how.

    Attributes:
        dataset: the stored dataset's name.
        model: a key of `recdash.runs.registry.MODELS`.
        split: a key of SPLITS.
        ks: list lengths of the metrics (1..1000 each).
        exclude_seen: leave history items out of rankings.
        candidates: a key of CANDIDATES.
        kcore: k-core filter before splitting (0 = as stored, or the import's filter).
        device: "auto", "cpu" or "cuda" (models that use a GPU; baselines run on the CPU).
        config: the model kind's settings (its config dataclass); None = its defaults.
        refit_of: "" for a run that is measured; else the id of the measured run whose settings
            this run refits on every event, held-out ones included, for use (the studio, the
            export, the API): it has no metrics of its own.
    """

    dataset: str
    model: str = "attention"
    split: str = "loo"
    ks: tuple[int, ...] = (10, 20, 50)
    exclude_seen: bool = True
    candidates: str = "catalog"
    kcore: int = 0
    device: str = "auto"
    config: Any = None
    refit_of: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.ks, list):
            object.__setattr__(self, "ks", tuple(self.ks))
        check_types(self)
        require(self, "dataset", bool(self.dataset.strip()), "a stored dataset's name")
        kind = model_kind(self.model)
        require(self, "split", self.split in SPLITS, f"one of {', '.join(SPLITS)}")
        require(self, "ks", len(self.ks) > 0 and all(1 <= k <= 1000 for k in self.ks),
                "one or more list lengths from 1 to 1000, e.g. (10, 20, 50)")
        require(self, "candidates", self.candidates in CANDIDATES,
                f"one of {', '.join(CANDIDATES)}")
        require(self, "kcore", 0 <= self.kcore <= 1000, "0 (as stored) or a k from 1 to 1000")
        require(self, "device", self.device in DEVICES or self.device.startswith("cuda:"),
                f"one of {', '.join(DEVICES)} (or cuda:N)")
        config = kind.default() if self.config is None else self.config
        if not isinstance(config, kind.config):
            raise SettingError("RunSpec.config", type(config).__name__,
                               f"the {kind.name} model takes a {kind.config.__name__}")
        if isinstance(config, AttentionSettings):  # training validates as the run is measured
            config = replace(config, train=replace(config.train, device=self.device,
                                                   valid_exclude_seen=self.exclude_seen))
        object.__setattr__(self, "config", config)

    @property
    def kind(self) -> ModelKind:
        """The model kind the spec trains."""
        return model_kind(self.model)

    @classmethod
    def build(cls, dataset: str, model: str = "attention", settings: dict | None = None,
              **fields: Any) -> "RunSpec":
        """A spec whose model settings are the kind's defaults with `settings` applied.

        Args:
            dataset: the stored dataset's name.
            model: a model kind.
            settings: config fields to override, e.g. {"epochs": 5, "text": False} for the
                attention ranker or {"l2": 200.0} for EASE; unknown keys are refused.
            **fields: the other RunSpec fields (split, ks, device, ...).
        """
        return cls(dataset, model, config=model_kind(model).configure(settings), **fields)

    def to_dict(self) -> dict:
        """JSON-ready: the run's fields and {"config": the model's settings}."""
        from dataclasses import asdict

        out = {name: getattr(self, name) for name in _FIELDS}
        out["ks"] = list(self.ks)
        out["config"] = asdict(self.config)
        return out

    @classmethod
    def from_dict(cls, data: dict, where: str = "", stored: bool = False) -> "RunSpec":
        """The spec `to_dict` stored (or an earlier run's spec with a flat "settings" dict).

        Args:
            data: the spec's JSON.
            where: what it came from, for messages (e.g. "run 2026...-ease-abc123").
            stored: read back from the workspace: keys this version does not know are ignored
                with a StoredSettingWarning instead of refused.

        Raises:
            SettingError: an unknown key (unless `stored`) or an invalid value, naming it.
        """
        data = unknown_keys(dict(data), set(_FIELDS) | {"config", "settings"}, "RunSpec", where,
                            stored, "a run has no such setting")
        if "dataset" not in data or "model" not in data:
            raise RecdashError(f"the stored spec{' of ' + where if where else ''} names no "
                               "dataset or model; it cannot be read")
        kind = model_kind(data["model"])
        if "config" in data:
            config = kind.settings_from_dict(data.pop("config"), where, stored)
        else:
            config = kind.configure(data.pop("settings", None), where, stored)
        data.pop("settings", None)
        if "ks" in data:
            data["ks"] = tuple(data["ks"])
        return cls(**data, config=config)

    def summary(self) -> str:
        """The settings that differ from the kind's defaults, in a few words, e.g. 'epochs 5,
        dim 32, temporal split'."""
        from dataclasses import asdict

        def flat(obj: Any) -> dict:
            d = asdict(obj)
            if isinstance(obj, AttentionSettings):
                return {**d["model"], **d["train"], "text": d["text"]}
            return d

        now, default = flat(self.config), flat(self.kind.default())
        skip = {"device", "n_items", "use_text", "n_categories", "n_brands", "n_price_bands",
                "valid_exclude_seen"}
        parts = [f"{k} {'on' if v is True else 'off' if v is False else v}"
                 for k, v in now.items() if k not in skip and default.get(k) != v]
        if self.split != "loo":
            parts.append(f"{self.split} split")
        if not self.exclude_seen:
            parts.append("seen items kept")
        if self.refit_of:
            parts.insert(0, f"refit of {self.refit_of} on every event")
        if self.candidates != "catalog":
            parts.append(f"{self.candidates} candidates")
        return ", ".join(parts) or "defaults"


def check_submission(ws, spec: RunSpec) -> None:
    """What can only be checked against the workspace: the dataset exists.

    Raises:
        RecdashError: naming the stored datasets.
    """
    if not ws.has_dataset(spec.dataset):
        names = ", ".join(ws.dataset_names()) or "none yet"
        raise RecdashError(f"no dataset named '{spec.dataset}' in {ws.root} (stored: {names}); "
                           "import it first")
