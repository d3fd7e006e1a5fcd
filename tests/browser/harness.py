"""Running the studio for real: `streamlit run app.py` on 127.0.0.1 and Debian's headless
Chromium driven by Python playwright. Shared by the browser tests and `bench/browser_timings.py`.

Chromium comes from the system (`apt-get install chromium`), never from `playwright install`,
which downloads. Streamlit marks its root element with `data-test-script-state`; waiting for
`notRunning` after an action is how we know a page has finished drawing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("RECDASH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 60
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'


def missing_browser() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return (f"Chromium not found at {CHROMIUM}: install Debian's package "
                "(apt-get install -y chromium) or set RECDASH_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -r requirements-dev.txt"
    return None


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Studio:
    """One `streamlit run app.py` server on a workspace, with its log in `log_path`.

    Args:
        workspace: the workspace folder (RECDASH_WORKSPACE of the server).
        log_path: where the server's output goes.
        port: the port; a free one when None.
    """

    def __init__(self, workspace: Path, log_path: Path, port: int | None = None) -> None:
        self.workspace, self.log_path = Path(workspace), Path(log_path)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Studio:
        """Start the server and wait until it answers its health check."""
        env = {**os.environ, "RECDASH_WORKSPACE": str(self.workspace), "OMP_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1"}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address",
             "127.0.0.1", "--server.port", str(self.port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}; see "
                                   f"{self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"streamlit did not answer within {START_TIMEOUT_S} s; see "
                           f"{self.log_path}")

    def kill(self) -> None:
        """SIGKILL the server alone (its background jobs run in their own sessions)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop the server politely, then for sure."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def chromium(width: int = 1400, height: int = 1000, failure_shot: Path | None = None):
    """A fresh headless Chromium page (its own profile) from the system's binary; when the
    block raises and `failure_shot` is given, the page is saved there first."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            try:
                yield page
            except BaseException:
                if failure_shot is not None:
                    page.screenshot(path=str(failure_shot))
                raise
        finally:
            browser.close()


def wait_idle(page, timeout_s: float = 60, settle_ms: int = 150) -> None:
    """Wait until Streamlit has finished the current script run (and no new one starts within
    `settle_ms`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.wait_for_selector(IDLE, timeout=max(deadline - time.monotonic(), 0.1) * 1000)
        page.wait_for_timeout(settle_ms)
        if page.query_selector(IDLE) is not None:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the page kept running")


def open_page(page, url: str, title: str, timeout_s: float = 120) -> None:
    """Go to `url` and wait until the page's title heading is drawn and its run has ended."""
    page.goto(url)
    page.get_by_role("heading", name=title).first.wait_for(timeout=timeout_s * 1000)
    wait_idle(page, timeout_s)


def go_to(page, label: str, title: str, timeout_s: float = 120) -> None:
    """Open a page from the sidebar menu (the browser session, and its choices, stay)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=timeout_s * 1000)
    wait_idle(page, timeout_s)


def pick(page, label: str, option: str, scope=None) -> None:
    """Choose `option` in the selectbox labelled `label` (within `scope`, default the page)."""
    box = (scope or page).locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text(label, exact=True))
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def pick_dataset(page, name: str) -> None:
    """Select dataset `name` in the sidebar's picker."""
    pick(page, "Dataset", name, scope=page.locator('[data-testid="stSidebar"]'))


def table_column(page, column: str, timeout_s: float = 30) -> list[str]:
    """The cells of column `column` of the page's last table that has one (st.dataframe or
    st.table). A data grid is read from its accessible table, which lists the rows on screen and
    hides behind the canvas: hence read as text, not waited for as visible."""
    script = """(column) => {
        const found = [...document.querySelectorAll(
            '[data-testid="stDataFrame"] table, [data-testid="stTable"] table')]
            .map(t => [t, [...t.querySelectorAll('thead th')].map(th => th.textContent.trim())])
            .filter(([t, heads]) => heads.includes(column));
        if (!found.length) return null;
        const [table, heads] = found[found.length - 1];
        const col = heads.indexOf(column);
        return [...table.querySelectorAll('tbody tr')]
            .map(tr => tr.querySelectorAll('td, th')[col].textContent.trim());
    }"""
    return page.wait_for_function(script, arg=column, timeout=timeout_s * 1000).json_value()
