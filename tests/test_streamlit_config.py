"""The studio's Streamlit settings (.streamlit/config.toml): nothing watches the 2 GB virtualenv or
the workspace, and nothing reports usage to the internet."""

from __future__ import annotations

import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"


def test_the_file_watcher_is_off_and_would_skip_the_big_folders() -> None:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    server = config["server"]
    assert server["fileWatcherType"] == "none"
    assert {".venv", "workspace", "test-artifacts", "bench"} <= set(server["folderWatchBlacklist"])
    assert server["headless"] is True


def test_usage_statistics_stay_off() -> None:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False


def test_no_full_garbage_collection_after_every_rerun() -> None:
    # ~180 ms of CPU per rerun with the model loaded (measured in BENCHMARKS.md).
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False
