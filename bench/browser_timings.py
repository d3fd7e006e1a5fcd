"""What an analyst waits for in a real browser: `streamlit run app.py` on 127.0.0.1 and Debian's
headless Chromium driven by playwright (the browser tests' harness).

1. Cold page load of each page: a new browser session (new context, empty cache) opens the
   page's URL; the time until its title is drawn and Streamlit's script run has ended. The first
   load after the server starts is reported on its own (it imports torch and builds caches); then
   the median of 10 new sessions per page.
2. Shopper page, edit to update: the time from the click on "Start from an empty history" (and
   on "Reset edits", alternately) until the recommendations table shows the edited history's
   list (its text, learnt from one untimed click of each), and until Streamlit's run has ended,
   timed inside the page (performance.now() at the click, checked every animation frame).
   Median and p90 of 10 of each. Goal: <= 300 ms on the CPU for the demo shop.
3. Explain page, update: the time from choosing another of the shopper's ten recommendations
   to the SHAP waterfall showing it (the first time each item is explained: SHAP values,
   counterfactual and attention computed; then again, from the cache).
The demo shop gets the Train page's quick attention model first (trained here, not timed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, markdown_table, summarise, write_json
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.workspace import Workspace
from tests.browser.harness import (
    Studio,
    missing_browser,
    open_page,
    table_column,
    wait_idle,
)

PAGES = {"home": ("", "recdash"), "data": ("/data", "Data"), "train": ("/train", "Train a model"),
         "evaluate": ("/evaluate", "Evaluate and compare runs"),
         "shopper": ("/shopper", "Shopper"), "explain": ("/explain", "Explain recommendations"),
         "diversity": ("/diversity", "Diversity")}
QUICK = {"epochs": 5, "max_len": 50, "dim": 32, "n_layers": 2, "text": True, "max_minutes": 3.0}
TABLE_TEXT = """() => { const f = [...document.querySelectorAll(
    '[data-testid="stDataFrame"], [data-testid="stTable"]')];
    const t = f.length ? f[f.length - 1].querySelector('table tbody') : null;
    return t ? t.textContent : ''; }"""


def cold_load(browser, url: str, title: str) -> float:
    """Seconds from navigation to the page drawn, in a brand-new browser session."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        start = time.perf_counter()
        open_page(page, url, title)
        return time.perf_counter() - start - 0.15  # wait_idle's settle time is not the page's
    finally:
        context.close()


EDIT_JS = """async ([name, target]) => {
    const tableText = """ + TABLE_TEXT + """;
    const app = document.querySelector('[data-testid="stApp"]');
    const button = [...document.querySelectorAll('button')].find(b => b.innerText.includes(name));
    const t0 = performance.now();
    button.click();
    return await new Promise(resolve => {
        let shown = null;
        const tick = () => {
            if (shown === null && tableText() === target) shown = performance.now() - t0;
            const idle = app.getAttribute('data-test-script-state') === 'notRunning';
            if (shown !== null && idle) resolve({shown, idle: performance.now() - t0});
            else if (performance.now() - t0 > 60000) resolve({shown: NaN, idle: NaN});
            else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    });
}"""


def edit_to_update(page, button: str, target: str) -> dict:
    """Milliseconds from clicking `button` to the recommendations table showing `target` (its
    text once the edit is done), and to the script run having ended, timed inside the page."""
    marks = page.evaluate(EDIT_JS, [button, target])
    wait_idle(page)
    return marks


def learn_target(page, button: str) -> str:
    """Click `button` once and return the table's text when the page has settled (the list the
    timed clicks must reach)."""
    before = page.evaluate(f"({TABLE_TEXT})()")
    page.get_by_role("button", name=button).click()
    # While the grid is redrawn its accessible table is briefly empty: wait for the new rows.
    page.wait_for_function(f"(b) => {{ const t = ({TABLE_TEXT})(); return t && t !== b; }}",
                           arg=before)
    wait_idle(page)
    page.wait_for_timeout(500)
    return page.evaluate(f"({TABLE_TEXT})()")


EXPLAIN_JS = """async (label) => {
    const app = document.querySelector('[data-testid="stApp"]');
    const title = () => { const t = [...document.querySelectorAll('.gtitle')]
        .find(e => e.textContent.startsWith('Why item')); return t ? t.textContent : ''; };
    const before = title();
    const option = [...document.querySelectorAll('[role="option"]')]
        .find(o => o.textContent.trim() === label);
    const t0 = performance.now();
    option.click();
    return await new Promise(resolve => {
        let shown = null, running = false;
        const tick = () => {
            const now = title();
            if (shown === null && now && now !== before) shown = performance.now() - t0;
            const state = app.getAttribute('data-test-script-state');
            running = running || state === 'running';
            if (shown !== null && running && state === 'notRunning')
                resolve({shown, idle: performance.now() - t0});
            else if (performance.now() - t0 > 60000) resolve({shown: NaN, idle: NaN});
            else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    });
}"""


def explain_update(page, label: str) -> dict:
    """Milliseconds from choosing `label` in "Recommendation to explain" to the SHAP waterfall
    showing the new item, and to the fragment's run having ended."""
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text("Recommendation to explain", exact=True))
    box.click()
    page.get_by_role("option", name=label, exact=True).wait_for()
    marks = page.evaluate(EXPLAIN_JS, label)
    wait_idle(page)
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    why = missing_browser()
    if why:
        sys.exit(f"bench: {why}")
    from playwright.sync_api import sync_playwright

    from tests.browser.harness import CHROMIUM, CHROMIUM_FLAGS

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        ws.ensure_demo()
        run_evaluation(ws, RunSpec.build("demo", "attention", QUICK))
        loads: dict[str, list[float]] = {}
        with Studio(ws.root, Path(tmp) / "streamlit.log") as studio, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            first = {"shopper": cold_load(browser, studio.url + "/shopper", "Shopper")}
            print("first load done", file=sys.stderr, flush=True)
            for name, (path, title) in PAGES.items():
                loads[name] = [cold_load(browser, studio.url + path, title)
                               for _ in range(args.repeats)]
                print(f"cold loads of {name} done", file=sys.stderr, flush=True)
            page = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
            open_page(page, studio.url + "/shopper", "Shopper")
            shown_ids = table_column(page, "item_id")
            assert len(shown_ids) == 10, shown_ids
            clicks = {"empty history": "Start from an empty history (new visitor)",
                      "reset": "Reset edits"}
            targets = {k: learn_target(page, b) for k, b in clicks.items()}
            marks: dict[str, list[dict]] = {k: [] for k in clicks}
            for _ in range(args.repeats):
                for kind, button in clicks.items():
                    marks[kind].append(edit_to_update(page, button, targets[kind]))
            explain_page = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
            open_page(explain_page, studio.url + "/explain", "Explain recommendations")
            explain_page.get_by_text("What if they had not").first.wait_for()
            titles = [f"{n}. {t}" for n, t in enumerate(table_column(page, "title"), 1)]
            explains = {"first time (computed)": [], "again (cached)": []}
            for kind in explains:
                for label in titles[1:] + titles[:1]:
                    explains[kind].append(explain_update(explain_page, label))
            browser.close()

    shown = {k: [m["shown"] for m in v] for k, v in marks.items()}
    explained = {k: [m["shown"] for m in v] for k, v in explains.items()}
    ended = {k: [m["idle"] for m in v] for k, v in marks.items()}

    def p90(values):
        return statistics.quantiles(values, n=10)[-1]

    payload = {"machine": machine(), "repeats": args.repeats,
               "first_load_after_start_s": first,
               "cold_load_s": {k: summarise(v) for k, v in loads.items()},
               "edit_to_list_shown_ms": {k: {**summarise(v), "p90": p90(v)}
                                         for k, v in shown.items()},
               "edit_to_run_ended_ms": {k: {**summarise(v), "p90": p90(v)}
                                        for k, v in ended.items()},
               "goal_edit_ms": 300,
               "explain_update_ms": {k: {**summarise(v), "p90": p90(v)}
                                     for k, v in explained.items()}}
    write_json("browser_timings.json", payload)
    print(f"Machine: {payload['machine']['cpu']}; Chromium headless; demo shop, quick attention "
          "model\n")
    print(markdown_table(["page", "cold load, median of new sessions (s)", "min", "max"], [
        [k, f"{statistics.median(v):.2f}", f"{min(v):.2f}", f"{max(v):.2f}"]
        for k, v in loads.items()]))
    print(f"\nFirst Shopper load after the server started: {first['shopper']:.2f} s\n")
    print(markdown_table(["Shopper edit", "to the new list, median (ms)", "p90 (ms)", "max (ms)",
                          "to the run's end, median (ms)"], [
        [k, f"{statistics.median(v):.0f}", f"{p90(v):.0f}", f"{max(v):.0f}",
         f"{statistics.median(ended[k]):.0f}"] for k, v in shown.items()]))
    print()
    print(markdown_table(["Explain: another recommendation", "to its waterfall, median (ms)",
                          "p90 (ms)", "max (ms)"], [
        [k, f"{statistics.median(v):.0f}", f"{p90(v):.0f}", f"{max(v):.0f}"]
        for k, v in explained.items()]))


if __name__ == "__main__":
    main()
