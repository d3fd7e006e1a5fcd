"""What an analyst waits for on the Explain page, in Debian's headless Chromium driven by
playwright (the browser tests' harness), against `streamlit run app.py` on a workspace holding
the demo shop and one finished quick attention run (trained here first, not timed).

Timed inside the page (performance.now(), checked every animation frame), each view in a new
browser context (the session's cache cold):
1. the very first Explain view after the server started, from navigation (the default shopper,
   the first of the sorted IDs; nothing is cached yet);
2. --views new sessions, each on a shopper no view has explained before: from navigation to the
   default shopper drawn (its explanation now comes from the server's store), then from the
   Enter that commits the shopper's ID typed into "Shopper ID contains" (exact matches come
   first in the "Shopper" selectbox, so it picks them) to that shopper's explanation drawn;
3. "Explain the sample" with the "Shoppers" select_slider at its default (100): from the click
   to the global charts (by category, and by brand when the sample has brands) drawn.
Marks: the reason line (the first `st.info` alert starting "Because", "Not because" or "No
event"; the first one is the quick estimate, marked "first estimate"), the reason line from SHAP
(the alert without that mark), the SHAP waterfall (the plotly chart after the caption "SHAP
values by the Permutation algorithm", its title drawn), and Streamlit idle. An element counts
only once it is fresh: drawn by the run that the navigation, Enter or click started, not left
over (stale) from the run before.
Goals: the first view's reason line <= 3 s, its SHAP waterfall <= 3 s after that; the sample's
charts <= 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, machine, markdown_table, summarise, write_json  # noqa: E402
from bench.studio_load import MAX_LOAD, check_load, pick_users  # noqa: E402
from recdash.data import schema as S  # noqa: E402
from recdash.runs.demo import FIRST_START_ENV, QUICK_SETTINGS, quick_spec  # noqa: E402
from recdash.runs.train import run_evaluation  # noqa: E402
from recdash.workspace import Workspace  # noqa: E402
from tests.browser.harness import (CHROMIUM, CHROMIUM_FLAGS, EXCEPTION, SHOPPER_BOX,  # noqa: E402
                                   SHOPPER_SEARCH, Studio, missing_browser, wait_idle)

EXPLAIN_PATH = "/explain"
TITLE = "Explain recommendations"
SEARCH, BOX = SHOPPER_SEARCH, SHOPPER_BOX  # the Explain page's labels are the Shopper page's
SAMPLE_BUTTON = "Explain the sample"
SAMPLE_DEFAULT = 100  # the "Shoppers" select_slider's default
# A tall page, so that every chart is on screen (drawn) whatever the layout.
VIEWPORT = {"width": 1400, "height": 3000}
VIEW_TIMEOUT_S = 120
SAMPLE_TIMEOUT_S = 300
GOALS_S = {"reason": 3.0, "shap_after_reason": 3.0, "sample": 30.0}
MARKS = {"reason": "reason line", "attention": "attention heatmap",
         "final": "SHAP reason line", "shap": "SHAP waterfall",
         "category": "by category chart", "brand": "by brand chart", "idle": "Streamlit idle"}

# What the page shows now, fresh elements only (a stale one is the last run's, still on screen).
STATE_JS = """() => {
    const fresh = e => !e.closest('[data-stale="true"]');
    const FOLLOWING = Node.DOCUMENT_POSITION_FOLLOWING;
    const text = e => (e.querySelector('[data-testid="stMarkdownContainer"]') || e)
        .innerText.trim();
    const reasons = [...document.querySelectorAll('[data-testid="stAlert"]')]
        .filter(fresh).map(text)
        .filter(t => /^(Because|Not because|No event)/.test(t));
    const caption = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .find(c => fresh(c) && c.innerText.includes('SHAP values by the Permutation algorithm'));
    const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].filter(fresh);
    // Plotly draws a figure's title in the same pass as its traces.
    const drawn = (chart, start) => {
        const title = chart.querySelector('.main-svg .gtitle');
        return !!title && title.textContent.startsWith(start);
    };
    const waterfall = caption ? charts.find(c => caption.compareDocumentPosition(c) & FOLLOWING)
        : undefined;
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app ? app.getAttribute('data-test-script-state') : null;
    return {reason: reasons.length ? reasons[0] : null,
            attention: charts.some(c => drawn(c, 'Attention of the newest')),
            shap: !!waterfall && drawn(waterfall, 'Why item'),
            category: charts.some(c => drawn(c, 'Which category')),
            brand: charts.some(c => drawn(c, 'Which brand')),
            state, idle: state === 'notRunning',
            exceptions: document.querySelectorAll('[data-testid="stException"]').length};
}"""

# A clock in the page: started by args.trigger ("load": the navigation, time 0 = its start;
# "enter": the Enter key in the input labelled args.label; "click": a click on the button whose
# text holds args.label), it notes when each mark is first drawn and stops at idle once the
# marks in args.wanted are all there (or at args.timeoutMs). After an Enter or a click, marks
# count only once Streamlit has left notRunning (from then on the last run's elements are
# stale until redrawn). The result lands in window.__recdashExplain.
WATCH_JS = """(args) => {
    const state = """ + STATE_JS + """;
    window.__recdashExplain = undefined;
    const start = t0 => {
        const marks = {reason: null, attention: null, final: null, shap: null, category: null,
                       brand: null, idle: null};
        let left = args.trigger === 'load', estimate = null, reasonText = null, last = null;
        const tick = () => {
            const now = state(), t = performance.now() - t0;
            last = now;
            if (now.state && !now.idle) left = true;
            if (left) {
                if (marks.reason === null && now.reason) {
                    marks.reason = t; reasonText = now.reason;
                    estimate = now.reason.includes('first estimate');
                }
                if (marks.final === null && now.reason && !now.reason.includes('first estimate'))
                    marks.final = t;
                for (const k of ['attention', 'shap', 'category', 'brand'])
                    if (marks[k] === null && now[k]) marks[k] = t;
                if (args.wanted.every(k => marks[k] !== null) && now.idle) marks.idle = t;
            }
            if (marks.idle !== null || t > args.timeoutMs) {
                window.__recdashExplain = {ms: marks, first_is_estimate: estimate,
                    reason: reasonText, timed_out: marks.idle === null, last};
            } else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    };
    if (args.trigger === 'load') { start(0); return; }
    const onEvent = event => {
        const target = event.target;
        const hit = args.trigger === 'enter'
            ? event.key === 'Enter' && target.getAttribute
              && target.getAttribute('aria-label') === args.label
            : !!(target.closest && target.closest('button')
                 && target.closest('button').innerText.includes(args.label));
        if (!hit) return;
        document.removeEventListener(args.trigger === 'enter' ? 'keydown' : 'click', onEvent,
                                     true);
        start(performance.now());
    };
    document.addEventListener(args.trigger === 'enter' ? 'keydown' : 'click', onEvent, true);
}"""


def watch(trigger: str, wanted: list[str], label: str = "", timeout_s: float = VIEW_TIMEOUT_S
          ) -> dict:
    """WATCH_JS's argument."""
    return {"trigger": trigger, "wanted": wanted, "label": label, "timeoutMs": timeout_s * 1000}


def result(page, timeout_s: float) -> dict:
    """The page's clock once it has stopped (milliseconds per mark; None: not drawn)."""
    page.wait_for_function("() => window.__recdashExplain !== undefined",
                           timeout=(timeout_s + 10) * 1000)
    out = page.evaluate("window.__recdashExplain")
    wait_idle(page, timeout_s)
    out["exceptions"] = page.locator(EXCEPTION).count()
    return out


def new_page(browser, problems: list[str]):
    """A page in a new browser context (an empty cache, a new Streamlit session)."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"[:300]))
    return page


def open_explain(page, url: str, timeout_s: float = VIEW_TIMEOUT_S) -> dict:
    """Navigate to the Explain page with the clock armed at the navigation's start; the marks
    of its default shopper."""
    page.add_init_script(f"({WATCH_JS})({json.dumps(watch('load', ['reason', 'shap']))})")
    page.goto(url + EXPLAIN_PATH, timeout=timeout_s * 1000)
    return result(page, timeout_s)


def pick_shopper(page, user: str, timeout_s: float = VIEW_TIMEOUT_S) -> dict:
    """Type `user` into "Shopper ID contains" and press Enter, the clock armed on that key; the
    marks of the shopper's explanation, and the shopper the "Shopper" selectbox shows."""
    page.evaluate(WATCH_JS, watch("enter", ["reason", "shap"], SEARCH, timeout_s))
    search = page.get_by_label(SEARCH, exact=True)
    search.fill(user)
    search.press("Enter")
    out = result(page, timeout_s)
    out["shown"] = page.get_by_role("combobox", name=BOX, exact=True).input_value()
    return out


def explain_sample(page, timeout_s: float = SAMPLE_TIMEOUT_S) -> dict:
    """Click "Explain the sample" (the slider at its default) with the clock armed on the
    click; the marks of the global charts."""
    page.evaluate(WATCH_JS, watch("click", ["category"], SAMPLE_BUTTON, timeout_s))
    page.get_by_role("button", name=SAMPLE_BUTTON).click()
    return result(page, timeout_s)


def seconds(marks: dict) -> dict:
    """A clock's milliseconds as seconds (None stays None)."""
    return {k: None if v is None else v / 1000 for k, v in marks["ms"].items()}


def measure(studio: Studio, users: list[str], shots: Path) -> dict:
    """The first view, the views in new sessions and the sample, in one browser."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    out: dict = {"problems": problems}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = new_page(browser, problems)
            out["first_view"] = open_explain(page, studio.url)
            page.screenshot(path=str(shots / "explain_first_view-first.png"), full_page=True)
            page.context.close()
            print("first view done", file=sys.stderr, flush=True)
            out["views"] = []
            for user in users:
                page = new_page(browser, problems)
                try:
                    loaded = open_explain(page, studio.url)
                    picked = pick_shopper(page, user)
                    if picked["shown"] != user:
                        problems.append(f"typed {user}, the selectbox shows {picked['shown']}")
                    out["views"].append({"user": user, "load": loaded, "pick": picked})
                except Exception as exc:  # noqa: BLE001 - a failed view is a figure too
                    problems.append(f"view of {user}: {type(exc).__name__}: {exc}"[:300])
                finally:
                    page.context.close()
            print(f"{len(out['views'])} views done", file=sys.stderr, flush=True)
            page = new_page(browser, problems)
            try:
                open_explain(page, studio.url)
                out["sample"] = explain_sample(page)
                page.screenshot(path=str(shots / "explain_first_view-sample.png"),
                                full_page=True)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"sample: {type(exc).__name__}: {exc}"[:300])
            finally:
                page.context.close()
        finally:
            browser.close()
    return out


def median_s(views: list[dict], part: str, mark: str) -> float | None:
    values = [v[part]["ms"][mark] / 1000 for v in views if v[part]["ms"][mark] is not None]
    return statistics.median(values) if values else None


def summary(measured: dict) -> dict:
    """The figures the table shows: seconds per mark, medians over the views."""
    views = measured["views"]
    out = {"first_view_s": seconds(measured["first_view"]),
           "first_view_first_is_estimate": measured["first_view"]["first_is_estimate"]}
    for part in ("load", "pick"):
        out[f"views_{part}_s"] = {m: summarise(found) if (found := [
            v[part]["ms"][m] / 1000 for v in views if v[part]["ms"][m] is not None]) else None
            for m in ("reason", "attention", "final", "shap", "idle")}
        out[f"views_{part}_first_is_estimate"] = sum(
            bool(v[part]["first_is_estimate"]) for v in views)
    if "sample" in measured:
        out["sample_s"] = seconds(measured["sample"])
    return out


def report(payload: dict) -> None:
    """Print the table and the goals."""
    info, s, n = payload["machine"], payload["summary"], len(payload["measured"]["views"])
    print(f"Machine: {info['cpu']}, {info['cores_usable']} cores; load average before "
          f"{payload['load_average_before']}{' (forced)' if payload['forced'] else ''}; "
          "Chromium headless, a new context per view; demo shop, quick attention model\n")

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    def med(part: str, mark: str) -> float | None:
        return median_s(payload["measured"]["views"], part, mark)

    first, columns = s["first_view_s"], ("reason", "attention", "final", "shap", "idle")
    rows = [["first view after the server started, from navigation"]
            + [fmt(first[m]) for m in columns],
            [f"new session, default shopper, from navigation (median of {n})"]
            + [fmt(med("load", m)) for m in columns],
            [f"new session, another shopper, from Enter on its ID (median of {n})"]
            + [fmt(med("pick", m)) for m in columns]]
    print(markdown_table(["Explain view"] + [f"{MARKS[m]} (s)" for m in columns], rows))
    sample = s.get("sample_s")
    if sample:
        print()
        print(markdown_table(["Explain the sample", "by category chart (s)", "by brand chart (s)",
                              "idle (s)"], [[f"{SAMPLE_DEFAULT} shoppers, from the click",
                                             fmt(sample["category"]), fmt(sample["brand"]),
                                             fmt(sample["idle"])]]))
    shap_more = (first["shap"] - first["reason"]) if first["shap"] and first["reason"] else None
    print(f"\nFirst view: the first reason line was "
          f"{'the first estimate' if s['first_view_first_is_estimate'] else 'from SHAP'}; "
          f"reason line {fmt(first['reason'])} s (goal <= {GOALS_S['reason']:.0f} s), SHAP "
          f"waterfall {fmt(shap_more)} s later (goal <= {GOALS_S['shap_after_reason']:.0f} s); "
          f"sample {fmt(sample['category'] if sample else None)} s "
          f"(goal <= {GOALS_S['sample']:.0f} s).")
    for p in payload["measured"]["problems"]:
        print(f"problem: {p}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=int, default=10,
                        help="views in new sessions, each on another shopper")
    parser.add_argument("--seed", type=int, default=0, help="which shoppers")
    parser.add_argument("--quick", action="store_true", help="to try it out: 3 views")
    parser.add_argument("--force", action="store_true", help="run on a busy machine")
    args = parser.parse_args()
    if args.quick:
        args.views = 3
    return args


def main() -> None:
    args = parse_args()
    why = missing_browser()
    if why:
        sys.exit(f"bench: {why}")
    load = check_load(args.force)
    info = machine()  # before the training and the server start: the load they found
    shots = REPO / "test-artifacts" / "bench"
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="recdash-explain-") as tmp:
        ws = Workspace(Path(tmp) / "ws")
        ws.ensure_demo()
        print("training the quick attention model (not timed)...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        run_evaluation(ws, quick_spec("demo", "cpu"))
        trained_s = time.perf_counter() - start
        users = sorted(ws.load_dataset("demo").interactions[S.USER].astype(str).unique())
        # Shoppers with five events or more, none of them the default one (explained already).
        chosen = [u for u in pick_users(ws.load_dataset("demo"), args.views + 1, args.seed)
                  if u != users[0]][:args.views]
        os.environ[FIRST_START_ENV] = "0"  # no background training while measured
        with Studio(ws.root, Path(tmp) / "streamlit.log") as studio:
            measured = measure(studio, chosen, shots)
    payload = {"machine": info, "load_average_before": load, "forced": load[0] > MAX_LOAD,
               "model": {"name": "attention", **QUICK_SETTINGS, "device": "cpu",
                         "trained_s": round(trained_s, 1)},
               "settings": {k: v for k, v in vars(args).items() if k != "force"},
               "goals_s": GOALS_S, "marks": MARKS, "summary": summary(measured),
               "measured": measured}
    write_json("explain_first_view.json", payload)
    report(payload)


if __name__ == "__main__":
    main()
