"""The frame around every page, even when Streamlit runs a page file on its own.

With a `pages/` folder next to app.py, Streamlit runs a page file directly (its legacy folder
mode: no sidebar, no dataset picker, a menu of file names) when a page URL is the first request
after a server start; AppTest's switch_page does the same. `ensure_frame()`, the first call of
every page, then runs app.py, which routes back to this page inside the frame, and stops the
bare run. A context variable (per script run, not shared between sessions) tells the two apart.
"""

from __future__ import annotations

import contextvars
import runpy
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parent.parent / "app.py"
_IN_FRAME: contextvars.ContextVar[bool] = contextvars.ContextVar("recdash_in_frame",
                                                                 default=False)


def run_page(page) -> None:
    """Run the page st.navigation chose, marked as inside the frame (called by app.py)."""
    token = _IN_FRAME.set(True)
    try:
        page.run()
    finally:
        _IN_FRAME.reset(token)


def ensure_frame() -> None:
    """Run app.py around this page if Streamlit started the page file on its own."""
    if _IN_FRAME.get():
        return
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
