"""The demo shop's first five minutes: the quick attention model and the baselines that the
studio trains by itself on first start, so that every page has something to show within about a
minute.

The quick model is the attention ranker with small settings (5 epochs, history 50, hidden size
32, a 3-minute cap): about a minute on a 2-core CPU for the demo shop once its title embeddings
are cached, which the first start's job does on the way.
"""

from __future__ import annotations

import os

from recdash.data.demo import DEMO_NAME
from recdash.runs.spec import RunSpec
from recdash.workspace import Workspace

QUICK_SETTINGS = {"epochs": 5, "max_len": 50, "dim": 32, "n_layers": 2, "text": True,
                  "max_minutes": 3.0, "tune": False}
FIRST_START_BASELINES = ("pop", "ease")
FIRST_START_ENV = "RECDASH_FIRST_START_TRAINING"  # "0" turns first-start training off


def quick_spec(dataset: str = DEMO_NAME, device: str = "auto", **fields) -> RunSpec:
    """The quick attention model's spec (the Train page's "Quick demo model")."""
    return RunSpec.build(dataset, "attention", QUICK_SETTINGS, device=device, **fields)


def first_start_specs(dataset: str = DEMO_NAME, stats: dict | None = None) -> list[RunSpec]:
    """What first start trains: the baselines (seconds, their own queue) and the quick model,
    measured the way the Train page measures the dataset by default (`stats`: its report's)."""
    from recdash.runs.defaults import protocol_defaults

    usual = protocol_defaults(stats or {})
    how = {"split": usual.split, "exclude_seen": usual.exclude_seen}
    return [RunSpec(dataset, name, **how) for name in FIRST_START_BASELINES] + \
        [quick_spec(dataset, **how)]


def first_start_enabled() -> bool:
    """Whether the studio trains the demo shop's models on first start ($RECDASH_FIRST_START_
    TRAINING, on unless "0"; the test suite turns it off)."""
    return os.environ.get(FIRST_START_ENV, "1") != "0"


def train_first_models(ws: Workspace) -> list[str]:
    """Queue the first-start jobs for the demo shop (background; returns their job ids)."""
    from recdash.runs import jobs

    stats = ws.dataset_report(DEMO_NAME).stats
    return [jobs.submit(ws, spec) for spec in first_start_specs(DEMO_NAME, stats)]
