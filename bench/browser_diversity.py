"""The Diversity page on MovieLens-1M in a real browser: how long a slider move takes to redraw.

`streamlit run app.py` on 127.0.0.1 and Debian's headless Chromium (the browser tests' harness).
ML-1M (5-core) is imported into a fresh workspace and EASE is evaluated on it (leave-one-out), so
the page re-ranks 1,000 test shoppers' top-500 candidates. Each press of the Right arrow key on the
MMR strength slider moves lambda by 0.05 (from 0.0 to 0.5, then back with Left): a setting the page
has not seen, so the 1,000 lists are re-ranked and scored and both trade-off charts redraw. Timed
inside the page from the key press to the metrics row showing the new setting's figures and
Streamlit's run having ended (the clock starts one browser round trip before the key press, so
the figures are slightly high); median and p90 of 20 moves. Goal: about a second.
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
from recdash.eval.run import RunSpec, run_evaluation  # noqa: E402
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
            if (shown !== null && running && state === 'notRunning')
                resolve({shown, idle: performance.now() - t0});
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
            slider.press("Home")
            wait_idle(page)
            for key in ["ArrowRight"] * args.moves + ["ArrowLeft"] * args.moves:
                slider.focus()
                page.evaluate(WATCH_JS)  # the clock starts just before the key press
                slider.press(key)
                moves.append(page.evaluate("window.__watch"))
                wait_idle(page)
            browser.close()
    shown = [m["shown"] for m in moves]
    idle = [m["idle"] for m in moves]
    p90 = statistics.quantiles(shown, n=10)[-1]
    write_json("browser_diversity.json", {
        "machine": machine(), "moves": len(moves), "dataset": "ml-1m", "model": "ease",
        "shoppers": 1000, "candidates": 500,
        "slider_to_metrics_ms": {**summarise(shown), "p90": p90},
        "slider_to_run_end_ms": summarise(idle)})
    print(markdown_table(["Diversity page, MMR slider move (ML-1M, 1,000 shoppers)",
                          "median (ms)", "p90 (ms)", "max (ms)"], [
        ["to the new metrics", f"{statistics.median(shown):.0f}", f"{p90:.0f}",
         f"{max(shown):.0f}"],
        ["to the run's end (charts and lists redrawn)", f"{statistics.median(idle):.0f}",
         f"{statistics.quantiles(idle, n=10)[-1]:.0f}", f"{max(idle):.0f}"]]))


if __name__ == "__main__":
    main()
