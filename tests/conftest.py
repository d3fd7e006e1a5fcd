"""Shared fixtures: a temporary workspace, and the public datasets where they exist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("RECDASH_DATASETS", ROOT.parent / "shared" / "datasets"))

# The studio trains the demo shop by itself on first start; tests start many fresh studios and
# opt in where they check that.
os.environ.setdefault("RECDASH_FIRST_START_TRAINING", "0")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    from recdash.workspace import Workspace

    root = tmp_path / "ws"
    monkeypatch.setenv("RECDASH_WORKSPACE", str(root))
    return Workspace(root)


def dataset_dir(name: str) -> Path:
    """The public dataset's folder, or skip the test saying why."""
    path = DATASETS / name
    if not path.exists():
        pytest.skip(f"public dataset {name} not found at {path} (set RECDASH_DATASETS to the "
                    "folder holding ml-1m, amazon-beauty, amazon-scientific, amazon-games)")
    return path
