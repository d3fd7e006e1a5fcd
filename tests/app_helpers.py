"""Starting the studio under AppTest: one way for every app test."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from recdash.workspace import ENV_VAR

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 120  # one script run; the first builds the demo shop


def start_app(root: Path, monkeypatch: pytest.MonkeyPatch, page: str | None = None,
              secrets: dict | None = None) -> AppTest:
    """Run app.py from the repository root on the workspace `root` with fresh caches, then
    switch to `page` (e.g. "pages/train.py") when given. `secrets` stands in for
    `.streamlit/secrets.toml` (e.g. {"studio": {"password_hash": ...}})."""
    monkeypatch.setenv(ENV_VAR, str(root))
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
    at.secrets.update(secrets or {})
    at.run()
    return at.switch_page(page).run() if page else at


def labelled(elements, label: str):
    """The one element of `elements` with this label."""
    found = [e for e in elements if e.label == label]
    assert len(found) == 1, f"{len(found)} elements labelled {label!r}"
    return found[0]
