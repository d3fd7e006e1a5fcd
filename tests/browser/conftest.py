"""Browser tests need Debian's Chromium and playwright; without them they skip and say why
(or fail, where RECDASH_REQUIRE_BROWSER=1 says the machine must have them, as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.harness import REPO, missing_browser

ARTIFACTS = Path(os.environ.get("RECDASH_ARTIFACTS", REPO / "test-artifacts")) / "browser"


@pytest.fixture
def browser_ready() -> None:
    why = missing_browser()
    if why is None:
        return
    if os.environ.get("RECDASH_REQUIRE_BROWSER") == "1":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (test-artifacts/browser/, or $RECDASH_ARTIFACTS/browser/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
