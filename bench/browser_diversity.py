"""The Diversity page on MovieLens-1M in a real browser: how long a slider move takes to redraw.

`streamlit run app.py` on 127.0.0.1 and Debian's headless Chromium (the browser tests' harness).
ML-1M (5-core) is imported into a fresh workspace and EASE is evaluated on it (leave-one-out), so
the page re-ranks 1,000 test shoppers' top-500 candidates. Each press of an arrow key on the
MMR strength slider moves the strength (1 - lambda) by 0.05 (Right from 0, the relevance order, up
to 0.5, then back with Left; the way back hits the page's cache): the 1,000 lists are re-ranked
and scored, and both trade-off charts and the shopper's lists redraw. Timed inside the page from
the key press to Streamlit's run having ended (the clock starts one browser round trip before the
key press, so the figures are slightly high), and to the metrics row changing where the new
setting's figures differ; median and p90 of the moves each way. Goal: about a second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, markdown_table, require_datasets, summarise, write_json  # noqa: E402,I001
from recdash.data.dataset import prepare_public  # noqa: E402
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation  # noqa: E402
from recdash.workspace import Workspace  # noqa: E402
from tests.browser.harness import (CHROMIUM, CHROMIUM_FLAGS, Studio, missing_browser,  # noqa: E402
                                   open_page, pick_dataset, wait_idle)

WATCH_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const metrics = () => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
        .map(e => e.textContent).join('|');
    const before = metrics();
    const t0 = performance.now();
    window.__watch = new Promise(resolve => {
        let shown = null, running = false;
        const tick = () => {
            const now = metrics();
            if (shown === null && now && now !== before) shown = performance.now() - t0;
            const state = app.getAttribute('data-test-script-state');
            running = running || state === 'running';
            if (running && state === 'notRunning')
                resolve({shown: shown === null ? NaN : shown, idle: performance.now() - t0});
            else if (performance.now() - t0 > 60000) resolve({shown: NaN, idle: NaN});
            else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    });
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="../shared/datasets")
    parser.add_argument("--moves", type=int, default=10, help="moves each way")
    args = parser.parse_args()
    why = missing_browser()
    if why:
        sys.exit(f"bench: {why}")
    root = require_datasets(args.datasets, ["ml-1m"])
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        ds, report = prepare_public("ml-1m", root / "ml-1m", kcore=5)
        ws.save_dataset(ds)
        run_evaluation(ws, RunSpec("ml-1m", "ease"))
        moves = []
        with Studio(ws.root, Path(tmp) / "streamlit.log") as studio, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
            open_page(page, studio.url + "/diversity", "Diversity")
            pick_dataset(page, "ml-1m")
            page.get_by_text("Relevance order").wait_for(timeout=300_000)
            wait_idle(page)
            slider = page.locator('[data-testid="stSlider"]').first.get_by_role("slider")
            slider.focus()
            slider.press("Home")  # strength 0: the relevance order
            wait_idle(page)
            for key in ["ArrowRight"] * args.moves + ["ArrowLeft"] * args.moves:
                slider.focus()
                page.evaluate(WATCH_JS)  # the clock starts just before the key press
                slider.press(key)
                moves.append(page.evaluate("window.__watch"))
                wait_idle(page)
            browser.close()
    half = len(moves) // 2
    parts = {"new setting (computed)": moves[:half], "seen setting (cached)": moves[half:]}
    rows, payload = [], {}
    for label, part in parts.items():
        idle = [m["idle"] for m in part]
        shown = [m["shown"] for m in part if m["shown"] == m["shown"]]  # NaN: figures equal
        p90 = statistics.quantiles(idle, n=10)[-1]
        payload[label] = {"run_end_ms": {**summarise(idle), "p90": p90},
                          "metrics_changed_ms": summarise(shown) if shown else None}
        rows.append([label, f"{statistics.median(idle):.0f}", f"{p90:.0f}", f"{max(idle):.0f}",
                     f"{statistics.median(shown):.0f}" if shown else "-"])
    write_json("browser_diversity.json", {
        "machine": machine(), "moves": len(moves), "dataset": "ml-1m", "model": "ease",
        "shoppers": 1000, "candidates": 500, "similarity": "category", **payload})
    print(markdown_table(["MMR slider move (ML-1M, 1,000 shoppers)", "to the run's end, "
                          "median (ms)", "p90 (ms)", "max (ms)", "to new metrics, median (ms)"],
                         rows))


if __name__ == "__main__":
    main()
