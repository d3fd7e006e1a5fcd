"""What a new analyst waits for after the README's first command: `streamlit run app.py` on an
empty workspace, timed from the moment the server process starts, in Debian's headless Chromium
driven by playwright (the browser tests' harness).

On first start the studio builds the demo shop (the first browser session's script run does) and
queues background training of the baselines pop and ease and of the quick attention model
(`recdash.runs.demo`); the attention job also encodes the demo shop's 3,000 titles with the text
model, whose cache does not exist yet. Each repeat starts from a fresh, empty workspace and
measures, from the server process's start:
(a) the server answering its health check (polled every 0.3 s by harness.Studio);
(b) Home drawn in a new browser page: the "Dataset: demo" heading shown and Streamlit idle;
(c) the first recommendation list on the Shopper page (the page is opened again and again,
    bounded, until its "Recommendations" table has rows; resolution: one page load, and the
    page's list of runs is cached for 3 s);
(d) the quick attention job finished (its row's finish time; the workspace is polled with
    `recdash.runs.jobs.status` until it says so);
(e) the Shopper page showing the attention run's list (its "Run" selectbox preselects the newest
    attention run), opened again and again after (d).
Also recorded: whether the text embeddings were computed during the run (the cache file written,
its rows, when), the jobs' start and end times, and the attention job's progress messages seen.

Not measured: the `pip install` part of the README's first command (its cost is the network and
a ~700 MB torch wheel). The server runs with harness.Studio's environment, as the browser tests
do: OMP_NUM_THREADS=1 (the README's command leaves it unset, so torch would use every core).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, machine, markdown_table, write_json  # noqa: E402
from bench.studio_load import MAX_LOAD, check_load  # noqa: E402
from recdash.data.demo import DEMO_NAME  # noqa: E402
from recdash.runs import jobs  # noqa: E402
from recdash.runs.demo import FIRST_START_ENV  # noqa: E402
from recdash.text import CACHE_FILE  # noqa: E402
from recdash.workspace import Workspace  # noqa: E402
from tests.browser.harness import (CHROMIUM, CHROMIUM_FLAGS, SHOPPER_PATH, Studio,  # noqa: E402
                                   missing_browser, shopper_state, wait_idle)

MILESTONES = {
    "server": "(a) server answers HTTP",
    "home": "(b) Home drawn, demo shop built",
    "first_list": "(c) first recommendation list on Shopper",
    "attention_done": "(d) quick attention run finished",
    "attention_list": "(e) Shopper shows the attention run's list",
}
HOME_HEADING = f"Dataset: {DEMO_NAME}"  # Home's header once the demo shop is stored
SHOPPER_TITLE = "Shopper"
RUN_BOX = "Run"  # the Shopper page's run selectbox; its value reads "attention #1"
SETTLE_S = 0.15  # wait_idle's check that no new run starts; not part of the page's time
RETRY_S = 0.5  # between two loads of the Shopper page
POLL_S = 1.0  # between two looks at the job queue
VIEWPORT = {"width": 1400, "height": 1600}
ACTIVE = ("queued", "running")  # job statuses that have not ended
NOT_MEASURED = ("pip install -r requirements.txt -r requirements-dev.txt -e . (the README's "
                "first command, before `streamlit run app.py`): not measured by this script; "
                "its time is the network's and a ~700 MB torch wheel's")
SERVER_ENV = ("harness.Studio: OMP_NUM_THREADS=1 (as the browser tests; the README's command "
              f"leaves it unset), {FIRST_START_ENV}=1")


class Clock:
    """Seconds since the server process started, and the repeat's deadline."""

    def __init__(self, limit_s: float) -> None:
        self.start, self.epoch = time.monotonic(), time.time()
        self.deadline = self.start + limit_s

    def now(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        """Seconds left before the deadline (at least 1, so that a wait can still fail)."""
        return max(self.deadline - time.monotonic(), 1.0)

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def since_start(self, unix_time: float | None) -> float | None:
        """A Unix time (a job row's) as seconds since the server started; None for none (a
        job row's missing time reads NaN)."""
        return None if unix_time is None or math.isnan(unix_time) else unix_time - self.epoch


def load_shopper(page, url: str, clock: Clock) -> dict:
    """Open the Shopper page once and wait until it is drawn; its list's items and the run
    shown (None while there is no finished run)."""
    page.goto(url + SHOPPER_PATH, timeout=clock.left() * 1000)
    page.get_by_role("heading", name=SHOPPER_TITLE).first.wait_for(timeout=clock.left() * 1000)
    wait_idle(page, clock.left())
    box = page.get_by_role("combobox", name=RUN_BOX, exact=True)
    run = box.input_value() if box.count() else None
    return {"items": shopper_state(page)["items"], "run": run, "at_s": clock.now() - SETTLE_S}


def attention_job(ws: Workspace) -> dict | None:
    """The attention job's row (jobs.status), None before it is queued."""
    queue = jobs.status(ws)
    rows = queue[queue["model"] == "attention"]
    return rows.iloc[-1].to_dict() if len(rows) else None


def wait_for_list(page, url: str, clock: Clock, ws: Workspace, messages: list[str],
                  attention: bool) -> dict | None:
    """Load the Shopper page until it lists recommendations (of an attention run when
    `attention`); the load that first did, or None at the deadline. Notes the attention job's
    progress messages on the way."""
    while not clock.expired():
        shown = load_shopper(page, url, clock)
        note_message(ws, messages)
        if shown["items"] and (not attention or (shown["run"] or "").startswith("attention")):
            return shown
        time.sleep(RETRY_S)
    return None


def note_message(ws: Workspace, messages: list[str]) -> dict | None:
    """The attention job's row; its message is appended to `messages` when new."""
    job = attention_job(ws)
    if job is not None and job["message"] and (not messages or messages[-1] != job["message"]):
        messages.append(job["message"])
    return job


def wait_for_attention(ws: Workspace, clock: Clock, messages: list[str]) -> dict | None:
    """Poll the job queue until the attention job has ended; its row, or None at the
    deadline."""
    while not clock.expired():
        job = note_message(ws, messages)
        if job is not None and job["status"] not in ACTIVE:
            return job
        time.sleep(POLL_S)
    return None


def embeddings(ws: Workspace, clock: Clock) -> dict:
    """Whether this run computed the demo shop's text embeddings: the cache file, its rows and
    when it was written (seconds since the server started)."""
    import pyarrow.parquet as pq

    path = ws.dataset_dir(DEMO_NAME) / "text-cache" / CACHE_FILE
    if not path.exists():
        return {"computed": False, "file": None}
    # The workspace was empty when the server started: a cache file there was written since.
    return {"computed": True, "rows": pq.read_metadata(path).num_rows,
            "written_s": clock.since_start(path.stat().st_mtime),
            "file": f"<workspace>/{path.relative_to(ws.root)}"}


def job_times(ws: Workspace, clock: Clock) -> list[dict]:
    """Every job: model, status, lane, when it started and ended, and (for the attention model)
    its first training event, in seconds since the server started."""
    out = []
    for job in jobs.status(ws).to_dict("records"):
        events = jobs.events(ws, job["id"])
        out.append({"model": job["model"], "status": job["status"], "lane": job["device"],
                    "queued_s": clock.since_start(job["created"]),
                    "started_s": clock.since_start(job["started"]),
                    "first_event_s": clock.since_start(events[0]["time"]) if events else None,
                    "finished_s": clock.since_start(job["finished"]),
                    "message": job["message"]})
    return out


def stop_jobs(ws: Workspace, limit_s: float = 20) -> list[str]:
    """Cancel the jobs still queued or running (a repeat that ran out of time) and wait, bounded,
    for them to end; returns the ids cancelled."""
    queue = jobs.status(ws)
    active = queue[queue["status"].isin(ACTIVE)]["id"].tolist()
    for job_id in active:
        jobs.cancel(ws, job_id)
    deadline = time.monotonic() + limit_s
    while active and time.monotonic() < deadline:
        if not jobs.status(ws)["status"].isin(ACTIVE).any():
            break
        time.sleep(0.5)
    return active


def one_start(browser, limit_s: float, shot: Path) -> dict:
    """One first start on a fresh, empty workspace: the milestones and what the jobs did."""
    times: dict[str, float | None] = dict.fromkeys(MILESTONES)
    out: dict = {"times_s": times, "problems": []}
    messages: list[str] = []
    with tempfile.TemporaryDirectory(prefix="recdash-first-start-") as tmp:
        root = Path(tmp) / "workspace"  # does not exist yet: as on a fresh clone
        studio = Studio(root, Path(tmp) / "streamlit.log")
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.on("pageerror", lambda exc: out["problems"].append(f"page error: {exc}"))
        clock = Clock(limit_s)
        ws = None
        try:
            studio.start()
            times["server"] = clock.now()
            page.goto(studio.url, timeout=clock.left() * 1000)
            page.get_by_role("heading", name=HOME_HEADING).wait_for(timeout=clock.left() * 1000)
            out["home_heading_s"] = clock.now()
            wait_idle(page, clock.left())
            times["home"] = clock.now() - SETTLE_S
            ws = Workspace(root)  # the studio has created it by now
            first = wait_for_list(page, studio.url, clock, ws, messages, attention=False)
            if first is not None:
                times["first_list"], out["first_list_run"] = first["at_s"], first["run"]
            job = wait_for_attention(ws, clock, messages)
            if job is not None:
                out["attention_status"] = job["status"]
                if job["status"] == "finished":
                    times["attention_done"] = clock.since_start(job["finished"])
                    shown = wait_for_list(page, studio.url, clock, ws, messages, attention=True)
                    if shown is not None:
                        times["attention_list"], out["attention_list_run"] = (shown["at_s"],
                                                                             shown["run"])
            if clock.expired():
                out["problems"].append(f"cut at {limit_s:.0f} s")
        except Exception as exc:  # noqa: BLE001 - a failed repeat is reported, not fatal
            out["problems"].append(f"{type(exc).__name__}: {exc}"[:500])
            try:
                page.screenshot(path=str(shot))
                out["screenshot"] = os.path.relpath(shot, REPO)
            except Exception:  # noqa: BLE001 - the page may be gone; the problem is noted
                pass
        finally:
            context.close()
            studio.stop()
            if ws is None and root.exists():
                ws = Workspace(root)
            if ws is not None:
                out["cancelled_jobs"] = stop_jobs(ws)
                out["jobs"] = job_times(ws, clock)
                out["text_embeddings"] = embeddings(ws, clock)
            # The plan ("3,000 of 3,000 items to encode, 0 cached") says whether it encoded.
            out["text_plan"] = next((m for m in messages if "to encode" in m), None)
            out["attention_messages"] = messages[:3] + (["..."] if len(messages) > 6 else []) \
                + messages[max(3, len(messages) - 3):]
            log = Path(tmp) / "streamlit.log"
            if out["problems"] and log.exists():
                out["server_log_tail"] = log.read_text(errors="replace")[-2000:]
    return out


def median_of(repeats: list[dict], key: str) -> float | None:
    values = [r["times_s"][key] for r in repeats if r["times_s"][key] is not None]
    return statistics.median(values) if values else None


def report(payload: dict) -> None:
    """Print the table of medians, the jobs of each repeat and what was not measured."""
    info, repeats = payload["machine"], payload["repeats"]
    print(f"Machine: {info['cpu']}, {info['cores_usable']} cores; load average before "
          f"{payload['load_average_before']}{' (forced)' if payload['forced'] else ''}; "
          f"server: {SERVER_ENV}; Chromium headless\n")

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    rows = [[label, fmt(median_of(repeats, key))]
            + [fmt(r["times_s"][key]) for r in repeats] for key, label in MILESTONES.items()]
    print(markdown_table(["from `streamlit run app.py` (s)", f"median of {len(repeats)}"]
                         + [f"run {i + 1}" for i in range(len(repeats))], rows))
    print()
    for i, r in enumerate(repeats, 1):
        emb = r.get("text_embeddings", {})
        said = (f"yes ({emb['rows']:,} vectors, written at {emb['written_s']:.1f} s)"
                if emb.get("computed") else "no")
        print(f"run {i}: first list from {r.get('first_list_run')}, then "
              f"{r.get('attention_list_run')}; text embeddings computed: {said}; the job's "
              f"plan: {r.get('text_plan')}")
        for job in r.get("jobs", []):
            print(f"  {job['model']} ({job['lane']} lane): started {fmt(job['started_s'])} s, "
                  f"first training event {fmt(job['first_event_s'])} s, ended "
                  f"{fmt(job['finished_s'])} s, {job['status']}: {job['message']}")
        for p in r["problems"]:
            print(f"  problem: {p}")
    print(f"\nNot measured: {NOT_MEASURED}.")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repeat-timeout", type=float, default=600,
                        help="seconds one first start may take, training included")
    parser.add_argument("--quick", action="store_true", help="to try it out: one repeat")
    parser.add_argument("--force", action="store_true", help="run on a busy machine")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 1
    return args


def main() -> None:
    args = parse_args()
    why = missing_browser()
    if why:
        sys.exit(f"bench: {why}")
    load = check_load(args.force)
    info = machine()  # before any server starts: the load it found
    os.environ[FIRST_START_ENV] = "1"  # the server's environment copies ours; tests set "0"
    shots = REPO / "test-artifacts" / "bench"
    shots.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    repeats = []
    with sync_playwright() as pw:
        # Launched before the server starts: the browser's own start is not the studio's.
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            for i in range(args.repeats):
                print(f"first start {i + 1}/{args.repeats}...", file=sys.stderr, flush=True)
                repeats.append(one_start(browser, args.repeat_timeout,
                                         shots / f"first_start-failed-{i + 1}.png"))
        finally:
            browser.close()
    payload = {"machine": info, "load_average_before": load, "forced": load[0] > MAX_LOAD,
               "server_env": SERVER_ENV, "not_measured": NOT_MEASURED,
               "milestones": MILESTONES,
               "median_s": {k: median_of(repeats, k) for k in MILESTONES},
               "settings": {k: v for k, v in vars(args).items() if k != "force"},
               "repeats": repeats}
    write_json("first_start.json", payload)
    report(payload)


if __name__ == "__main__":
    main()
