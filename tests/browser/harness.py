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

# The Shopper page, as the concurrent-edit test and bench/studio_load.py find it: by the labels
# of its widgets and headings, so that layout changes leave them working.
SHOPPER_PATH = "/shopper"
SHOPPER_QUERY = "user"  # ?user=ID opens that shopper, where the page supports it
SHOPPER_SEARCH = "Shopper ID contains"  # text input; the fallback way to open a shopper
SHOPPER_BOX = "Shopper"  # selectbox of the matching shoppers
PRODUCT_SEARCH = "Find a product by title"  # text input of the what-if panel
ADD_EVENT = "Add to the history"  # button
RECOMMENDATIONS = "Recommendations"  # heading; the first table after it is the list
HISTORY = "History"  # heading; the first caption after it states the history's length
EXCEPTION = '[data-testid="stException"]'


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
        """Start the server and wait until it answers its health check (once: a second call
        would leave the first server running with nobody to stop it)."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("this studio is running already; use `with Studio(...)` or "
                               "start(), not both")
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


def table_column(page, column: str, timeout_s: float = 30, *, static: bool = False,
                 filled: bool = False) -> list[str]:
    """The cells of column `column` of the page's last table that has one (st.dataframe or
    st.table; only st.table when `static`). A data grid is read from its accessible table, which
    lists the rows on screen and hides behind the canvas: hence read as text, not waited for as
    visible. With `filled`, waits until no cell of the column is empty (a grid still drawing, or a
    table being replaced by a rerun, reads as blanks)."""
    script = """([column, selector, filled]) => {
        const found = [...document.querySelectorAll(selector)]
            .map(t => [t, [...t.querySelectorAll('thead th')].map(th => th.textContent.trim())])
            .filter(([t, heads]) => heads.includes(column));
        if (!found.length) return null;
        const [table, heads] = found[found.length - 1];
        const col = heads.indexOf(column);
        const cells = [...table.querySelectorAll('tbody tr')]
            .map(tr => tr.querySelectorAll('td, th')[col].textContent.trim());
        return (filled && (!cells.length || cells.some(c => !c))) ? null : cells;
    }"""
    selector = ('[data-testid="stTable"] table' if static else
                '[data-testid="stDataFrame"] table, [data-testid="stTable"] table')
    return page.wait_for_function(script, arg=[column, selector, filled],
                                  timeout=timeout_s * 1000).json_value()


# The Shopper page's list, history length and what-if edits -----------------------------------
# One function reads the page as a visitor sees it: the text and item_id column of the first table
# after the "Recommendations" heading; the history's length, the first number of the caption that
# says "edited" (the edited history's) or else of the first caption after the "History" heading;
# whether Streamlit is idle; how many exception elements are drawn.
SHOPPER_STATE_JS = """([listHeading, historyHeading]) => {
    const FOLLOWING = Node.DOCUMENT_POSITION_FOLLOWING;
    const heads = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
    const heading = name => heads.find(h => h.innerText.trim() === name);
    const after = (head, selector) => head ? [...document.querySelectorAll(selector)]
        .find(e => head.compareDocumentPosition(e) & FOLLOWING) : undefined;
    const table = after(heading(listHeading),
                        '[data-testid="stTable"] table, [data-testid="stDataFrame"] table');
    const body = table ? table.querySelector('tbody') : null;
    const columns = table ? [...table.querySelectorAll('thead th')]
        .map(t => t.textContent.trim()) : [];
    const col = columns.indexOf('item_id');
    const items = body && col >= 0 ? [...body.querySelectorAll('tr')].map(
        tr => (tr.querySelectorAll('td, th')[col] || {textContent: ''}).textContent.trim()) : [];
    const captions = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')];
    const caption = captions.find(c => /edited/i.test(c.innerText) && /\\d/.test(c.innerText))
        || after(heading(historyHeading), '[data-testid="stCaptionContainer"]');
    const number = caption ? caption.innerText.match(/\\d[\\d,]*/) : null;
    const app = document.querySelector('[data-testid="stApp"]');
    return {list: body ? body.textContent : '', items,
            history: number ? parseInt(number[0].replace(/,/g, ''), 10) : null,
            caption: caption ? caption.innerText : null,
            idle: !!app && app.getAttribute('data-test-script-state') === 'notRunning',
            exceptions: document.querySelectorAll('[data-testid="stException"]').length};
}"""

# Armed before an edit: the next click on the button named args.button starts a clock
# (performance.now() in the page, checked every animation frame) that stops when the list differs
# from before and the history is one event longer; then at the run's end. An edit whose update
# does not come within args.timeoutMs, or while the page sits idle for args.quietMs, is lost.
WATCH_EDIT_JS = """(args) => {
    const state = () => (""" + SHOPPER_STATE_JS + """)([args.list, args.history]);
    const before = state();
    window.__recdashEdit = undefined;
    const onClick = event => {
        const button = event.target.closest ? event.target.closest('button') : null;
        if (!button || !button.innerText.includes(args.button)) return;
        document.removeEventListener('click', onClick, true);
        const t0 = performance.now(), clickedAt = Date.now();
        let shown = null, idleSince = null, runs = 0, running = false;
        const tick = () => {
            const now = state(), t = performance.now() - t0;
            if (!now.idle && !running) runs += 1;
            running = !now.idle;
            if (shown === null && now.list && now.list !== before.list
                && now.history === before.history + 1) shown = t;
            idleSince = now.idle ? (idleSince === null ? t : idleSince) : null;
            const done = shown !== null && now.idle;
            const quiet = shown === null && idleSince !== null && t - idleSince > args.quietMs;
            if (done || quiet || t > args.timeoutMs) {
                window.__recdashEdit = {shown_ms: shown, idle_ms: done ? t : null,
                    lost: shown === null, why: done ? null : quiet ? 'idle without the update'
                    : 'timeout', clicked_at_ms: clickedAt, runs_seen: runs, before, after: now};
            } else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    };
    document.addEventListener('click', onClick, true);
    return before;
}"""


def shopper_state(page) -> dict:
    """The Shopper page as drawn now (see SHOPPER_STATE_JS): list, items, history, caption,
    idle, exceptions."""
    return page.evaluate(SHOPPER_STATE_JS, [RECOMMENDATIONS, HISTORY])


def shown_shopper(page) -> str:
    """The shopper the "Shopper" selectbox shows (its combobox's value)."""
    return page.get_by_role("combobox", name=SHOPPER_BOX, exact=True).input_value()


def open_shopper(page, url: str, user: str, timeout_s: float = 120) -> bool:
    """Open the Shopper page on shopper `user` and wait until the list is drawn and the run has
    ended: by the ?user= query parameter, else by typing the ID into "Shopper ID contains".

    Returns:
        Whether the query parameter alone selected the shopper.
    """
    from playwright.sync_api import expect

    page.goto(f"{url}{SHOPPER_PATH}?{SHOPPER_QUERY}={user}")
    page.wait_for_function(f"(args) => ({SHOPPER_STATE_JS})(args).list",
                           arg=[RECOMMENDATIONS, HISTORY], timeout=timeout_s * 1000)
    wait_idle(page, timeout_s)
    if shown_shopper(page) == user:
        return True
    search = page.get_by_label(SHOPPER_SEARCH, exact=True)
    search.fill(user)
    search.press("Enter")
    expect(page.get_by_role("combobox", name=SHOPPER_BOX, exact=True)).to_have_value(
        user, timeout=timeout_s * 1000)
    wait_idle(page, timeout_s)
    return False


def arm_edit_watch(page, timeout_s: float = 60, quiet_s: float = 10) -> dict:
    """Start watching for the next click on "Add to the history" (WATCH_EDIT_JS); returns the
    page's state before it."""
    return page.evaluate(WATCH_EDIT_JS, {
        "button": ADD_EVENT, "list": RECOMMENDATIONS, "history": HISTORY,
        "timeoutMs": timeout_s * 1000, "quietMs": quiet_s * 1000})


def edit_watch_result(page, timeout_s: float = 70) -> dict:
    """The armed watch's result once it has one: shown_ms, idle_ms, lost, why, clicked_at_ms,
    runs_seen, before, after."""
    page.wait_for_function("() => window.__recdashEdit !== undefined", timeout=timeout_s * 1000)
    return page.evaluate("window.__recdashEdit")


@contextmanager
def chromium_browser():
    """The system's headless Chromium, for a test that opens several browser sessions (one
    `browser.new_context()` each)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def add_button_centre(page) -> tuple[float, float]:
    """Where a mouse click lands on "Add to the history" (scrolled into view first), so that
    several sessions can be clicked within milliseconds of each other with `page.mouse.click`."""
    button = page.get_by_role("button", name=ADD_EVENT)
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


# The Search page: the time from Enter in the query box to the results table showing a new
# list, measured inside the page (performance.now() at the key press, checked every frame).
ARM_SEARCH_JS = """() => {
    const rows = () => { const t = [...document.querySelectorAll('[data-testid="stTable"]')];
        return t.length ? t[t.length - 1].innerText : ''; };
    const app = document.querySelector('[data-testid="stApp"]');
    const before = rows();
    window.__searchMarks = null;
    let t0 = null, shown = null;
    document.addEventListener('keydown', e => { if (e.key === 'Enter') t0 = performance.now(); },
                              {capture: true, once: true});
    const tick = () => {
        if (t0 !== null && shown === null && rows() && rows() !== before)
            shown = performance.now() - t0;
        const idle = app.getAttribute('data-test-script-state') === 'notRunning';
        if (shown !== null && idle) window.__searchMarks = {shown, idle: performance.now() - t0};
        else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
}"""


def search_for(page, query: str, timeout_s: float = 60) -> dict:
    """Type `query` in the Search page's box and press Enter; milliseconds until the results
    table showed a new list (`shown`) and until the script run ended (`idle`)."""
    box = page.get_by_label("Search the catalog", exact=True)
    box.fill(query)
    page.evaluate(ARM_SEARCH_JS)
    box.press("Enter")
    page.wait_for_function("() => window.__searchMarks !== null", timeout=timeout_s * 1000)
    marks = page.evaluate("() => window.__searchMarks")
    wait_idle(page)
    return marks
